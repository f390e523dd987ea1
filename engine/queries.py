"""Read-only questions the pages and the API ask: task lists, request lists, histories, audit search,
and the read models a page is drawn from (people by username, what each request waits for).

Each is one SQL query over our own tables (never a loaded workflow), paginated as (items, total).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Collection, Iterable, Sequence

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, defer, joinedload
from sqlalchemy.sql import Select
from SpiffWorkflow.util.task import TaskState

from . import permissions, spiff
from .registry import restore_workflow
from .models import (AuditEvent, Directorate, HumanTask, Instance, Organisation, ProcessVersion, TaskCandidate, Timer,
                     User)

TASK_SCOPES = ("actionable", "mine", "claimable", "all_visible")


@dataclass(frozen=True)
class Page:
    items: Sequence
    total: int
    page: int
    page_size: int


def paginate(session: Session, query: Select, page: int = 1, page_size: int = 50) -> Page:
    page, page_size = max(1, int(page)), max(1, min(200, int(page_size)))
    skipped = (page - 1) * page_size
    items = list(session.scalars(query.limit(page_size).offset(skipped)).unique())
    if 0 < len(items) < page_size or (page == 1 and not items):
        total = skipped + len(items)  # the last page: no query needed to count the rows
    else:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return Page(items, total, page, page_size)


def tasks(session: Session, user: User, scope: str = "actionable", process: str | None = None,
          instance_id: int | None = None, page: int = 1, page_size: int = 50) -> Page:
    """Tasks for `user`: `mine` (assigned to me), `claimable` (offered to me, unclaimed),
    `actionable` (both), `all_visible` (every task of the requests I may see, any status)."""
    if scope == "mine":
        query = select(HumanTask).where(HumanTask.status == "ready", HumanTask.assignee == user.username)
    elif scope == "claimable":
        query = permissions.actionable_tasks(user).where(
            HumanTask.claimed.is_(False), or_(HumanTask.assignee.is_(None), HumanTask.assignee != user.username))
    elif scope == "all_visible":
        visible = permissions.visible_instances(user).with_only_columns(Instance.id)
        query = select(HumanTask).where(or_(HumanTask.instance_id.in_(visible),
                                            HumanTask.id.in_(permissions.actionable_tasks(user)
                                                             .with_only_columns(HumanTask.id))))
    else:
        query = permissions.actionable_tasks(user)
    if process:
        query = query.where(HumanTask.instance_id.in_(select(Instance.id).where(Instance.process_key == process)))
    if instance_id is not None:
        query = query.where(HumanTask.instance_id == instance_id)
    # Each task is shown with its request and its candidates: load those in the same query (not one
    # per task, nor one more per page), and without the request's saved workflow state, which a list
    # never reads.
    query = query.options(joinedload(HumanTask.instance, innerjoin=True).defer(Instance.state),
                          joinedload(HumanTask.candidates))
    return paginate(session, query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at,
                                            HumanTask.id), page, page_size)


def instances(session: Session, user: User, process: str | None = None, status: str | None = None,
              started_by: str | None = None, involved_me: bool = False, page: int = 1, page_size: int = 50) -> Page:
    """The requests `user` may see, newest first, with optional filters."""
    query = permissions.visible_instances(user)
    if process:
        query = query.where(Instance.process_key == process)
    if status:
        query = query.where(Instance.status == status)
    if started_by:
        query = query.where(Instance.started_by == started_by)
    if involved_me:
        query = query.where(or_(
            Instance.started_by == user.username, Instance.agent == user.username,
            exists().where(HumanTask.instance_id == Instance.id,
                           or_(HumanTask.completed_by == user.username, HumanTask.assignee == user.username))))
    return paginate(session, query.order_by(Instance.started_at.desc(), Instance.id.desc()), page, page_size)


# Asked by every answer that shows a request: built once, its cache key with it.
_OPEN_TASKS = (select(HumanTask).where(HumanTask.instance_id == bindparam("instance_id"), HumanTask.status == "ready")
               .options(joinedload(HumanTask.candidates)).order_by(HumanTask.id))


def open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    """The request's ready tasks, oldest first, with their candidates (one query)."""
    return list(session.scalars(_OPEN_TASKS, {"instance_id": instance_id}).unique())


def open_tasks_of(session: Session, instance_ids: Collection[int]) -> dict[int, list[HumanTask]]:
    """The open (ready) tasks of each of these requests, oldest first, in one query (every id is a
    key, with an empty list when none is open)."""
    found: dict[int, list[HumanTask]] = {i: [] for i in instance_ids}
    if found:
        query = (select(HumanTask).where(HumanTask.instance_id.in_(found), HumanTask.status == "ready")
                 .options(joinedload(HumanTask.candidates)))
        for row in session.scalars(query.order_by(HumanTask.id)).unique():
            found[row.instance_id].append(row)
    return found


@dataclass(frozen=True)
class Waiting:
    """What a running request waits for: its open tasks, else its next planned date (a timer)."""
    tasks: tuple[HumanTask, ...]
    timer_due: datetime | None


def waiting(session: Session, instances: Iterable[Instance]) -> dict[int, Waiting]:
    """What each running request among `instances` waits for, in two queries (finished ones are left out)."""
    running = [i.id for i in instances if i.status == "running"]
    if not running:
        return {}
    tasks = open_tasks_of(session, running)
    timers: dict[int, datetime] = {}
    for timer in session.scalars(select(Timer).where(Timer.instance_id.in_(running), Timer.status == "waiting")
                                 .order_by(Timer.due_at)):
        timers.setdefault(timer.instance_id, timer.due_at)
    return {i: Waiting(tuple(tasks[i]), timers.get(i)) for i in running}


def users_named(session: Session, usernames: Iterable[str | None]) -> dict[str, User]:
    """username -> User for those of `usernames` who exist (one query; none for no names)."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    return {u.username: u for u in session.scalars(select(User).where(User.username.in_(wanted)))}


def users_by_name(session: Session, active_only: bool = False) -> list[User]:
    """Everyone in the organisation (or its active people), ordered by name."""
    query = select(User).order_by(User.name)
    return list(session.scalars(query.where(User.active.is_(True)) if active_only else query))


def organisations(session: Session) -> list[Organisation]:
    """The host organisations, ordered by name."""
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def directorate(session: Session, code: str | None) -> Directorate | None:
    return session.scalar(select(Directorate).where(Directorate.code == code)) if code else None


def instances_by_id(session: Session, ids: Iterable[int]) -> dict[int, Instance]:
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


def instance_titles(session: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    return dict(session.execute(select(Instance.id, Instance.title).where(Instance.id.in_(ids))).all())


def instance_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)))


def history(session: Session, instance_id: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                .order_by(AuditEvent.seq)))


def audit_events(session: Session, process: str | None = None, actor: str | None = None, type: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, instance_id: int | None = None,
                 page: int = 1, page_size: int = 50) -> Page:
    """Audit events across instances, newest first (the caller checks the audit permission)."""
    return paginate(session, audit_query(process, actor, type, since, until, instance_id), page, page_size)


def audit_query(process=None, actor=None, type=None, since=None, until=None, instance_id=None) -> Select:
    query = select(AuditEvent)
    if process:
        query = query.where(AuditEvent.process_key == process)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if type:
        query = query.where(AuditEvent.type == type)
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at <= until)
    if instance_id is not None:
        query = query.where(AuditEvent.instance_id == instance_id)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


@dataclass(frozen=True)
class DiagramState:
    completed: frozenset[str]
    waiting: frozenset[str]


def diagram_state(instance: Instance) -> DiagramState:
    """BPMN ids on the path taken and waiting now, for highlighting the instance's diagram."""
    workflow = restore_workflow(instance, None)
    completed, waiting = set(), set()
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
            waiting.add(bpmn_id)
    completed |= spiff.pruned_completed(workflow)  # history forgotten by the engine, still on the path
    return DiagramState(frozenset(completed), frozenset(waiting - completed if instance.status != "running" else waiting))


def candidates_of(session: Session, task_id: int) -> list[tuple[str, str]]:
    """(kind, name) of whom task lists offer the task to now: none once it is done or cancelled."""
    return [(c.kind, c.name) for c in session.scalars(select(TaskCandidate).where(
        TaskCandidate.task_id == task_id, TaskCandidate.ready).order_by(TaskCandidate.id))]


def has_people(session: Session) -> bool:
    """Whether any person is on record (an empty database gets the demo organisation)."""
    return session.scalar(select(User.id).limit(1)) is not None


def directorates(session: Session) -> list[Directorate]:
    """The directorates, ordered by name."""
    return list(session.scalars(select(Directorate).order_by(Directorate.name)))
