"""The migrations build exactly the schema the models describe (SQLite and PostgreSQL)."""
from __future__ import annotations

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from engine import (DEMO_ORGANISATION, HumanTask, load_organisation_file, make_engine, make_session_factory,
                    permissions, queries, start_instance, unit_of_work, upgrade_schema)
from engine.models import Base
from engine.schema import alembic_config

from .helpers import REQUEST, as_user, complete, deploy_approval


def test_the_migrated_schema_is_the_models(database_url):
    engine = make_engine(database_url)
    try:
        upgrade_schema(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


PEOPLE = ("nadia", "julien", "karim", "sophie", "luc", "elodie", "thomas")


def _offered(sessions) -> tuple[dict, dict]:
    """Each task's candidates as it reads them, and, for each person, the tasks they may act on
    (by the lists' query and by `permissions.can_act`)."""
    with unit_of_work(sessions) as s:
        tasks = {t.id: (t.status, t.default_assignee, t.candidate_users, t.candidate_groups)
                 for t in s.scalars(select(HumanTask))}
        acting = {}
        for username in PEOPLE:
            user = as_user(s, username)
            listed = [t.id for t in queries.tasks(s, user).items]
            acting[username] = (listed, [t.id for t in s.scalars(select(HumanTask).order_by(HumanTask.id))
                                         if permissions.can_act(user, t)])
    return tasks, acting


def test_candidates_move_from_json_columns_to_rows_and_back(database_url):
    """A database at 20261202_0004 (candidates in JSON columns, rows for ready tasks only) upgrades
    with the same candidates and the same people able to act; it downgrades again."""
    engine = make_engine(database_url)
    try:
        upgrade_schema(engine)
        sessions = make_session_factory(engine)
        with unit_of_work(sessions) as s:
            load_organisation_file(s, DEMO_ORGANISATION)
        deploy_approval(sessions)
        with unit_of_work(sessions) as s:
            first = start_instance(s, "approval_test", as_user(s, "nadia")).id
            start_instance(s, "approval_test", as_user(s, "nadia"))
        complete(sessions, first, "request", "nadia", REQUEST)
        complete(sessions, first, "manager_review", "julien", {"decision": "approve"})
        before = _offered(sessions)
        assert {status for status, *_ in before[0].values()} == {"ready", "completed"}
        assert any(acting for acting, _ in before[1].values())

        _migrate(engine, "downgrade", "20261202_0004")
        with engine.connect() as connection:
            stored = {row.id: (row.status, row.default_assignee, row.candidate_users, row.candidate_groups)
                      for row in connection.execute(text(
                          "SELECT id, status, default_assignee, candidate_users, candidate_groups FROM human_task"))}
            with_rows = set(connection.scalars(text("SELECT DISTINCT task_id FROM task_candidate")))
        assert {i: (s, a, _json(u), _json(g)) for i, (s, a, u, g) in stored.items()} == before[0]
        assert with_rows == {i for i, (status, *_) in before[0].items() if status == "ready"}

        _migrate(engine, "upgrade", "head")
        assert _offered(make_session_factory(engine)) == before
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def _migrate(engine, direction: str, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value
