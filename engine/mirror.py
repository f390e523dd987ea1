"""Our tables mirror the work a workflow waits for: a `human_task` row (with its candidates) per
ready user task, a `timer` row per waiting timer. Task lists, permissions and the timer worker read
these indexed rows, never the workflows; the runtime calls `sync_*` after every step it runs.
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import assignment, audit, clock, forms, notifications, org, queries, spiff, visibility
from .audit import EventType
from .models import HumanTask, Instance, TaskCandidate, Timer

log = logging.getLogger(__name__)

# Built once: they run at every step (building and keying a statement costs as much as running it).
# failed timers (incidents) still wait in the workflow: keep one row each, never a duplicate
_TIMER_ROWS = select(Timer).where(Timer.instance_id == bindparam("instance_id"),
                                  Timer.status.in_(("waiting", "failed")))
_DROP_CANDIDATES = delete(TaskCandidate).where(TaskCandidate.task_id == bindparam("changed_task"))
_CLOSE_CANDIDATES = (update(TaskCandidate).where(TaskCandidate.task_id == bindparam("closed_task"))
                     .values(ready=False).execution_options(synchronize_session=False))


def _role_names() -> set[str]:
    return set(org.ROLES)


def _resolve(session: Session, spiff_task, data: dict[str, Any]) -> assignment.Assignment:
    functions = {
        "manager_of": lambda username: org.manager_of(session, username),
        "host_referents": lambda organisation: org.host_referents(session, organisation),
    }
    return assignment.resolve(spiff.extensions_of(spiff_task.task_spec), spiff_task.task_spec.lane,
                              {**data, **spiff_task.data}, functions, _role_names())


def sync_human_tasks(session: Session, instance: Instance, workflow: BpmnWorkflow, actor: str) -> None:
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    open_rows = {row.spiff_task_id: row for row in _open_tasks(session, instance.id)}
    now = clock.now()
    for spiff_id, row in open_rows.items():
        if spiff_id not in ready:  # cancelled by a boundary event, a gateway or the end of the process
            row.status = "cancelled"
            close_candidates(session, row)
    created = []
    for spiff_id, spiff_task in ready.items():
        resolved = _resolve(session, spiff_task, instance.data)
        row = open_rows.get(spiff_id)
        if row is None:
            spec = spiff_task.task_spec
            row = HumanTask(instance_id=instance.id, spiff_task_id=spiff_id, bpmn_id=spec.bpmn_id,
                            title=spec.bpmn_name or spec.bpmn_id, lane=spec.lane, status="ready",
                            form={**forms.form_spec(getattr(spec, "form", None)), **visibility.declaration(spec)},
                            created_at=now,
                            due_at=_due_at(spiff.extensions_of(spec).get("due_in"), now),
                            assignee=resolved.assignee, default_assignee=resolved.assignee, claimed=False)
            _apply_candidates(row, resolved)
            session.add(row)
            created.append(row)
        elif (row.candidate_users, row.candidate_groups, row.default_assignee) != (
                resolved.candidate_users, resolved.candidate_groups, resolved.assignee):
            _apply_candidates(row, resolved)
            if not row.claimed:
                row.assignee = row.default_assignee = resolved.assignee
            with session.no_autoflush:
                session.execute(_DROP_CANDIDATES, {"changed_task": row.id})
            _write_candidates(session, [row])
    if created:
        session.flush()  # one flush for all new tasks: their ids name their candidates and messages
        _write_candidates(session, created)
        for row in created:
            notifications.task_assigned(session, row, actor)  # outbox; the actor is already on the page
        for row in created:  # after the mail: their queries need not flush these events one by one
            record_task_event(session, row, EventType.TASK_CREATED, "system")


def _open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    """The instance's ready tasks as this transaction left them, without flushing its changes
    first (the step flushes once, at its end): a row the step has just completed or cancelled is
    still ready in the database, and is left out here."""
    with session.no_autoflush:
        return [row for row in queries.open_tasks(session, instance_id) if row.status == "ready"]


def _apply_candidates(row: HumanTask, resolved: assignment.Assignment) -> None:
    row.excluded_users = resolved.excluded_users
    row.default_assignee = resolved.assignee
    set_committed_value(row, "candidates", candidate_rows(resolved))  # what `_write_candidates` stores


def _write_candidates(session: Session, rows: list[HumanTask]) -> None:
    """Insert the candidate rows of flushed tasks, all in one statement, in order (rows read by id).
    Not through the session: with RETURNING ids, SQLite would take one INSERT per row."""
    values = [{"task_id": row.id, "kind": c.kind, "name": c.name, "ready": True}
              for row in rows for c in row.candidates]
    with session.no_autoflush:
        session.execute(insert(TaskCandidate), values)


def candidate_rows(resolved: assignment.Assignment) -> list[TaskCandidate]:
    """The rows a task offered as `resolved` says gets: the diagram's candidates in its order, then
    the names task lists look the task up by (its default assignee, or administrators when the
    diagram names nobody), then who may not act on it."""
    names = [("user", u) for u in resolved.candidate_users] + [("group", g) for g in resolved.candidate_groups]
    if resolved.assignee:
        names.append(("assignee", resolved.assignee))
    if not names:
        names.append(("fallback", "admin"))  # nobody named by the diagram: offered to administrators
    names += [("exclude", u) for u in resolved.excluded_users]
    return [TaskCandidate(kind=kind, name=name) for kind, name in names]


def close_candidates(session: Session, row: HumanTask) -> None:
    """The task is done or cancelled: its rows stay (who it was offered to), out of task lists."""
    with session.no_autoflush:  # depends on no pending change: let them wait for the next flush
        session.execute(_CLOSE_CANDIDATES, {"closed_task": row.id})


def _due_at(duration: str | None, now: datetime) -> datetime | None:
    if not duration:
        return None
    try:
        parsed = TimerEventDefinition.parse_iso_duration(duration)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    except Exception:
        log.warning("ignoring invalid due_in %r", duration)
        return None


def sync_timers(session: Session, instance: Instance, workflow: BpmnWorkflow) -> None:
    if not _has_timers(workflow):  # then it never had a timer row either: nothing to read
        return
    waiting: dict[str, tuple[str, datetime]] = {}
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = task._get_internal_data("event_value")
        if isinstance(value, dict):  # cycle timers
            value = value.get("next")
        if value:
            waiting[str(task.id)] = (task.task_spec.bpmn_id, TimerEventDefinition.get_datetime(value))
    with session.no_autoflush:  # a step adds timer rows only here, and flushes before its next step
        rows = {row.spiff_task_id: row for row in session.scalars(_TIMER_ROWS, {"instance_id": instance.id})}
    for spiff_id, row in rows.items():
        if spiff_id not in waiting:
            row.status = "fired" if _timer_fired(workflow, spiff_id) else "cancelled"
    for spiff_id, (bpmn_id, due) in waiting.items():
        row = rows.get(spiff_id)
        if row is None:
            session.add(Timer(instance_id=instance.id, spiff_task_id=spiff_id, bpmn_id=bpmn_id, due_at=due))
        elif row.due_at != due:
            row.due_at = due


def _has_timers(workflow: BpmnWorkflow) -> bool:
    """Whether the diagram (or one of its called processes) has a timer event, the only source of
    timer rows: an instance of a diagram without one has none, so there is nothing to read."""
    return _specs_have_timers(workflow.spec, *workflow.subprocess_specs.values())


@functools.lru_cache(maxsize=256)
def _specs_have_timers(*specs) -> bool:  # specs are parsed once per process and never change
    return any(isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)
               for spec in specs for task_spec in spec.task_specs.values())


def _timer_fired(workflow: BpmnWorkflow, spiff_id: str) -> bool:
    """A timer no longer waits either because it fired (its event task completed) or because it was
    cancelled: a boundary timer whose activity finished first, or the branch it waited in ended."""
    from uuid import UUID
    task = workflow.tasks.get(UUID(spiff_id))
    return task is not None and task.state == TaskState.COMPLETED


def close_open_work(session: Session, instance: Instance, workflow: BpmnWorkflow) -> None:
    for row in _open_tasks(session, instance.id):
        row.status = "cancelled"
        close_candidates(session, row)
    if _has_timers(workflow):
        session.execute(update(Timer).where(Timer.instance_id == instance.id, Timer.status == "waiting")
                        .values(status="cancelled").execution_options(synchronize_session=False))


def record_task_event(session: Session, task: HumanTask, type: EventType, actor: str) -> None:
    instance = task.instance
    audit.record(session, type, actor, instance_id=task.instance_id, process_key=instance.process_key,
                 version=instance.version.version, task_id=task.bpmn_id, task_name=task.title,
                 data={"assignee": task.assignee, "candidate_users": task.candidate_users,
                       "candidate_groups": task.candidate_groups})
