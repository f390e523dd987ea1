"""Production mode: refuses to start half-configured, secure cookies, `/healthz`, idempotent
`passerelle db upgrade`, and state written by the previous schema and serializer running on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from engine import (complete_task, deploy, frozen_at, load_organisation_file, make_engine, make_session_factory,
                    start_instance, unit_of_work, verify_audit)
from engine import spiff
from engine.models import HumanTask, Instance, Timer
from engine.org import DEMO_ORGANISATION
from engine.schema import alembic_config, current_revision, head_revision
from web import create_app

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DIAGRAMS = ROOT / "tests" / "diagrams"
SECRET = "s" * 48


def production_app(monkeypatch, tmp_path, **env):
    for name in [n for n in os.environ if n.startswith("PASSERELLE_") or n == "DATABASE_URL"]:
        if name != "PASSERELLE_PASSWORD_COST":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app({"AUTO_SETUP": False})


# --- refusing to start ------------------------------------------------------------------------

def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    with pytest.raises(RuntimeError, match="needs PASSERELLE_SECRET_KEY"):
        production_app(monkeypatch, tmp_path, PASSERELLE_ENV="production",
                       DATABASE_URL=f"sqlite:///{tmp_path / 'p.sqlite'}")


def test_production_refuses_to_start_without_a_database_url(monkeypatch, tmp_path):
    with pytest.raises(RuntimeError, match="needs DATABASE_URL"):
        production_app(monkeypatch, tmp_path, PASSERELLE_ENV="production", PASSERELLE_SECRET_KEY=SECRET)


def test_production_refuses_a_short_secret_key(monkeypatch, tmp_path):
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        production_app(monkeypatch, tmp_path, PASSERELLE_ENV="production", PASSERELLE_SECRET_KEY="short",
                       DATABASE_URL=f"sqlite:///{tmp_path / 'p.sqlite'}")


def test_production_cookies_are_secure_unless_switched_off(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    app = production_app(monkeypatch, tmp_path, PASSERELLE_ENV="production", PASSERELLE_SECRET_KEY=SECRET,
                         DATABASE_URL=url)
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["DEMO_DATA"] is False
    app = production_app(monkeypatch, tmp_path, PASSERELLE_ENV="production", PASSERELLE_SECRET_KEY=SECRET,
                         DATABASE_URL=url, PASSERELLE_SESSION_COOKIE_SECURE="false")
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_production_has_four_eyes_on_deploys_unless_switched_off(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    assert production_app(monkeypatch, tmp_path, DATABASE_URL=url).config["FOUR_EYES_DEPLOY"] is False  # development
    app = production_app(monkeypatch, tmp_path, PASSERELLE_ENV="production", PASSERELLE_SECRET_KEY=SECRET,
                         DATABASE_URL=url)
    assert app.config["FOUR_EYES_DEPLOY"] is True
    app = production_app(monkeypatch, tmp_path, PASSERELLE_ENV="production", PASSERELLE_SECRET_KEY=SECRET,
                         DATABASE_URL=url, PASSERELLE_FOUR_EYES_DEPLOY="false")
    assert app.config["FOUR_EYES_DEPLOY"] is False


def test_production_refuses_an_outdated_schema_and_says_what_to_run(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    production_app(monkeypatch, tmp_path, PASSERELLE_ENV="production", PASSERELLE_SECRET_KEY=SECRET, DATABASE_URL=url)
    with pytest.raises(RuntimeError, match="run `passerelle db upgrade`"):
        create_app({"AUTO_SETUP": True})


def test_gunicorn_explains_why_it_does_not_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_") and k != "DATABASE_URL"}
    env.update(PASSERELLE_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'p.sqlite'}")
    result = subprocess.run([str(BIN / "gunicorn"), "-w", "2", "-b", "127.0.0.1:0", "web:create_app()"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "production mode (PASSERELLE_ENV=production) needs PASSERELLE_SECRET_KEY" in result.stderr


# --- health -----------------------------------------------------------------------------------

def test_healthz_reports_a_reachable_current_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "migrations": "current"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_reports_an_outdated_schema(app, client):
    with app.extensions["passerelle.db"].begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '20000101_0000'"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "ok",
                                   "migrations": "outdated: run `passerelle db upgrade`"}


def test_healthz_reports_an_unreachable_database(tmp_path):
    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2",
                      "AUTO_SETUP": False, "SECRET_KEY": SECRET})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable", "migrations": "unknown"}


# --- upgrades ---------------------------------------------------------------------------------

def passerelle(*args: str, url: str):
    """The `passerelle` command, run in this process (the server tests run it as a real process)."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo
    from web.cli import main
    apps = []

    def create():
        apps.append(create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "AUTO_SETUP": False}))
        return apps[-1]

    try:
        result = CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=create), catch_exceptions=False)
    finally:
        for app in apps:
            app.extensions["passerelle.db"].dispose()
    assert result.exit_code == 0, result.output
    return result


def schema_of(url: str) -> dict[str, list[str]]:
    from sqlalchemy import inspect
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return {table: sorted(c["name"] for c in inspector.get_columns(table))
                + sorted(str(i["name"]) for i in inspector.get_indexes(table))
                for table in sorted(inspector.get_table_names())}
    finally:
        engine.dispose()


def test_db_upgrade_twice_changes_nothing_the_second_time(database_url):
    first = passerelle("db", "upgrade", url=database_url)
    assert first.output.strip() == "database schema is up to date"
    engine = make_engine(database_url)
    revision, tables = current_revision(engine), schema_of(database_url)
    assert revision == head_revision() and "instance" in tables
    second = passerelle("db", "upgrade", url=database_url)
    assert second.output.strip() == "database schema is up to date"
    assert (current_revision(engine), schema_of(database_url)) == (revision, tables)
    engine.dispose()


PREVIOUS_SERIALIZER = "1.4"


def test_state_from_the_previous_schema_and_serializer_runs_forward(database_url):
    """A request written under the oldest schema revision, its workflow saved by the previous
    SpiffWorkflow serializer (1.4), survives `passerelle db upgrade` and runs on under the current
    one. (1.4 -> 1.5 changed only event-based gateways, whose shape lives in the per-version specs;
    the label is what makes the engine run the library's migration chain before loading.)"""
    from alembic import command
    from alembic.script import ScriptDirectory
    from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS as SPIFF_MIGRATIONS

    assert spiff.SERIALIZER_VERSION == "1.5" and PREVIOUS_SERIALIZER in SPIFF_MIGRATIONS
    engine = make_engine(database_url)
    config = alembic_config(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as s:
        load_organisation_file(s, DEMO_ORGANISATION)
        deploy(s, {"timers_test.bpmn": (DIAGRAMS / "timers_test.bpmn").read_bytes()}, "luc", "before the upgrade")
    start = datetime(2027, 6, 1, 9, tzinfo=timezone.utc)
    with frozen_at(start), unit_of_work(sessions) as s:
        from engine import find_user
        instance = start_instance(s, "timers_test", find_user(s, "thomas"),
                                  {"title": "Mission d'avant", "agent": "thomas", "end_date": "2027-06-30"})
        complete_task(s, s.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance.id)).one(),
                      find_user(s, "julien"), {"decision": "approve"})
        instance_id = instance.id
    # Rewrite the stored workflow as the previous serializer labelled it.
    with engine.begin() as connection:
        state = json.loads(connection.execute(text("SELECT state FROM instance WHERE id = :id"),
                                              {"id": instance_id}).scalar_one())
        assert "spec" not in state and state["tasks"]
        connection.execute(text("UPDATE instance SET state = :state, serializer_version = :version WHERE id = :id"),
                           {"state": json.dumps(state), "version": PREVIOUS_SERIALIZER, "id": instance_id})
    # Take the schema back to the oldest revision, as a database of the first release looks.
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, ScriptDirectory.from_config(config).get_base())
    engine.dispose()

    passerelle("db", "upgrade", url=database_url)
    passerelle("db", "upgrade", url=database_url)
    result = passerelle("worker", "--once", "--now", "2027-06-30T09:00", url=database_url)
    assert result.output.startswith("1 timer job(s) done, 0 failed")

    engine = make_engine(database_url)
    with unit_of_work(make_session_factory(engine)) as s:
        instance = s.get(Instance, instance_id)
        assert instance.serializer_version == spiff.SERIALIZER_VERSION
        assert s.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance_id,
                                                         HumanTask.status == "ready")).all() == ["feedback"]
        assert s.scalars(select(Timer.status).where(Timer.instance_id == instance_id,
                                                    Timer.bpmn_id == "mission_end")).all() == ["fired"]
        assert verify_audit(s).ok
    engine.dispose()
