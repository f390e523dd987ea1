"""A mission's phase, in words a person understands, and the facts the register lists it by.

Each user task, catch event and end event of a diagram declares its phase (a `camunda:properties`
entry `phase`), so that a process owner who adds a step sets its phase without code. A running
instance is in the phase of where it waits — the earliest, when it waits in several places (three
answers awaited in parallel are all `in_approval`); an ended one in the phase of its end event, or
`withdrawn` / `cancelled` when someone stopped it. One date moves a phase without a step: a signed
mission is `approved` until its start date, `ongoing` from it (`effective`, and `register` in SQL).

`sync` keeps the columns of the instance row in step with its data and workflow; the runtime calls
it at every step, so that they ride on the one UPDATE of the row each step already issues.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import clock, spiff
from .models import Instance, Organisation, User

#: the phases of a mission's life, in their order
RUNNING_PHASES = ("draft", "in_approval", "approved", "ongoing", "closing", "closed")
#: the ways it may end early
END_PHASES = ("refused", "declined", "withdrawn", "expired", "cancelled", "ended_early")
PHASES = RUNNING_PHASES + END_PHASES
#: the phases an instance ends in
FINAL_PHASES = ("closed",) + END_PHASES

#: data fields that name a mission's host; its facts are looked up again only when one changes
HOST_FIELDS = ("host_organisation", "host_unit", "host_manager", "project", "started_by")


def declared(task_spec) -> str | None:
    """The phase a diagram element declares, if any."""
    value = spiff.extensions_of(task_spec).get("phase")
    return str(value).strip() if value else None


def effective(phase: str | None, start_date: date | None, today: date | None = None) -> str | None:
    """`approved` until the start date, `ongoing` from it (and the other way round)."""
    today = today or clock.today()
    if phase == "approved" and start_date is not None and start_date <= today:
        return "ongoing"
    if phase == "ongoing" and start_date is not None and start_date > today:
        return "approved"
    return phase


def waiting_phase(workflow: BpmnWorkflow) -> str | None:
    """The phase of where a running workflow waits: its ready user tasks and waiting events."""
    found = [declared(t.task_spec) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    found += [declared(t.task_spec) for t in workflow.get_tasks(state=TaskState.WAITING)
              if getattr(t.task_spec, "event_definition", None) is not None]
    ranked = [p for p in found if p in RUNNING_PHASES]
    return min(ranked, key=RUNNING_PHASES.index) if ranked else None


def ended_phase(end_event_phase: str | None, end_state: str | None) -> str:
    """The phase of an ended instance: its end event's, else what its end state says."""
    if end_event_phase:
        return end_event_phase
    return {"completed": "closed", "rejected": "refused"}.get(end_state or "", end_state or "closed")


def sync(session: Session, instance: Instance, workflow: BpmnWorkflow | None, before: Mapping[str, Any] | None,
         phase: str | None = None) -> None:
    """Set the register's columns of `instance` from its data and (running) workflow.

    `before` is the data as it was before the step: the host is looked up again only when one of
    `HOST_FIELDS` changed (or never was). `phase`, when given, is the instance's new phase
    (an ending); otherwise a running workflow's is derived from where it waits.
    """
    data = instance.data or {}
    if phase is None and workflow is not None and instance.status == "running":
        phase = waiting_phase(workflow) or instance.phase
    if phase:
        instance.phase = effective(phase, _date(data.get("start_date")))
    instance.start_date = _date(data.get("start_date"))
    instance.end_date = _date(data.get("end_date") or data.get("deadline"))
    instance.time_share = _int(data.get("time_share"))
    if before is None or any(before.get(k) != data.get(k) for k in HOST_FIELDS):
        with session.no_autoflush:
            instance.host, instance.host_organisation, instance.host_directorate = host_of(session, data)


def host_of(session: Session, data: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(label, organisation id, directorate code) of a mission's host, as its data names it: an
    organisation (skills sponsorship), a unit and its manager (end of career), a project and its
    lead (temporary support), else the person who asked for help (mission exchange)."""
    organisation_id = data.get("host_organisation")
    if organisation_id:
        organisation = session.get(Organisation, str(organisation_id))
        return (organisation.name if organisation else str(organisation_id))[:300], str(organisation_id)[:64], None
    if data.get("host_unit"):
        return str(data["host_unit"])[:300], None, _directorate_of(session, data.get("host_manager"))
    starter = data.get("started_by")
    if data.get("project"):
        return str(data["project"])[:300], None, _directorate_of(session, starter)
    user = _user(session, starter)
    return (user.name if user else None), None, (user.directorate_code if user else None)


def _directorate_of(session: Session, username: Any) -> str | None:
    user = _user(session, username)
    return user.directorate_code if user else None


def _user(session: Session, username: Any) -> User | None:
    return session.scalar(select(User).where(User.username == str(username))) if username else None


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
