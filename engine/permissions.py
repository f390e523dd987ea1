"""Who may do what, declared once. Every page and endpoint asks these functions.

- start a process: a role listed in the version's `starter_roles`;
- see a request: its starter, its agent, anyone who acted on or is offered one of its tasks,
  the line manager of its starter or agent, and `hr`, `auditor`, `admin` (all requests);
- see a task: until it is done, its candidates; once done, who did it; always, who may see its request;
- act on a task: its assignee, a candidate user, or a holder of a candidate role — unless
  excluded, or the task is claimed by someone else; never decide on one's own request (a task
  whose form takes a `decision`, done by its starter, its agent or the person it is about);
- release a claimed task: whoever claimed it; `hr` and `admin` too, so that work is never stuck;
- cancel: the starter until the request is approved (withdrawal); `hr` and `admin` always;
- deploy processes: `process_owner`, `admin`; with four eyes on, approve a proposed version:
  one of them other than its author (who may withdraw it; any of them may reject it);
  read the audit: `auditor`, `admin`;
- retry an incident (a timer or a mail that kept failing): `hr`, `admin`;
- see a mission in the register: `hr`, `coordinator`, `auditor`, `admin` every one; a manager
  those of their reports (the agent's manager); everyone their own (its agent or starter); an
  external host referent only the missions with their organisation.
"""
from __future__ import annotations

from typing import Collection

from sqlalchemy import exists, or_, select, true, union
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from . import forms
from .errors import PermissionDenied
from .messages import Message
from .models import HumanTask, Instance, ProcessVersion, ProposedVersion, TaskCandidate, User

SEE_ALL_ROLES = ("hr", "auditor", "admin")
SEE_ALL_MISSIONS_ROLES = ("hr", "coordinator", "auditor", "admin")


def require(allowed: bool, said: Message, message: str) -> None:
    """PermissionDenied saying `said` (its English `message` for logs) unless `allowed`."""
    if not allowed:
        raise PermissionDenied(said, message)


def can_start(user: User, version: ProcessVersion) -> bool:
    return user.active and any(role in user.all_roles for role in (version.starter_roles or ["agent"]))


def can_deploy(user: User) -> bool:
    return user.has_role("process_owner", "admin")


def can_approve_version(user: User, proposed: ProposedVersion) -> bool:
    """Four eyes: a process owner or an administrator, never the author of the files."""
    return user.active and can_deploy(user) and user.username != proposed.author


def can_read_audit(user: User) -> bool:
    return user.has_role("auditor", "admin")


def can_administer(user: User) -> bool:
    return user.has_role("admin")


def can_retry_incidents(user: User) -> bool:
    return user.active and user.has_role("hr", "admin")


def can_cancel(user: User, instance: Instance) -> bool:
    if user.has_role("hr", "admin"):
        return True
    return user.username == instance.started_by and instance.approved_at is None


def is_candidate(user: User, task: HumanTask) -> bool:
    if user.username in (task.excluded_users or []):
        return False
    users, groups = task.candidate_users, task.candidate_groups
    if not (task.assignee or task.default_assignee or users or groups):
        return user.has_role("admin")  # nobody named by the diagram: an administrator keeps it moving
    return (user.username in (task.default_assignee, task.assignee) or user.username in users
            or any(role in user.all_roles for role in groups))


def can_act(user: User, task: HumanTask) -> bool:
    if task.status != "ready" or not user.active:
        return False
    if task.claimed:
        return task.assignee == user.username
    return is_candidate(user, task)


def decides_own_request(user: User, task: HumanTask, concerned: Collection[str]) -> bool:
    """Whether completing `task` would have `user` decide on a request that concerns them, whatever
    the assignment says: the task's form takes a `decision` and `user` is one of `concerned` (the
    request's starter, its agent, whoever a step made its subject — `runtime` lists them, and
    leaves out a task the diagram gives them by name: their own answer, e.g. an agent's consent)."""
    return user.username in concerned and forms.takes_decision(task.form or {})


def can_release(user: User, task: HumanTask) -> bool:
    return bool(task.claimed) and user.active and (task.assignee == user.username or user.has_role("hr", "admin"))


def can_see_task(session: Session, user: User, task: HumanTask) -> bool:
    """A task not done (waiting, or withdrawn with its request): its candidates; a done one: who did
    it. Either: who may see its request (a group's other members do not see a step one of them did;
    `engine.visibility` says what each reader sees)."""
    if task.status != "completed" and is_candidate(user, task):
        return True
    return task.completed_by == user.username or can_see_instance(session, user, task.instance)


def can_see_instance(session: Session, user: User, instance: Instance) -> bool:
    return session.scalar(visible_instances(user).where(Instance.id == instance.id).with_only_columns(Instance.id)) is not None


def visible_instances(user: User) -> Select:
    """A query of the instances `user` may see (one SQL query, no workflow loaded)."""
    query = select(Instance)
    if user.has_role(*SEE_ALL_ROLES):
        return query
    reports = select(User.username).where(User.manager_username == user.username)
    involved = exists().where(HumanTask.instance_id == Instance.id, or_(
        HumanTask.completed_by == user.username, HumanTask.assignee == user.username,
        exists().where(TaskCandidate.task_id == HumanTask.id, _offered_to(user.username, _groups(user))),
    ))
    return query.where(or_(
        Instance.started_by == user.username, Instance.agent == user.username, involved,
        Instance.started_by.in_(reports), Instance.agent.in_(reports),
    ))


def visible_missions(user: User):
    """A condition on Instance: the missions `user` may see in the register (one SQL condition)."""
    if user.has_role(*SEE_ALL_MISSIONS_ROLES):
        return true()
    if user.organisation_id:  # an external host referent: their organisation's missions only
        return Instance.host_organisation == user.organisation_id
    reports = select(User.username).where(User.manager_username == user.username)
    return or_(Instance.agent == user.username, Instance.started_by == user.username, Instance.agent.in_(reports))


def can_see_register(user: User) -> bool:
    """Everyone has a register: their own missions at least (a referent, their organisation's)."""
    return user.active


def _groups(user: User) -> list[str]:
    # "agent" is everyone's role: a task offered to every agent does not make its request visible.
    return [r for r in user.all_roles if r != "agent"]


def _offered_to(username: str, roles: Collection[str]):
    """Candidate rows of ready tasks offered to this user or to one of these roles (by the lookup index)."""
    return TaskCandidate.ready & or_(
        TaskCandidate.kind.in_(("user", "assignee")) & (TaskCandidate.name == username),
        TaskCandidate.kind.in_(("group", "fallback")) & TaskCandidate.name.in_(roles),
    )


def actionable_tasks(user: User) -> Select:
    """Ready tasks the user may act on now or claim (task lists: one indexed query).

    The tasks are found from the user's side — candidate rows by (kind, name), plus ready tasks
    assigned to them by (status, assignee) — never by testing every ready task: with 100,000
    requests that is the difference between 1 ms and 100 ms (bench/README.md, measurement 4).
    """
    offered = select(TaskCandidate.task_id).where(_offered_to(user.username, user.all_roles))
    assigned = select(HumanTask.id).where(HumanTask.status == "ready", HumanTask.assignee == user.username)
    excluded = exists().where(TaskCandidate.task_id == HumanTask.id, TaskCandidate.kind == "exclude",
                              TaskCandidate.name == user.username, TaskCandidate.ready)
    return select(HumanTask).where(
        HumanTask.id.in_(union(offered, assigned)),
        HumanTask.status == "ready", ~excluded,
        or_(HumanTask.claimed.is_(False), HumanTask.assignee == user.username),
    )
