"""A background job that keeps failing is a visible incident on its request, never a silent loss:
the request page tells everyone who sees it what failed, when, after how many attempts and why;
HR and administrators retry it from there or through the API, and the audit trail keeps the retry.

The incidents are real: an e-mail refused by a real SMTP server, a timer the worker could not fire."""
from __future__ import annotations

import json

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine import deploy, frozen_at, start_instance, unit_of_work
from engine.mailer import SmtpSettings
from engine.models import Instance, OutboxMessage, Timer
from engine.org import find_user
from engine.timers import WorkerSettings, run_worker
from tests.support.smtp import smtp_server  # noqa: F401 - a fixture

from .api_helpers import DIAGRAMS, assert_error
from .page_client import Person, assert_error_page, sessions, start_support_mission, text_of

T0 = datetime(2027, 6, 1, 9, 0, tzinfo=timezone.utc)
INCIDENT = "Un incident bloque cette demande :"


@pytest.fixture
def worker(app, smtp_server):
    """One pass of `passerelle worker` against the real SMTP server, at a given moment."""
    settings = WorkerSettings(smtp=SmtpSettings(host="127.0.0.1", port=smtp_server.port), max_attempts=3,
                              backoff_seconds=60, reminder_hours=0)

    def run(at: datetime | None = None):
        return run_worker(sessions(app), settings, once=True, now=at)
    return run


def outbox(app, instance_id: int) -> list[tuple[str, str, int]]:
    with sessions(app)() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == instance_id)
                         .order_by(OutboxMessage.id))
        return [(m.recipient, m.status, m.attempts) for m in rows]


@pytest.fixture
def refused_mail(app, smtp_server, worker):
    """nadia's mission request, waiting for the coordinator luc, whose address the mail server
    refuses: the notice to luc is an incident after one attempt. (request id, message id)"""
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    smtp_server.refused.add("luc@example.org")
    report = worker()
    assert report.messages_failed == 1
    assert ("luc@example.org", "failed", 1) in outbox(app, instance_id)
    with sessions(app)() as s:
        message = s.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == instance_id,
                                                        OutboxMessage.status == "failed")).one()
        return instance_id, message.id, message.subject


def incident_notice(text: str) -> str:
    assert INCIDENT in text, text[:1500]
    return text.split(INCIDENT, 1)[1][:600].strip()


# --- the request page ------------------------------------------------------------------------------

def test_the_starter_sees_the_incident_in_plain_words_and_no_button(app, refused_mail):
    instance_id, message_id, subject = refused_mail
    nadia = Person(app.test_client(), "nadia")
    page = nadia.page(f"/requests/{instance_id}")
    notice = incident_notice(text_of(page))
    assert notice.startswith(f"l’e-mail « {subject} » à luc@example.org n’a pas pu être envoyé — "
                             "le serveur de messagerie a refusé cette adresse (dernier essai le "), notice
    assert "après 1 tentative)." in notice
    assert "Rien n’est perdu. Les RH et les administrateurs voient ce problème" in notice
    # the worker's own words (an SMTP code) and the button are for operators only
    assert "550" not in page and "SMTPRecipientsRefused" not in page
    assert "Relancer" not in text_of(page) and "/incidents/" not in page
    # the notice comes before the request's story
    assert text_of(page).index(INCIDENT) < text_of(page).index("Ce qui s’est passé")

    # posting the form anyway is refused, and nothing is retried
    response = nadia.post(f"/requests/{instance_id}/incidents/message/{message_id}/retry")
    assert "Seuls les RH et les administrateurs peuvent relancer" in assert_error_page(response, 403)
    assert ("luc@example.org", "failed", 1) in outbox(app, instance_id)
    # someone who does not see the request is not told it exists
    response = Person(app.test_client(), "pierre").post(f"/requests/{instance_id}/incidents/message/{message_id}/retry")
    assert_error_page(response, 404)


def test_hr_retries_from_the_page_then_the_mail_goes_and_the_trail_keeps_the_retry(app, refused_mail, smtp_server,
                                                                                 worker):
    instance_id, message_id, subject = refused_mail
    karim = Person(app.test_client(), "karim")
    page = karim.page(f"/requests/{instance_id}")
    notice = incident_notice(text_of(page))
    assert "le serveur de messagerie a refusé cette adresse" in notice
    assert "Détail technique : SMTPRecipientsRefused" in notice and "550" in notice
    assert "Relancer" in notice
    action = f'action="/requests/{instance_id}/incidents/message/{message_id}/retry"'
    assert action in page
    # the button's form carries its CSRF token; without one nothing happens
    form = page.split(action, 1)[1].split("</form>", 1)[0]
    assert 'name="csrf_token"' in form
    assert karim.post(f"/requests/{instance_id}/incidents/message/{message_id}/retry", csrf=False).status_code == 400
    assert ("luc@example.org", "failed", 1) in outbox(app, instance_id)

    smtp_server.refused.clear()  # the operator fixed the address
    response = karim.post(f"/requests/{instance_id}/incidents/message/{message_id}/retry")
    assert (response.status_code, response.location) == (303, f"/requests/{instance_id}")
    text = karim.text(f"/requests/{instance_id}")
    assert "Relance demandée : Passerelle réessaiera d’ici quelques minutes." in text
    assert INCIDENT not in text
    assert ("luc@example.org", "pending", 0) in outbox(app, instance_id)
    # the request's story says who retried it, after how many failed attempts
    assert "Problème technique relancé — Karim Haddad Tentatives échouées avant la relance 1" in text

    # sent twice (a second tab): said plainly, not an error
    again = karim.post(f"/requests/{instance_id}/incidents/message/{message_id}/retry")
    assert again.status_code == 303
    text = karim.text(f"/requests/{instance_id}")
    assert "Ce problème a déjà été relancé, ou ne bloque plus la demande." in text

    # the next worker pass delivers it
    assert worker().messages_sent >= 1
    assert [m["Subject"] for m in smtp_server.to("luc@example.org")] == [subject]
    assert ("luc@example.org", "sent", 1) in outbox(app, instance_id)

    # the audit trace shows the retry, labelled, with who did it
    trace = Person(app.test_client(), "antoine").text(f"/audit/requests/{instance_id}")
    assert "Problème technique relancé" in trace and f"message:{message_id}" in trace
    assert "incident_retried" not in trace.replace(f"message:{message_id}", "")  # a label, not the code
    english = Person(app.test_client(), "antoine", language="en").text(f"/audit/requests/{instance_id}")
    assert "Technical problem retried" in english


def test_an_incident_of_another_request_or_an_unknown_one_is_not_found(app, refused_mail):
    instance_id, message_id, _ = refused_mail
    other_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    elodie = Person(app.test_client(), "elodie")
    for url in (f"/requests/{other_id}/incidents/message/{message_id}/retry",
                f"/requests/{instance_id}/incidents/timer/{message_id}/retry",
                f"/requests/{instance_id}/incidents/message/999999/retry",
                f"/requests/{instance_id}/incidents/message/99999999999999999999/retry",
                f"/requests/{instance_id}/incidents/mail/{message_id}/retry",
                f"/requests/99999999999999999999/incidents/message/{message_id}/retry"):
        assert_error_page(elodie.post(url), 404)
    assert ("luc@example.org", "failed", 1) in outbox(app, instance_id)


def test_a_request_stopped_by_a_technical_problem_says_why(app):
    with unit_of_work(sessions(app)) as s:
        deploy(s, {"broken_step.bpmn": BROKEN_STEP}, "luc", "a step that always fails")
        instance = start_instance(s, "broken_step", find_user(s, "thomas"), {})
        instance_id, failure = instance.id, instance.failure
    stored = json.loads(failure)  # a code and its parameters, put into words by the pages
    assert "division by zero" in stored.pop("error")
    assert stored == {"code": "failure.step_failed", "step": "Divide", "bpmn_id": "divide", "line": 1,
                      "source": "share = 1 / 0"}
    for username in ("thomas", "karim"):
        text = Person(app.test_client(), username).text(f"/requests/{instance_id}")
        assert "Cette demande s’est arrêtée à cause d’un problème technique." in text
        assert "Ce qui n’a pas marché : le processus n’a pas pu continuer : " in text
        assert "division by zero" in text
        # where, for whoever maintains the diagram
        assert "étape « Divide » (divide), ligne 1 de son script : share = 1 / 0" in text
    english = Person(app.test_client(), "thomas", language="en").text(f"/requests/{instance_id}")
    assert "What went wrong: the process could not go on: " in english
    assert "step “Divide” (divide), line 1 of its script: share = 1 / 0" in english


BROKEN_STEP = (DIAGRAMS / "broken_step.bpmn").read_bytes()


# --- the API, over real HTTP --------------------------------------------------------------------------

@pytest.fixture
def failed_timer(app, worker):
    """thomas's request of the timers test process, whose escalation timer the worker could not fire
    three times (its saved workflow was spoilt, then repaired): (request id, timer id)."""
    s_factory = sessions(app)
    with unit_of_work(s_factory) as s:
        deploy(s, {"timers_test.bpmn": (DIAGRAMS / "timers_test.bpmn").read_bytes()}, "luc", "timers")
    with frozen_at(T0), unit_of_work(s_factory) as s:
        instance = start_instance(s, "timers_test", find_user(s, "thomas"),
                                  {"title": "Renfort aux routes", "agent": "thomas",
                                   "end_date": "2027-06-30T00:00:00+00:00"})
        instance_id = instance.id
        good, instance.state = instance.state, "{ this is not a workflow"
    for day in (6, 7, 8):
        worker(T0 + timedelta(days=day))
    with unit_of_work(s_factory) as s:
        timer = s.scalars(select(Timer).where(Timer.instance_id == instance_id)).one()
        assert (timer.status, timer.attempts) == ("failed", 3)
        s.get(Instance, instance_id).state = good  # repaired: a retry can now succeed
        return instance_id, timer.id


def test_the_api_lists_a_requests_incidents_and_hr_retries_them(app, api, failed_timer, worker):
    instance_id, timer_id = failed_timer
    thomas, karim = api("thomas"), api("karim")
    body = thomas.get(f"/api/v1/instances/{instance_id}").json()
    [incident] = body["incidents"]
    assert incident["kind"] == "timer" and incident["id"] == timer_id
    assert (incident["what"], incident["attempts"]) == ("escalation", 3)
    assert incident["last_error"].startswith("JSONDecodeError")
    assert incident["since"] == (T0 + timedelta(days=8)).isoformat()  # the last attempt
    # lists carry them too
    listed = karim.get("/api/v1/instances", params={"page_size": 100}).json()["items"]
    assert [i["incidents"] for i in listed if i["id"] == instance_id] == [body["incidents"]]
    assert all(i["incidents"] == [] for i in listed if i["id"] != instance_id)

    retry = f"/api/v1/instances/{instance_id}/incidents/timer/{timer_id}/retry"
    assert "hr and admin" in assert_error(thomas.post(retry), 403)["message"]
    assert_error(api("pierre").post(retry), 404)  # pierre does not see the request
    assert_error(api().post(retry), 401)
    for unknown in (f"/api/v1/instances/{instance_id}/incidents/timer/{timer_id + 1000}/retry",
                    f"/api/v1/instances/{instance_id}/incidents/message/{timer_id + 1000}/retry",
                    f"/api/v1/instances/{instance_id}/incidents/mail/{timer_id}/retry",
                    f"/api/v1/instances/{instance_id}/incidents/timer/99999999999/retry",
                    f"/api/v1/instances/999999/incidents/timer/{timer_id}/retry"):
        assert_error(karim.post(unknown), 404)
    # a job of the request that is no incident: the notice to julien, sent
    with sessions(app)() as s:
        sent = s.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == instance_id)).one()
        assert (sent.recipient, sent.status) == ("julien@example.org", "sent")
    not_failed = karim.post(f"/api/v1/instances/{instance_id}/incidents/message/{sent.id}/retry")
    assert "not failed" in assert_error(not_failed, 409)["message"]
    assert thomas.get(f"/api/v1/instances/{instance_id}").json()["incidents"] == body["incidents"]

    done = karim.post(retry)
    assert done.status_code == 200, done.text
    assert done.json()["id"] == instance_id and done.json()["incidents"] == []
    assert "not failed" in assert_error(karim.post(retry), 409)["message"]

    history = karim.get(f"/api/v1/instances/{instance_id}/history", params={"page_size": 100}).json()["items"]
    [retried] = [e for e in history if e["type"] == "incident_retried"]
    assert retried["actor"] == "karim"
    assert retried["data"]["incident"] == f"timer:{timer_id}" and retried["data"]["attempts"] == 3

    # re-armed: the next worker pass fires the escalation, and HR now has the request
    assert worker(T0 + timedelta(days=9)).timers_fired == 1
    after = karim.get(f"/api/v1/instances/{instance_id}").json()
    assert [t["name"] for t in after["open_tasks"]] == ["hr_review"] and after["incidents"] == []


def test_the_timer_incident_on_the_page_uses_the_diagrams_words(app, failed_timer):
    instance_id, timer_id = failed_timer
    notice = incident_notice(Person(app.test_client(), "thomas").text(f"/requests/{instance_id}"))
    assert notice.startswith("la date « No answer within 5 days » n’a pas pu faire avancer la demande — "
                             "Passerelle n’a pas pu lire ou poursuivre la demande à cette date "
                             "(dernier essai le 9 juin 2027, 11:00, après 3 tentatives)."), notice
    assert "JSONDecodeError" not in notice and "Relancer" not in notice
    elodie = Person(app.test_client(), "elodie")
    assert "Détail technique : JSONDecodeError" in incident_notice(elodie.text(f"/requests/{instance_id}"))
    response = elodie.post(f"/requests/{instance_id}/incidents/timer/{timer_id}/retry")
    assert response.status_code == 303
    assert INCIDENT not in elodie.text(f"/requests/{instance_id}")


def test_the_timer_of_an_ended_request_is_no_incident_any_more(app, api, failed_timer):
    instance_id, timer_id = failed_timer
    karim = api("karim")
    cancelled = karim.post(f"/api/v1/instances/{instance_id}/cancel", json={"reason": "no longer needed"})
    assert cancelled.status_code == 200 and cancelled.json()["incidents"] == []
    body = assert_error(karim.post(f"/api/v1/instances/{instance_id}/incidents/timer/{timer_id}/retry"), 409)
    assert "ended" in body["message"]  # the timer is still failed, but can never fire
