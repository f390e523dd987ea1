"""Helpers for engine tests: deploy the small test diagram, act as a demo user, start a request,
walk its tasks and look at what it waits for."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import NotFound, PermissionDenied, deploy, find_user, start_instance, unit_of_work
from engine.models import HumanTask, Instance

DIAGRAMS = Path(__file__).resolve().parents[1] / "diagrams"


def approval_bundle(**replacements: str) -> dict[str, bytes]:
    """The test bundle; `replacements` edit the files' text (old=new pairs given as dict items)."""
    files = {p.name: p.read_text(encoding="utf-8") for p in DIAGRAMS.glob("approval_*")}
    for old, new in replacements.items():
        files = {name: text.replace(old, new) for name, text in files.items()}
    return {name: text.encode() for name, text in files.items()}


def edit(bundle: dict[str, bytes], filename: str, old: str, new: str) -> dict[str, bytes]:
    text = bundle[filename].decode()
    assert old in text, f"{old!r} not in {filename}"
    return {**bundle, filename: text.replace(old, new).encode()}


def deploy_approval(sessions, bundle: dict[str, bytes] | None = None, actor: str = "luc"):
    with unit_of_work(sessions) as s:
        return deploy(s, bundle or approval_bundle(), actor, "test").version.version


def as_user(session, username: str):
    user = find_user(session, username)
    assert user is not None
    return user


def open_task(session, instance_id: int, bpmn_id: str) -> HumanTask:
    task = session.query(HumanTask).filter_by(instance_id=instance_id, bpmn_id=bpmn_id, status="ready").one_or_none()
    assert task is not None, f"{bpmn_id} is not waiting in instance {instance_id}"
    return task


REQUEST = {"title": "Renfort", "days": 5, "start_date": "2026-12-01", "agent": "thomas", "kind": "a"}


def complete(sessions, instance_id: int, bpmn_id: str, username: str, data: dict) -> int:
    """`username` completes the waiting task `bpmn_id` of the instance, in one unit of work."""
    from engine import complete_task
    with unit_of_work(sessions) as s:
        return complete_task(s, open_task(s, instance_id, bpmn_id).id, as_user(s, username), data).id


def walk(sessions, instance_id: int, steps) -> None:
    """Complete each (bpmn_id, username, data) step in turn."""
    for bpmn_id, username, data in steps:
        complete(sessions, instance_id, bpmn_id, username, data)


def start(sessions, key: str, username: str) -> int:
    """`username` starts a request of process `key`; its instance id."""
    with unit_of_work(sessions) as s:
        return start_instance(s, key, as_user(s, username)).id


def waiting(sessions, instance_id: int) -> set[str]:
    """The ids of the instance's tasks that wait for someone."""
    with unit_of_work(sessions) as s:
        return {t.bpmn_id for t in s.query(HumanTask).filter_by(instance_id=instance_id, status="ready")}


def instance_state(sessions, instance_id: int) -> tuple[str, str | None, dict]:
    """(status, end state, data) of the instance."""
    with unit_of_work(sessions) as s:
        instance = s.get(Instance, instance_id)
        return instance.status, instance.end_state, dict(instance.data)


def refused(sessions, instance_id: int, bpmn_id: str, username: str, data: dict, error=(PermissionDenied, NotFound)):
    """`username` may not complete the waiting task `bpmn_id` with `data`: the error raised."""
    with unit_of_work(sessions) as s:
        task_id = open_task(s, instance_id, bpmn_id).id
        with pytest.raises(error) as raised:
            from engine import complete_task
            complete_task(s, task_id, as_user(s, username), data)
    return raised.value


# --- request data shared by the process tests and the facts' tests ---------------------------------

#: a temporary support mission as nadia describes it: thomas, 30 %, 2026-10-01 to 2027-03-31
MATP_MISSION = {
    "title": "Appui au plan vélo", "project": "Plan vélo départemental",
    "objectives": "Cartographier les itinéraires et animer les ateliers", "expertise_level": "intermediate",
    "time_share": 30, "start_date": "2026-10-01", "end_date": "2027-03-31", "agent": "thomas",
    "is_project_support": True,
}
#: thomas's skills-sponsorship proposal to the Restos du Cœur: 20 %, 2026-04-01 to 2026-09-30 (6 months)
SPONSORSHIP_PROPOSAL = {
    "host_organisation": "restos-isere",
    "mission_description": "Organiser la collecte et la distribution alimentaire du jeudi",
    "previous_duties": "Entretien des routes départementales, secteur Grésivaudan",
    "time_share": 20, "start_date": "2026-04-01", "end_date": "2026-09-30",
    "reimbursed": False, "estimated_value_eur": 12000,
}
#: the convention HR drafts for it
SPONSORSHIP_CONVENTION = {
    "activities": "Logistique de la distribution", "place": "Grenoble, entrepôt des Restos",
    "hours": "Le jeudi, 7 h", "reimbursement_terms": "Aucun remboursement",
    "renewal_and_termination": "Fin anticipée avec un mois de préavis",
    "duties_reminder": "Déontologie, secret et discrétion professionnels",
}
