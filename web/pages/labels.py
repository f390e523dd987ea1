"""Words people read instead of codes: statuses, roles, audit event types, diagram changes."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from engine import Instance, phase_today

ROLE_LABELS = {
    "agent": _l("every agent"),
    "manager": _l("managers"),
    "project_lead": _l("project leads"),
    "hr": _l("HR"),
    "coordinator": _l("the coordination team"),
    "dgs": _l("senior management (DGS)"),
    "ethics": _l("the ethics officer"),
    "host_referent": _l("the host organisation"),
    "process_owner": _l("process owners"),
    "auditor": _l("auditors"),
    "admin": _l("administrators"),
}

END_STATE_LABELS = {
    "completed": _l("Completed"),
    "rejected": _l("Refused"),
    "declined": _l("Declined"),
    "withdrawn": _l("Withdrawn"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
}

#: a mission's phase (engine.PHASES) in words
PHASE_LABELS = {
    "draft": _l("Draft"),
    "in_approval": _l("In approval"),
    "approved": _l("Approved, not started"),
    "ongoing": _l("Ongoing"),
    "closing": _l("Closing"),
    "closed": _l("Closed"),
    "refused": _l("Refused"),
    "declined": _l("Declined"),
    "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired"),
    "cancelled": _l("Cancelled"),
    "ended_early": _l("Ended early"),
}
PHASE_TONES = {"draft": "neutral", "in_approval": "info", "approved": "info", "ongoing": "info", "closing": "info",
               "closed": "success"}

# A CSS class per status family, so the badge differs by shape of word *and* colour.
STATUS_TONES = {"running": "info", "completed": "success", "rejected": "neutral", "declined": "neutral",
                "withdrawn": "neutral", "cancelled": "neutral", "expired": "neutral", "failed": "error"}

EVENT_LABELS = {
    "instance_started": _l("Request started"),
    "task_created": _l("Step opened"),
    "task_claimed": _l("Step taken on"),
    "task_released": _l("Step handed back"),
    "task_completed": _l("Step done"),
    "decision_evaluated": _l("Rules checked"),
    "timer_fired": _l("Date reached"),
    "instance_completed": _l("Request closed"),
    "instance_cancelled": _l("Request withdrawn or cancelled"),
    "instance_failed": _l("Technical problem"),
    "incident_retried": _l("Technical problem retried"),
    "process_proposed": _l("Process version proposed"),
    "process_approved": _l("Process version approved"),
    "process_rejected": _l("Process version rejected"),
    "process_deployed": _l("Process version deployed"),
    "user_signed_in": _l("Signed in"),
    "sign_in_failed": _l("Sign-in failed"),
}

CHANGE_CATEGORY_LABELS = {
    "task": _l("Step"),
    "event": _l("Event"),
    "gateway": _l("Branching"),
    "flow": _l("Arrow"),
    "form": _l("Form"),
    "rule": _l("Rule"),
    "lane": _l("Lane"),
    "assignment": _l("Who does it"),
    "process": _l("Process"),
}

CHANGE_KIND_LABELS = {"added": _l("added"), "removed": _l("removed"), "changed": _l("changed")}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def status_key(instance: Instance) -> str:
    """One word for where a request stands: running, failed, or why it ended."""
    if instance.status == "running":
        return "running"
    if instance.status == "failed":
        return "failed"
    return instance.end_state if instance.end_state in END_STATE_LABELS else (
        "cancelled" if instance.status == "cancelled" else "completed")


def phase_label(phase: str | None) -> str:
    return str(PHASE_LABELS.get(phase or "", phase or "—"))


def status_label(instance: Instance) -> str:
    key = status_key(instance)
    if key == "running" and instance.phase in PHASE_LABELS:  # where the mission stands, in words
        return phase_label(phase_today(instance.phase, instance.start_date))
    if key == "running":
        return str(_l("In progress"))
    if key == "failed":
        return str(_l("Stopped by a technical problem"))
    return str(END_STATE_LABELS[key])


def status_tone(instance: Instance) -> str:
    if status_key(instance) == "running" and instance.phase in PHASE_TONES:
        return PHASE_TONES[instance.phase]
    return STATUS_TONES.get(status_key(instance), "neutral")


def event_label(event_type: str) -> str:
    return str(EVENT_LABELS.get(event_type, event_type))
