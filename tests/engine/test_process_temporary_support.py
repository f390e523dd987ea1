"""temporary_support_mission walked through the engine with the demo organisation: the happy path
with who gets each task, every rejection and decline (a negative answer ends the request at once),
the rework loop, one eligibility failure per DMN rule, the cumulative 40 % rule, withdrawal and the
end-of-mission timer.

Every test runs with the engine clock frozen on REQUESTED (the mission starts a month later), so
that no timer fires and no rule depends on the real date.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine import Message
from engine import (Conflict, InvalidData, NotFound, PermissionDenied, cancel_instance, complete_task, frozen_at,
                    queries, run_due_timers, unit_of_work, verify_audit)
from engine.models import HumanTask, Instance, Timer

from . import helpers
from .helpers import as_user, complete, instance_state, open_task, refused, waiting, walk

KEY = "temporary_support_mission"
REQUESTED = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)
MISSION = helpers.MATP_MISSION
# nadia (project lead) asks for thomas, whose manager is julien
COORDINATOR_APPROVES = ("coordinator_review", "luc", {"decision": "approve"})
AGENT_ACCEPTS = ("agent_consent", "thomas", {"decision": "accept"})
MANAGER_RELEASES = ("release_agreement", "julien", {"decision": "approve"})
HR_RECORDS = ("hr_record", "karim", {"working_time_arrangement": "Mardis et jeudis matin"})
DGS_SIGNS = ("dgs_signature", "claire", {"decision": "sign"})
UP_TO_SIGNATURE = [COORDINATOR_APPROVES, AGENT_ACCEPTS, MANAGER_RELEASES, HR_RECORDS]


@pytest.fixture(autouse=True)
def request_time():
    with frozen_at(REQUESTED):
        yield


# --- helpers ------------------------------------------------------------------------------------

def start(sessions, username: str = "nadia") -> int:
    return helpers.start(sessions, KEY, username)


def request(sessions, username: str = "nadia", **changes) -> int:
    """Start an instance and submit the mission description (with `changes`)."""
    instance_id = start(sessions, username)
    complete(sessions, instance_id, "describe_mission", username, {**MISSION, **changes})
    return instance_id


# --- happy path and assignment ------------------------------------------------------------------

# (task, assignee, candidate groups, excluded users, who completes it, data, outsiders who may not)
BEFORE_SIGNATURE = [
    ("coordinator_review", None, ["coordinator"], ["nadia", "thomas"], *COORDINATOR_APPROVES[1:],
     ["nadia", "thomas", "karim", "julien"]),
    ("agent_consent", "thomas", [], [], *AGENT_ACCEPTS[1:], ["julien", "nadia", "luc", "pierre"]),
    ("release_agreement", "julien", [], [], *MANAGER_RELEASES[1:], ["thomas", "nadia", "claire", "pierre"]),
    ("hr_record", None, ["hr"], [], *HR_RECORDS[1:], ["nadia", "thomas", "luc", "julien"]),
    ("dgs_signature", None, ["dgs"], ["nadia", "thomas"], *DGS_SIGNS[1:], ["sophie", "luc", "nadia", "thomas"]),
]
AFTER_MISSION = [
    ("agent_feedback", "thomas", [], [], "thomas",
     {"skills_gained": "Animation d'ateliers", "belonging": "4", "recommend": True}, ["nadia", "julien"]),
    ("host_feedback", "nadia", [], [], "nadia",
     {"skills_gained": "Cartographie", "collective_effects": "Deux équipes qui se parlent", "belonging": "5"},
     ["thomas", "julien"]),
    ("annual_review_note", "julien", [], [], "julien", {"recognition_note": "Mission menée avec rigueur"},
     ["thomas", "nadia", "sophie"]),
]


def check_and_complete(sessions, instance_id, rows) -> None:
    for bpmn_id, assignee, groups, excluded, actor, data, outsiders in rows:
        with unit_of_work(sessions) as s:
            task = open_task(s, instance_id, bpmn_id)
            assert (task.assignee, task.candidate_groups, sorted(task.excluded_users)) == (
                assignee, groups, excluded), bpmn_id
        for outsider in outsiders:
            refused(sessions, instance_id, bpmn_id, outsider, data)
        complete(sessions, instance_id, bpmn_id, actor, data)


def test_happy_path_offers_each_task_to_the_right_people_and_ends_completed(deployed):
    instance_id = start(deployed)
    with unit_of_work(deployed) as s:
        describe = open_task(s, instance_id, "describe_mission")
        assert (describe.assignee, describe.candidate_groups) == ("nadia", [])
    refused(deployed, instance_id, "describe_mission", "julien", MISSION, NotFound)  # not involved yet
    complete(deployed, instance_id, "describe_mission", "nadia", MISSION)
    with unit_of_work(deployed) as s:
        assert open_task(s, instance_id, "coordinator_review").due_at == REQUESTED + timedelta(days=5)
    check_and_complete(deployed, instance_id, BEFORE_SIGNATURE)

    with unit_of_work(deployed) as s:
        instance = s.get(Instance, instance_id)
        assert instance.status == "running" and instance.approved_at == REQUESTED
        timer = s.query(Timer).filter_by(instance_id=instance_id).one()
        assert (timer.bpmn_id, timer.status, timer.due_at) == (
            "mission_end", "waiting", datetime(2027, 3, 31, tzinfo=timezone.utc))
    with unit_of_work(deployed) as s, frozen_at(datetime(2027, 3, 30, 23, 59)):
        assert not run_due_timers(s, s.get(Instance, instance_id))
    assert waiting(deployed, instance_id) == set()
    with unit_of_work(deployed) as s, frozen_at(datetime(2027, 3, 31, 0, 1)):
        assert run_due_timers(s, s.get(Instance, instance_id))
    assert waiting(deployed, instance_id) == {"agent_feedback", "host_feedback"}

    with frozen_at(datetime(2027, 4, 2)):
        check_and_complete(deployed, instance_id, AFTER_MISSION)
    status, end_state, data = instance_state(deployed, instance_id)
    assert (status, end_state) == ("completed", "completed")
    assert (data["agent_consent_decision"], data["release_agreement_decision"], data["decision"]) == (
        "accept", "approve", "sign")
    assert data["agent_feedback_answers"] == {"skills_gained": "Animation d'ateliers", "collective_effects": None,
                                              "belonging": "4", "recommend": True}
    assert data["host_feedback_answers"]["recommend"] is False  # an unticked box
    with unit_of_work(deployed) as s:
        assert s.query(Timer).filter_by(instance_id=instance_id).one().status == "fired"
        verification = verify_audit(s, instance_id)
        assert verification.ok, verification.reason


def test_a_coordinator_may_not_review_a_mission_of_his_own(deployed):
    instance_id = request(deployed, agent="luc")  # luc is the only coordinator
    with unit_of_work(deployed) as s:
        assert sorted(open_task(s, instance_id, "coordinator_review").excluded_users) == ["luc", "nadia"]
    refused(deployed, instance_id, "coordinator_review", "luc", {"decision": "approve"}, PermissionDenied)


# --- forms --------------------------------------------------------------------------------------

def test_the_description_form_checks_fields_and_usernames(deployed):
    instance_id = start(deployed)
    error = refused(deployed, instance_id, "describe_mission", "nadia",
                    {**MISSION, "agent": "nobody", "time_share": 0, "expertise_level": "guru", "title": ""},
                    InvalidData)
    assert error.errors == {"agent": [Message("form.unknown_user", value="nobody")], "time_share": [Message("form.min", min="1")],
                            "expertise_level": [Message("form.not_an_option", options=["beginner", "intermediate", "expert"])],
                            "title": [Message("form.required")]}
    assert waiting(deployed, instance_id) == {"describe_mission"}


# --- eligibility (temporary_support_eligibility.dmn, one case per rule) -------------------------

@pytest.mark.parametrize("changes, reason", [
    ({"time_share": 9}, "La quotité doit être d'au moins 10 % du temps de travail."),
    ({"time_share": 41}, "La quotité ne peut pas dépasser 40 % du temps de travail."),
    ({"end_date": "2028-10-01"}, "La mission ne peut pas durer plus de 24 mois."),
    ({"end_date": "2026-10-01"}, "La date de fin doit être postérieure à la date de début."),
    ({"agent": "nadia"}, "L'agent sollicité ne peut pas être le chef de projet lui-même."),
    ({"is_project_support": False}, "Une mission d'appui seconde un chef de projet sur un projet existant ; "
                                     "un renfort structurel relève d'un autre dispositif."),
], ids=["share_too_low", "share_too_high", "too_long", "end_before_start", "agent_is_lead", "not_project_support"])
def test_an_ineligible_mission_goes_back_to_the_starter_with_the_reason(deployed, changes, reason):
    instance_id = request(deployed, **changes)
    _, _, data = instance_state(deployed, instance_id)
    assert data["eligibility_problems"] == [reason]
    with unit_of_work(deployed) as s:
        assert open_task(s, instance_id, "describe_mission").assignee == "nadia"
    assert waiting(deployed, instance_id) == {"describe_mission"}
    complete(deployed, instance_id, "describe_mission", "nadia", MISSION)  # corrected: on to the coordination
    assert waiting(deployed, instance_id) == {"coordinator_review"}
    assert instance_state(deployed, instance_id)[2]["eligibility_problems"] == []


@pytest.mark.parametrize("changes", [
    {"time_share": 10, "end_date": "2028-09-30"},  # 10 %, from 2026-10-01: exactly 24 months
    {"time_share": 40, "end_date": "2026-10-02"},  # 40 %, one day
], ids=["10_percent_24_months", "40_percent_one_day"])
def test_missions_on_the_limits_are_eligible(deployed, changes):
    instance_id = request(deployed, **changes)
    assert instance_state(deployed, instance_id)[2]["eligibility_problems"] == []
    assert waiting(deployed, instance_id) == {"coordinator_review"}


def test_the_agent_may_give_at_most_40_percent_to_approved_running_missions(deployed):
    first = request(deployed)  # thomas at 30 %
    walk(deployed, first, UP_TO_SIGNATURE)
    pending = request(deployed, "julien", time_share=20)  # the first is not approved yet: not counted
    assert waiting(deployed, pending) == {"coordinator_review"}

    complete(deployed, first, *DGS_SIGNS)  # approved: its 30 % now count
    second = request(deployed, "julien", time_share=20)
    _, _, data = instance_state(deployed, second)
    assert data["agent_committed_share"] == 30
    assert data["eligibility_problems"] == [
        "L'agent consacre déjà 30 % de son temps à d'autres missions : avec celle-ci, il dépasserait 40 %."]
    with unit_of_work(deployed) as s:
        assert open_task(s, second, "describe_mission").assignee == "julien"
    complete(deployed, second, "describe_mission", "julien", {**MISSION, "time_share": 10})  # 30 + 10 = 40
    assert waiting(deployed, second) == {"coordinator_review"}

    with unit_of_work(deployed) as s:  # a cancelled mission no longer counts
        cancel_instance(s, first, as_user(s, "sophie"), "réorganisation du service")
    third = request(deployed, "julien", time_share=40)
    assert instance_state(deployed, third)[2]["eligibility_problems"] == []


# --- rework, rejections, declines ---------------------------------------------------------------

def test_coordinator_rework_round_trip(deployed):
    instance_id = request(deployed)
    error = refused(deployed, instance_id, "coordinator_review", "luc", {"decision": "rework"}, InvalidData)
    assert error.errors == {"comment": [Message("form.required_when", field="decision", value="rework")]}
    complete(deployed, instance_id, "coordinator_review", "luc",
             {"decision": "rework", "comment": "Précisez les objectifs"})
    assert waiting(deployed, instance_id) == {"describe_mission"}
    with unit_of_work(deployed) as s:
        assert open_task(s, instance_id, "describe_mission").assignee == "nadia"
    assert instance_state(deployed, instance_id)[:2] == ("running", None)
    complete(deployed, instance_id, "describe_mission", "nadia", {**MISSION, "objectives": "Trois ateliers"})
    with unit_of_work(deployed) as s:
        assert open_task(s, instance_id, "coordinator_review").candidate_groups == ["coordinator"]
    walk(deployed, instance_id, [COORDINATOR_APPROVES])
    assert waiting(deployed, instance_id) == {"agent_consent", "release_agreement"}
    assert instance_state(deployed, instance_id)[2]["objectives"] == "Trois ateliers"


@pytest.mark.parametrize("steps, negative, end_state, kept", [
    ([], ("coordinator_review", "luc", {"decision": "reject"}), "rejected", {}),
    ([COORDINATOR_APPROVES, MANAGER_RELEASES], ("agent_consent", "thomas", {"decision": "decline"}), "declined",
     {"agent_consent_decision": "decline", "agent_consent_comment": "Pas le bon moment"}),
    ([COORDINATOR_APPROVES, AGENT_ACCEPTS], ("release_agreement", "julien", {"decision": "reject"}), "rejected",
     {"agent_consent_decision": "accept", "release_agreement_comment": "Pas le bon moment"}),
    (UP_TO_SIGNATURE, ("dgs_signature", "claire", {"decision": "refuse"}), "rejected", {}),
], ids=["coordinator_rejects", "agent_declines_after_manager", "manager_refuses_after_agent", "dgs_refuses"])
def test_each_refusal_ends_the_request_and_needs_a_comment(deployed, steps, negative, end_state, kept):
    instance_id = request(deployed)
    walk(deployed, instance_id, steps)
    bpmn_id, username, data = negative
    error = refused(deployed, instance_id, bpmn_id, username, data, InvalidData)
    assert list(error.errors) == ["comment"]
    complete(deployed, instance_id, bpmn_id, username, {**data, "comment": "Pas le bon moment"})
    status, state, final = instance_state(deployed, instance_id)
    assert (status, state) == ("completed", end_state)
    assert kept.items() <= final.items()
    assert waiting(deployed, instance_id) == set()
    with unit_of_work(deployed) as s:
        assert s.query(Timer).filter_by(instance_id=instance_id).count() == 0


@pytest.mark.parametrize("negative, end_state, withdrawn", [
    (("agent_consent", "thomas", {"decision": "decline", "comment": "Pas disponible"}), "declined",
     ("release_agreement", "julien", {"decision": "approve"})),
    (("release_agreement", "julien", {"decision": "reject", "comment": "Sous-effectif"}), "rejected",
     ("agent_consent", "thomas", {"decision": "accept"})),
], ids=["agent_declines", "manager_refuses"])
def test_a_first_negative_answer_ends_the_request_at_once_and_withdraws_the_other_question(
        deployed, negative, end_state, withdrawn):
    """Volunteering is never forced: once the agent declines, the manager is no longer asked (and
    once the manager refuses, neither is the agent); the request does not wait for the other answer."""
    instance_id = request(deployed)
    walk(deployed, instance_id, [COORDINATOR_APPROVES])
    assert waiting(deployed, instance_id) == {"agent_consent", "release_agreement"}
    other_task, other_user, other_answer = withdrawn
    with unit_of_work(deployed) as s:
        other_id = open_task(s, instance_id, other_task).id
        assert [t.id for t in queries.tasks(s, as_user(s, other_user)).items] == [other_id]

    complete(deployed, instance_id, *negative)

    status, state, data = instance_state(deployed, instance_id)
    assert (status, state) == ("completed", end_state)
    assert f"{other_task}_decision" not in data
    assert waiting(deployed, instance_id) == set()
    with unit_of_work(deployed) as s:
        other = s.get(HumanTask, other_id)
        assert (other.status, other.completed_by) == ("cancelled", None)
        assert queries.candidates_of(s, other_id) == []
        assert queries.tasks(s, as_user(s, other_user)).items == []  # gone from their task list
        history = queries.history(s, instance_id)
        assert (history[-1].type, history[-1].data) == ("instance_completed", {"end_state": end_state})
        assert other_task not in {e.task_id for e in history if e.type == "task_completed"}
        assert s.query(Timer).filter_by(instance_id=instance_id).count() == 0
        verification = verify_audit(s, instance_id)
        assert verification.ok, verification.reason
    with unit_of_work(deployed) as s, pytest.raises(Conflict, match="cancelled"):  # a late answer changes nothing
        complete_task(s, other_id, as_user(s, other_user), other_answer)
    assert instance_state(deployed, instance_id)[:2] == ("completed", end_state)


# --- withdrawal ---------------------------------------------------------------------------------

def test_the_starter_may_withdraw_until_the_dgs_signs(deployed):
    instance_id = request(deployed)
    walk(deployed, instance_id, [COORDINATOR_APPROVES, AGENT_ACCEPTS])
    with unit_of_work(deployed) as s:
        with pytest.raises(PermissionDenied):  # the agent is not the requester
            cancel_instance(s, instance_id, as_user(s, "thomas"), "je préfère pas")
    with unit_of_work(deployed) as s:
        instance = cancel_instance(s, instance_id, as_user(s, "nadia"), "Le projet est suspendu")
        assert (instance.status, instance.end_state) == ("cancelled", "withdrawn")
        assert s.query(HumanTask).filter_by(instance_id=instance_id, bpmn_id="release_agreement").one().status == \
            "cancelled"
    assert waiting(deployed, instance_id) == set()

    signed = request(deployed)
    walk(deployed, signed, UP_TO_SIGNATURE)
    with unit_of_work(deployed) as s:  # withdrawing stays possible right up to the signature
        assert s.get(Instance, signed).approved_at is None
    complete(deployed, signed, *DGS_SIGNS)
    with unit_of_work(deployed) as s:
        with pytest.raises(PermissionDenied, match="approved"):
            cancel_instance(s, signed, as_user(s, "nadia"), "trop tard")
    assert instance_state(deployed, signed)[:2] == ("running", None)
