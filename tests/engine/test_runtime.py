"""Starting instances, completing tasks with server-side validation, DMN, timers, cancellation."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine import Message
from engine import (Conflict, InvalidData, NotFound, PermissionDenied, cancel_instance, claim_task, complete_task,
                    frozen_at, release_task, run_due_timers, start_instance, unit_of_work)
from engine.models import AuditEvent, HumanTask, Instance, Timer

from .helpers import REQUEST, as_user, complete, deploy_approval, open_task


@pytest.fixture
def approval(org_sessions):
    deploy_approval(org_sessions)
    return org_sessions


def start(sessions, username="nadia"):
    with unit_of_work(sessions) as s:
        return start_instance(s, "approval_test", as_user(s, username)).id


def test_start_runs_until_the_first_user_task_and_records_it(approval):
    instance_id = start(approval)
    with unit_of_work(approval) as s:
        instance = s.get(Instance, instance_id)
        assert instance.status == "running" and instance.started_by == "nadia"
        assert instance.data["started_by"] == "nadia"
        task = open_task(s, instance_id, "request")
        assert (task.title, task.lane, task.assignee) == ("Describe the request", "Starter", "nadia")
        fields = {f["id"]: f for f in task.form["fields"]}
        assert fields["days"]["type"] == "long" and fields["days"]["constraints"] == {"min": "1", "max": "30"}
        assert [o["id"] for o in fields["kind"]["options"]] == ["a", "b"]
        assert [e.type for e in s.query(AuditEvent).filter_by(instance_id=instance_id).order_by(AuditEvent.seq)] == [
            "instance_started", "task_created"]


def test_a_completed_task_stays_completed_beside_the_task_it_opened(approval):
    # A step writes all its changes in one flush at its end: the rows it reads meanwhile (open
    # tasks, timers) must show its own changes, not the database's older "ready".
    instance_id = start(approval)
    complete(approval, instance_id, "request", "nadia", REQUEST)
    with unit_of_work(approval) as s:
        rows = s.query(HumanTask).filter_by(instance_id=instance_id).order_by(HumanTask.id).all()
        assert [(t.bpmn_id, t.status, t.completed_by) for t in rows] == [
            ("request", "completed", "nadia"), ("manager_review", "ready", None)]
        assert [(t.bpmn_id, t.status) for t in s.query(Timer).filter_by(instance_id=instance_id)] == []


def test_invalid_submission_names_each_field_and_writes_nothing(approval):
    instance_id = start(approval)
    with unit_of_work(approval) as s:
        task = open_task(s, instance_id, "request")
        with pytest.raises(InvalidData) as err:
            complete_task(s, task.id, as_user(s, "nadia"), {
                "title": "x" * 81, "days": 31, "start_date": "31/12/2026", "agent": "nobody", "kind": "z",
                "urgent": "maybe", "surprise": 1})
    assert err.value.errors == {
        "title": [Message("form.max_length", max="80")], "days": [Message("form.max", max="30")],
        "start_date": [Message("form.not_date")], "agent": [Message("form.unknown_user", value="nobody")],
        "kind": [Message("form.not_an_option", options=["a", "b"])], "urgent": [Message("form.not_boolean")], "surprise": [Message("form.unknown_field")]}
    with unit_of_work(approval) as s:
        assert open_task(s, instance_id, "request").status == "ready"
        assert s.query(AuditEvent).filter_by(instance_id=instance_id, type="task_completed").count() == 0


def test_required_fields_and_conditional_comment(approval):
    instance_id = start(approval)
    with unit_of_work(approval) as s:
        task = open_task(s, instance_id, "request")
        with pytest.raises(InvalidData) as err:
            complete_task(s, task.id, as_user(s, "nadia"), {})
    assert set(err.value.errors) == {"title", "days", "start_date", "agent"}
    complete(approval, instance_id, "request", "nadia", REQUEST)
    with unit_of_work(approval) as s:
        task = open_task(s, instance_id, "manager_review")
        with pytest.raises(InvalidData) as err:
            complete_task(s, task.id, as_user(s, "julien"), {"decision": "reject"})
    assert err.value.errors == {"comment": [Message("form.required_when", field="decision", value="reject")]}


def test_dmn_routes_short_requests_to_automatic_approval(approval):
    instance_id = start(approval)
    complete(approval, instance_id, "request", "nadia", {**REQUEST, "days": 2})
    with unit_of_work(approval) as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.end_state) == ("completed", "completed")
        decision = s.query(AuditEvent).filter_by(instance_id=instance_id, type="decision_evaluated").one()
        assert decision.data == {"decision": "approval_rule", "result": {"route": "auto"}}


def test_rejection_ends_in_named_end_state_with_typed_data(approval):
    instance_id = start(approval)
    complete(approval, instance_id, "request", "nadia", {**REQUEST, "days": "12", "urgent": "true"})
    complete(approval, instance_id, "manager_review", "julien", {"decision": "reject", "comment": "Pas maintenant"})
    with unit_of_work(approval) as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.end_state) == ("completed", "rejected")
        assert instance.data["days"] == 12 and instance.data["urgent"] is True
        assert instance.data["comment"] == "Pas maintenant"
        completed = s.query(HumanTask).filter_by(instance_id=instance_id, bpmn_id="manager_review").one()
        assert (completed.status, completed.completed_by) == ("completed", "julien")
        assert completed.data == {"decision": "reject", "comment": "Pas maintenant"}


def test_timer_waits_for_its_date_then_offers_the_task_to_the_lane_role(approval):
    instance_id = start(approval)
    complete(approval, instance_id, "request", "nadia", REQUEST)
    complete(approval, instance_id, "manager_review", "julien", {"decision": "approve"})
    with unit_of_work(approval) as s:
        timer = s.query(Timer).filter_by(instance_id=instance_id).one()
        assert timer.status == "waiting" and timer.due_at == datetime(2026, 12, 1, tzinfo=timezone.utc)
        with frozen_at(datetime(2026, 11, 30, 23, 0)):
            assert not run_due_timers(s, s.get(Instance, instance_id))
        assert s.query(HumanTask).filter_by(instance_id=instance_id, bpmn_id="hr_close").count() == 0
    with unit_of_work(approval) as s, frozen_at(datetime(2026, 12, 1, 0, 1)):
        assert run_due_timers(s, s.get(Instance, instance_id))
    with unit_of_work(approval) as s:
        task = open_task(s, instance_id, "hr_close")
        assert task.assignee is None and task.candidate_groups == ["hr"]
        assert s.query(Timer).filter_by(instance_id=instance_id).one().status == "fired"
        assert s.query(AuditEvent).filter_by(instance_id=instance_id, type="timer_fired").count() == 1
    complete(approval, instance_id, "hr_close", "karim", {"note": "fait"})
    with unit_of_work(approval) as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.end_state) == ("completed", "completed")
        assert instance.approved_at is not None


def test_assignment_only_the_right_people_may_act(approval):
    instance_id = start(approval)
    with unit_of_work(approval) as s:
        task = open_task(s, instance_id, "request")
        with pytest.raises(NotFound):  # julien is not nadia's manager: her request is invisible to him
            complete_task(s, task.id, as_user(s, "julien"), REQUEST)
    complete(approval, instance_id, "request", "nadia", REQUEST)
    with unit_of_work(approval) as s:
        review = open_task(s, instance_id, "manager_review")
        assert review.assignee == "julien"  # manager_of(thomas)
        with pytest.raises(NotFound):
            complete_task(s, review.id, as_user(s, "pierre"), {"decision": "approve"})
        with pytest.raises(PermissionDenied):
            complete_task(s, review.id, as_user(s, "nadia"), {"decision": "approve"})
    complete(approval, instance_id, "manager_review", "julien", {"decision": "approve"})
    with unit_of_work(approval) as s, frozen_at(datetime(2026, 12, 2)):
        run_due_timers(s, s.get(Instance, instance_id))
    with unit_of_work(approval) as s:
        close = open_task(s, instance_id, "hr_close")
        with pytest.raises((PermissionDenied, NotFound)):
            complete_task(s, close.id, as_user(s, "thomas"), {})


def test_claim_release_and_conflicts_on_group_tasks(approval):
    instance_id = start(approval)
    complete(approval, instance_id, "request", "nadia", REQUEST)
    complete(approval, instance_id, "manager_review", "julien", {"decision": "approve"})
    with unit_of_work(approval) as s, frozen_at(datetime(2026, 12, 2)):
        run_due_timers(s, s.get(Instance, instance_id))
    with unit_of_work(approval) as s:
        task_id = open_task(s, instance_id, "hr_close").id
        claimed = claim_task(s, task_id, as_user(s, "karim"))
        assert (claimed.assignee, claimed.claimed) == ("karim", True)
    with unit_of_work(approval) as s:
        with pytest.raises(Conflict, match="claimed by karim"):
            claim_task(s, task_id, as_user(s, "sophie"))
        with pytest.raises(Conflict):
            complete_task(s, task_id, as_user(s, "sophie"), {})
    with unit_of_work(approval) as s:
        with pytest.raises(PermissionDenied):
            release_task(s, task_id, as_user(s, "nadia"))
        released = release_task(s, task_id, as_user(s, "karim"))
        assert (released.assignee, released.claimed) == (None, False)
    complete(approval, instance_id, "hr_close", "sophie", {})
    with unit_of_work(approval) as s:
        with pytest.raises(Conflict):
            complete_task(s, task_id, as_user(s, "karim"), {})
        types = [e.type for e in s.query(AuditEvent).filter_by(instance_id=instance_id).order_by(AuditEvent.seq)]
        assert types.count("task_claimed") == 1 and types.count("task_released") == 1


def test_starter_withdraws_until_approved_then_only_hr_may_cancel(approval):
    first = start(approval)
    with unit_of_work(approval) as s:
        with pytest.raises(InvalidData):
            cancel_instance(s, first, as_user(s, "nadia"), "  ")
    with unit_of_work(approval) as s:
        instance = cancel_instance(s, first, as_user(s, "nadia"), "Plus besoin")
        assert (instance.status, instance.end_state) == ("cancelled", "withdrawn")
        assert s.query(HumanTask).filter_by(instance_id=first).one().status == "cancelled"
    second = start(approval)
    complete(approval, second, "request", "nadia", REQUEST)
    complete(approval, second, "manager_review", "julien", {"decision": "approve"})
    with unit_of_work(approval) as s:
        with pytest.raises(PermissionDenied, match="approved"):
            cancel_instance(s, second, as_user(s, "nadia"), "trop tard")
    with unit_of_work(approval) as s:
        instance = cancel_instance(s, second, as_user(s, "sophie"), "réorganisation")
        assert (instance.status, instance.end_state) == ("cancelled", "cancelled")
        assert s.query(Timer).filter_by(instance_id=second).one().status == "cancelled"
    with unit_of_work(approval) as s:
        with pytest.raises(Conflict):
            cancel_instance(s, second, as_user(s, "elodie"), "again")


def test_start_refuses_reserved_fields_and_unknown_processes(approval):
    with unit_of_work(approval) as s:
        with pytest.raises(InvalidData):
            start_instance(s, "approval_test", as_user(s, "nadia"), {"started_by": "claire"})
        with pytest.raises(NotFound):
            start_instance(s, "no_such_process", as_user(s, "nadia"))


def test_a_refusal_on_the_approving_task_does_not_mark_the_request_approved(approval):
    instance_id = start(approval)
    complete(approval, instance_id, "request", "nadia", REQUEST)
    complete(approval, instance_id, "manager_review", "julien", {"decision": "reject", "comment": "Non"})
    with unit_of_work(approval) as s:
        instance = s.get(Instance, instance_id)
        assert (instance.end_state, instance.approved_at) == ("rejected", None)


def test_nobody_is_mailed_about_the_task_they_just_created_for_themselves(approval):
    from engine.models import OutboxMessage
    instance_id = start(approval)  # nadia's own first task opens on her screen: no mail
    complete(approval, instance_id, "request", "nadia", REQUEST)
    with unit_of_work(approval) as s:
        assert [(m.recipient, m.kind) for m in s.query(OutboxMessage).filter_by(kind="task_assigned")] == [
            ("julien@example.org", "task_assigned")]
