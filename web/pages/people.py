"""Names instead of usernames, and "who is this waiting for", each in one query per page."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from engine.models import HumanTask, Instance, ProcessVersion, Timer, User

from .labels import role_label


class People(dict):
    """username -> User for the names a page shows; unknown names show as themselves."""

    def name(self, username: str | None) -> str:
        if not username:
            return ""
        user = self.get(username)
        return user.name if user is not None else username


def people(session: Session, usernames: Iterable[str | None]) -> People:
    wanted = {u for u in usernames if u}
    if not wanted:
        return People()
    return People({u.username: u for u in session.scalars(select(User).where(User.username.in_(wanted)))})


def task_people(task: HumanTask) -> set[str]:
    return {task.assignee, task.completed_by, *(task.candidate_users or [])} - {None}


def waiting_for(task: HumanTask, names: People) -> str:
    """Who a ready task waits for, in words: a person's name, or a group."""
    if task.assignee:
        return names.name(task.assignee)
    who = [names.name(u) for u in task.candidate_users or []]
    who += [role_label(g) for g in task.candidate_groups or []]
    return _(" or ").join(who) if who else _("someone to be named")


def load_instances(session: Session, ids: Iterable[int]) -> dict[int, Instance]:
    """The instances (and their versions) of a list, in two queries, without their workflow state,
    so that `task.instance` and `instance.version` need no further query."""
    ids = set(ids)
    if not ids:
        return {}
    found = {i.id: i for i in session.scalars(select(Instance).where(Instance.id.in_(ids))
                                              .options(defer(Instance.state)))}
    version_ids = {i.version_id for i in found.values()}
    list(session.scalars(select(ProcessVersion).where(ProcessVersion.id.in_(version_ids))
                         .options(defer(ProcessVersion.spec_json))))
    return found


@dataclass(frozen=True)
class NextStep:
    text: str
    tasks: tuple[HumanTask, ...] = ()


def next_steps(session: Session, instances: Iterable[Instance], names: People | None = None) -> dict[int, NextStep]:
    """What each running request waits for ("Waiting: DGS signature (senior management)")."""
    running = [i.id for i in instances if i.status == "running"]
    if not running:
        return {}
    open_tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(running),
                                                              HumanTask.status == "ready").order_by(HumanTask.id)))
    timers = {}
    for timer in session.scalars(select(Timer).where(Timer.instance_id.in_(running), Timer.status == "waiting")
                                 .order_by(Timer.due_at)):
        timers.setdefault(timer.instance_id, timer)
    extra = people(session, {u for t in open_tasks for u in task_people(t)} - set(names or {}))
    names = People({**(names or {}), **extra})
    by_instance: dict[int, list[HumanTask]] = {}
    for task in open_tasks:
        by_instance.setdefault(task.instance_id, []).append(task)
    steps = {}
    for instance_id in running:
        tasks = by_instance.get(instance_id, [])
        if tasks:
            parts = [_("%(task)s (%(who)s)", task=t.title, who=waiting_for(t, names)) for t in tasks]
            steps[instance_id] = NextStep(_("Waiting: %(steps)s", steps=_(", and ").join(parts)), tuple(tasks))
        elif instance_id in timers:
            steps[instance_id] = NextStep(_("Waiting for the planned date (%(date)s)",
                                            date=format_day(timers[instance_id].due_at)))
        else:
            steps[instance_id] = NextStep(_("Being processed"))
    return steps


def format_day(moment: datetime | None) -> str:
    from flask_babel import format_date
    return format_date(moment, "long") if moment else ""
