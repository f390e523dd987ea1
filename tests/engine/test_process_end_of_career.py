"""end_of_career_mission walked through the engine with the demo organisation: the happy path with
who gets each task and both timers, the meeting without a match, every decline and refusal (a
negative answer ends the request at once), one eligibility failure per DMN rule, the cumulative 50 %
rule and withdrawal.

HR (sophie) proposes a mission to marie (career end 2028-06-30, manager nadia) hosted by julien's
unit. Every test runs with the engine clock frozen on REQUESTED, a month before the mission starts.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine import Message
from engine import (Conflict, InvalidData, NotFound, PermissionDenied, cancel_instance, complete_task, frozen_at,
                    queries, run_due_timers, start_instance, unit_of_work, verify_audit)
from engine.models import HumanTask, Instance, Timer

from . import helpers
from .helpers import as_user, complete, instance_state, open_task, refused, waiting, walk

KEY = "end_of_career_mission"
REQUESTED = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)
NEED = {
    "title": "Transmettre la connaissance du réseau routier", "host_unit": "Service des mobilités",
    "host_manager": "julien", "description": "Former deux nouveaux techniciens au patrimoine routier",
    "time_share": 40, "start_date": "2026-10-01", "end_date": "2027-03-31", "agent": "marie",
}
MEETING_GOES_ON = ("matching_meeting", "karim", {"met_on": "2026-09-10", "outcome": "go"})
AGENT_ACCEPTS = ("agent_consent", "marie", {"decision": "accept"})
MANAGER_RELEASES = ("release_agreement", "nadia", {"decision": "approve"})
HOST_CONFIRMS = ("host_confirmation", "julien", {"decision": "confirm"})
WORKLOAD_PLANNED = ("workload_plan", "sophie", {"workload_adjustment": "Dossiers courants confiés à Léa"})
UP_TO_WORKLOAD_PLAN = [MEETING_GOES_ON, AGENT_ACCEPTS, MANAGER_RELEASES, HOST_CONFIRMS]


@pytest.fixture(autouse=True)
def request_time():
    with frozen_at(REQUESTED):
        yield


# --- helpers ------------------------------------------------------------------------------------

def start(sessions, username: str = "sophie") -> int:
    return helpers.start(sessions, KEY, username)


def request(sessions, **changes) -> int:
    """Start an instance as sophie and submit the need (with `changes`)."""
    instance_id = start(sessions)
    complete(sessions, instance_id, "describe_need", "sophie", {**NEED, **changes})
    return instance_id


def fire_timers(sessions, instance_id: int, due: datetime) -> None:
    """A minute before `due` nothing moves; a minute after, the timer fires."""
    with unit_of_work(sessions) as s, frozen_at(due - timedelta(minutes=1)):
        assert not run_due_timers(s, s.get(Instance, instance_id))
    with unit_of_work(sessions) as s, frozen_at(due + timedelta(minutes=1)):
        assert run_due_timers(s, s.get(Instance, instance_id))


# --- happy path and assignment ------------------------------------------------------------------

# (task, assignee, candidate groups, who completes it, data, outsiders who may not)
AGREEMENTS = [
    ("matching_meeting", None, ["hr"], *MEETING_GOES_ON[1:], ["marie", "nadia", "julien", "luc"]),
    ("agent_consent", "marie", [], *AGENT_ACCEPTS[1:], ["nadia", "julien", "sophie"]),
    ("release_agreement", "nadia", [], *MANAGER_RELEASES[1:], ["marie", "julien", "karim", "claire"]),
    ("host_confirmation", "julien", [], *HOST_CONFIRMS[1:], ["marie", "nadia", "sophie", "thomas"]),
    ("workload_plan", None, ["hr"], *WORKLOAD_PLANNED[1:], ["marie", "nadia", "julien"]),
]
MIDPOINT = [
    ("hr_follow_up", None, ["hr"], "karim", {"follow_up_notes": "Tout va bien", "workload_ok": True},
     ["marie", "nadia", "julien"]),
]
AT_THE_END = [
    ("agent_feedback", "marie", [], "marie", {"skills_gained": "Tutorat", "belonging": "5", "recommend": True},
     ["julien", "sophie", "nadia"]),
    ("host_feedback", "julien", [], "julien", {"skills_gained": "Mémoire du réseau", "belonging": "4"},
     ["marie", "sophie"]),
    ("hr_debrief", None, ["hr"], "sophie", {"debrief_notes": "Mission réussie", "recognition_note": "Lettre"},
     ["marie", "julien", "nadia"]),
]


def check_and_complete(sessions, instance_id, rows) -> None:
    for bpmn_id, assignee, groups, actor, data, outsiders in rows:
        with unit_of_work(sessions) as s:
            task = open_task(s, instance_id, bpmn_id)
            assert (task.assignee, task.candidate_groups, task.excluded_users) == (assignee, groups, []), bpmn_id
        for outsider in outsiders:
            refused(sessions, instance_id, bpmn_id, outsider, data)
        complete(sessions, instance_id, bpmn_id, actor, data)


def test_happy_path_offers_each_task_to_the_right_people_and_ends_completed(deployed):
    instance_id = start(deployed)
    with unit_of_work(deployed) as s:
        describe = open_task(s, instance_id, "describe_need")
        assert (describe.assignee, describe.candidate_groups) == (None, ["hr"])
    for outsider in ("marie", "nadia", "luc"):  # nobody outside HR even sees the draft
        refused(deployed, instance_id, "describe_need", outsider, NEED, NotFound)
    with pytest.raises(PermissionDenied):
        with unit_of_work(deployed) as s:
            start_instance(s, KEY, as_user(s, "nadia"))  # only HR may propose such a mission
    complete(deployed, instance_id, "describe_need", "sophie", NEED)
    with unit_of_work(deployed) as s:
        assert open_task(s, instance_id, "matching_meeting").due_at == REQUESTED + timedelta(days=30)
    check_and_complete(deployed, instance_id, AGREEMENTS[:4])
    assert waiting(deployed, instance_id) == {"workload_plan"}
    check_and_complete(deployed, instance_id, AGREEMENTS[4:])

    with unit_of_work(deployed) as s:
        assert s.get(Instance, instance_id).approved_at == REQUESTED
        timer = s.query(Timer).filter_by(instance_id=instance_id, status="waiting").one()
        assert (timer.bpmn_id, timer.due_at) == ("mission_midpoint", datetime(2026, 12, 30, tzinfo=timezone.utc))
    fire_timers(deployed, instance_id, datetime(2026, 12, 30, tzinfo=timezone.utc))
    with frozen_at(datetime(2027, 1, 4)):
        check_and_complete(deployed, instance_id, MIDPOINT)
    with unit_of_work(deployed) as s:
        timer = s.query(Timer).filter_by(instance_id=instance_id, status="waiting").one()
        assert (timer.bpmn_id, timer.due_at) == ("mission_end", datetime(2027, 3, 31, tzinfo=timezone.utc))
    fire_timers(deployed, instance_id, datetime(2027, 3, 31, tzinfo=timezone.utc))
    assert waiting(deployed, instance_id) == {"agent_feedback", "host_feedback"}
    with frozen_at(datetime(2027, 4, 2)):
        check_and_complete(deployed, instance_id, AT_THE_END)

    status, end_state, data = instance_state(deployed, instance_id)
    assert (status, end_state) == ("completed", "completed")
    assert (data["agent_consent_decision"], data["release_agreement_decision"],
            data["host_confirmation_decision"]) == ("accept", "approve", "confirm")
    assert data["agent_feedback_answers"]["skills_gained"] == "Tutorat"
    assert data["host_feedback_answers"] == {"skills_gained": "Mémoire du réseau", "collective_effects": None,
                                             "belonging": "4", "recommend": False}
    with unit_of_work(deployed) as s:
        assert [t.status for t in s.query(Timer).filter_by(instance_id=instance_id)] == ["fired", "fired"]
        verification = verify_audit(s, instance_id)
        assert verification.ok, verification.reason


# --- forms --------------------------------------------------------------------------------------

def test_the_need_form_checks_usernames_against_the_organisation(deployed):
    instance_id = start(deployed)
    error = refused(deployed, instance_id, "describe_need", "sophie",
                    {**NEED, "agent": "nobody", "host_manager": "ghost", "time_share": 101}, InvalidData)
    assert error.errors == {"agent": [Message("form.unknown_user", value="nobody")], "host_manager": [Message("form.unknown_user", value="ghost")],
                            "time_share": [Message("form.max", max="100")]}
    assert waiting(deployed, instance_id) == {"describe_need"}


# --- eligibility (end_of_career_eligibility.dmn, one case per rule) -----------------------------

@pytest.mark.parametrize("changes, career_end, reason", [
    ({"agent": "thomas"}, None,
     "La date de fin de carrière de l'agent n'est pas connue : mettez-la à jour dans son dossier."),
    ({}, date(2033, 6, 30), "Ce dispositif est réservé aux agents à moins de 5 ans de leur fin de carrière."),
    ({"start_date": "2028-01-01", "end_date": "2028-07-31"}, None,
     "La mission doit se terminer au plus tard à la date de fin de carrière de l'agent."),
    ({"end_date": "2026-10-01"}, None, "La date de fin doit être postérieure à la date de début."),
    ({"end_date": "2027-10-31"}, None, "La mission ne peut pas durer plus de 12 mois."),
    ({"time_share": 51}, None, "La quotité ne peut pas dépasser 50 % du temps de travail."),
    ({"host_manager": "marie"}, None, "L'agent ne peut pas être le responsable de son unité d'accueil."),
], ids=["career_end_unknown", "career_end_too_far", "career_end_before_mission_end", "end_before_start",
        "too_long", "share_too_high", "agent_is_host"])
def test_an_ineligible_mission_goes_back_to_hr_with_the_reason(deployed, changes, career_end, reason):
    if career_end:
        with unit_of_work(deployed) as s:
            as_user(s, "marie").career_end = career_end
    instance_id = request(deployed, **changes)
    _, _, data = instance_state(deployed, instance_id)
    assert data["eligibility_problems"] == [reason]
    with unit_of_work(deployed) as s:
        assert open_task(s, instance_id, "describe_need").candidate_groups == ["hr"]
    assert waiting(deployed, instance_id) == {"describe_need"}
    if not career_end:  # corrected by HR: on to the meeting
        complete(deployed, instance_id, "describe_need", "karim", NEED)
        assert waiting(deployed, instance_id) == {"matching_meeting"}


@pytest.mark.parametrize("changes, career_end", [
    ({"time_share": 50, "start_date": "2027-07-01", "end_date": "2028-06-30"}, None),  # 12 months to the career end
    ({}, date(2031, 10, 1)),  # career end exactly 60 months after the start (2026-10-01)
], ids=["50_percent_12_months_ending_on_career_end", "career_end_in_exactly_5_years"])
def test_missions_on_the_limits_are_eligible(deployed, changes, career_end):
    if career_end:
        with unit_of_work(deployed) as s:
            as_user(s, "marie").career_end = career_end
    instance_id = request(deployed, **changes)
    assert instance_state(deployed, instance_id)[2]["eligibility_problems"] == []
    assert waiting(deployed, instance_id) == {"matching_meeting"}


def test_the_agent_may_give_at_most_50_percent_to_approved_running_missions(deployed):
    first = request(deployed, time_share=30)
    walk(deployed, first, UP_TO_WORKLOAD_PLAN)
    pending = request(deployed, time_share=30)  # the first is not approved yet: not counted
    assert waiting(deployed, pending) == {"matching_meeting"}

    complete(deployed, first, *WORKLOAD_PLANNED)  # approved: its 30 % now count
    second = request(deployed, time_share=30)
    _, _, data = instance_state(deployed, second)
    assert data["agent_committed_share"] == 30
    assert data["eligibility_problems"] == [
        "L'agent consacre déjà 30 % de son temps à d'autres missions : avec celle-ci, il dépasserait 50 %."]
    complete(deployed, second, "describe_need", "sophie", {**NEED, "time_share": 20})  # 30 + 20 = 50
    assert waiting(deployed, second) == {"matching_meeting"}


# --- no match, declines, refusals ---------------------------------------------------------------

def test_no_match_after_the_meeting_ends_declined_and_needs_notes(deployed):
    instance_id = request(deployed)
    error = refused(deployed, instance_id, "matching_meeting", "karim", {"met_on": "2026-09-10", "outcome": "no_go"},
                    InvalidData)
    assert error.errors == {"notes": [Message("form.required_when", field="outcome", value="no_go")]}
    complete(deployed, instance_id, "matching_meeting", "karim",
             {"met_on": "2026-09-10", "outcome": "no_go", "notes": "Pas d'envie partagée"})
    assert instance_state(deployed, instance_id)[:2] == ("completed", "declined")
    assert waiting(deployed, instance_id) == set()


@pytest.mark.parametrize("answers, negative, end_state", [
    ([MANAGER_RELEASES, HOST_CONFIRMS], ("agent_consent", "marie", {"decision": "decline"}), "declined"),
    ([AGENT_ACCEPTS, HOST_CONFIRMS], ("release_agreement", "nadia", {"decision": "reject"}), "rejected"),
    ([AGENT_ACCEPTS, MANAGER_RELEASES], ("host_confirmation", "julien", {"decision": "reject"}), "rejected"),
], ids=["agent_declines_last", "manager_refuses_last", "host_refuses_last"])
def test_each_refusal_ends_the_request_and_needs_a_comment(deployed, answers, negative, end_state):
    instance_id = request(deployed)
    walk(deployed, instance_id, [MEETING_GOES_ON, *answers])
    bpmn_id, username, data = negative
    assert waiting(deployed, instance_id) == {bpmn_id}  # the other answers wait for this one
    error = refused(deployed, instance_id, bpmn_id, username, data, InvalidData)
    assert list(error.errors) == ["comment"]
    complete(deployed, instance_id, bpmn_id, username, {**data, "comment": "Pas le bon moment"})
    status, state, final = instance_state(deployed, instance_id)
    assert (status, state) == ("completed", end_state)
    assert final[f"{bpmn_id}_comment"] == "Pas le bon moment"
    with unit_of_work(deployed) as s:
        instance = s.get(Instance, instance_id)
        assert instance.approved_at is None
        assert s.query(Timer).filter_by(instance_id=instance_id).count() == 0


AGENT_DECLINES = ("agent_consent", "marie", {"decision": "decline", "comment": "Pas maintenant"})
MANAGER_REFUSES = ("release_agreement", "nadia", {"decision": "reject", "comment": "Sous-effectif"})
HOST_REFUSES = ("host_confirmation", "julien", {"decision": "reject", "comment": "Pas de bureau"})


@pytest.mark.parametrize("answers, negative, end_state, withdrawn", [
    ([], AGENT_DECLINES, "declined", [MANAGER_RELEASES, HOST_CONFIRMS]),
    ([], MANAGER_REFUSES, "rejected", [AGENT_ACCEPTS, HOST_CONFIRMS]),
    ([], HOST_REFUSES, "rejected", [AGENT_ACCEPTS, MANAGER_RELEASES]),
    ([HOST_CONFIRMS], AGENT_DECLINES, "declined", [MANAGER_RELEASES]),
    ([AGENT_ACCEPTS], HOST_REFUSES, "rejected", [MANAGER_RELEASES]),
], ids=["agent_declines_first", "manager_refuses_first", "host_refuses_first", "agent_declines_second",
        "host_refuses_second"])
def test_a_negative_answer_ends_the_request_at_once_and_withdraws_the_open_questions(
        deployed, answers, negative, end_state, withdrawn):
    """Volunteering is never forced: once the agent declines, the manager and the host are no longer
    asked (likewise after a refusal by either); the request does not wait for their answers."""
    instance_id = request(deployed)
    walk(deployed, instance_id, [MEETING_GOES_ON, *answers])
    with unit_of_work(deployed) as s:
        open_ids = {bpmn_id: open_task(s, instance_id, bpmn_id).id for bpmn_id, _, _ in withdrawn}
        for bpmn_id, username, _ in withdrawn:
            assert [t.id for t in queries.tasks(s, as_user(s, username)).items] == [open_ids[bpmn_id]]

    complete(deployed, instance_id, *negative)

    status, state, data = instance_state(deployed, instance_id)
    assert (status, state) == ("completed", end_state)
    assert waiting(deployed, instance_id) == set()
    assert not {f"{bpmn_id}_decision" for bpmn_id in open_ids} & data.keys()
    with unit_of_work(deployed) as s:
        for bpmn_id, username, _ in withdrawn:
            task = s.get(HumanTask, open_ids[bpmn_id])
            assert (task.status, task.completed_by) == ("cancelled", None), bpmn_id
            assert queries.candidates_of(s, task.id) == []
            assert queries.tasks(s, as_user(s, username)).items == []  # gone from their task list
        assert {t.bpmn_id: t.status for t in queries.instance_tasks(s, instance_id)} == {
            "describe_need": "completed", "matching_meeting": "completed", negative[0]: "completed",
            **{bpmn_id: "completed" for bpmn_id, _, _ in answers}, **dict.fromkeys(open_ids, "cancelled")}
        history = queries.history(s, instance_id)
        assert (history[-1].type, history[-1].data) == ("instance_completed", {"end_state": end_state})
        assert s.get(Instance, instance_id).approved_at is None
        assert s.query(Timer).filter_by(instance_id=instance_id).count() == 0
        verification = verify_audit(s, instance_id)
        assert verification.ok, verification.reason
    for bpmn_id, username, answer in withdrawn:  # a late answer changes nothing
        with unit_of_work(deployed) as s, pytest.raises(Conflict, match="cancelled"):
            complete_task(s, open_ids[bpmn_id], as_user(s, username), answer)
    assert instance_state(deployed, instance_id)[:2] == ("completed", end_state)


# --- withdrawal ---------------------------------------------------------------------------------

def test_hr_may_withdraw_until_the_workload_plan_then_only_cancel(deployed):
    instance_id = request(deployed)
    walk(deployed, instance_id, [MEETING_GOES_ON, AGENT_ACCEPTS])
    for outsider in ("marie", "nadia"):  # the agent and her manager answer; they do not withdraw
        with unit_of_work(deployed) as s:
            with pytest.raises(PermissionDenied):
                cancel_instance(s, instance_id, as_user(s, outsider), "je préfère pas")
    with unit_of_work(deployed) as s:
        instance = cancel_instance(s, instance_id, as_user(s, "sophie"), "L'unité a recruté")
        assert (instance.status, instance.end_state) == ("cancelled", "withdrawn")
        assert {t.status for t in s.query(HumanTask).filter_by(instance_id=instance_id)
                if t.bpmn_id in ("release_agreement", "host_confirmation")} == {"cancelled"}
    assert waiting(deployed, instance_id) == set()

    by_colleague = request(deployed)
    with unit_of_work(deployed) as s:  # another HR member stops it: a cancellation, not a withdrawal
        assert cancel_instance(s, by_colleague, as_user(s, "karim"), "doublon").end_state == "cancelled"

    planned = request(deployed)
    walk(deployed, planned, [*UP_TO_WORKLOAD_PLAN, WORKLOAD_PLANNED])
    with unit_of_work(deployed) as s:
        assert s.get(Instance, planned).approved_at is not None
        with pytest.raises(PermissionDenied, match="approved"):
            cancel_instance(s, planned, as_user(s, "marie"), "trop tard")
    with unit_of_work(deployed) as s:  # past approval the requester, being HR, may still cancel
        instance = cancel_instance(s, planned, as_user(s, "sophie"), "Réorganisation")
        assert (instance.status, instance.end_state) == ("cancelled", "cancelled")
        assert s.query(Timer).filter_by(instance_id=planned).one().status == "cancelled"
