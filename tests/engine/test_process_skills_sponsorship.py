"""skills_sponsorship, the real diagram, walked through the engine with the demo organisation.

thomas (fonctionnaire, manager julien) lends his skills to restos-isere (association_rup, host
referent hugo). The clock is frozen at TODAY for every test: the eligibility table compares dates
with `today`, and the experimentation ends on 2027-12-27, so no result depends on the real date.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine import Message
from engine import (Conflict, InvalidData, NotFound, PermissionDenied, bundle_of, cancel_instance, complete_task,
                    deploy, frozen_at, get_version, queries, run_due_timers, start_instance, unit_of_work,
                    verify_audit)
from engine.models import HumanTask, Instance, Timer

from . import helpers
from .helpers import as_user, complete, edit, open_task

KEY = "skills_sponsorship"
TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

PROPOSAL = helpers.SPONSORSHIP_PROPOSAL
CONVENTION = helpers.SPONSORSHIP_CONVENTION
#: the path to a signed convention: (task, who does it, what they submit)
STEPS = [
    ("propose_mission", "thomas", PROPOSAL),
    ("manager_opinion", "julien", {"decision": "approve", "workload_arrangement": "Pierre reprend le jeudi"}),
    ("ethics_check", "ines", {"decision": "compatible", "duties_reviewed": True}),
    ("draft_convention", "karim", CONVENTION),
    ("host_agreement", "hugo", {"decision": "accept", "met_agent_on": "2026-03-10"}),
    ("agent_written_agreement", "thomas", {"agree": True}),
    ("sign_decision", "claire", {"decision": "sign"}),
]
STEP_NAMES = [name for name, _, _ in STEPS]

PROBLEM = {
    "status": "Le mécénat de compétences est réservé aux fonctionnaires.",
    "host_kind": "L'organisme d'accueil doit être un organisme d'intérêt général ou une association ou fondation "
                 "reconnue d'utilité publique (ni une entreprise, ni une fondation d'entreprise).",
    "start_in_past": "La date de début est déjà passée.",
    "end_before_start": "La date de fin doit suivre la date de début.",
    "experimentation_end": "L'expérimentation du mécénat de compétences s'arrête le 27 décembre 2027 : la mission "
                           "doit se terminer au plus tard à cette date.",
    "convention_length": "Une convention de mécénat dure au plus 18 mois.",
    "total_with_host": "Avec le même organisme, la durée totale des conventions ne peut pas dépasser 36 mois "
                       "(conventions précédentes comprises).",
}


@pytest.fixture(autouse=True)
def today():
    with frozen_at(TODAY):
        yield


def start(sessions, username="thomas") -> int:
    with unit_of_work(sessions) as s:
        return start_instance(s, KEY, as_user(s, username)).id


def walk(sessions, instance_id, until=None, proposal=None):
    """Complete STEPS in order up to (not including) `until`; all of them when None."""
    for name, username, data in STEPS[:STEP_NAMES.index(until) if until else None]:
        complete(sessions, instance_id, name, username, proposal if proposal and name == "propose_mission" else data)


def instance(s, instance_id) -> Instance:
    return s.get(Instance, instance_id)


# --- the whole way, and who gets each task --------------------------------------------------------

#: task -> (assignee, candidate users, candidate groups), and people who must not be able to complete it
ASSIGNMENT = {
    "propose_mission": (("thomas", [], []), ["julien", "pierre"]),
    "manager_opinion": (("julien", [], []), ["thomas", "nadia", "claire"]),
    "ethics_check": ((None, [], ["ethics"]), ["julien", "luc", "thomas"]),
    "draft_convention": ((None, [], ["hr"]), ["ines", "thomas"]),
    "host_agreement": ((None, ["hugo"], []), ["thomas", "karim"]),
    "agent_written_agreement": (("thomas", [], []), ["julien", "hugo", "sophie"]),
    "sign_decision": ((None, [], ["dgs"]), ["luc", "sophie", "thomas"]),
    "host_report": ((None, ["hugo"], []), ["thomas", "karim"]),
    "agent_feedback": (("thomas", [], []), ["hugo", "julien"]),
    "hr_close": ((None, [], ["hr"]), ["thomas", "claire", "hugo"]),
}


def check_assignment(sessions, instance_id, bpmn_id, data):
    (expected, outsiders) = ASSIGNMENT[bpmn_id]
    with unit_of_work(sessions) as s:
        task = open_task(s, instance_id, bpmn_id)
        assert (task.assignee, task.candidate_users, task.candidate_groups) == expected, bpmn_id
        for username in outsiders:
            with pytest.raises((PermissionDenied, NotFound)):
                complete_task(s, task.id, as_user(s, username), data)


def test_happy_path_from_proposal_to_closing_with_the_right_people_at_each_step(deployed):
    instance_id = start(deployed)
    for name, username, data in STEPS:
        check_assignment(deployed, instance_id, name, data)
        if name == "host_agreement":  # an outside referent finds it in his task list
            with unit_of_work(deployed) as s:
                assert [t.bpmn_id for t in queries.tasks(s, as_user(s, "hugo")).items] == ["host_agreement"]
        complete(deployed, instance_id, name, username, data)
        if name == "propose_mission":
            with unit_of_work(deployed) as s:
                data_now = instance(s, instance_id).data
                assert data_now["eligibility_problems"] == [] and data_now["subsidy_convention_required"] is False
                assert (data_now["agent"], data_now["months_with_host"], data_now["host_kind"]) == (
                    "thomas", 0, "association_rup")

    with unit_of_work(deployed) as s:  # signed: approved, no longer the starter's to withdraw
        assert instance(s, instance_id).approved_at == TODAY
        with pytest.raises(PermissionDenied, match="approved"):
            cancel_instance(s, instance_id, as_user(s, "thomas"), "finalement non")
    with unit_of_work(deployed) as s:
        timer = s.query(Timer).filter_by(instance_id=instance_id, bpmn_id="mission_end").one()
        assert (timer.status, timer.due_at) == ("waiting", datetime(2026, 9, 30, tzinfo=timezone.utc))
        with frozen_at(datetime(2026, 9, 29, 23, 59)):
            assert not run_due_timers(s, instance(s, instance_id))
    with unit_of_work(deployed) as s, frozen_at(datetime(2026, 9, 30, 0, 1)):
        assert run_due_timers(s, instance(s, instance_id))
    with unit_of_work(deployed) as s:
        assert {t.bpmn_id for t in queries.open_tasks(s, instance_id)} == {"host_report", "agent_feedback"}

    check_assignment(deployed, instance_id, "host_report", {"host_assessment": "Très utile"})
    complete(deployed, instance_id, "host_report", "hugo", {"host_assessment": "Très utile", "would_host_again": True})
    with unit_of_work(deployed) as s:  # the join waits for both reports
        assert [t.bpmn_id for t in queries.open_tasks(s, instance_id)] == ["agent_feedback"]
    feedback = {"skills_gained": "Logistique, animation de bénévoles", "belonging": "4", "recommend": True}
    check_assignment(deployed, instance_id, "agent_feedback", feedback)
    complete(deployed, instance_id, "agent_feedback", "thomas", feedback)
    check_assignment(deployed, instance_id, "hr_close", {"recognition_note": "Valorisé"})
    complete(deployed, instance_id, "hr_close", "sophie", {"recognition_note": "Valorisé à l'entretien annuel"})

    with unit_of_work(deployed) as s:
        done = instance(s, instance_id)
        assert (done.status, done.end_state) == ("completed", "completed")
        assert queries.open_tasks(s, instance_id) == []
        assert verify_audit(s, instance_id).ok
        types = [e.type for e in queries.history(s, instance_id)]
        assert types.count("decision_evaluated") == 3 and types.count("timer_fired") == 1
        assert types[-1] == "instance_completed"


# --- eligibility: one case per rule of skills_sponsorship_eligibility.dmn, and what just passes --------

@pytest.mark.parametrize("starter, changes, problems", [
    ("lea", {}, [PROBLEM["status"]]),  # contractuelle
    ("thomas", {"host_organisation": "fondation-alpes"}, [PROBLEM["host_kind"]]),  # corporate foundation
    ("thomas", {"start_date": "2026-03-01"}, [PROBLEM["start_in_past"]]),  # yesterday
    ("thomas", {"start_date": "2026-04-01", "end_date": "2026-03-31"}, [PROBLEM["end_before_start"]]),
    ("thomas", {"start_date": "2027-07-01", "end_date": "2027-12-28"}, [PROBLEM["experimentation_end"]]),
    ("thomas", {"start_date": "2026-04-01", "end_date": "2027-10-01"}, [PROBLEM["convention_length"]]),  # 19 months
    # boundaries that pass: starts today and lasts exactly 18 months; ends on the last day of the trial;
    # a general-interest host
    ("thomas", {"start_date": "2026-03-02", "end_date": "2027-09-01"}, []),
    ("thomas", {"start_date": "2026-07-01", "end_date": "2027-12-27"}, []),
    ("thomas", {"host_organisation": "maison-solidaire"}, []),
], ids=["status", "host_kind", "start_in_past", "end_before_start", "experimentation_end", "convention_length",
        "starts_today_18_months", "ends_on_trial_end", "general_interest_host"])
def test_eligibility_rules(deployed, starter, changes, problems):
    instance_id = start(deployed, starter)
    complete(deployed, instance_id, "propose_mission", starter, {**PROPOSAL, **changes})
    with unit_of_work(deployed) as s:
        assert instance(s, instance_id).data["eligibility_problems"] == problems
        waiting = [(t.bpmn_id, t.assignee) for t in queries.open_tasks(s, instance_id)]
    if problems:  # the form comes back to the starter, with the reasons
        assert waiting == [("propose_mission", starter)]
    else:
        assert waiting == [("manager_opinion", "julien")]


def test_ineligible_request_lists_every_reason_then_goes_on_once_fixed(deployed):
    instance_id = start(deployed)
    complete(deployed, instance_id, "propose_mission", "thomas",
             {**PROPOSAL, "start_date": "2026-02-01", "end_date": "2027-09-30"})  # in the past, 20 months
    with unit_of_work(deployed) as s:
        assert instance(s, instance_id).data["eligibility_problems"] == [
            PROBLEM["start_in_past"], PROBLEM["convention_length"]]
        assert open_task(s, instance_id, "propose_mission").assignee == "thomas"
    complete(deployed, instance_id, "propose_mission", "thomas", PROPOSAL)
    with unit_of_work(deployed) as s:
        assert instance(s, instance_id).data["eligibility_problems"] == []
        assert open_task(s, instance_id, "manager_opinion").assignee == "julien"
        assert [e.type for e in queries.history(s, instance_id)].count("decision_evaluated") == 4


def test_36_months_with_the_same_host_counts_earlier_approved_conventions_only(deployed):
    # a withdrawn request does not count; two signed conventions with restos-isere: 18 + 17 = 35 months
    withdrawn = start(deployed)
    walk(deployed, withdrawn, until="ethics_check", proposal={**PROPOSAL, "end_date": "2027-09-30"})
    with unit_of_work(deployed) as s:
        cancel_instance(s, withdrawn, as_user(s, "thomas"), "autre projet")
    for end_date in ("2027-09-30", "2027-08-31"):
        earlier = start(deployed)
        walk(deployed, earlier, proposal={**PROPOSAL, "end_date": end_date})

    cases = [("restos-isere", "2027-10-31", [], "manager_opinion"),  # 35 + 1 = 36: allowed
             ("restos-isere", "2027-11-30", [PROBLEM["total_with_host"]], "propose_mission"),  # 35 + 2 = 37
             ("maison-solidaire", "2027-11-30", [], "manager_opinion")]  # another host: starts from 0
    for host, end_date, problems, waiting in cases:
        instance_id = start(deployed)
        complete(deployed, instance_id, "propose_mission", "thomas",
                 {**PROPOSAL, "host_organisation": host, "start_date": "2027-10-01", "end_date": end_date})
        with unit_of_work(deployed) as s:
            data = instance(s, instance_id).data
            assert (data["months_with_host"], data["eligibility_problems"]) == (
                35 if host == "restos-isere" else 0, problems), (host, end_date)
            assert [t.bpmn_id for t in queries.open_tasks(s, instance_id)] == [waiting]


@pytest.mark.parametrize("reimbursed, value, required", [
    (False, 23000, False), (False, 23001, True), (True, 50000, False)])
def test_subsidy_convention_above_23000_eur_unless_reimbursed(deployed, reimbursed, value, required):
    instance_id = start(deployed)
    complete(deployed, instance_id, "propose_mission", "thomas",
             {**PROPOSAL, "reimbursed": reimbursed, "estimated_value_eur": value})
    with unit_of_work(deployed) as s:
        assert instance(s, instance_id).data["subsidy_convention_required"] is required
        task = open_task(s, instance_id, "manager_opinion")  # not a blocking rule
        assert task.assignee == "julien"


def test_form_errors_are_named_per_field_and_the_host_must_exist(deployed):
    instance_id = start(deployed)
    with unit_of_work(deployed) as s:
        task = open_task(s, instance_id, "propose_mission")
        with pytest.raises(InvalidData) as err:
            complete_task(s, task.id, as_user(s, "thomas"), {
                **PROPOSAL, "host_organisation": "nowhere", "mission_description": "trop court",
                "time_share": 101, "estimated_value_eur": -1})
    assert err.value.errors == {
        "host_organisation": [Message("form.unknown_organisation", value="nowhere")], "mission_description": [Message("form.min_length", min="20")],
        "time_share": [Message("form.max", max="100")], "estimated_value_eur": [Message("form.min", min="0")]}
    walk(deployed, instance_id, until="ethics_check")
    with unit_of_work(deployed) as s:  # the ethics officer must tick that she reviewed the duties
        task = open_task(s, instance_id, "ethics_check")
        with pytest.raises(InvalidData) as err:
            complete_task(s, task.id, as_user(s, "ines"), {"decision": "compatible"})
    assert err.value.errors == {"duties_reviewed": [Message("form.must_be_checked")]}


# --- every way it stops --------------------------------------------------------------------------

@pytest.mark.parametrize("bpmn_id, username, data, needs_comment, end_state", [
    ("manager_opinion", "julien", {"decision": "reject"}, True, "rejected"),
    ("ethics_check", "ines", {"decision": "incompatible", "duties_reviewed": True}, True, "rejected"),
    ("host_agreement", "hugo", {"decision": "refuse"}, True, "declined"),
    ("agent_written_agreement", "thomas", {"agree": False}, False, "declined"),  # box left unticked
    ("sign_decision", "claire", {"decision": "refuse"}, True, "rejected"),
])
def test_each_negative_decision_ends_in_its_named_state(deployed, bpmn_id, username, data, needs_comment, end_state):
    instance_id = start(deployed)
    walk(deployed, instance_id, until=bpmn_id)
    if needs_comment:
        with unit_of_work(deployed) as s:
            with pytest.raises(InvalidData) as err:
                complete_task(s, open_task(s, instance_id, bpmn_id).id, as_user(s, username), data)
        assert list(err.value.errors) == ["comment"]
    complete(deployed, instance_id, bpmn_id, username, {**data, "comment": "Pas dans ces conditions"})
    with unit_of_work(deployed) as s:
        ended = instance(s, instance_id)
        assert (ended.status, ended.end_state) == ("completed", end_state)
        assert queries.open_tasks(s, instance_id) == []
        assert s.query(Timer).filter_by(instance_id=instance_id).count() == 0
        assert verify_audit(s, instance_id).ok


def test_the_agent_withdraws_until_the_convention_is_signed(deployed):
    instance_id = start(deployed)
    walk(deployed, instance_id, until="sign_decision")
    with unit_of_work(deployed) as s:
        with pytest.raises(PermissionDenied):  # his manager sees the request but may not withdraw it
            cancel_instance(s, instance_id, as_user(s, "julien"), "à la place de thomas")
    with unit_of_work(deployed) as s:
        withdrawn = cancel_instance(s, instance_id, as_user(s, "thomas"), "Je reste dans mon service")
        assert (withdrawn.status, withdrawn.end_state) == ("cancelled", "withdrawn")
    with unit_of_work(deployed) as s:
        assert queries.open_tasks(s, instance_id) == []
        assert queries.tasks(s, as_user(s, "claire")).items == []
        with pytest.raises(Conflict):
            complete_task(s, s.query(HumanTask).filter_by(instance_id=instance_id, bpmn_id="sign_decision").one().id,
                          as_user(s, "claire"), {"decision": "sign"})


# --- a number changed in a DMN table applies to new instances only -------------------------------

def test_redeployed_duration_limit_applies_to_new_instances_only(deployed):
    fifteen_months = {**PROPOSAL, "start_date": "2026-04-01", "end_date": "2027-06-30"}
    before = start(deployed)
    with unit_of_work(deployed) as s:
        bundle = edit(bundle_of(get_version(s, KEY)), "skills_sponsorship_eligibility.dmn",
                      "<text>? &gt; 18</text>", "<text>? &gt; 12</text>")
        assert deploy(s, bundle, "luc", "conventions de 12 mois au plus").version.version == 2
    after = start(deployed)
    for instance_id in (before, after):
        complete(deployed, instance_id, "propose_mission", "thomas", fifteen_months)
    with unit_of_work(deployed) as s:
        assert (instance(s, before).version.version, instance(s, after).version.version) == (1, 2)
        assert instance(s, before).data["eligibility_problems"] == []
        assert instance(s, after).data["eligibility_problems"] == [PROBLEM["convention_length"]]
        assert open_task(s, before, "manager_opinion").assignee == "julien"
        assert open_task(s, after, "propose_mission").assignee == "thomas"
