"""Shared fixtures: a real database per test (SQLite and PostgreSQL), the demo organisation,
factories for users and small diagrams."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

# Cheaper password hashing keeps fixtures fast; stored hashes record their own cost.
os.environ.setdefault("PASSERELLE_PASSWORD_COST", "10")

import pytest
from sqlalchemy import text

from engine import deploy_folder, load_organisation_file, make_engine, make_session_factory, unit_of_work
from engine.models import Base, User
from engine.org import DEMO_ORGANISATION

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "bpmn-corpus"
DIAGRAMS = Path(__file__).resolve().parent / "diagrams"


# The day the suite's dates are written against. The engine's clock starts there for the whole run
# (every thread: the live servers too) and runs on, so "today", "in the past" and due timers mean
# the same on any day the suite runs. A test that needs another moment uses engine.frozen_at.
SUITE_STARTS_AT = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session", autouse=True)
def suite_clock():
    from engine.clock import start_at
    start_at(SUITE_STARTS_AT)
    yield SUITE_STARTS_AT
    start_at(None)


# --- pytest-xdist (./scripts/test runs one worker per core) -----------------------------------

_screenshots_of_workers: list[int] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _screenshots_of_workers.append(node.workeroutput.get("screenshots", 0) if hasattr(node, "workeroutput") else 0)


def pytest_terminal_summary(terminalreporter):
    """The browser tests' line (tests/browser/conftest.py prints it when there are no workers)."""
    if count := sum(_screenshots_of_workers):
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"{count} screenshots in {ROOT / 'test-artifacts' / 'screenshots'}")


def postgres_url() -> str:
    url = os.environ.get("PASSERELLE_TEST_DATABASE_URL")
    if not url:
        pytest.fail("PostgreSQL tests need PASSERELLE_TEST_DATABASE_URL; run them with ./scripts/test, which starts a server")
    return url


def database_name(prefix: str) -> str:
    """A new PostgreSQL database name, with the pytest-xdist worker's id (gw0, gw1…) in it: each
    worker has its own databases on the shared server, and a leftover says whose it was."""
    return f"{prefix}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:12]}"


def fresh_database_url(kind: str, tmp_path: Path, create: bool = True) -> tuple[str, callable]:
    """A URL to an empty database of `kind` (on PostgreSQL, only named when not `create`), and a
    function that drops it."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}", lambda: None
    base = postgres_url()
    name = database_name("t")
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    if create:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    # A test that starts from the seeded database (tests/web `app`) gets it by CREATE DATABASE …
    # TEMPLATE on PostgreSQL: an empty one created first would only be dropped again.
    url, drop = fresh_database_url(request.param, tmp_path, create="seeded" not in request.fixturenames)
    yield url
    drop()


@pytest.fixture
def sessions(database_url):
    """A session factory on an empty, migrated-equivalent schema."""
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def org_sessions(sessions):
    """Sessions over a database holding the demo organisation."""
    with unit_of_work(sessions) as s:
        load_organisation_file(s, DEMO_ORGANISATION)
    return sessions


@pytest.fixture
def deployed(org_sessions):
    """Demo organisation plus every process of processes/ deployed."""
    with unit_of_work(org_sessions) as s:
        deploy_folder(s)
    return org_sessions


@pytest.fixture
def db(org_sessions):
    """One open session over the demo organisation (committed by the test when it needs to)."""
    session = org_sessions()
    yield session
    session.rollback()
    session.close()


def user(session, username: str) -> User:
    from engine import find_user
    found = find_user(session, username)
    assert found is not None, f"no demo user {username}"
    return found
