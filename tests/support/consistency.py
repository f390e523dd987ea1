"""Is every stored request whole? Its saved workflow, our task and timer tables and its audit
trail must tell the same story — a request caught between two steps would not."""
from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import verify_audit
from engine.registry import restore_workflow
from engine.models import AuditEvent, HumanTask, Instance, Timer


def instance_problems(session: Session, instance: Instance) -> list[str]:
    problems: list[str] = []
    workflow = restore_workflow(instance, None)
    ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    waiting_timers = {str(t.id) for t in workflow.event_manager.tasks.values()
                      if isinstance(t.task_spec.event_definition, TimerEventDefinition)}
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).all()
    open_rows = {r.spiff_task_id for r in rows if r.status == "ready"}
    timer_rows = set(session.scalars(select(Timer.spiff_task_id).where(Timer.instance_id == instance.id,
                                                                       Timer.status == "waiting")))
    if instance.status == "running":
        if ready != open_rows:
            problems.append(f"ready in the workflow {sorted(ready)} but open tasks {sorted(open_rows)}")
        if waiting_timers != timer_rows:
            problems.append(f"timers waiting in the workflow {sorted(waiting_timers)} but rows {sorted(timer_rows)}")
    elif open_rows or timer_rows:
        problems.append(f"{instance.status} but tasks {sorted(open_rows)} / timers {sorted(timer_rows)} still open")
    if instance.status == "completed" and not workflow.is_completed():
        problems.append("marked completed but its workflow is not")
    completions = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance.id,
                                                           AuditEvent.type == "task_completed")).all()
    done = sorted((r.bpmn_id, r.completed_by) for r in rows if r.status == "completed")
    if sorted((e.task_id, e.actor) for e in completions) != done:
        problems.append(f"completed tasks {done} but audit {[(e.task_id, e.actor) for e in completions]}")
    for row in rows:
        if row.status == "completed":
            task = workflow.get_task_from_id(UUID(row.spiff_task_id))
            if task is None or task.state != TaskState.COMPLETED:
                problems.append(f"task {row.id} completed in our table, not in the workflow")
    verification = verify_audit(session, instance.id)
    if not verification.ok:
        problems.append(f"audit chain broken: {verification.reason}")
    return [f"request {instance.id}: {p}" for p in problems]


def all_problems(session: Session) -> list[str]:
    problems: list[str] = []
    for instance in session.scalars(select(Instance).order_by(Instance.id)):
        problems += instance_problems(session, instance)
    if not verify_audit(session).ok:
        problems.append("the global audit chain does not verify")
    return problems
