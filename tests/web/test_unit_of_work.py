"""One unit of work per request (web/db.py): a request that succeeds commits once, at the end; a
request that fails (an exception, an error answer) leaves no trace in the database, and what
should happen only once its change is committed (flash messages, signing in) does not happen.
No view commits or rolls back by hand."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import abort
from sqlalchemy import func, select

from engine import audit
from engine.models import AuditEvent, User
from web import db
from web.security import csrf

WEB = Path(__file__).resolve().parents[2] / "web"
#: the one unit-of-work place; the CLI's commands are not requests and own theirs
ALLOWED = {WEB / "db.py", WEB / "cli.py"}
BY_HAND = re.compile(r"\b(commit|rollback)\(")
MARK = "unit-of-work-test"


def test_no_view_commits_or_rolls_back_by_hand():
    found = [f"{path.relative_to(WEB.parent)}:{number}: {line.strip()}"
             for path in sorted(WEB.rglob("*.py")) if path not in ALLOWED
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if BY_HAND.search(line)]
    assert found == []


@pytest.fixture
def routes(app):
    """Test-only views that write (an audit event, a renamed person), then end as told. Each also
    registers an after-commit effect, noted in `effects`."""
    effects: list[str] = []

    def write_then(ending):
        def view():
            session = db.session()
            audit.record(session, audit.EventType.USER_SIGNED_IN, MARK, data={"via": "test"})
            session.scalars(select(User).filter_by(username="nadia")).one().name = "Renamed by " + MARK
            db.after_commit(effects.append, ending.__name__)
            return ending()
        view.__name__ = f"test_uow_{ending.__name__}"
        return csrf.exempt(view)

    def succeeds():
        return "done"

    def redirects():
        return "", 303, {"Location": "/"}

    def raises():
        raise RuntimeError("a bug after the write")

    def answers_422():
        return "not valid", 422

    def aborts_404():
        abort(404)

    def keeps_then_answers_401():
        db.keep()
        return "refused, on record", 401

    def keeps_then_aborts_403():
        db.keep()
        abort(403)

    def keeps_then_raises():
        db.keep()
        raise RuntimeError("a bug after keep()")

    def attempt_refused():
        try:
            with db.attempt():
                audit.record(db.session(), audit.EventType.USER_SIGNED_IN, MARK, data={"via": "refused"})
                raise ValueError("refused")
        except ValueError:
            pass
        return "the refused part undone, the rest kept"

    for ending in (succeeds, redirects, raises, answers_422, aborts_404, keeps_then_answers_401,
                   keeps_then_aborts_403, keeps_then_raises, attempt_refused):
        app.add_url_rule(f"/test-only/{ending.__name__}", view_func=write_then(ending), methods=["POST"])

    @csrf.exempt
    def commit_fails():
        audit.record(db.session(), audit.EventType.USER_SIGNED_IN, MARK, data={"via": "commit fails"})
        # a second "nadia": refused by the unique constraint only when the commit flushes it
        db.session().add(User(username="nadia", name="A copy"))
        db.after_commit(effects.append, "commit_fails")
        return "unreachable"

    app.add_url_rule("/test-only/commit_fails", view_func=commit_fails, methods=["POST"])
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    return app, effects


def _trace(app) -> tuple[int, bool]:
    """What the test views leave: their audit events, and whether nadia was renamed."""
    with app.extensions["passerelle.sessions"]() as session:
        events = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.actor == MARK))
        name = session.scalars(select(User.name).filter_by(username="nadia")).one()
    return events, name == "Renamed by " + MARK


@pytest.mark.parametrize("ending, status", [
    ("raises", 500), ("answers_422", 422), ("aborts_404", 404), ("keeps_then_raises", 500),
])
def test_a_request_that_fails_after_writing_leaves_no_trace(routes, ending, status):
    app, effects = routes
    assert app.test_client().post(f"/test-only/{ending}").status_code == status
    assert _trace(app) == (0, False)
    assert effects == []


@pytest.mark.parametrize("ending, status", [
    ("succeeds", 200), ("redirects", 303), ("keeps_then_answers_401", 401), ("keeps_then_aborts_403", 403),
])
def test_a_request_that_succeeds_or_keeps_its_error_commits_once_then_runs_its_effects(routes, ending, status):
    app, effects = routes
    assert app.test_client().post(f"/test-only/{ending}").status_code == status
    assert _trace(app) == (1, True)
    assert effects == [ending]


def test_an_attempt_refused_is_undone_and_the_rest_of_the_request_kept(routes):
    app, _effects = routes
    assert app.test_client().post("/test-only/attempt_refused").status_code == 200
    assert _trace(app) == (1, True)  # the event written inside the refused attempt is gone


def test_a_commit_that_fails_writes_nothing_and_runs_no_effect(routes):
    app, effects = routes
    assert app.test_client().post("/test-only/commit_fails").status_code == 500
    assert _trace(app) == (0, False)
    assert effects == []
    # the server goes on: the next request commits normally
    assert app.test_client().post("/test-only/succeeds").status_code == 200
    assert _trace(app) == (1, True)


def test_a_failed_sign_in_is_on_record_although_it_answers_an_error(app):
    client = app.test_client()
    assert client.post("/api/v1/auth/token", json={"username": "nadia", "password": "wrong"}).status_code == 401
    with app.extensions["passerelle.sessions"]() as session:
        failed = session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.type == audit.EventType.SIGN_IN_FAILED.value))
    assert failed == 1
