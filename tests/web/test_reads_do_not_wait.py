"""GET requests only read: on SQLite they answer while a writer holds the database's write lock
(each reads one snapshot), and a GET that tried to write would fail rather than write."""
from __future__ import annotations

import sqlite3
import time

import pytest

from engine.models import User
from web import db

from .page_client import Person


@pytest.fixture
def sqlite_app(app):
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("PostgreSQL readers never wait for writers")
    return app


def test_reads_answer_while_a_writer_holds_the_lock(sqlite_app):
    client = sqlite_app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "nadia", "password": "demo"}).json["token"]
    nadia = Person(sqlite_app.test_client(), "nadia")
    writer = sqlite3.connect(sqlite_app.config["DATABASE_URL"].removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE user_account SET name = 'Not yet committed' WHERE username = 'nadia'")
    try:
        started = time.monotonic()
        listed = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        page = nadia.get("/requests")
        health = client.get("/healthz")
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert (listed.status_code, me.status_code, page.status_code, health.status_code) == (200, 200, 200, 200)
    assert me.json["name"] != "Not yet committed"  # the last committed state, nothing half-written
    assert elapsed < 5  # the busy timeout is 30 s: nothing waited for the lock


def test_a_get_that_tried_to_write_fails_and_writes_nothing(sqlite_app):
    def rename():  # a bug: a GET that writes (in a read-only transaction it would fail only sometimes)
        db.session().query(User).filter_by(username="nadia").one().name = "Changed by a GET"
        db.commit()
        return "changed"

    sqlite_app.add_url_rule("/test-only/rename", "test_rename", rename)
    sqlite_app.config.update(PROPAGATE_EXCEPTIONS=False)
    assert sqlite_app.test_client().get("/test-only/rename").status_code == 500
    with sqlite_app.extensions["passerelle.sessions"]() as session:
        assert session.query(User).filter_by(username="nadia").one().name != "Changed by a GET"
