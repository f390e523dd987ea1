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

def test_the_register_migration_fills_existing_requests_and_goes_back(database_url):
    """0006 gives requests stored before it their phase, dates, time share and host; its downgrade
    removes the columns again."""
    from datetime import date, datetime, timezone

    import sqlalchemy as sa
    from alembic import command
    from sqlalchemy import inspect, select

    from engine import frozen_at
    from engine.models import HumanTask, Instance, Organisation, ProcessVersion, Timer, User
    from engine.schema import alembic_config

    engine = make_engine(database_url)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    moment = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "20261202_0004")
        with engine.begin() as connection:
            connection.execute(User.__table__.insert(), [
                {"username": "julien", "name": "Julien Moreau", "directorate_code": "DMOB", "email": "",
                 "roles": [], "employment_status": "fonctionnaire", "active": True, "session_version": 0},
                {"username": "nadia", "name": "Nadia Benali", "directorate_code": "DSOL", "email": "",
                 "roles": [], "employment_status": "fonctionnaire", "active": True, "session_version": 0}])
            connection.execute(Organisation.__table__.insert(), [
                {"id": "restos-isere", "name": "Les Restos du Cœur de l'Isère", "kind": "association_rup"}])
            version_id = connection.execute(ProcessVersion.__table__.insert().values(
                process_key="p", version=1, name="P", description="", checksum="x", author="luc", deployed_by="luc",
                deployed_at=moment, comment="", starter_roles=[], spec_json="{}")).inserted_primary_key[0]

            def request(status="running", end_state=None, approved=False, **data):
                return connection.execute(Instance.__table__.insert().values(
                    process_key="p", version_id=version_id, title="t", status=status, end_state=end_state,
                    started_by="nadia", started_at=moment, approved_at=moment if approved else None,
                    agent="thomas", data={"started_by": "nadia", **data}, serializer_version="1", state="",
                    lock_version=1)).inserted_primary_key[0]

            # human_task as it is at 0004 (its candidates still JSON columns), not as the models say
            human_task = sa.Table("human_task", sa.MetaData(), autoload_with=connection)

            def task(instance_id, bpmn_id):
                connection.execute(human_task.insert().values(
                    instance_id=instance_id, spiff_task_id="s", bpmn_id=bpmn_id, title=bpmn_id, claimed=False,
                    candidate_users=[], candidate_groups=[], excluded_users=[], status="ready", form={},
                    created_at=moment))

            draft = request(project="Plan vélo", time_share="30", start_date="2026-10-01", end_date="2027-03-31")
            task(draft, "describe_mission")
            asked = request(host_unit="Routes", host_manager="julien")
            task(asked, "release_agreement")
            signed = request(approved=True, host_organisation="restos-isere", start_date="2026-04-01",
                             end_date="2026-09-30", time_share=20)
            connection.execute(Timer.__table__.insert().values(instance_id=signed, spiff_task_id="s",
                                                               bpmn_id="mission_end", due_at=moment,
                                                               status="waiting", attempts=0))
            closing = request(approved=True, start_date="2025-01-01", end_date="2026-01-31")
            task(closing, "agent_feedback")
            refused = request("completed", "rejected")
            closed = request("completed", "completed")
            withdrawn = request("cancelled", "withdrawn")
        with frozen_at(moment), engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with engine.connect() as connection:
            rows = {r.id: r for r in connection.execute(select(Instance.__table__))}
        assert {i: rows[i].phase for i in (draft, asked, signed, closing, refused, closed, withdrawn)} == {
            draft: "draft", asked: "in_approval", signed: "approved", closing: "closing", refused: "refused",
            closed: "closed", withdrawn: "withdrawn"}
        assert (rows[draft].start_date, rows[draft].end_date, rows[draft].time_share, rows[draft].host,
                rows[draft].host_directorate) == (date(2026, 10, 1), date(2027, 3, 31), 30, "Plan vélo", "DSOL")
        assert (rows[asked].host, rows[asked].host_directorate) == ("Routes", "DMOB")
        assert (rows[signed].host, rows[signed].host_organisation) == ("Les Restos du Cœur de l'Isère", "restos-isere")
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "20261202_0004")
        columns = {c["name"] for c in inspect(engine).get_columns("instance")}
        assert "phase" not in columns and "host" not in columns and "data" in columns
    finally:
        engine.dispose()
