"""Names instead of usernames, and "who is this waiting for", each in one query per page."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from engine import HumanTask, Instance, queries

from .labels import role_label


class People(dict):
    """username -> User for the names a page shows; unknown names show as themselves."""

    def name(self, username: str | None) -> str:
        if not username:
            return ""
        user = self.get(username)
        return user.name if user is not None else username


def people(session: Session, usernames: Iterable[str | None]) -> People:
    return People(queries.users_named(session, usernames))


def task_people(task: HumanTask) -> set[str]:
    return {task.assignee, task.completed_by, *task.candidate_users} - {None}


def waiting_for(task: HumanTask, names: People) -> str:
    """Who a ready task waits for, in words: a person's name, or a group."""
    if task.assignee:
        return names.name(task.assignee)
    who = [names.name(u) for u in task.candidate_users]
    who += [role_label(g) for g in task.candidate_groups]
    return _(" or ").join(who) if who else _("someone to be named")


@dataclass(frozen=True)
class NextStep:
    text: str
    tasks: tuple[HumanTask, ...] = ()


def next_steps(session: Session, instances: Iterable[Instance], names: People | None = None) -> dict[int, NextStep]:
    """What each running request waits for ("Waiting: DGS signature (senior management)")."""
    waiting = queries.waiting(session, instances)
    if not waiting:
        return {}
    extra = people(session, {u for w in waiting.values() for t in w.tasks for u in task_people(t)} - set(names or {}))
    names = People({**(names or {}), **extra})
    steps = {}
    for instance_id, now in waiting.items():
        if now.tasks:
            parts = [_("%(task)s (%(who)s)", task=t.title, who=waiting_for(t, names)) for t in now.tasks]
            steps[instance_id] = NextStep(_("Waiting: %(steps)s", steps=_(", and ").join(parts)), now.tasks)
        elif now.timer_due is not None:
            steps[instance_id] = NextStep(_("Waiting for the planned date (%(date)s)", date=format_day(now.timer_due)))
        else:
            steps[instance_id] = NextStep(_("Being processed"))
    return steps


def format_day(moment: datetime | None) -> str:
    from flask_babel import format_date
    return format_date(moment, "long") if moment else ""
