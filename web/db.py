"""One database session per request, and the request is one unit of work: the one place that
commits (Indico's request handler base, `indico/web/rh.py`, does the same).

Every view runs inside `run_unit_of_work` (see `web.App`): when it answers success (1xx-3xx) the
session commits, then the request's after-commit effects run (`after_commit`); when it raises or
answers an error (4xx, 5xx) everything it wrote is rolled back and its effects dropped. A failed
request leaves no trace but its log line. Views never commit or roll back themselves: a view
whose error answer must still record something says so with `keep()`, and a view that answers
an engine refusal with a page undoes only the refused action with `attempt()`.

GET and HEAD requests only read: their session is read-only (see `engine.make_session_factory`),
so on SQLite they never queue for the write lock that every other request takes up front. Their
commit ends the read; a GET that changed something fails there, loudly, rather than lose it."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from flask import Response, current_app, g, got_request_exception, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from engine import (DEMO_ORGANISATION, DataLimits, PasserelleError, SandboxLimits, configure_data_limits,
                    configure_sandbox, configure_workflow_cache, deploy_folder, load_organisation_file, make_engine,
                    make_session_factory, queries, schema_is_current, setup_lock, unit_of_work, upgrade_schema)

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
    # A crash outside any view (a hook, a commit's own failure): the 500 page reads afresh, even
    # on PostgreSQL, which refuses every statement in a transaction after a failed one.
    got_request_exception.connect(_discard_after_crash, app)
    if app.config["AUTO_SETUP"]:
        setup(app)


def session() -> Session:
    """The current request's session (created on first use)."""
    if "db" not in g:
        reading = request.method in READING_METHODS
        g.db = current_app.extensions["passerelle.read_sessions" if reading else "passerelle.sessions"]()
    return g.db


def keep() -> None:
    """Commit this request's writes although it answers an error (4xx): a failed sign-in stays on
    record. Never for a server error (5xx, an unexpected exception): that still rolls back."""
    g.db_keep = True


def after_commit(effect: Callable[..., object], *args, **kwargs) -> None:
    """Run `effect(*args, **kwargs)` once this request's writes are committed, never if they are
    rolled back: what tells a person (a flash message) or a browser (signing in or out) that a
    change is made must not outlive a change that failed to commit. Mail needs none of this: the
    engine queues it in the outbox, inside the transaction."""
    g.setdefault("db_after_commit", []).append((effect, args, kwargs))


@contextlib.contextmanager
def attempt() -> Iterator[None]:
    """An action the view may see refused and then answer with a page of its own (a form shown
    again with its errors, "already done"): if the block raises, what it wrote is undone (a
    savepoint) and the request goes on, in a transaction still usable; the exception propagates
    for the view to catch. What the request wrote before the block is kept."""
    with session().begin_nested():
        yield


def run_unit_of_work(view: Callable[[], object]) -> Response:
    """Run `view` (the request's dispatch) as one unit of work: commit on success, roll back on
    an error or an exception, after-commit effects only once committed. A commit that fails
    raises here, inside the dispatch, so the error handlers answer it (the API's 409 for a
    concurrent change) like any error of the view."""
    try:
        response = current_app.make_response(view())
    except BaseException as error:
        _end(commit=g.get("db_keep", False) and _is_an_answer(error))
        raise
    status = response.status_code
    _end(commit=status < 400 or (status < 500 and g.get("db_keep", False)))
    return response


def _is_an_answer(error: BaseException) -> bool:
    """An error the request answers on purpose (401, 404, a refusal), not a failure of the server."""
    if isinstance(error, HTTPException):
        return (error.code or 500) < 500
    return isinstance(error, PasserelleError)


def _end(commit: bool) -> None:
    db = g.get("db")
    effects = g.pop("db_after_commit", [])
    if not commit:
        if db is not None:
            db.rollback()
        return
    if db is not None:
        try:
            db.commit()
        except BaseException:
            db.rollback()
            raise
    for effect, args, kwargs in effects:
        effect(*args, **kwargs)


def _discard_after_crash(_app, **_extra) -> None:
    g.pop("db_after_commit", None)
    db = g.get("db")
    if db is not None:
        db.rollback()


def _close(_exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.rollback()  # a request that never reached its commit (a hook's answer, a crash) keeps nothing
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
