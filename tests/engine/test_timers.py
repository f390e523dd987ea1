"""The worker fires due timers at the engine clock — boundary escalations, end dates — exactly
once, backs off on failure and turns a job that keeps failing into an incident operators retry."""
from __future__ import annotations

import dataclasses
import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from engine import (Conflict, NotFound, PermissionDenied, complete_task, deploy, frozen_at, notifications,
                    start_instance, unit_of_work, verify_audit)
from engine.incidents import incidents, retry_incident
from engine.mailer import SmtpSettings
from engine.models import AuditEvent, HumanTask, Instance, OutboxMessage, Timer
from engine.timers import WorkerSettings, backoff, fire_next_timer, run_worker

from tests.support.smtp import smtp_server  # noqa: F401 - a fixture

from .helpers import DIAGRAMS, as_user, open_task

T0 = datetime(2027, 6, 1, 9, 0, tzinfo=timezone.utc)
END = "2027-06-30T00:00:00+00:00"


@pytest.fixture
def settings(smtp_server):
    return WorkerSettings(smtp=SmtpSettings(host="127.0.0.1", port=smtp_server.port), max_attempts=3,
                          backoff_seconds=60, reminder_hours=0)


@pytest.fixture
def timers_app(org_sessions):
    with unit_of_work(org_sessions) as s:
        deploy(s, {"timers_test.bpmn": (DIAGRAMS / "timers_test.bpmn").read_bytes()}, "luc", "test")
    return org_sessions


def start(sessions, at=T0, username="thomas", end_date=END) -> int:
    with frozen_at(at), unit_of_work(sessions) as s:
        return start_instance(s, "timers_test", as_user(s, username),
                              {"title": f"Mission of {username}", "agent": username, "end_date": end_date}).id


def complete(sessions, instance_id, bpmn_id, username, data, at=T0):
    with frozen_at(at), unit_of_work(sessions) as s:
        return complete_task(s, open_task(s, instance_id, bpmn_id).id, as_user(s, username), data).id


def worker_pass(sessions, at, settings):
    return run_worker(sessions, settings, once=True, now=at)


def events(session, instance_id, type):
    return session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id, AuditEvent.type == type)
                           .order_by(AuditEvent.seq)).all()


def test_escalation_fires_after_five_days_not_before(timers_app, settings):
    instance_id = start(timers_app)
    with unit_of_work(timers_app) as s:
        timer = s.scalars(select(Timer).where(Timer.instance_id == instance_id)).one()
        assert (timer.bpmn_id, timer.status, timer.due_at) == ("escalation", "waiting", T0 + timedelta(days=5))

    report = worker_pass(timers_app, T0 + timedelta(days=4, hours=23), settings)
    assert report.timers_fired == 0
    with unit_of_work(timers_app) as s:
        assert open_task(s, instance_id, "review").assignee == "julien"

    report = worker_pass(timers_app, T0 + timedelta(days=5, minutes=1), settings)
    assert report.timers_fired == 1
    with unit_of_work(timers_app) as s:
        review = s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                   HumanTask.bpmn_id == "review")).one()
        assert review.status == "cancelled"
        assert open_task(s, instance_id, "hr_review").candidate_groups == ["hr"]
        assert [e.task_id for e in events(s, instance_id, "timer_fired")] == ["escalation"]
        assert s.scalars(select(Timer.status).where(Timer.instance_id == instance_id)).all() == ["fired"]


def test_mission_end_date_timer_fires_on_that_date(timers_app, settings):
    instance_id = start(timers_app)
    complete(timers_app, instance_id, "review", "julien", {"decision": "approve"}, at=T0 + timedelta(days=1))
    with unit_of_work(timers_app) as s:
        timer = s.scalars(select(Timer).where(Timer.instance_id == instance_id, Timer.status == "waiting")).one()
        assert (timer.bpmn_id, timer.due_at) == ("mission_end", datetime(2027, 6, 30, tzinfo=timezone.utc))

    assert worker_pass(timers_app, datetime(2027, 6, 29, 23, 59, tzinfo=timezone.utc), settings).timers_fired == 0
    assert worker_pass(timers_app, datetime(2027, 6, 30, 9, 0, tzinfo=timezone.utc), settings).timers_fired == 1
    with unit_of_work(timers_app) as s:
        assert open_task(s, instance_id, "feedback").assignee == "thomas"
    complete(timers_app, instance_id, "feedback", "thomas", {"note": "great"}, at=datetime(2027, 7, 1, tzinfo=timezone.utc))
    with unit_of_work(timers_app) as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.end_state) == ("completed", "completed")


def test_a_second_pass_or_a_second_worker_fires_nothing_again(timers_app, settings):
    instance_id = start(timers_app)
    later = T0 + timedelta(days=6)
    assert worker_pass(timers_app, later, settings).timers_fired == 1
    assert worker_pass(timers_app, later, settings).timers_fired == 0
    with unit_of_work(timers_app) as s:
        assert len(events(s, instance_id, "timer_fired")) == 1
        assert s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.bpmn_id == "hr_review")) == 1


def test_concurrent_workers_take_each_due_job_exactly_once(timers_app, settings):
    instance_ids = [start(timers_app, username=u) for u in ("thomas", "pierre", "marie", "lea") for _ in range(3)]
    later = T0 + timedelta(days=6)
    done: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def worker():
        try:
            barrier.wait(timeout=10)
            with frozen_at(later):
                while (outcome := fire_next_timer(timers_app, settings)) is not None:
                    done.append(outcome)
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert done == [True] * len(instance_ids)
    with unit_of_work(timers_app) as s:
        for instance_id in instance_ids:
            assert len(events(s, instance_id, "timer_fired")) == 1
            assert open_task(s, instance_id, "hr_review")
        assert verify_audit(s).ok


def _break_state(sessions, instance_id) -> str:
    with unit_of_work(sessions) as s:
        instance = s.get(Instance, instance_id)
        good, instance.state = instance.state, "{ this is not a workflow"
        return good


def test_a_failing_timer_backs_off_then_becomes_an_incident_that_can_be_retried(timers_app, settings):
    instance_id = start(timers_app)
    good_state = _break_state(timers_app, instance_id)
    due = T0 + timedelta(days=5, minutes=1)

    assert worker_pass(timers_app, due, settings).timers_failed == 1
    with unit_of_work(timers_app) as s:
        timer = s.scalars(select(Timer).where(Timer.instance_id == instance_id)).one()
        assert (timer.status, timer.attempts, timer.next_attempt_at) == ("waiting", 1, due + timedelta(seconds=60))
        assert "JSONDecodeError" in timer.last_error
    # within the backoff nothing is tried; after it, the next attempt waits twice as long
    assert worker_pass(timers_app, due + timedelta(seconds=30), settings).timers_failed == 0
    assert worker_pass(timers_app, due + timedelta(seconds=61), settings).timers_failed == 1
    assert backoff(2, settings) == timedelta(seconds=120)
    assert worker_pass(timers_app, due + timedelta(seconds=61 + 121), settings).timers_failed == 1
    with unit_of_work(timers_app) as s:
        timer = s.scalars(select(Timer).where(Timer.instance_id == instance_id)).one()
        assert (timer.status, timer.attempts) == ("failed", 3)
        found = incidents(s, instance_id)
        assert [(i.ref, i.instance_id, i.what, i.attempts) for i in found] == [(f"timer:{timer.id}", instance_id,
                                                                                  "escalation", 3)]
        assert incidents(s) == found
        assert found[0].since == due + timedelta(seconds=61 + 121)  # the last attempt, not a retry never made
        # the request itself keeps running, its task still waiting for the manager
        assert s.get(Instance, instance_id).status == "running"
    # nothing more is attempted: an incident waits for a person
    assert worker_pass(timers_app, due + timedelta(days=3), settings).timers_failed == 0

    with unit_of_work(timers_app) as s:
        with pytest.raises(PermissionDenied):
            retry_incident(s, "timer", timer.id, as_user(s, "thomas"))
    with unit_of_work(timers_app) as s:
        s.get(Instance, instance_id).state = good_state  # the operator repaired the cause
        retry_incident(s, "timer", timer.id, as_user(s, "karim"))
    with unit_of_work(timers_app) as s:
        with pytest.raises(Conflict):
            retry_incident(s, "timer", timer.id, as_user(s, "karim"))
        retried = events(s, instance_id, "incident_retried")
        assert [(e.actor, e.data["incident"], e.data["attempts"]) for e in retried] == [("karim", f"timer:{timer.id}", 3)]

    assert worker_pass(timers_app, due + timedelta(days=3), settings).timers_fired == 1
    with unit_of_work(timers_app) as s:
        assert open_task(s, instance_id, "hr_review")
        assert incidents(s, instance_id) == []
        assert verify_audit(s).ok


def test_timers_of_an_ended_request_are_no_incidents(timers_app, settings):
    instance_id = start(timers_app)
    _break_state(timers_app, instance_id)
    for attempt in range(3):
        worker_pass(timers_app, T0 + timedelta(days=6 + attempt), settings)
    with unit_of_work(timers_app) as s:
        [incident] = incidents(s)
        s.get(Instance, instance_id).status = "cancelled"
    with unit_of_work(timers_app) as s:
        assert incidents(s) == []
        with pytest.raises(Conflict, match="ended"):
            retry_incident(s, "timer", incident.id, as_user(s, "karim"))


def test_a_retry_names_its_request(timers_app, settings):
    instance_id, other_id = start(timers_app), start(timers_app, username="pierre")
    _break_state(timers_app, instance_id)
    for attempt in range(3):
        worker_pass(timers_app, T0 + timedelta(days=6 + attempt), settings)
    with unit_of_work(timers_app) as s:
        [incident] = incidents(s, instance_id)
        assert incidents(s, [other_id, instance_id]) == [incident] and incidents(s, [other_id]) == incidents(s, []) == []
        with pytest.raises(NotFound):
            retry_incident(s, "timer", incident.id, as_user(s, "karim"), instance_id=other_id)
        assert retry_incident(s, "timer", incident.id, as_user(s, "karim"), instance_id=instance_id) == incident


# --- notifications queued in the outbox --------------------------------------------------------
# The engine says what a message is about (a kind, its parameters); the web words it
# (tests/web/test_mail.py). Without the web, `plain` keeps the parameters as JSON.

@pytest.fixture(autouse=True)
def plain_mail():
    previous = notifications.renderer()
    notifications.configure(renderer=notifications.plain)
    yield
    notifications.configure(renderer=previous)


def params(message) -> dict:
    return json.loads(message.body)


def outbox(session, **filters):
    return session.scalars(select(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.id)).all()


def test_messages_are_queued_with_the_change_and_rolled_back_with_it(timers_app, settings):
    instance_id = start(timers_app)
    with unit_of_work(timers_app) as s:
        task = open_task(s, instance_id, "review")
        [message] = outbox(s)
        assert (message.recipient, message.kind, message.status) == ("julien@example.org", "task_assigned", "pending")
        assert message.subject == "task_assigned"
        assert params(message) == {"name": "Julien Moreau", "request": "Mission of thomas", "task": "Manager review",
                                   "task_id": task.id, "mine": True, "due": "2027-06-06"}
        assert message.dedup_key == f"task:{task.id}:to:julien"

    session = timers_app()
    start_instance(session, "timers_test", as_user(session, "pierre"), {"title": "x", "agent": "pierre", "end_date": END})
    assert len(outbox(session)) == 2  # queued inside the transaction ...
    session.rollback()
    session.close()
    with unit_of_work(timers_app) as s:
        assert len(outbox(s)) == 1  # ... and gone with it


def test_a_group_task_mails_each_member_but_not_everyone(timers_app, settings):
    instance_id = start(timers_app)
    worker_pass(timers_app, T0 + timedelta(days=6), settings)
    with unit_of_work(timers_app) as s:
        task = open_task(s, instance_id, "hr_review")
        assert sorted(m.recipient for m in outbox(s, kind="task_assigned", instance_id=instance_id)
                      if params(m)["task_id"] == task.id) == ["karim@example.org", "sophie@example.org"]
        group = [params(m) for m in outbox(s, kind="task_assigned") if params(m)["task_id"] == task.id]
        assert {p["mine"] for p in group} == {False}  # "a task waits for someone in your group"

    from engine.notifications import recipients_of
    with unit_of_work(timers_app) as s:
        everyone = HumanTask(candidate_groups=["agent", "hr"], candidate_users=["lea"], excluded_users=["karim"])
        assert [u.username for u in recipients_of(s, everyone)] == ["lea", "sophie"]


def test_the_requester_hears_each_decision_and_the_end(timers_app, settings):
    instance_id = start(timers_app)
    complete(timers_app, instance_id, "review", "julien", {"decision": "reject", "comment": "Pas cette année."})
    with unit_of_work(timers_app) as s:
        [decision] = outbox(s, kind="decision")
        assert decision.recipient == "thomas@example.org"
        assert params(decision) == {"name": "Thomas Girard", "actor": "Julien Moreau", "request": "Mission of thomas",
                                    "task": "Manager review", "decision": "Reject", "comment": "Pas cette année.",
                                    "instance_id": instance_id}
        [ended] = outbox(s, kind="instance_ended")
        assert ended.recipient == "thomas@example.org"
        assert params(ended) == {"name": "Thomas Girard", "request": "Mission of thomas", "end_state": "rejected",
                                 "instance_id": instance_id}


def test_reminders_are_queued_once_before_the_due_date(timers_app, settings):
    instance_id = start(timers_app)  # the review is due in 5 days
    assert worker_pass(timers_app, T0 + timedelta(days=4, hours=1), settings).reminders_queued == 0  # setting off
    settings = dataclasses.replace(settings, reminder_hours=24)
    assert worker_pass(timers_app, T0 + timedelta(days=3), settings).reminders_queued == 0
    assert worker_pass(timers_app, T0 + timedelta(days=4, hours=1), settings).reminders_queued == 1
    assert worker_pass(timers_app, T0 + timedelta(days=4, hours=2), settings).reminders_queued == 0
    with unit_of_work(timers_app) as s:
        task = open_task(s, instance_id, "review")
        [reminder] = outbox(s, kind="reminder")
        assert reminder.recipient == "julien@example.org"
        assert (reminder.subject, params(reminder)["due"], params(reminder)["task_id"]) == ("reminder", "2027-06-06",
                                                                                            task.id)
        assert reminder.dedup_key == f"reminder:{task.id}:to:julien"
