"""The migrations build exactly the schema the models describe (SQLite and PostgreSQL)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine import make_engine, upgrade_schema
from engine.models import Base


def test_the_migrated_schema_is_the_models(database_url):
    engine = make_engine(database_url)
    try:
        upgrade_schema(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_the_register_migration_fills_existing_requests_and_goes_back(database_url):
    """0006 gives requests stored before it their phase, dates, time share and host; its downgrade
    removes the columns again."""
    from datetime import date, datetime, timezone

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

            def task(instance_id, bpmn_id):
                connection.execute(HumanTask.__table__.insert().values(
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
