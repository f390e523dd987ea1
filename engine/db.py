"""Database engines and sessions. The engine's functions take a Session and never commit:
the caller (a web request, a CLI command, a worker job) owns the unit of work."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

#: execution option of the connections that only read (see `reading_engine`)
READ_ONLY = "passerelle_read_only"
_READ_ONLY_WRITE = "a read-only session cannot write (a GET request changed the database?)"


def make_engine(url: str, **kwargs) -> Engine:
    """Create a SQLAlchemy engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Let SQLAlchemy issue BEGIN itself so that a transaction really is one transaction.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # IMMEDIATE takes the write lock up front: two writers serialise instead of deadlocking.
            # A transaction that only reads begins DEFERRED: under WAL it reads one snapshot, taken
            # at its first SELECT, without waiting for writers or making them wait.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def reading_engine(engine: Engine) -> Engine:
    """`engine` (the same pool) for work that only reads (a web page or API GET, a health check):
    on SQLite its transactions do not take the write lock, so readers neither queue behind writers
    nor hold them up. A write in one may fail with "database is locked" if another writer commits
    first: never write through it."""
    return engine.execution_options(**{READ_ONLY: True})


def make_session_factory(engine: Engine, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on `engine`; `read_only` ones on `reading_engine(engine)`. Flushing a change in a
    read-only session raises RuntimeError at once, rather than "database is locked" only when
    another writer happens to commit first."""
    if not read_only:
        return sessionmaker(bind=engine, expire_on_commit=False)
    factory = sessionmaker(bind=reading_engine(engine), expire_on_commit=False)
    event.listen(factory, "before_flush", _refuse_changes)
    return factory


def _refuse_changes(session: Session, _context, _instances) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError(_READ_ONLY_WRITE)


def refuse_if_read_only(session: Session) -> None:
    """For writes that bypass the session's flush (plain INSERTs): the same refusal as a flush's."""
    if session.get_bind().get_execution_options().get(READ_ONLY):
        raise RuntimeError(_READ_ONLY_WRITE)


@contextlib.contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit if the block succeeds, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"
