"""Bulk-loading a database that has run for years: 100,000 requests and their ~300,000 task rows.

Rows are not made up: a few requests of each shape (play.TEMPLATES) are played through the engine,
then their rows — instance, human tasks, candidates, hash-chained audit events, queued mail — are
cloned with new ids, new people and new dates, and inserted in batches (executemany), skipping
the engine. Cloned audit chains are re-hashed, so they verify. A cloned instance's saved workflow
state is its template's (with the people renamed); its task rows get fresh SpiffWorkflow task ids,
so nothing but the task lists and the audit search — what is measured — should use them.
"""
from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, func, insert, select, text

from engine import audit
from engine.models import Base, Instance, User

from . import play

#: the (synthetic) people a template is played with, renamed in each clone
STARTER, AGENT, MANAGER = "lead0000", "agt0000", "mgr000"
LEADS, MANAGERS, AGENTS_PER_MANAGER = 300, 200, 8
EPOCH = datetime(2023, 1, 2, 8, 0, tzinfo=timezone.utc)
SPREAD_DAYS = 3 * 365
STRETCH = 50_000  # a template's milliseconds between events become minutes


def synthetic_people() -> list[dict[str, Any]]:
    """Project leads, managers and their agents (no password: they never sign in)."""
    people = [dict(username=f"lead{i:04d}", name=f"Cheffe de projet {i}", roles=["project_lead"], manager_username=None)
              for i in range(LEADS)]
    for m in range(MANAGERS):
        people.append(dict(username=f"mgr{m:03d}", name=f"Manager {m}", roles=["manager"], manager_username=None))
        people += [dict(username=f"agt{m:03d}{a}", name=f"Agent {m}-{a}", roles=[], manager_username=f"mgr{m:03d}")
                   for a in range(AGENTS_PER_MANAGER)]
    for person in people:
        person.update(email=f"{person['username']}@example.org", password_hash=None, directorate_code="DSOL",
                      employment_status="fonctionnaire", career_end=None, organisation_id=None, active=True)
    return people


class Template:
    """The rows of one played request, ready to be cloned."""

    def __init__(self, conn, instance_id: int):
        self.instance = dict(conn.execute(select(Instance.__table__).where(Instance.id == instance_id))
                             .mappings().one())
        self.children: dict[str, list[dict]] = {}   # tables with an instance_id column
        self.grandchildren: dict[str, list[dict]] = {}  # tables hanging off human_task
        task_ids = []
        for table in Base.metadata.sorted_tables:
            refs = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
            if refs.get("instance_id") == "instance":
                rows = [dict(r) for r in conn.execute(select(table).where(table.c.instance_id == instance_id)
                                                      .order_by(table.c.id)).mappings()]
                self.children[table.name] = rows
                if table.name == "human_task":
                    task_ids = [r["id"] for r in rows]
        for table in Base.metadata.sorted_tables:
            refs = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
            fk = next((c for c, t in refs.items() if t == "human_task"), None)
            if fk and table.name not in self.children:
                self.grandchildren[table.name] = ([dict(r) for r in conn.execute(
                    select(table).where(table.c[fk].in_(task_ids)).order_by(table.c.id)).mappings()]
                    if task_ids else [])
                self.grandchildren_fk = fk
        self.t0 = self.instance["started_at"]
        # What a clone must change, worked out once: which values name a person, which are dates.
        rows = [("instance", self.instance)] + [(t, r) for group in (self.children, self.grandchildren)
                                                 for t, rs in group.items() for r in rs]
        self.rows = [r for _, r in rows]
        self.named = {id(r): [k for k, v in r.items() if _names_someone(v)] for _, r in rows}
        self.dated = {t: [k for k, v in r.items() if isinstance(v, datetime)] for t, r in rows}
        for table, row in rows:  # a column that is NULL in one row may hold a date in another
            self.dated[table] = sorted(set(self.dated[table]) | {k for k, v in row.items() if isinstance(v, datetime)})


def _names_someone(value) -> bool:
    if isinstance(value, str):
        return value in (STARTER, AGENT, MANAGER)
    if isinstance(value, list):
        return any(_names_someone(v) for v in value)
    if isinstance(value, dict):
        return any(_names_someone(v) for v in value.values())
    return False


def _rename(value, names: dict[str, str]):
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _rename(v, names) for k, v in value.items()}
    return value


class Cloner:
    def __init__(self, conn, seed: int = 8):
        self.rng = random.Random(seed)
        self.next_id = {t.name: (conn.execute(select(func.max(t.c.id))).scalar() or 0) + 1_000
                        for t in Base.metadata.sorted_tables if "id" in t.c and t.c.id.type.python_type is int}
        self.unique = {t.name: [c.name for c in t.c if c.unique and c.name != "id"]
                       for t in Base.metadata.sorted_tables}
        self.serial = 0

    def _id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] += 1
        return value

    def clone(self, template: Template, out: dict[str, list[dict]]) -> None:
        self.serial += 1
        manager = f"mgr{self.rng.randrange(MANAGERS):03d}"
        names = {STARTER: f"lead{self.rng.randrange(LEADS):04d}", MANAGER: manager,
                 AGENT: f"{manager.replace('mgr', 'agt')}{self.rng.randrange(AGENTS_PER_MANAGER)}"}
        start = EPOCH + timedelta(seconds=self.rng.randrange(SPREAD_DAYS * 86400))

        def copy(row: dict, table: str) -> dict:
            new = dict(row)
            for key in template.named.get(id(row), ()):
                new[key] = _rename(row[key], names)
            for key in template.dated[table]:
                if new[key] is not None:
                    new[key] = start + (new[key] - template.t0) * STRETCH
            for column in self.unique[table]:
                if isinstance(new[column], str):
                    new[column] = f"{new[column]}#{self.serial}"
            new["id"] = self._id(table)
            return new

        instance = copy(template.instance, "instance")
        state = template.instance["state"]
        for old, new in names.items():
            state = state.replace(f'"{old}"', f'"{new}"')
        instance["state"] = state
        out["instance"].append(instance)
        task_ids = {}
        for table, rows in template.children.items():
            prev_hash = audit.GENESIS
            for row in rows:
                new = copy(row, table)
                new["instance_id"] = instance["id"]
                if table == "human_task":
                    task_ids[row["id"]] = new["id"]
                    new["spiff_task_id"] = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
                elif table == "audit_event":
                    new["prev_hash"] = prev_hash
                    new["hash"] = prev_hash = audit._digest(audit._fields(SimpleNamespace(**new)))
                out[table].append(new)
        for table, rows in template.grandchildren.items():
            for row in rows:
                new = copy(row, table)
                new[template.grandchildren_fk] = task_ids[row[template.grandchildren_fk]]
                out[table].append(new)


class Writer:
    """Batched inserts that skip the ORM: COPY on PostgreSQL, executemany on SQLite. JSON values
    shared with a template are serialized once."""

    def __init__(self, engine, templates: list[Template]):
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.json_text: dict[int, str] = {}
        self.keep = templates  # their values' ids key json_text: keep them alive
        for template in templates:
            for row in template.rows:
                for value in row.values():
                    if isinstance(value, (dict, list)):
                        self.json_text[id(value)] = json.dumps(value)

    def write(self, table, rows: list[dict]) -> None:
        columns = list(table.c.keys())
        json_columns = {c.name for c in table.c if isinstance(c.type, JSON)}
        dialect = self.engine.dialect
        processors = [None if name in json_columns else table.c[name].type._cached_bind_processor(dialect)
                      for name in columns]
        if self.postgres:
            processors = [None] * len(columns)  # psycopg adapts datetimes, booleans and text itself

        def values(row):
            out = []
            for name, process in zip(columns, processors):
                value = row[name]
                if name in json_columns and value is not None:
                    value = self.json_text.get(id(value)) or json.dumps(value)
                elif process is not None:
                    value = process(value)
                out.append(value)
            return out

        with self.engine.begin() as conn:
            raw = conn.connection.driver_connection
            if self.postgres:
                with raw.cursor() as cursor:
                    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(values(row))
            else:
                raw.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) "
                                f"VALUES ({', '.join('?' * len(columns))})", [values(row) for row in rows])


def play_templates(sessions, per_shape: int = 2) -> dict[str, list[int]]:
    """Play `per_shape` requests of every shape through the engine; their instance ids by shape."""
    played = {}
    for name, (_, how) in play.TEMPLATES.items():
        played[name] = []
        for _ in range(per_shape):
            instance_id = play.start(sessions, STARTER)
            how(sessions, instance_id, STARTER, AGENT)
            played[name].append(instance_id)
    return played


def load(database, instances: int, batch: int = 2_000, log=print) -> dict[str, int]:
    """Add `instances` cloned requests (and the synthetic people they name) to `database`."""
    sessions = database.sessions()
    engine = sessions.kw["bind"]
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    with engine.begin() as conn:
        conn.execute(insert(User.__table__), synthetic_people())
    played = play_templates(sessions)
    with engine.begin() as conn:
        templates = {name: [Template(conn, i) for i in ids] for name, ids in played.items()}
        cloner = Cloner(conn)
    plan = []
    for name, (weight, _) in play.TEMPLATES.items():
        plan += [name] * round(weight * instances)
    plan = plan[:instances] + [plan[-1]] * max(0, instances - len(plan))
    cloner.rng.shuffle(plan)
    writer = Writer(engine, [t for ts in templates.values() for t in ts])
    counts: dict[str, int] = {}
    for first in range(0, len(plan), batch):
        out = {name: [] for name in tables}
        for shape in plan[first:first + batch]:
            cloner.clone(cloner.rng.choice(templates[shape]), out)
        for table in Base.metadata.sorted_tables:  # parents before children
            rows = out[table.name]
            if rows:
                writer.write(table, rows)
                counts[table.name] = counts.get(table.name, 0) + len(rows)
        if log and (first // batch) % 10 == 0:
            log(f"      {min(first + batch, len(plan)):>7,} / {len(plan):,} requests")
    _after_bulk_load(engine)
    return counts


def _after_bulk_load(engine) -> None:
    """Move PostgreSQL's id sequences past the explicit ids, and leave the database as years of
    use would: PostgreSQL vacuumed and analysed (autovacuum's work), SQLite analysed."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in Base.metadata.sorted_tables:
                if "id" in table.c and table.c.id.type.python_type is int:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                      f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"))
        else:
            conn.exec_driver_sql("ANALYZE")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
