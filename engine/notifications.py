"""The e-mails people receive, queued in the outbox inside the transaction that causes them.

A message is an `OutboxMessage` row written in the same transaction as the change it announces:
if that transaction rolls back, the message was never queued; once it commits, `passerelle worker`
sends it (see `engine.timers`). Each row has a `dedup_key` naming what it is about and for whom,
so the same news is queued at most once, whoever tries to queue it again and however often.

The engine says what a message is about — a kind (one of MAIL_KINDS) and its parameters — and
never words it: the renderer set with `configure(renderer=...)` (the web's templates, in the
recipient's language) writes its subject and body. Links in them are written as
`{base_url}/tasks/12`: the mailer fills in the site's public address at send time, so queued
mail follows a change of address.
"""
from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Iterable, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import String, bindparam, cast, or_, select, text
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from . import clock
from .db import refuse_if_read_only
from .models import HumanTask, Instance, OutboxMessage, User, roles_held

BASE_URL = "{base_url}"

#: What each kind of message says, by its parameters (the renderer words them).
MAIL_KINDS: dict[str, tuple[str, ...]] = {
    # a task waits for `name` (theirs if `mine`, else their group's), due on `due` (a date or None)
    "task_assigned": ("name", "request", "task", "task_id", "mine", "due"),
    "reminder": ("name", "request", "task", "task_id", "due"),
    # `actor` decided `decision` (the option's label) on `task`; `comment` may be ""
    "decision": ("name", "actor", "request", "task", "decision", "comment", "instance_id"),
    # the request ended in `end_state` (completed, approved, rejected, expired, withdrawn, cancelled, ...)
    "instance_ended": ("name", "request", "end_state", "instance_id"),
}


class MailRenderer(Protocol):
    def __call__(self, kind: str, params: Mapping[str, object], recipient: str) -> tuple[str, str]:
        """(subject, body) of a message of `kind` (MAIL_KINDS) to the person named `recipient`."""


def plain(kind: str, params: Mapping[str, object], recipient: str) -> tuple[str, str]:
    """The renderer when no web layer has set one (engine tests, scripts): the kind as subject and
    the parameters as JSON, so that nothing is lost and nothing pretends to be worded."""
    return kind, json.dumps(dict(params), default=str, ensure_ascii=False, sort_keys=True)


_renderer: MailRenderer = plain

#: Candidate groups too large to mail: everyone holds `agent`. See `configure`.
_skip_groups: frozenset[str] = frozenset({"agent"})
#: Dates in messages are written in this zone (stored in UTC).
_zone = ZoneInfo("Europe/Paris")



def configure(skip_groups: Iterable[str] | None = None, timezone: str | None = None,
              renderer: MailRenderer | None = None) -> None:
    """Set the candidate groups whose members are not mailed when a task is offered to the group
    (NOTIFY_SKIP_GROUPS; default `agent`, which everyone holds), the zone whose calendar gives
    the day of a due date, and the renderer that words messages (`plain` until one is set)."""
    global _skip_groups, _zone, _renderer
    if skip_groups is not None:
        _skip_groups = frozenset(str(g) for g in ([skip_groups] if isinstance(skip_groups, str) else skip_groups))
    if timezone:
        _zone = ZoneInfo(timezone)
    if renderer is not None:
        _renderer = renderer


def renderer() -> MailRenderer:
    return _renderer


def skip_groups() -> frozenset[str]:
    return _skip_groups


def enqueue(session: Session, *, recipient: str, subject: str, body: str, kind: str, dedup_key: str,
            instance_id: int | None = None) -> bool:
    """Queue one message unless one with the same `dedup_key` exists; True if queued.

    Uses INSERT ... ON CONFLICT DO NOTHING so that two transactions queueing the same message at
    the same moment (two workers sending the same reminder) do not fail: one row wins.
    """
    refuse_if_read_only(session)
    values = dict(created_at=clock.now(), recipient=recipient, subject=subject[:300], body=body, kind=kind,
                  dedup_key=dedup_key[:200], instance_id=instance_id, status="pending", attempts=0)
    return session.execute(_INSERT_ONCE, values).scalar() is not None


def _queue(session: Session, kind: str, params: dict[str, object], to: Row, dedup_key: str,
           instance_id: int | None) -> bool:
    """Word a message of `kind` for the person `to` (username, email) and queue it."""
    subject, body = _renderer(kind, params, to.username)
    return enqueue(session, recipient=to.email, subject=subject, body=body, kind=kind, dedup_key=dedup_key,
                   instance_id=instance_id)


def _insert_once():
    """The INSERT ... ON CONFLICT DO NOTHING of `enqueue` (PostgreSQL and SQLite 3.35+ say it
    alike), as a text statement with the table's column types: SQLAlchemy cannot cache the
    statement its dialects build for ON CONFLICT, and compiling it anew cost more than the insert."""
    table = OutboxMessage.__table__
    names = ("created_at", "recipient", "subject", "body", "kind", "dedup_key", "instance_id", "status", "attempts")
    return (text(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)}) "
                 "ON CONFLICT (dedup_key) DO NOTHING RETURNING id")
            .bindparams(*(bindparam(n, type_=table.c[n].type) for n in names))
            .columns(table.c.id))


_INSERT_ONCE = _insert_once()


def recipients_of(session: Session, task: HumanTask) -> list[Row]:
    """The people to tell that `task` is theirs (username, name, email): its assignee, or else its
    candidate users and the members of its candidate groups (except the groups in `skip_groups`),
    never excluded users, only active people with an e-mail address. One query, whatever the
    number of groups."""
    named = {task.assignee} if task.assignee else set(task.candidate_users)
    groups = sorted(set(task.candidate_groups) - _skip_groups) if not task.assignee else []
    excluded = set(task.excluded_users or [])
    if not (named - excluded or groups):
        return []
    parameters = {"names": sorted(named), **{f"group_{i}": f'%"{g}"%' for i, g in enumerate(groups)}}
    with _users_as_stored(session):
        rows = session.execute(_people_named_or_in(len(groups)), parameters).all()
    return [row for row in rows if row.email and row.username not in excluded
            and (row.username in named or any(g in roles_held(row.roles) for g in groups))]


@functools.lru_cache(maxsize=16)
def _people_named_or_in(group_count: int):
    """Active people named, or whose roles may hold one of `group_count` groups: roles are a JSON
    list, so a LIKE on its text narrows the rows portably and `recipients_of` decides exactly.
    Built once per number of groups, with its cache key."""
    return (select(User.username, User.name, User.email, User.roles)
            .where(User.active.is_(True), or_(User.username.in_(bindparam("names", expanding=True)),
                                              *(cast(User.roles, String).like(bindparam(f"group_{i}"))
                                                for i in range(group_count))))
            .order_by(User.username))


def task_assigned(session: Session, task: HumanTask, actor: str | None = None) -> int:
    """Queue "a task is waiting for you" for each person `task` is offered to, except `actor`
    (who is on the page that created it); returns how many."""
    instance = task.instance
    queued = 0
    for user in recipients_of(session, task):
        if user.username == actor:
            continue
        params = {"name": user.name, "request": instance.title, "task": task.title, "task_id": task.id,
                  "mine": task.assignee == user.username, "due": _day(task.due_at)}
        queued += _queue(session, "task_assigned", params, user, f"task:{task.id}:to:{user.username}",
                         task.instance_id)
    return queued


def reminder(session: Session, task: HumanTask) -> int:
    """Queue a reminder that `task` is due soon to each person it is offered to (once per person)."""
    instance = task.instance
    queued = 0
    for user in recipients_of(session, task):
        params = {"name": user.name, "request": instance.title, "task": task.title, "task_id": task.id,
                  "due": _day(task.due_at)}
        queued += _queue(session, "reminder", params, user, f"reminder:{task.id}:to:{user.username}",
                         task.instance_id)
    return queued


def reminders_due(session: Session, within: timedelta, now: datetime | None = None) -> int:
    """Queue reminders for every ready task due within `within` from now; returns how many."""
    now = now or clock.now()
    tasks = session.scalars(select(HumanTask).where(HumanTask.status == "ready", HumanTask.due_at.is_not(None),
                                                    HumanTask.due_at <= now + within).order_by(HumanTask.id))
    return sum(reminder(session, task) for task in tasks)


def decision_made(session: Session, task: HumanTask, actor: User) -> bool:
    """Tell the requester who decided what on `task` (a task whose form has a `decision` field)."""
    instance = task.instance
    starter = _starter(session, instance)
    data = task.data or {}
    if starter is None or not starter.email or "decision" not in data:
        return False
    field = next((f for f in (task.form or {}).get("fields", []) if f.get("id") == "decision"), {})
    label = next((o["label"] for o in field.get("options", []) if o.get("id") == data["decision"]),
                 str(data["decision"]))
    params = {"name": starter.name, "actor": actor.name, "request": instance.title, "task": task.title,
              "decision": label, "comment": str(data.get("comment") or "").strip(), "instance_id": instance.id}
    return _queue(session, "decision", params, starter, f"decision:{task.id}", instance.id)


def instance_ended(session: Session, instance: Instance) -> bool:
    """Tell the requester that their request ended, and how."""
    starter = _starter(session, instance)
    if starter is None or not starter.email:
        return False
    params = {"name": starter.name, "request": instance.title, "end_state": instance.end_state,
              "instance_id": instance.id}
    return _queue(session, "instance_ended", params, starter, f"instance:{instance.id}:ended", instance.id)


def _starter(session: Session, instance: Instance) -> Row | None:
    """Who started `instance` (username, name, email), if they still exist."""
    with _users_as_stored(session):
        return session.execute(_NAME_AND_EMAIL, {"username": instance.started_by}).first()


_NAME_AND_EMAIL = select(User.username, User.name, User.email).where(User.username == bindparam("username"))


def _users_as_stored(session: Session):
    """Reading people need not flush the step's pending changes first (they are flushed once, at
    the end of the step) unless a person is among them (an import that also starts requests)."""
    if any(isinstance(o, User) for o in (*session.new, *session.dirty)):
        return contextlib.nullcontext()
    return session.no_autoflush


def _day(moment: datetime | None) -> date | None:
    """The day of `moment` on the organisation's calendar (dates are stored in UTC)."""
    return moment.astimezone(_zone).date() if moment else None
