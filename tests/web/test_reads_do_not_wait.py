"""GET requests only read: they answer while a writer holds its locks (on SQLite, the database's
write lock; each request reads one committed snapshot), and a GET that tried to write would fail
rather than write."""
from __future__ import annotations

from sqlalchemy import func, select, text

from engine import audit
from engine.models import AuditEvent, User
from web import db

from .page_client import Person


def test_reads_answer_while_a_writer_holds_the_lock(app):
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "nadia", "password": "demo"}).json["token"]
    nadia = Person(app.test_client(), "nadia")
    writer = app.extensions["passerelle.db"].connect()  # SQLite: BEGIN IMMEDIATE, the write lock
    transaction = writer.begin()
    writer.execute(text("UPDATE user_account SET name = 'Not yet committed' WHERE username = 'nadia'"))
    try:  # a reader queued behind the lock would wait for the 30 s busy timeout, then fail
        listed = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        page = nadia.get("/requests")
        health = client.get("/healthz")
    finally:
        transaction.rollback()
        writer.close()
    assert (listed.status_code, me.status_code, page.status_code, health.status_code) == (200, 200, 200, 200)
    assert me.json["name"] != "Not yet committed"  # the last committed state, nothing half-written


def test_a_get_that_tried_to_write_fails_and_writes_nothing(app):
    def rename():  # a bug: a GET that writes (in a read-only transaction it would fail only sometimes)
        db.session().query(User).filter_by(username="nadia").one().name = "Changed by a GET"
        return "changed"

    app.add_url_rule("/test-only/rename", "test_rename", rename)
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    assert app.test_client().get("/test-only/rename").status_code == 500
    with app.extensions["passerelle.sessions"]() as session:
        assert session.query(User).filter_by(username="nadia").one().name != "Changed by a GET"


def test_a_get_that_tried_to_record_an_audit_event_fails_and_records_nothing(app):
    # Audit events are plain INSERTs, not flushed objects: the refusal must not depend on a flush.
    def sign_in_by_get():
        audit.record(db.session(), audit.EventType.USER_SIGNED_IN, "nadia", data={"via": "a GET"})
        return "recorded"

    def events(session):
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.actor == "nadia"))

    with app.extensions["passerelle.sessions"]() as session:
        before = events(session)
    app.add_url_rule("/test-only/sign-in", "test_sign_in", sign_in_by_get)
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    assert app.test_client().get("/test-only/sign-in").status_code == 500
    with app.extensions["passerelle.sessions"]() as session:
        assert events(session) == before
