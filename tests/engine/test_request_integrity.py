"""What a request holds and who decides on it cannot be forged (issue 13, items 1, 5, 6, 8).

Start data is a form like any other; nobody decides on their own request; a step stores JSON or
fails the request, saying why; an automated loop too deep for SpiffWorkflow fails the request
instead of completing it; a multi-instance task and a request's data have limits.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine import Message, stored_failure
from engine import (InvalidData, PermissionDenied, claim_task, complete_task, deploy, frozen_at, queries,
                    run_due_timers, start_instance, unit_of_work, verify_audit)
from engine.models import Instance
from engine.spiff import MAX_DEPTH
from engine.values import MAX_DATA_BYTES, MAX_INSTANCES

from .helpers import DIAGRAMS, as_user, complete, open_task

TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
NEED = {"title": "Inventaire des archives du service", "description": "Trier et inventorier 40 cartons",
        "skills_wanted": "Rigueur", "effort_days": 3, "deadline": "2026-03-20"}
APPROVE = {"decision": "approve", "workload_arrangement": "Le jeudi"}


@pytest.fixture(autouse=True)
def today():
    with frozen_at(TODAY):
        yield


@pytest.fixture
def test_diagrams(deployed):
    with unit_of_work(deployed) as s:
        for name in ("integrity_test.bpmn", "runaway_loop.bpmn"):
            deploy(s, {name: (DIAGRAMS / name).read_bytes()}, "luc", "test")
    return deployed


def errors_of(sessions, process, username, data) -> dict:
    with unit_of_work(sessions) as s, pytest.raises(InvalidData) as refused:
        start_instance(s, process, as_user(s, username), data)
    return refused.value.errors


def stored(sessions, instance_id) -> Instance:
    with unit_of_work(sessions) as s:
        instance = s.get(Instance, instance_id)
        s.expunge(instance)
        return instance


# --- start data is a form -------------------------------------------------------------------------

def test_start_data_cannot_set_what_decides_assignment_or_eligibility(deployed):
    assert errors_of(deployed, "mission_exchange", "thomas", {"escalation_group": "agent"}) == {
        "escalation_group": [Message("form.unknown_field")]}
    assert errors_of(deployed, "mission_exchange", "thomas", {"agent": "lea", "time_share": 100}) == {
        "agent": [Message("form.unknown_field")], "time_share": [Message("form.unknown_field")]}
    assert errors_of(deployed, "mission_exchange", "thomas", {"volunteer": "thomas"}) == {"volunteer": [Message("form.unknown_field")]}
    with unit_of_work(deployed) as s:
        assert s.query(Instance).count() == 0


def test_start_data_prefills_the_first_task_validated_as_its_form(deployed):
    assert errors_of(deployed, "mission_exchange", "thomas", {"effort_days": "three"}) == {
        "effort_days": [Message("form.not_whole_number")]}
    assert errors_of(deployed, "mission_exchange", "thomas", {"title": "a\x00b"}) == {
        "title": [Message("value.nul_character")]}
    assert errors_of(deployed, "mission_exchange", "thomas", {"title": "\ud800"}) == {
        "title": [Message("value.lone_surrogate")]}
    with unit_of_work(deployed) as s:  # what the first task declares, typed; the task asks for the rest
        instance = start_instance(s, "mission_exchange", as_user(s, "thomas"), {"title": " Aide ", "effort_days": "2"})
        assert (instance.data["title"], instance.data["effort_days"], instance.title) == ("Aide", 2, "Aide")
        instance_id = instance.id
    with unit_of_work(deployed) as s, pytest.raises(InvalidData) as refused:
        complete_task(s, open_task(s, instance_id, "post_need").id, as_user(s, "thomas"), {"title": "Aide"})
    assert refused.value.errors["description"] == [Message("form.required")]


def test_a_start_event_form_is_the_whole_form(test_diagrams):
    assert errors_of(test_diagrams, "runaway_loop", "thomas", {"rounds": 1, "count": 1, "n": 5}) == {
        "n": [Message("form.unknown_field")]}
    assert errors_of(test_diagrams, "runaway_loop", "thomas", {"rounds": "x", "count": 1}) == {
        "rounds": [Message("form.not_whole_number")]}
    assert errors_of(test_diagrams, "runaway_loop", "thomas", {"rounds": 1, "count": 0, "pace": "turbo"}) == {
        "pace": [Message("form.not_an_option", options=["slow", "fast"])]}


# --- nobody decides on their own request ---------------------------------------------------------

def _agreed(sessions, requester, volunteer) -> int:
    with unit_of_work(sessions) as s:
        instance_id = start_instance(s, "mission_exchange", as_user(s, requester)).id
    complete(sessions, instance_id, "post_need", requester, NEED)
    complete(sessions, instance_id, "apply", volunteer, {"motivation": "Libre les jeudis"})
    complete(sessions, instance_id, "conversation", requester, {"outcome": "go", "met_on": "2026-03-03"})
    return instance_id


def test_the_requester_who_manages_the_volunteer_cannot_approve_her_own_request(deployed):
    instance_id = _agreed(deployed, "nadia", "marie")  # nadia is marie's manager
    with unit_of_work(deployed) as s:
        approval = open_task(s, instance_id, "manager_approval")
        assert approval.assignee == "nadia"  # what the assignment says ...
        with pytest.raises(PermissionDenied, match="may not decide on a request that concerns you"):
            complete_task(s, approval.id, as_user(s, "nadia"), APPROVE)  # ... the engine refuses
    with unit_of_work(deployed) as s, frozen_at(TODAY + timedelta(days=6)):  # then HR decides
        run_due_timers(s, s.get(Instance, instance_id))
    complete(deployed, instance_id, "manager_approval", "sophie", APPROVE)
    instance = stored(deployed, instance_id)
    assert instance.approved_at is not None and instance.data["decision"] == "approve"


def test_a_volunteer_from_hr_cannot_approve_his_own_mission_once_escalated(deployed):
    instance_id = _agreed(deployed, "thomas", "karim")
    with unit_of_work(deployed) as s, frozen_at(TODAY + timedelta(days=6)):
        run_due_timers(s, s.get(Instance, instance_id))
    with unit_of_work(deployed) as s:
        approval = open_task(s, instance_id, "manager_approval")
        assert approval.candidate_groups == ["hr"]  # karim is in hr
        for action in (lambda: claim_task(s, approval.id, as_user(s, "karim")),
                       lambda: complete_task(s, approval.id, as_user(s, "karim"), APPROVE)):
            with pytest.raises(PermissionDenied, match="concerns you"):
                action()
    assert stored(deployed, instance_id).approved_at is None
    complete(deployed, instance_id, "manager_approval", "sophie", APPROVE)  # another HR person may
    assert stored(deployed, instance_id).approved_at is not None


def test_an_agent_still_gives_her_own_consent(deployed):
    """A decision the diagram asks of the agent by name (`${agent}`) is her answer, not an approval."""
    with unit_of_work(deployed) as s:
        instance_id = start_instance(s, "temporary_support_mission", as_user(s, "julien")).id
    complete(deployed, instance_id, "describe_mission", "julien", {
        "title": "Plan vélo", "project": "Plan vélo 2027", "objectives": "Trois ateliers", "expertise_level": "expert",
        "time_share": 30, "start_date": "2026-04-01", "end_date": "2026-12-31", "agent": "lea",
        "is_project_support": True})
    complete(deployed, instance_id, "coordinator_review", "luc", {"decision": "approve"})
    complete(deployed, instance_id, "agent_consent", "lea", {"decision": "accept"})
    assert stored(deployed, instance_id).data["agent_consent_decision"] == "accept"


# --- values are JSON or refused ------------------------------------------------------------------

def test_dates_a_script_stores_become_iso_strings(test_diagrams):
    with unit_of_work(test_diagrams) as s:
        instance_id = start_instance(s, "integrity_test", as_user(s, "thomas"), {"how": "date"}).id
    complete(test_diagrams, instance_id, "choose", "thomas", {"how": "dates"})
    instance = stored(test_diagrams, instance_id)
    assert instance.status == "running" and instance.failure is None
    assert instance.data["when"] == ["2027-01-31", {"end": "2027-02-28"}]
    with unit_of_work(test_diagrams) as s:
        assert [t.bpmn_id for t in queries.open_tasks(s, instance_id)] == ["after"]
        assert verify_audit(s, instance_id).ok


@pytest.mark.parametrize("how", ["set", "range", "tuple_keys", "nan", "nul", "surrogate"])
def test_a_value_that_is_not_json_fails_the_request_with_its_step(test_diagrams, how):
    with unit_of_work(test_diagrams) as s:  # at start
        at_start = start_instance(s, "integrity_test", as_user(s, "thomas"), {"how": how})
        assert at_start.status == "failed"
        at_start_id = at_start.id
    with unit_of_work(test_diagrams) as s:  # after a task
        instance_id = start_instance(s, "integrity_test", as_user(s, "thomas"), {"how": "nothing"}).id
    complete(test_diagrams, instance_id, "choose", "thomas", {"how": how})
    for failed_id, step in ((at_start_id, ("Store at start", "store")),
                            (instance_id, ("Store after the task", "store_again"))):
        instance = stored(test_diagrams, failed_id)
        assert instance.status == "failed", how
        failure = stored_failure(instance.failure)
        assert (failure.params["step"], failure.params["bpmn_id"]) == step and "bad" in instance.failure, failure
        assert "bad" not in instance.data
        with unit_of_work(test_diagrams) as s:
            assert queries.open_tasks(s, failed_id) == [] and verify_audit(s, failed_id).ok


# --- loops, instances and data have limits -------------------------------------------------------

def test_a_loop_deeper_than_the_engine_looks_fails_instead_of_completing(test_diagrams):
    with unit_of_work(test_diagrams) as s:
        short = start_instance(s, "runaway_loop", as_user(s, "thomas"), {"rounds": 5, "count": 0})
        assert short.status == "running" and short.data["n"] == 5
        assert [t.bpmn_id for t in queries.open_tasks(s, short.id)] == ["approval"]
    rounds = MAX_DEPTH // 3 + 10  # three tasks a round: merge, count_one, again
    with unit_of_work(test_diagrams) as s:
        deep = start_instance(s, "runaway_loop", as_user(s, "thomas"), {"rounds": rounds, "count": 0})
        assert (deep.status, deep.end_state) == ("failed", None), deep.failure
        assert f"more than {MAX_DEPTH} steps in a row" in deep.failure
        assert deep.approved_at is None and queries.open_tasks(s, deep.id) == []


@pytest.mark.parametrize("in_turn", [False, True])
def test_a_multi_instance_task_creates_at_most_the_limit(test_diagrams, in_turn):
    step = "each_in_turn" if in_turn else "each"
    with unit_of_work(test_diagrams) as s:
        fine = start_instance(s, "runaway_loop", as_user(s, "thomas"), {"rounds": 1, "count": 3, "in_turn": in_turn})
        assert fine.status == "running"
        assert [t.bpmn_id for t in queries.open_tasks(s, fine.id)] == [step] * (1 if in_turn else 3)
    with unit_of_work(test_diagrams) as s:
        many = start_instance(s, "runaway_loop", as_user(s, "thomas"),
                              {"rounds": 1, "count": 200_000, "in_turn": in_turn})
        assert many.status == "failed"
        failure = stored_failure(many.failure)
        assert f"more than {MAX_INSTANCES} instances" in failure.params["error"] and failure.params["bpmn_id"] == step
        assert len(many.state) < 200_000  # not 200,000 tasks saved


def test_a_form_over_the_data_quota_is_refused_naming_the_field(test_diagrams):
    with unit_of_work(test_diagrams) as s:
        instance_id = start_instance(s, "integrity_test", as_user(s, "thomas"),
                                     {"how": "nothing", "note": "n" * (MAX_DATA_BYTES // 2)}).id
    assert errors_of(test_diagrams, "integrity_test", "thomas", {"how": "x", "note": "n" * MAX_DATA_BYTES}) == {
        "note": [Message("data.too_much_data", limit_kb=MAX_DATA_BYTES // 1024)]}
    with unit_of_work(test_diagrams) as s, pytest.raises(InvalidData) as refused:
        complete_task(s, open_task(s, instance_id, "choose").id, as_user(s, "thomas"),
                      {"how": "nothing", "note": "m" * (MAX_DATA_BYTES + 1)})
    assert list(refused.value.errors) == ["note"]
    complete(test_diagrams, instance_id, "choose", "thomas", {"how": "nothing", "note": "short again"})
    assert stored(test_diagrams, instance_id).data["note"] == "short again"


def test_a_script_over_the_data_quota_fails_the_request(test_diagrams):
    with unit_of_work(test_diagrams) as s:
        instance_id = start_instance(s, "integrity_test", as_user(s, "thomas"), {"how": "nothing"}).id
    complete(test_diagrams, instance_id, "choose", "thomas", {"how": "big"})
    instance = stored(test_diagrams, instance_id)
    failure = stored_failure(instance.failure)
    assert instance.status == "failed" and failure.params["bpmn_id"] == "store_again"
    assert failure.params["error"].code == "value.too_large"
    assert "blob" not in instance.data
