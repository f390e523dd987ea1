"""Throwaway databases for one benchmark run: a SQLite file in the work folder, or a database
created on the PostgreSQL server given by URL (and dropped afterwards)."""
from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import text

from engine import (DEMO_ORGANISATION, deploy, deploy_folder, load_organisation_file, make_engine,
                    make_session_factory, unit_of_work, upgrade_schema)

BENCH_DIR = Path(__file__).resolve().parent
LOOP_BUNDLE = {"rework_loop.bpmn": (BENCH_DIR / "diagrams" / "rework_loop.bpmn").read_bytes()}
LOOP_KEY = "bench_rework_loop"
SCRIPTED_BUNDLE = {"scripted_loop.bpmn": (BENCH_DIR / "diagrams" / "scripted_loop.bpmn").read_bytes()}
SCRIPTED_KEY = "bench_scripted_loop"


@dataclass
class Database:
    kind: str          # "sqlite" | "postgresql"
    url: str
    drop: Callable[[], None]
    path: Path | None = None  # SQLite file
    engines: list = field(default_factory=list)

    def sessions(self):
        engine = make_engine(self.url)
        self.engines.append(engine)
        return make_session_factory(engine)

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()
        self.engines.clear()

    def size_bytes(self) -> int:
        if self.kind == "sqlite":
            connection = sqlite3.connect(self.path)  # fold the WAL into the main file first
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
            return self.path.stat().st_size
        engine = make_engine(self.url)
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        engine.dispose()
        return int(size)


def create(kind: str, workdir: Path, postgres_url: str | None, label: str) -> Database:
    """An empty, migrated database of `kind` holding the demo organisation and every process."""
    if kind == "sqlite":
        path = workdir / f"{label}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        database = Database(kind, f"sqlite:///{path}", lambda: None, path=path)
    else:
        if not postgres_url:
            raise SystemExit("PostgreSQL measurements need --postgres-url (./scripts/bench starts a server)")
        name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        database = Database(kind, postgres_url.rsplit("/", 1)[0] + f"/{name}", drop)
    engine = make_engine(database.url)
    upgrade_schema(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        load_organisation_file(session, DEMO_ORGANISATION)
        deploy_folder(session)
        deploy(session, LOOP_BUNDLE, "luc", "benchmark diagram")
        deploy(session, SCRIPTED_BUNDLE, "luc", "benchmark diagram")
    engine.dispose()
    return database

