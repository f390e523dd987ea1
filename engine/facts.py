"""Facts a business rule needs that are in no form: the agent's other commitments, status, host.

Counting rules (the one place they are decided; `processes/README.md` "Counting rules" says the
same in plain words, and the DMN tables name it). All of them read *other* requests of the same
agent (the `agent` column), never this one, and are computed for this request's own dates, its
`start_date` and `end_date` (both days included):

- A mission *overlaps* the request when the two periods share at least one day: a mission ending
  2027-03-31 does not overlap a request starting 2027-04-01.
- A mission's *real end* is its `end_date`, or the day it ended (`ended_at`) when that is earlier:
  a mission ended early or cancelled stops counting on that day; a mission whose end date has
  passed stops counting then, even while its feedback steps still wait.
- `agent_committed_share`: the largest share of working time the agent gives, on any one day of
  the request's period, to *signed* missions (approved: their final signature is given) of any
  process, running or ended. Two 20 % missions in January and in June make 20 % for a request
  covering the whole year, not 40 %.
- `agent_pending_share`: the same, for requests still in approval (running, not signed yet).
  The tables do not refuse on it: two pending requests may both pass their first check, and the
  check that runs again just before the final signature counts the one signed first as committed.
- `months_with_host`: the months (begun) the agent served with the same host organisation in signed
  conventions, from their start to their real end (a cancelled or ended-early convention counts
  up to the day it ended).

A request without valid dates is counted from today onwards (no end).
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterable, Mapping, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock
from .models import Instance, Organisation, User
from .sandbox import months_between


class Mission(NamedTuple):
    """Another request of the agent, as the counting rules see it."""
    signed: bool
    running: bool
    share: int
    start: date | None
    end: date | None  # its real end: end_date, or the day it ended when earlier
    host: Any


def agent_of(data: Mapping[str, Any], started_by: str) -> str:
    return str(data.get("agent") or started_by)


def facts_for(session: Session, instance: Instance, data: Mapping[str, Any]) -> dict[str, Any]:
    """The facts injected into task data before a business rule task runs.

    They read people, organisations and *other* instances, none of which the running unit of work
    changes: its pending changes (this instance's data, its tasks, audit events) wait for the next
    flush instead of being flushed by these queries (each such flush was an extra UPDATE of the
    instance row).
    """
    with session.no_autoflush:
        return _facts(session, instance, data)


def _facts(session: Session, instance: Instance, data: Mapping[str, Any]) -> dict[str, Any]:
    agent = agent_of(data, instance.started_by)
    # The agent's row, locked until this unit of work ends: two signatures for the same agent
    # then run one after the other, the second counting the first (PostgreSQL; SQLite
    # serialises every writer already, and ignores FOR UPDATE).
    user = session.scalar(select(User).where(User.username == agent).with_for_update())
    host = data.get("host_organisation")
    organisation = session.get(Organisation, str(host)) if host else None
    start, end = _day(data.get("start_date")), _day(data.get("end_date"))
    if start is None or end is None or end < start:
        start, end = clock.today(), None
    missions = other_missions(session, agent, instance.id, start, end, str(host) if host else None)
    return {
        "agent_committed_share": peak_share((m for m in missions if m.signed), start, end),
        "agent_pending_share": peak_share((m for m in missions if m.running and not m.signed), start, end),
        "agent_status": user.employment_status if user else None,
        "agent_career_end": user.career_end.isoformat() if user and user.career_end else None,
        "agent_manager": user.manager_username if user else None,
        "host_kind": organisation.kind if organisation else None,
        "months_with_host": months_served(missions, str(host)) if host else 0,
        "today": clock.today().isoformat(),
    }


def other_missions(session: Session, agent: str, exclude_instance: int | None, start: date, end: date | None,
                   host: str | None = None) -> list[Mission]:
    """The agent's requests that may count: signed ones (whatever their status) and running ones,
    that overlap start..end by their dates or are with `host` — one query on the `agent` index,
    reading only the fields the rules need."""
    fields = {key: Instance.data[key].as_string() for key in ("time_share", "start_date", "end_date",
                                                              "host_organisation")}
    overlaps = fields["end_date"] >= start.isoformat()  # ISO dates compare as text
    if end is not None:
        overlaps &= fields["start_date"] <= end.isoformat()
    if host:
        overlaps |= fields["host_organisation"] == host
    rows = session.execute(select(Instance.status, Instance.approved_at, Instance.ended_at, *fields.values()).where(
        Instance.agent == agent, Instance.id != (exclude_instance or -1),
        (Instance.status == "running") | Instance.approved_at.is_not(None), overlaps))
    missions = []
    for status, approved_at, ended_at, share, first, last, with_host in rows:
        first, last = _day(first), _day(last)
        if ended_at is not None and last is not None:
            last = min(last, ended_at.date())
        missions.append(Mission(approved_at is not None, status == "running", _int(share), first, last, with_host))
    return missions


def peak_share(missions: Iterable[Mission], start: date, end: date | None) -> int:
    """The largest sum of shares of `missions` on one day of start..end (`end` None: no end)."""
    changes: dict[date, int] = {}
    for m in missions:
        if m.share <= 0 or m.start is None or m.end is None:
            continue
        first, last = max(m.start, start), m.end if end is None else min(m.end, end)
        if first > last:  # no day in common (adjacent periods included)
            continue
        after = last + timedelta(days=1)
        changes[first], changes[after] = changes.get(first, 0) + m.share, changes.get(after, 0) - m.share
    peak = current = 0
    for day in sorted(changes):
        current += changes[day]
        peak = max(peak, current)
    return peak


def months_served(missions: Iterable[Mission], host: str) -> int:
    """Months (begun) of the signed conventions with `host`, each up to its real end."""
    total = 0
    for m in missions:
        if m.signed and m.host == host and m.start is not None and m.end is not None:
            total += max(0, months_between(m.start.isoformat(), m.end.isoformat()))
    return total


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
