"""One database session per request; the request commits once, at the end of its work.

GET and HEAD requests only read: their session is read-only (see `engine.make_session_factory`),
so on SQLite they never queue for the write lock that every other request takes up front."""
from __future__ import annotations

import logging

from flask import current_app, g, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import (DEMO_ORGANISATION, DataLimits, SandboxLimits, configure_data_limits, configure_sandbox,
                    configure_workflow_cache, deploy_folder, load_organisation_file, make_engine, make_session_factory,
                    queries, schema_is_current, setup_lock, unit_of_work, upgrade_schema)

log = logging.getLogger(__name__)
#: methods that never change anything (RFC 9110 safe methods this app answers)
READING_METHODS = frozenset(("GET", "HEAD"))


def init_app(app) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["passerelle.db"] = engine
    configure_workflow_cache(int(app.config["WORKFLOW_CACHE_SIZE"]))
    configure_sandbox(SandboxLimits(
        time_limit=float(app.config["SANDBOX_TIME_LIMIT"]), result_bytes=int(app.config["SANDBOX_RESULT_BYTES"]),
        processes=int(app.config["SANDBOX_PROCESSES"]), memory_bytes=int(app.config["SANDBOX_MEMORY_MB"]) * 2**20,
        timer_horizon_days=int(app.config["TIMER_HORIZON_DAYS"])))
    configure_data_limits(DataLimits(data_bytes=int(app.config["REQUEST_DATA_KB"]) * 1024,
                                     instances=int(app.config["MULTI_INSTANCE_LIMIT"])))
    app.extensions["passerelle.sessions"] = make_session_factory(engine)
    app.extensions["passerelle.read_sessions"] = make_session_factory(engine, read_only=True)
    app.teardown_request(_close)
    if app.config["AUTO_SETUP"]:
        setup(app)


def session() -> Session:
    """The current request's session (created on first use)."""
    if "db" not in g:
        reading = request.method in READING_METHODS
        g.db = current_app.extensions["passerelle.read_sessions" if reading else "passerelle.sessions"]()
    return g.db


def commit() -> None:
    session().commit()


def _close(_exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.rollback()  # anything not committed explicitly is discarded
        db.close()


def setup(app) -> None:
    """Migrate, load the demo organisation into an empty database, deploy processes/.

    Server processes starting together take turns (`setup_lock`). In production the schema is
    not migrated here: `passerelle db upgrade` does it, once, before the servers start.
    """
    engine = app.extensions["passerelle.db"]
    with setup_lock(engine):
        if app.config["ENV"] != "production":
            upgrade_schema(engine)
        elif not schema_is_current(engine):
            raise RuntimeError("the database schema is not up to date: run `passerelle db upgrade` "
                               "before starting the servers")
        factory = app.extensions["passerelle.sessions"]
        try:
            with unit_of_work(factory) as s:
                if app.config["DEMO_DATA"] and not queries.has_people(s):
                    load_organisation_file(s, DEMO_ORGANISATION)
                deploy_folder(s)
        except IntegrityError:
            # Another server process deployed the same versions at the same moment.
            log.info("processes/ already deployed by another process")
