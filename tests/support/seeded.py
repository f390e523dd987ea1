"""A database built once per kind and copied for each test: a file copy for SQLite, a
`CREATE DATABASE … TEMPLATE` for PostgreSQL. What a test starts from is exactly what the build
function leaves, for a fraction of its cost (migrations, the demo organisation, four deployments)."""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import text
from sqlalchemy.engine import make_url

from engine import make_engine

from ..conftest import database_name


class SeededDatabases:
    def __init__(self, folder: Path, build: Callable[[str], None]):
        self.folder, self.build = folder, build
        self.templates: dict[str, str] = {}  # kind -> URL of the built database
        self._admin_engine = None  # kept for the whole run: a connection per copy, not an engine

    def copy_into(self, url: str) -> None:
        """Make the (empty, existing or not) database at `url` a copy of the seeded one of its kind."""
        target = make_url(url)
        kind = "sqlite" if target.get_backend_name() == "sqlite" else "postgres"
        template = make_url(self._template(kind, target))
        if kind == "sqlite":
            shutil.copyfile(template.database, target.database)
            return
        with self._admin(target) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))  # no-op, usually
            conn.execute(text(f'CREATE DATABASE "{target.database}" TEMPLATE "{template.database}"'))

    def drop(self) -> None:
        for kind, url in self.templates.items():
            if kind == "postgres":
                with self._admin(make_url(url)) as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        if self._admin_engine is not None:
            self._admin_engine.dispose()

    def _template(self, kind: str, like) -> str:
        if kind not in self.templates:
            if kind == "sqlite":
                url = f"sqlite:///{self.folder / 'seeded.sqlite'}"
            else:
                url = like.set(database=database_name("seeded")).render_as_string(hide_password=False)
                with self._admin(like) as conn:
                    conn.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
            self.build(url)
            self.templates[kind] = url
        return self.templates[kind]

    @contextlib.contextmanager
    def _admin(self, url) -> Iterator:
        """An autocommit connection to the server's maintenance database (not the one copied)."""
        if self._admin_engine is None:
            self._admin_engine = make_engine(url.set(database="postgres").render_as_string(hide_password=False),
                                             isolation_level="AUTOCOMMIT")
        with self._admin_engine.connect() as conn:
            yield conn
