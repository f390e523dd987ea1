"""The mission register: every mission a reader may see, with its phase, agent, host, time share,
dates and what it waits for; filtered, sorted and paginated in SQL over the instance's own columns
(`engine.phases` keeps them in step), or read whole in batches for an export.

Who sees which missions is decided in `permissions.visible_missions`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Iterator, Sequence

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session, aliased, defer
from sqlalchemy.sql import Select

from . import clock, permissions, phases, queries
from .models import Instance, User

#: the columns a register may be sorted by (`-name` for descending)
SORTS = ("instance_id", "process", "title", "phase", "agent", "agent_directorate", "host", "host_directorate",
         "time_share", "start_date", "end_date", "started_by")
#: sort by default: the newest request first
DEFAULT_SORT = "-instance_id"
EXPORT_BATCH = 500

_Agent = aliased(User, name="agent_user")


@dataclass(frozen=True)
class Filters:
    """What the register is narrowed to; every field optional (`phase`: any of them)."""
    process: str | None = None
    phase: Sequence[str] = ()
    agent: str | None = None
    directorate: str | None = None  # the agent's or the host's
    overlaps: tuple[date, date] | None = None
    q: str | None = None


@dataclass(frozen=True)
class Mission:
    instance_id: int
    process: str
    title: str
    phase: str | None
    agent: str | None
    agent_name: str | None
    agent_directorate: str | None
    host: str | None
    host_directorate: str | None
    time_share: int | None
    start_date: date | None
    end_date: date | None
    started_by: str
    #: who it waits for: ("user", name) for a person, ("group", role) for a group
    waiting_for: tuple[tuple[str, str], ...]
    waiting_since: datetime | None
    end_state: str | None


def missions(session: Session, reader: User, filters: Filters = Filters(), sort: str = DEFAULT_SORT,
             page: int = 1, page_size: int = 50) -> queries.Page:
    """A page of the missions `reader` may see that match `filters`, as `Mission` items.
    Raises ValueError for a sort not in `SORTS`."""
    found = queries.paginate(session, _query(reader, filters, sort), page, page_size)
    return queries.Page(_described(session, found.items), found.total, found.page, found.page_size)


def export(session: Session, reader: User, filters: Filters = Filters(), sort: str = DEFAULT_SORT,
           batch: int = EXPORT_BATCH) -> Iterator[Mission]:
    """Every mission of `missions`, read `batch` at a time (memory of one batch, whatever the
    count). The query runs at the first `next`; close the generator when done or abandoned."""
    query = _query(reader, filters, sort).execution_options(yield_per=batch)
    result = session.execute(query).scalars()
    try:
        for rows in result.partitions(batch):
            yield from _described(session, rows)
    finally:
        result.close()


def _query(reader: User, filters: Filters, sort: str) -> Select:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    today = clock.today()
    query = (select(Instance).outerjoin(_Agent, _Agent.username == Instance.agent)
             .where(permissions.visible_missions(reader)).options(defer(Instance.state)))
    if filters.process:
        query = query.where(Instance.process_key == filters.process)
    if filters.phase:
        query = query.where(or_(*(_in_phase(p, today) for p in filters.phase)))
    if filters.agent:
        query = query.where(Instance.agent == filters.agent)
    if filters.directorate:
        query = query.where(or_(_Agent.directorate_code == filters.directorate,
                                Instance.host_directorate == filters.directorate))
    if filters.overlaps:
        first, last = filters.overlaps
        query = query.where(or_(Instance.start_date.is_not(None), Instance.end_date.is_not(None)),
                            or_(Instance.start_date.is_(None), Instance.start_date <= last),
                            or_(Instance.end_date.is_(None), Instance.end_date >= first))
    if filters.q and filters.q.strip():
        pattern = "%" + filters.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Instance.title.ilike(pattern, escape="\\"), *(
            Instance.data[field].as_string().ilike(pattern, escape="\\")
            for field in ("description", "mission_description", "objectives"))))
    column = _SORT_COLUMNS[key]()
    ordered = column.desc() if descending else column.asc()
    tie = Instance.id.desc() if descending else Instance.id.asc()
    return query.order_by(column.is_(None), ordered, tie)  # missing values last, either way


_SORT_COLUMNS = {
    "instance_id": lambda: Instance.id, "process": lambda: Instance.process_key, "title": lambda: Instance.title,
    "phase": lambda: Instance.phase, "agent": lambda: _Agent.name,
    "agent_directorate": lambda: _Agent.directorate_code, "host": lambda: Instance.host,
    "host_directorate": lambda: Instance.host_directorate, "time_share": lambda: Instance.time_share,
    "start_date": lambda: Instance.start_date, "end_date": lambda: Instance.end_date,
    "started_by": lambda: Instance.started_by,
}


def _in_phase(phase: str, today: date):
    """Missions in `phase` today: a signed one is `approved` before its start date, `ongoing` from it."""
    if phase not in phases.PHASES:
        return false()
    started = and_(Instance.start_date.is_not(None), Instance.start_date <= today)
    not_started = and_(Instance.start_date.is_not(None), Instance.start_date > today)
    if phase == "approved":
        return or_(and_(Instance.phase == "approved", ~started), and_(Instance.phase == "ongoing", not_started))
    if phase == "ongoing":
        return or_(and_(Instance.phase == "ongoing", ~not_started), and_(Instance.phase == "approved", started))
    return Instance.phase == phase


def _described(session: Session, rows: Iterable[Instance]) -> list[Mission]:
    rows = list(rows)
    waiting = queries.waiting(session, rows)
    people = queries.users_named(session, {r.agent for r in rows} | {
        name for w in waiting.values() for t in w.tasks for name in (t.assignee, *(t.candidate_users or []))})
    items = []
    for row in rows:
        agent = people.get(row.agent or "")
        tasks = waiting[row.id].tasks if row.id in waiting else ()
        items.append(Mission(
            row.id, row.process_key, row.title, phases.effective(row.phase, row.start_date), row.agent,
            agent.name if agent else None, agent.directorate_code if agent else None, row.host,
            row.host_directorate, row.time_share, row.start_date, row.end_date, row.started_by,
            _waiting_for(tasks, people), min((t.created_at for t in tasks), default=None), row.end_state))
    return items


def _waiting_for(tasks, people) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for task in tasks:
        names = [task.assignee] if task.assignee else list(task.candidate_users or [])
        entries = [("user", people[n].name if n in people else n) for n in names if n]
        if not task.assignee:
            entries += [("group", g) for g in task.candidate_groups or []]
        found += [e for e in entries if e not in found]
    return tuple(found)
