"""mission_exchange, the real diagram, walked through the engine with the demo organisation.

nadia posts a need; any other agent may offer to help (thomas, manager julien; ines, manager luc);
the volunteer's manager approves, or HR too once five days have passed without an answer. The
clock is frozen at TODAY so that the deadline and the five days are fixed.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine import Message
from engine import (Conflict, InvalidData, NotFound, PermissionDenied, cancel_instance, complete_task, frozen_at,
                    queries, run_due_timers, start_instance, unit_of_work, verify_audit)
from engine.models import HumanTask, Instance, Timer

from .helpers import as_user, complete, open_task

KEY = "mission_exchange"
TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
NEED = {"title": "Inventaire des archives du service", "description": "Trier et inventorier 40 cartons",
        "skills_wanted": "Rigueur, un peu d'archivistique", "effort_days": 3, "deadline": "2026-03-20"}
DEADLINE = datetime(2026, 3, 20, tzinfo=timezone.utc)
APPROVE = {"decision": "approve", "workload_arrangement": "Le jeudi, l'équipe se répartit ses dossiers"}


@pytest.fixture(autouse=True)
def today():
    with frozen_at(TODAY):
        yield


def post_need(sessions, need=NEED) -> int:
    with unit_of_work(sessions) as s:
        instance_id = start_instance(s, KEY, as_user(s, "nadia")).id
    complete(sessions, instance_id, "post_need", "nadia", need)
    return instance_id


def agreed_with(sessions, volunteer="thomas") -> int:
    """A need that `volunteer` applied to and that nadia agreed to go on with: manager_approval waits."""
    instance_id = post_need(sessions)
    complete(sessions, instance_id, "apply", volunteer, {"motivation": "Libre les jeudis de mars"})
    complete(sessions, instance_id, "conversation", "nadia", {"outcome": "go", "met_on": "2026-03-03"})
    return instance_id


def waiting(s, instance_id) -> list[str]:
    return [t.bpmn_id for t in queries.open_tasks(s, instance_id)]


def task_list(s, username) -> list[str]:
    return [t.bpmn_id for t in queries.tasks(s, as_user(s, username), process=KEY).items]


def timer(s, instance_id, bpmn_id) -> Timer:
    return s.query(Timer).filter_by(instance_id=instance_id, bpmn_id=bpmn_id).order_by(Timer.id.desc()).first()


# --- the whole way, and who gets each task --------------------------------------------------------

def test_happy_path_offered_to_everyone_but_the_requester(deployed):
    with unit_of_work(deployed) as s:
        instance_id = start_instance(s, KEY, as_user(s, "nadia")).id
        post = open_task(s, instance_id, "post_need")
        assert (post.assignee, post.candidate_groups) == ("nadia", [])
        with pytest.raises((PermissionDenied, NotFound)):
            complete_task(s, post.id, as_user(s, "thomas"), NEED)
    complete(deployed, instance_id, "post_need", "nadia", NEED)

    with unit_of_work(deployed) as s:
        apply = open_task(s, instance_id, "apply")
        assert (apply.assignee, apply.candidate_groups, apply.excluded_users) == (None, ["agent"], ["nadia"])
        assert timer(s, instance_id, "apply_deadline").due_at == DEADLINE
        assert "apply" not in task_list(s, "nadia")
        assert [task_list(s, u) for u in ("thomas", "ines", "karim")] == [["apply"]] * 3
        with pytest.raises(PermissionDenied):  # she sees her own request, but may not answer it
            complete_task(s, apply.id, as_user(s, "nadia"), {"motivation": "moi-même"})
    complete(deployed, instance_id, "apply", "thomas", {"motivation": "Libre les jeudis de mars"})

    with unit_of_work(deployed) as s:
        instance = s.get(Instance, instance_id)
        assert instance.data["volunteer"] == "thomas"
        assert s.query(HumanTask).filter_by(instance_id=instance_id, bpmn_id="apply").one().completed_by == "thomas"
        assert timer(s, instance_id, "apply_deadline").status == "cancelled"  # someone applied: no expiry
        assert task_list(s, "ines") == []
        conversation = open_task(s, instance_id, "conversation")
        assert conversation.assignee == "nadia"
        with pytest.raises((PermissionDenied, NotFound)):
            complete_task(s, conversation.id, as_user(s, "thomas"), {"outcome": "go"})
    with unit_of_work(deployed) as s, frozen_at(DEADLINE + timedelta(days=1)):  # the deadline no longer matters
        assert not run_due_timers(s, s.get(Instance, instance_id))
    complete(deployed, instance_id, "conversation", "nadia", {"outcome": "go", "met_on": "2026-03-03"})

    with unit_of_work(deployed) as s:
        approval = open_task(s, instance_id, "manager_approval")
        assert (approval.assignee, approval.candidate_groups) == ("julien", [])  # manager_of(thomas)
        for outsider in ("nadia", "thomas", "karim", "luc"):
            with pytest.raises((PermissionDenied, NotFound)):
                complete_task(s, approval.id, as_user(s, outsider), APPROVE)
    complete(deployed, instance_id, "manager_approval", "julien", APPROVE)

    with unit_of_work(deployed) as s:
        assert s.get(Instance, instance_id).approved_at == TODAY
        assert timer(s, instance_id, "approval_reminder").status == "cancelled"
        with pytest.raises(PermissionDenied, match="approved"):
            cancel_instance(s, instance_id, as_user(s, "nadia"), "plus besoin")
    with unit_of_work(deployed) as s:
        done = open_task(s, instance_id, "mission_done")
        assert done.assignee == "thomas"
        with pytest.raises((PermissionDenied, NotFound)):
            complete_task(s, done.id, as_user(s, "nadia"), {"days_spent": 3})
    complete(deployed, instance_id, "mission_done", "thomas", {"days_spent": 4, "summary": "40 cartons inventoriés"})
    with unit_of_work(deployed) as s:
        feedback = open_task(s, instance_id, "requester_feedback")
        assert feedback.assignee == "nadia"
        with pytest.raises((PermissionDenied, NotFound)):
            complete_task(s, feedback.id, as_user(s, "thomas"), {"thanks": "Merci à moi"})
    complete(deployed, instance_id, "requester_feedback", "nadia", {"thanks": "Merci Thomas !", "recommend": True})

    with unit_of_work(deployed) as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.end_state) == ("completed", "completed")
        assert (instance.data["days_spent"], instance.data["recommend"]) == (4, True)
        assert waiting(s, instance_id) == []
        assert verify_audit(s, instance_id).ok
        assert [e.type for e in queries.history(s, instance_id)].count("timer_fired") == 0


@pytest.mark.parametrize("changes, errors", [
    ({"effort_days": 0}, {"effort_days": [Message("form.min", min="1")]}),
    ({"effort_days": 21}, {"effort_days": [Message("form.max", max="20")]}),
    ({"deadline": None}, {"deadline": [Message("form.required")]}),
])
def test_the_need_is_1_to_20_days_with_a_deadline(deployed, changes, errors):
    with unit_of_work(deployed) as s:
        instance_id = start_instance(s, KEY, as_user(s, "nadia")).id
    with unit_of_work(deployed) as s:
        with pytest.raises(InvalidData) as err:
            complete_task(s, open_task(s, instance_id, "post_need").id, as_user(s, "nadia"), {**NEED, **changes})
    assert err.value.errors == errors
    complete(deployed, instance_id, "post_need", "nadia", {**NEED, "effort_days": 20})
    with unit_of_work(deployed) as s:
        assert waiting(s, instance_id) == ["apply"]


# --- the conversation, the deadline, the manager ---------------------------------------------------

def test_no_go_reopens_the_need_to_others_and_the_next_volunteer_s_manager_decides(deployed):
    instance_id = post_need(deployed)
    complete(deployed, instance_id, "apply", "thomas", {"motivation": "Disponible"})
    with unit_of_work(deployed) as s:
        with pytest.raises(InvalidData) as err:
            complete_task(s, open_task(s, instance_id, "conversation").id, as_user(s, "nadia"), {"outcome": "no_go"})
    assert err.value.errors == {"comment": [Message("form.required_when", field="outcome", value="no_go")]}
    complete(deployed, instance_id, "conversation", "nadia",
             {"outcome": "no_go", "comment": "Il faut connaître le fonds"})

    with unit_of_work(deployed) as s:
        apply = open_task(s, instance_id, "apply")
        assert (apply.candidate_groups, apply.excluded_users) == (["agent"], ["nadia"])
        assert "apply" not in task_list(s, "nadia") and "apply" in task_list(s, "ines")
        assert timer(s, instance_id, "apply_deadline").status == "waiting"
    complete(deployed, instance_id, "apply", "ines", {"motivation": "J'ai fait de l'archivistique"})
    with unit_of_work(deployed) as s:
        assert s.get(Instance, instance_id).data["volunteer"] == "ines"
    complete(deployed, instance_id, "conversation", "nadia", {"outcome": "go"})
    with unit_of_work(deployed) as s:
        approval = open_task(s, instance_id, "manager_approval")
        assert approval.assignee == "luc"  # manager_of(ines), no longer thomas's manager
        with pytest.raises((PermissionDenied, NotFound)):
            complete_task(s, approval.id, as_user(s, "julien"), APPROVE)
    complete(deployed, instance_id, "manager_approval", "luc", APPROVE)
    with unit_of_work(deployed) as s:
        assert open_task(s, instance_id, "mission_done").assignee == "ines"


def test_the_need_expires_at_its_deadline_when_nobody_applied(deployed):
    instance_id = post_need(deployed)
    with unit_of_work(deployed) as s, frozen_at(DEADLINE - timedelta(minutes=1)):
        assert not run_due_timers(s, s.get(Instance, instance_id))
    with unit_of_work(deployed) as s, frozen_at(DEADLINE + timedelta(minutes=1)):
        assert run_due_timers(s, s.get(Instance, instance_id))
    with unit_of_work(deployed) as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.end_state) == ("completed", "expired")
        assert waiting(s, instance_id) == [] and task_list(s, "thomas") == []
        assert s.query(HumanTask).filter_by(instance_id=instance_id, bpmn_id="apply").one().status == "cancelled"
        assert timer(s, instance_id, "apply_deadline").status == "fired"
        assert verify_audit(s, instance_id).ok


def test_the_manager_rejects_with_a_comment(deployed):
    instance_id = agreed_with(deployed)
    with unit_of_work(deployed) as s:
        with pytest.raises(InvalidData) as err:
            complete_task(s, open_task(s, instance_id, "manager_approval").id, as_user(s, "julien"),
                          {"decision": "reject"})
    assert err.value.errors == {"comment": [Message("form.required_when", field="decision", value="reject")]}
    complete(deployed, instance_id, "manager_approval", "julien", {"decision": "reject", "comment": "Pas en mars"})
    with unit_of_work(deployed) as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.end_state) == ("completed", "rejected")
        assert waiting(s, instance_id) == []
        assert timer(s, instance_id, "approval_reminder").status == "cancelled"


@pytest.mark.parametrize("first, second", [("karim", "julien"), ("julien", "karim")])
def test_after_five_days_without_answer_hr_may_decide_too(deployed, first, second):
    instance_id = agreed_with(deployed)  # manager_approval created at TODAY
    five_days = TODAY + timedelta(days=5)
    with unit_of_work(deployed) as s:
        assert timer(s, instance_id, "approval_reminder").due_at == five_days
        assert task_list(s, "karim") == []
        with pytest.raises((PermissionDenied, NotFound)):
            complete_task(s, open_task(s, instance_id, "manager_approval").id, as_user(s, "karim"), APPROVE)
    with unit_of_work(deployed) as s, frozen_at(five_days - timedelta(minutes=1)):
        assert not run_due_timers(s, s.get(Instance, instance_id))
    with unit_of_work(deployed) as s, frozen_at(five_days + timedelta(minutes=1)):
        assert run_due_timers(s, s.get(Instance, instance_id))
    with unit_of_work(deployed) as s, frozen_at(five_days + timedelta(days=5, minutes=1)):  # only once
        assert not run_due_timers(s, s.get(Instance, instance_id))

    with unit_of_work(deployed) as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.end_state, instance.data["escalation_group"]) == ("running", None, "hr")
        approval = open_task(s, instance_id, "manager_approval")  # the same task, now offered to hr as well
        assert (approval.assignee, approval.candidate_groups) == ("julien", ["hr"])
        assert waiting(s, instance_id) == ["manager_approval"]
        assert task_list(s, "karim") == ["manager_approval"] and task_list(s, "julien") == ["manager_approval"]
        with pytest.raises((PermissionDenied, NotFound)):  # still not the volunteer's nor the requester's
            complete_task(s, approval.id, as_user(s, "thomas"), APPROVE)
        approval_id = approval.id
    decided_at = five_days + timedelta(days=5, hours=1)
    with frozen_at(decided_at):
        complete(deployed, instance_id, "manager_approval", first, APPROVE)
    with unit_of_work(deployed) as s:
        with pytest.raises(Conflict):  # whoever acts first decides
            complete_task(s, approval_id, as_user(s, second), {"decision": "reject", "comment": "trop tard"})
    with unit_of_work(deployed) as s:
        instance = s.get(Instance, instance_id)
        assert s.get(HumanTask, approval_id).completed_by == first
        assert instance.approved_at == decided_at
        assert waiting(s, instance_id) == ["mission_done"]
        assert timer(s, instance_id, "approval_reminder").status == "fired"
        assert [e.type for e in queries.history(s, instance_id)].count("timer_fired") == 1


def test_the_requester_withdraws_until_the_manager_approves(deployed):
    instance_id = post_need(deployed)
    with unit_of_work(deployed) as s:
        with pytest.raises((PermissionDenied, NotFound)):  # a would-be volunteer may not close it
            cancel_instance(s, instance_id, as_user(s, "thomas"), "pas pour moi")
    with unit_of_work(deployed) as s:
        withdrawn = cancel_instance(s, instance_id, as_user(s, "nadia"), "Le service a trouvé une solution")
        assert (withdrawn.status, withdrawn.end_state) == ("cancelled", "withdrawn")
    with unit_of_work(deployed) as s:
        assert waiting(s, instance_id) == [] and task_list(s, "thomas") == []
        assert timer(s, instance_id, "apply_deadline").status == "cancelled"
    with unit_of_work(deployed) as s, frozen_at(DEADLINE + timedelta(days=1)):
        assert not run_due_timers(s, s.get(Instance, instance_id))
    # still possible after a volunteer was found, right up to the manager's approval
    instance_id = agreed_with(deployed)
    with unit_of_work(deployed) as s:
        assert cancel_instance(s, instance_id, as_user(s, "nadia"), "Plus besoin").end_state == "withdrawn"
        assert task_list(s, "julien") == []
