"""Running instances: start, claim, release, complete, cancel — each one unit of work.

Every function takes the caller's Session and never commits; it flushes, so that a concurrent
change to the same instance surfaces here as Conflict (optimistic lock on the instance row).
"""
from __future__ import annotations

import contextlib
import logging
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload, object_session
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.util.task import TaskState

from . import (assignment, audit, clock, forms, mirror, notifications, org, permissions, phases, spiff, values,
               workflow_cache)
from .audit import EventType
from . import errors
from .errors import Conflict, InvalidData, NotFound, SandboxCrashed
from .facts import agent_of, facts_for
from .failures import failure_of
from .messages import Message, declare
from .models import HumanTask, Instance, Organisation, User
from .registry import get_version, parsed_specs, restore_workflow
from .sandbox import find_forbidden, make_script_engine

log = logging.getLogger(__name__)
clock.install()
_script_engine = make_script_engine()

#: data keys that the engine adds and that are not the requester's to set at start
RESERVED_KEYS = ("started_by", "started_at")

# What is wrong with the data of a request (field -> [Message], as for forms)
KEYS_NOT_TEXT = declare("data.keys_not_text")
SET_BY_ENGINE = declare("data.set_by_engine")
TOO_LONG = declare("data.too_long", "max")  # characters, the size of its column
REASON_REQUIRED = declare("data.reason_required")
TOO_MUCH_DATA = declare("data.too_much_data", "limit_kb")


# --- public operations --------------------------------------------------------------------------

def start_instance(session: Session, process_key: str, actor: User, data: dict[str, Any] | None = None) -> Instance:
    """Start the latest version of `process_key` for `actor`, run it until it waits, persist it.

    `data` fills the start event's form, or pre-fills the first tasks' (`spiff.start_form`):
    any other field is refused.
    Raises NotFound (unknown process), PermissionDenied (actor may not start it), InvalidData.
    """
    version = get_version(session, process_key)
    permissions.require(permissions.can_start(actor, version), Message(errors.MAY_NOT_START),
                        "you may not start this process")
    data = dict(data or {})
    if not all(isinstance(k, str) for k in data):
        raise InvalidData(Message(errors.DATA_KEYS_NOT_TEXT),
                          "data keys must be strings", {"data": [Message(KEYS_NOT_TEXT)]})
    reserved = [k for k in data if k in RESERVED_KEYS]
    if reserved:
        raise InvalidData(Message(errors.FIELDS_SET_BY_ENGINE),
                          "these fields are set by the engine", {k: [Message(SET_BY_ENGINE)] for k in reserved})
    too_long = {k: [Message(TOO_LONG, max=n)] for k, n in (("title", 300), ("agent", 64))
                if len(str(data.get(k) or "")) > n}  # the sizes of their columns
    if too_long:
        raise InvalidData(Message(errors.VALUES_TOO_LONG), "some values are too long", too_long)
    spec, subprocess_specs = parsed_specs(version)
    form, partial = spiff.start_form(spec)
    data = forms.validate_submission(form, data, _lookups(session), partial=partial)
    now = clock.now()
    data.update(started_by=actor.username, started_at=now.isoformat())
    budget = values.DataBudget({})
    _check_quota(budget, {}, data)
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=_script_engine)
    workflow.task_tree.data.update(data)  # the start task's data flows to everything after it
    instance = Instance(process_key=process_key, version=version, title=str(data.get("title") or version.name),
                        status="running", started_by=actor.username, started_at=now, data=data,
                        agent=agent_of(data, actor.username), serializer_version=spiff.SERIALIZER_VERSION,
                        state="")
    session.add(instance)
    session.flush()
    audit.remember_head(session, instance.id, None, None)  # a new instance: its chain is empty
    audit.record(session, EventType.INSTANCE_STARTED, actor.username, instance_id=instance.id,
                 process_key=process_key, version=version.version, data=data)
    _advance(session, instance, workflow, actor.username, budget, before=None)
    return instance


def complete_task(session: Session, task_id: int, actor: User, data: dict[str, Any]) -> HumanTask:
    """Validate `data` against the task's form, complete it, run the engine, persist — atomically.

    Raises NotFound, PermissionDenied, Conflict (no longer ready / claimed by someone else /
    completed concurrently), InvalidData (field errors).
    """
    task = _task_for_update(session, task_id, actor)
    instance = task.instance
    before = instance.data
    workflow = _load(instance)
    spiff_task = _spiff_task(workflow, task)
    _refuse_own_decision(actor, task, spiff_task.task_spec)
    cleaned = forms.validate_submission(task.form, data, _lookups(session), current=instance.data)
    extensions = spiff.extensions_of(spiff_task.task_spec)
    by_field = extensions.get("completed_by_field")
    if by_field:
        cleaned_with_actor = {**cleaned, by_field: actor.username}
    else:
        cleaned_with_actor = cleaned
    budget = values.DataBudget(instance.data)  # once per step: then each change costs its own size
    _check_quota(budget, instance.data, cleaned_with_actor)
    spiff_task.data.update(cleaned_with_actor)
    now = clock.now()
    task.status, task.completed_at, task.completed_by, task.data = "completed", now, actor.username, cleaned
    task.assignee = task.assignee or actor.username
    mirror.close_candidates(session, task)
    if (str(extensions.get("approves_request", "")).lower() == "true" and instance.approved_at is None
            and cleaned.get("decision") not in forms.negative_decisions(task.form)):
        instance.approved_at = now
    instance.data = {**instance.data, **cleaned_with_actor}
    audit.record(session, EventType.TASK_COMPLETED, actor.username, instance_id=instance.id,
                 process_key=instance.process_key, version=instance.version.version, task_id=task.bpmn_id,
                 task_name=task.title, data=cleaned_with_actor)
    if "decision" in cleaned:  # outbox: tell the requester (sent once this transaction commits)
        notifications.decision_made(session, task, actor)
    try:
        spiff_task.run()
    except Exception as err:  # diagram code after the form (e.g. a script) may fail
        _fail(session, instance, workflow, err, actor.username)
        return task
    _advance(session, instance, workflow, actor.username, budget, before=before)
    return task


def claim_task(session: Session, task_id: int, actor: User) -> HumanTask:
    """Take a group task: it becomes the actor's until released. Conflict if someone else holds it."""
    task = _task_for_update(session, task_id, actor)
    if task.claimed and task.assignee == actor.username:
        return task
    _refuse_own_decision(actor, task, _user_task_spec(task))
    result = session.execute(
        update(HumanTask).where(HumanTask.id == task.id, HumanTask.status == "ready", HumanTask.claimed.is_(False))
        .values(assignee=actor.username, claimed=True).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(Message(errors.TASK_TAKEN), "this task was just claimed by someone else")
    session.refresh(task)
    mirror.record_task_event(session, task, EventType.TASK_CLAIMED, actor.username)
    return task


def release_task(session: Session, task_id: int, actor: User) -> HumanTask:
    """Give a claimed task back to its candidates (the claimer, `hr` or `admin` may)."""
    task = _locked_task(session, task_id, actor)
    if task.status != "ready":
        raise Conflict(Message(errors.TASK_NOT_WAITING), "this task is no longer waiting")
    if not task.claimed:
        raise Conflict(Message(errors.TASK_NOT_CLAIMED), "this task is not claimed")
    permissions.require(permissions.can_release(actor, task), Message(errors.MAY_NOT_RELEASE),
                        "only the person who claimed this task may release it")
    task.assignee, task.claimed = task.default_assignee, False
    mirror.record_task_event(session, task, EventType.TASK_RELEASED, actor.username)
    session.flush()
    return task


def cancel_instance(session: Session, instance_id: int, actor: User, reason: str) -> Instance:
    """Withdraw (the starter, until approved) or cancel (`hr`, `admin`) a running instance."""
    instance = get_instance(session, instance_id, actor)
    permissions.require(permissions.can_cancel(actor, instance),
                        Message(errors.MAY_NOT_CANCEL_APPROVED if instance.approved_at else errors.MAY_NOT_CANCEL),
                        "you may not cancel this request"
                        + (" any more: it has been approved" if instance.approved_at else ""))
    if instance.status != "running":
        raise Conflict(Message(errors.REQUEST_ALREADY, status=instance.status),
                       f"this request is already {instance.status}")
    if not reason or not str(reason).strip():
        raise InvalidData(Message(errors.REASON_MISSING), "give a reason", {"reason": [Message(REASON_REQUIRED)]})
    _lock(session, instance)
    if instance.status != "running":
        raise Conflict(Message(errors.REQUEST_ALREADY, status=instance.status),
                       f"this request is already {instance.status}")
    workflow = _load(instance)
    workflow.cancel()
    now = clock.now()
    instance.status, instance.ended_at = "cancelled", now
    # a withdrawal is the starter's, until approval; past it a starter who is hr or admin cancels
    withdrawn = actor.username == instance.started_by and instance.approved_at is None
    instance.end_state = "withdrawn" if withdrawn else "cancelled"
    phases.sync(session, instance, None, instance.data, phase=instance.end_state)
    mirror.close_open_work(session, instance, workflow)
    audit.record(session, EventType.INSTANCE_CANCELLED, actor.username, instance_id=instance.id,
                 process_key=instance.process_key, version=instance.version.version,
                 data={"reason": str(reason).strip(), "end_state": instance.end_state})
    if instance.end_state == "cancelled":  # outbox: cancelled by someone else than the requester
        notifications.instance_ended(session, instance)
    _save(session, instance, workflow)
    return instance


def get_instance(session: Session, instance_id: int, actor: User) -> Instance:
    """An instance the actor may see; NotFound otherwise (existence is not disclosed)."""
    instance = session.get(Instance, instance_id)
    if instance is None or not permissions.can_see_instance(session, actor, instance):
        raise NotFound(Message(errors.NO_REQUEST, id=instance_id), f"no request {instance_id}")
    return instance


def get_task(session: Session, task_id: int, actor: User) -> HumanTask:
    return _get_task(session, task_id, actor)


def run_due_timers(session: Session, instance: Instance, actor: str = "system") -> bool:
    """Fire the timers of `instance` that are due at the engine clock; True if anything moved.

    Raises SandboxCrashed when diagram code crashed or overran its sandbox process: for the worker,
    a failed attempt (retried, then an incident), not a failed request."""
    _lock(session, instance)
    if instance.status != "running":
        return False
    return _advance(session, instance, _load(instance), actor, crash_raises=True, before=instance.data) > 0


# --- internals ----------------------------------------------------------------------------------

def _get_task(session: Session, task_id: int, actor: User) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None or not permissions.can_see_task(session, actor, task):
        raise NotFound(Message(errors.NO_TASK, id=task_id), f"no task {task_id}")
    return task


def _lock(session: Session, instance: Instance) -> None:
    """Serialise writers of one instance: row lock on PostgreSQL (SQLite's write lock is global),
    re-reading, in the same statement, what a concurrent writer may have changed while we waited."""
    session.refresh(instance, with_for_update=True)


# Built once: the statements of every completion (building and keying a statement costs as much
# as running it).
_LOCK_INSTANCE_OF_TASK = select(Instance.id).where(
    Instance.id == select(HumanTask.instance_id).where(HumanTask.id == bindparam("task_id")).scalar_subquery()
).with_for_update()
_TASK_INSTANCE_AND_CHAIN_HEAD = (
    select(HumanTask, *audit.chain_head(HumanTask.instance_id)).where(HumanTask.id == bindparam("task_id"))
    .options(joinedload(HumanTask.instance, innerjoin=True).joinedload(Instance.version),
             joinedload(HumanTask.candidates))
    .execution_options(populate_existing=True))


def _locked_task(session: Session, task_id: int, actor: User) -> HumanTask:
    """The task with its instance and version, read once the instance's row lock is ours (see
    `_lock`), so that it shows what the previous holder of the lock committed, with the head of the
    instance's audit chain (so that `audit.record` need not read it): two statements on
    PostgreSQL, one on SQLite, which has no row locks (its write lock, taken by BEGIN IMMEDIATE
    in `engine.db`, covers the whole database, and it ignores FOR UPDATE)."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(_LOCK_INSTANCE_OF_TASK, {"task_id": task_id})
    row = session.execute(_TASK_INSTANCE_AND_CHAIN_HEAD, {"task_id": task_id}).unique().first()
    task = row[0] if row else None
    if task is None or not permissions.can_see_task(session, actor, task):
        raise NotFound(Message(errors.NO_TASK, id=task_id), f"no task {task_id}")
    audit.remember_head(session, task.instance_id, row.chain_seq, row.chain_hash)
    return task


def _task_for_update(session: Session, task_id: int, actor: User) -> HumanTask:
    """`_locked_task`, if it is still ready and the actor's to do."""
    task = _locked_task(session, task_id, actor)
    if task.status != "ready":
        raise Conflict(Message(errors.TASK_ALREADY, status=task.status), f"this task is already {task.status}")
    if task.claimed and task.assignee != actor.username and permissions.is_candidate(actor, task):
        raise Conflict(Message(errors.TASK_CLAIMED_BY, user=task.assignee), f"this task is claimed by {task.assignee}")
    permissions.require(permissions.can_act(actor, task), Message(errors.NOT_YOUR_TASK), "this task is not yours to do")
    return task


def _load(instance: Instance) -> BpmnWorkflow:
    """The instance's workflow: kept live by this process since its last step, or rebuilt from its
    saved state (callers hold the instance lock, so the row version they read is current)."""
    workflow = workflow_cache.take(object_session(instance), instance)
    if workflow is not None:
        return workflow
    return restore_workflow(instance, _script_engine)


def _refuse_own_decision(actor: User, task: HumanTask, task_spec) -> None:
    """Nobody decides on their own request, whatever the assignment says (permissions)."""
    permissions.require(not permissions.decides_own_request(actor, task, _concerned(task.instance, task_spec)),
                        Message(errors.OWN_REQUEST), "you may not decide on a request that concerns you")


def _concerned(instance: Instance, task_spec) -> set[str]:
    """Who `instance` is about, for the task `task_spec`: its starter, its agent and the people the
    diagram's steps recorded as its subject (`completed_by_field`, e.g. the volunteer). Nobody when
    the diagram gives the task to one of them by name (`camunda:assignee="${agent}"`): that is
    their own answer, e.g. an agent's consent, not a decision on their request."""
    spec, subprocess_specs = parsed_specs(instance.version)
    fields = {"started_by", "agent"} | {
        str(by) for s in (spec, *subprocess_specs.values()) for t in s.task_specs.values()
        if (by := spiff.extensions_of(t).get("completed_by_field"))}
    own = assignment.parse_expression(str(spiff.extensions_of(task_spec).get("camunda:assignee") or ""))
    if own is not None and own.function is None and own.name in fields:
        return set()
    data = instance.data or {}
    return {instance.started_by, instance.agent or instance.started_by} | {str(data[f]) for f in fields if data.get(f)}


def _user_task_spec(task: HumanTask):
    """The spec of a waiting task, from its version's parsed specs (no workflow loaded)."""
    spec, subprocess_specs = parsed_specs(task.instance.version)
    for specs in (spec, *subprocess_specs.values()):
        for task_spec in specs.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) == task.bpmn_id and isinstance(task_spec, spiff.UserTask):
                return task_spec
    return None


def _check_quota(budget: values.DataBudget, current: dict[str, Any], changes: dict[str, Any]) -> None:
    """Submitted data: within the request's quota, or InvalidData naming the largest field."""
    try:
        budget.update(current, changes)
    except values.TooLarge as err:
        raise InvalidData(Message(errors.DATA_TOO_LARGE, size_kb=err.size // 1024, limit_kb=err.limit // 1024),
                          str(err), {err.field or "data": [Message(TOO_MUCH_DATA, limit_kb=err.limit // 1024)]})
    except values.NotJson as err:
        raise InvalidData(Message(errors.VALUE_NOT_STORABLE, field=err.field),
                          f"the value of {err.field} cannot be stored", {err.field: [err.reason]})


def _spiff_task(workflow: BpmnWorkflow, task: HumanTask):
    from uuid import UUID
    spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise Conflict(Message(errors.TASK_NOT_WAITING), "this task is no longer waiting")
    return spiff_task


def _lookups(session: Session) -> forms.Lookups:
    def user_roles(username: str):
        user = org.find_user(session, username)
        return user.all_roles if user else None

    def organisation_kind(organisation_id: str):
        organisation = session.get(Organisation, organisation_id)
        return organisation.kind if organisation else None

    return forms.Lookups(user_roles, organisation_kind)


def _advance(session: Session, instance: Instance, workflow: BpmnWorkflow, actor: str,
             budget: values.DataBudget | None = None, crash_raises: bool = False,
             before: dict[str, Any] | None = None) -> int:
    """Run engine steps until the workflow waits, then mirror its waiting work into our tables.
    Returns how many tasks the engine completed. What each task stores is checked against
    `budget` (JSON values, the request's data quota): a task that breaks it fails the request.
    `before` is the request's data before this step (None for a new request): the register's
    columns are set from what changed (`engine.phases`)."""
    version = instance.version.version
    completed = 0
    end_phase: str | None = None
    budget = budget or values.DataBudget(instance.data)

    def will_complete(task):
        if isinstance(task.task_spec, BusinessRuleTaskMixin):
            task.data.update(facts_for(session, instance, {**instance.data, **task.data}))

    def did_complete(task):
        nonlocal completed, end_phase
        completed += 1
        spec = task.task_spec
        merged = {k: v for k, v in task.data.items() if not k.startswith("_")}
        changes = _stored_changes(task, instance.data, merged, budget)
        if changes:
            instance.data = {**instance.data, **changes}
        if isinstance(spec, BusinessRuleTaskMixin):
            table = spec.dmnEngine.decision_table
            outputs = {o.name: task.data.get(o.name) for o in table.outputs if o.name}
            audit.record(session, EventType.DECISION_EVALUATED, "system", instance_id=instance.id,
                         process_key=instance.process_key, version=version, task_id=spec.bpmn_id,
                         task_name=spec.bpmn_name or table.name,
                         data={"decision": spiff.extensions_of(spec).get("camunda:decisionRef", table.id),
                               "result": outputs})
        elif isinstance(getattr(spec, "event_definition", None), TimerEventDefinition):
            audit.record(session, EventType.TIMER_FIRED, "system", instance_id=instance.id,
                         process_key=instance.process_key, version=version, task_id=spec.bpmn_id,
                         task_name=spec.bpmn_name, data={"due": task._get_internal_data("event_value")})
        if (not isinstance(spec, spiff.UserTask) and instance.approved_at is None
                and str(spiff.extensions_of(spec).get("approves_request", "")).lower() == "true"):
            instance.approved_at = clock.now()  # a milestone the diagram reaches once its checks pass
        if isinstance(spec, spiff.EndEvent):
            end_state = spiff.extensions_of(spec).get("end_state")
            if end_state:
                instance.end_state = end_state
            if phases.declared(spec) in phases.FINAL_PHASES:  # not a branch's end (e.g. an escalation)
                end_phase = phases.declared(spec)

    try:
        workflow.do_engine_steps(will_complete_task=will_complete, did_complete_task=did_complete)
        while any(not t.task_spec.manual for t in workflow.get_tasks(state=TaskState.READY)):
            workflow.do_engine_steps(will_complete_task=will_complete, did_complete_task=did_complete)
        beyond = spiff.out_of_reach(workflow)
        if beyond is not None:  # SpiffWorkflow stopped looking: it would call the request completed
            raise WorkflowTaskException(f"more than {spiff.MAX_DEPTH} steps in a row without waiting for anyone",
                                        task=beyond)
    except Exception as err:
        if crash_raises and isinstance(find_forbidden(err), SandboxCrashed):
            raise
        _fail(session, instance, workflow, err, actor)
        return completed
    instance.title = str(instance.data.get("title") or instance.title)[:300]
    instance.agent = agent_of(instance.data, instance.started_by)
    if workflow.is_completed():
        instance.status, instance.ended_at = "completed", clock.now()
        instance.end_state = instance.end_state or "completed"
        phases.sync(session, instance, None, before, phase=phases.ended_phase(end_phase, instance.end_state))
        mirror.sync_timers(session, instance, workflow)  # the timer that ended it (if any) fired
        mirror.close_open_work(session, instance, workflow)
        audit.record(session, EventType.INSTANCE_COMPLETED, "system", instance_id=instance.id,
                     process_key=instance.process_key, version=version, data={"end_state": instance.end_state})
        notifications.instance_ended(session, instance)  # outbox
        _save(session, instance, workflow)
    else:
        phases.sync(session, instance, workflow, before)
        with _conflict_if_changed_meanwhile():
            mirror.sync_timers(session, instance, workflow)  # before `dump_state` prunes fired timers
            # The state first: the flush that gives new tasks their ids then writes it too.
            _dump(instance, workflow)
            mirror.sync_human_tasks(session, instance, workflow, actor)
            session.flush()
        workflow_cache.saved(session, instance, workflow)
    return completed


def _stored_changes(task, current: dict[str, Any], merged: dict[str, Any], budget: values.DataBudget) -> dict[str, Any]:
    """What `task` changed in the request's data, as stored (dates as ISO strings, also in the
    workflow's own copy). A value that is not JSON, or data over the quota, fails the step: the
    offending fields are dropped from the workflow first, so that its state can still be saved."""
    try:
        changes = budget.update(current, merged)
    except (values.NotJson, values.TooLarge) as err:
        bad = {err.field} if err.field else set()
        for key, value in merged.items():
            try:
                values.stored(key, value)
            except (values.NotJson, values.TooLarge):
                bad.add(key)
        for holder in (task, *task.children):
            for key in bad:
                holder.data.pop(key, None)
        stopped = WorkflowTaskException(str(err), task=task)
        stopped.passerelle_message = err.as_message()  # the failure's code says why (engine.failures)
        raise stopped from None
    for key, value in changes.items():
        if value is not merged[key]:  # converted (a date): the next steps see what is stored
            for holder in (task, *task.children):
                if key in holder.data:
                    holder.data[key] = value
    return changes


def _fail(session: Session, instance: Instance, workflow: BpmnWorkflow, err: Exception, actor: str) -> None:
    failure = failure_of(err)
    log.warning("instance %s failed: %s", instance.id, failure)
    instance.status, instance.failure, instance.ended_at = "failed", failure.dumps(), clock.now()
    mirror.close_open_work(session, instance, workflow)
    audit.record(session, EventType.INSTANCE_FAILED, "system", instance_id=instance.id,
                 process_key=instance.process_key, version=instance.version.version,
                 data={"message": failure.as_dict(), "caused_by": actor})
    _save(session, instance, workflow)


def _save(session: Session, instance: Instance, workflow: BpmnWorkflow) -> None:
    """Write the state of an instance that has just ended (completed, failed or cancelled): there is
    no next step, so nothing to keep live (a running instance is saved by `_advance`)."""
    with _conflict_if_changed_meanwhile():
        _dump(instance, workflow)
        session.flush()


def _dump(instance: Instance, workflow: BpmnWorkflow) -> None:
    instance.state = spiff.dump_state(workflow)
    instance.serializer_version = spiff.SERIALIZER_VERSION


@contextlib.contextmanager
def _conflict_if_changed_meanwhile():
    """A write that finds the instance's row changed since it was read (its version counter), or a
    row of it another writer wrote first, was raced: the caller may try again."""
    try:
        yield
    except (StaleDataError, IntegrityError):
        raise Conflict(Message(errors.CHANGED_MEANWHILE),
                       "this request was changed by someone else at the same moment; reload and try again") from None
