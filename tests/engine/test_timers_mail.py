"""Queued notifications reach a real SMTP server, with a link to the task; a server that is down
delays them (backoff) but loses none; a refused address becomes an incident at once. Messages are
worded here by a small renderer of the test's own (the web's words: tests/web/test_mail.py)."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine import complete_task, deploy, frozen_at, notifications, start_instance, unit_of_work
from engine.incidents import incidents, retry_incident
from engine.mailer import SmtpSettings, message_id
from engine.models import OutboxMessage
from engine.timers import WorkerSettings, run_worker
from tests.support.smtp import free_port, smtp_server  # noqa: F401 - a fixture

from .helpers import DIAGRAMS, as_user, open_task

T0 = datetime(2027, 6, 1, 9, 0, tzinfo=timezone.utc)
BASE_URL = "https://passerelle.example.gouv.fr"


def worded(kind, params, recipient):
    """Subject: the kind and what it is about; body: the parameters and a link."""
    path = f"tasks/{params['task_id']}" if "task_id" in params else f"requests/{params['instance_id']}"
    return (f"{kind}: {params.get('task') or params['request']}",
            f"{notifications.plain(kind, params, recipient)[1]}\n{notifications.BASE_URL}/{path}\n")


@pytest.fixture(autouse=True)
def words():
    previous = notifications.renderer()
    notifications.configure(renderer=worded)
    yield
    notifications.configure(renderer=previous)


@pytest.fixture
def settings(smtp_server):
    return WorkerSettings(smtp=SmtpSettings(host="127.0.0.1", port=smtp_server.port, base_url=BASE_URL,
                                            sender="passerelle@example.gouv.fr"),
                          max_attempts=3, backoff_seconds=60, reminder_hours=0)


@pytest.fixture
def instance_id(org_sessions):
    with unit_of_work(org_sessions) as s:
        deploy(s, {"timers_test.bpmn": (DIAGRAMS / "timers_test.bpmn").read_bytes()}, "luc", "test")
    with frozen_at(T0), unit_of_work(org_sessions) as s:
        return start_instance(s, "timers_test", as_user(s, "thomas"),
                              {"title": "Renfort au service des routes", "agent": "thomas",
                               "end_date": "2027-06-30T00:00:00+00:00"}).id


def statuses(sessions):
    with unit_of_work(sessions) as s:
        return [(m.recipient, m.status, m.attempts) for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_the_assignee_receives_a_link_to_the_task(org_sessions, instance_id, settings, smtp_server):
    report = run_worker(org_sessions, settings, once=True, now=T0)
    assert report.messages_sent == 1
    [mail] = smtp_server.wait_for(1)
    with unit_of_work(org_sessions) as s:
        task = open_task(s, instance_id, "review")
        message = s.scalars(select(OutboxMessage)).one()
        assert (message.status, message.sent_at) == ("sent", T0)
    assert smtp_server.envelopes == [["julien@example.org"]]
    assert mail["To"] == "julien@example.org" and mail["From"] == "passerelle@example.gouv.fr"
    assert mail["Subject"] == "task_assigned: Manager review"
    body = mail.get_content()
    assert f"{BASE_URL}/tasks/{task.id}" in body and "{base_url}" not in body
    assert '"request": "Renfort au service des routes"' in body and '"due": "2027-06-06"' in body
    assert mail["Message-ID"] == message_id(f"task:{task.id}:to:julien", "passerelle@example.gouv.fr")
    # sent once: the next pass has nothing to send
    assert run_worker(org_sessions, settings, once=True, now=T0).messages_sent == 0
    assert len(smtp_server.messages) == 1


def test_decisions_and_the_end_reach_the_requester(org_sessions, instance_id, settings, smtp_server):
    with frozen_at(T0), unit_of_work(org_sessions) as s:
        complete_task(s, open_task(s, instance_id, "review").id, as_user(s, "julien"),
                      {"decision": "reject", "comment": "Le service ne peut pas s'en passer."})
    assert run_worker(org_sessions, settings, once=True, now=T0).messages_sent == 3
    smtp_server.wait_for(3)
    subjects = sorted(m["Subject"] for m in smtp_server.to("thomas@example.org"))
    assert subjects == ["decision: Manager review", "instance_ended: Renfort au service des routes"]
    decision = next(m for m in smtp_server.to("thomas@example.org") if m["Subject"].startswith("decision"))
    assert "Le service ne peut pas s'en passer." in decision.get_content()
    assert f"{BASE_URL}/requests/{instance_id}" in decision.get_content()


def test_a_server_that_is_down_delays_mail_without_losing_it(org_sessions, instance_id, settings, smtp_server):
    down = dataclasses.replace(settings, smtp=dataclasses.replace(settings.smtp, port=free_port()))
    report = run_worker(org_sessions, down, once=True, now=T0)
    assert (report.messages_sent, report.messages_failed) == (0, 1)
    assert statuses(org_sessions) == [("julien@example.org", "pending", 1)]
    # before the backoff has passed nothing is tried, even with the server back
    assert run_worker(org_sessions, settings, once=True, now=T0 + timedelta(seconds=30)).messages_sent == 0
    assert run_worker(org_sessions, settings, once=True, now=T0 + timedelta(seconds=61)).messages_sent == 1
    assert statuses(org_sessions) == [("julien@example.org", "sent", 2)]
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["julien@example.org"]


def test_mail_that_keeps_failing_becomes_an_incident_then_is_retried(org_sessions, instance_id, settings,
                                                                     smtp_server):
    down = dataclasses.replace(settings, smtp=dataclasses.replace(settings.smtp, port=free_port()))
    for minutes in (0, 2, 10):
        run_worker(org_sessions, down, once=True, now=T0 + timedelta(minutes=minutes))
    assert statuses(org_sessions) == [("julien@example.org", "failed", 3)]
    with unit_of_work(org_sessions) as s:
        [incident] = incidents(s, instance_id)
        assert incident.kind == "message" and incident.what == "task_assigned: Manager review → julien@example.org"
        assert "ConnectionRefusedError" in incident.last_error
        assert incident.cause.code == "incident.mail_unreachable"  # the cause, for the pages to say
        retry_incident(s, "message", incident.id, as_user(s, "elodie"))
    assert run_worker(org_sessions, settings, once=True, now=T0 + timedelta(hours=1)).messages_sent == 1
    assert statuses(org_sessions) == [("julien@example.org", "sent", 1)]
    with unit_of_work(org_sessions) as s:
        assert incidents(s) == []


def test_a_refused_address_is_an_incident_at_once(org_sessions, instance_id, settings, smtp_server):
    smtp_server.refused.add("julien@example.org")
    report = run_worker(org_sessions, settings, once=True, now=T0)
    assert (report.messages_sent, report.messages_failed) == (0, 1)
    assert statuses(org_sessions) == [("julien@example.org", "failed", 1)]
    with unit_of_work(org_sessions) as s:
        [incident] = incidents(s)
        assert "550" in incident.last_error and incident.cause.code == "incident.mail_refused"
