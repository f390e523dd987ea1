"""The audit pages (auditors and administrators): search, a request's full trace with the state of
its hash chain, exports, and a printable page."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import update

from engine import frozen_at
from engine.models import AuditEvent

from .page_client import TOKEN, Person, assert_error_page, sessions, start_support_mission, text_of
from .test_api_audit import PAYLOAD, runnable_pieces


def sign_in(client, username: str, password: str):
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def request_id(app):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    return instance_id


@pytest.mark.parametrize("username", ["nadia", "luc", "sophie"])
def test_audit_pages_are_for_auditors_and_administrators(app, request_id, username):
    person = Person(app.test_client(), username)
    for url in ("/audit", "/audit/events.csv", "/audit/events.json", f"/audit/requests/{request_id}",
                f"/audit/requests/{request_id}/trace.csv", f"/audit/requests/{request_id}/trace.json"):
        text = assert_error_page(person.get(url), 403)
        assert "L’audit est réservé aux auditeurs et aux administrateurs." in text, url


def test_search_by_process_person_type_and_dates(app, request_id):
    antoine = Person(app.test_client(), "antoine")
    text = antoine.text("/audit")
    assert "Ouvrir la trace de la demande n° %d" % request_id in text
    text = antoine.text("/audit?process=temporary_support_mission&person=nadia&type=task_completed"
                        "&since=2020-01-01&until=2100-12-31")
    assert "Événements 1" in text
    assert "Nadia Benali Étape faite Refonte du site des solidarités Décrire la mission" in text
    text = antoine.text("/audit?type=sign_in_failed")
    assert "Aucun événement ne correspond." in text
    text = antoine.text("/audit?since=2100-01-01")
    assert "Événements 0" in text


def test_bad_search_values_are_named(app):
    antoine = Person(app.test_client(), "antoine")
    response = antoine.get("/audit?since=hier&type=nothing")
    assert response.status_code == 422
    text = text_of(response.get_data(as_text=True))
    assert "Saisissez une date, par exemple 01/09/2025." in text
    assert "Choisissez un type d’événement dans la liste." in text


def test_a_trace_shows_every_event_and_the_chain_is_verified(app, request_id):
    elodie = Person(app.test_client(), "elodie")
    page = elodie.page(f"/audit/requests/{request_id}")
    text = text_of(page)
    assert "Vérifiée : 5 événements, chaîne intacte." in text
    assert "time_share 20" in text and "agent thomas" in text  # every event's data
    assert 'href="/static/print.css" media="print"' in page
    assert "data-print hidden" in page  # the print button appears only with JavaScript


def test_a_broken_chain_says_where(app, request_id):
    with sessions(app)() as s:
        s.execute(update(AuditEvent).where(AuditEvent.instance_id == request_id, AuditEvent.seq == 3)
                  .values(actor="mallory"))
        s.commit()
    text = Person(app.test_client(), "antoine").text(f"/audit/requests/{request_id}")
    assert "Chaîne rompue à l’événement n° 3 : son contenu a été modifié après son écriture (3 événements vérifiés)." in text


def test_exports(app, request_id):
    antoine = Person(app.test_client(), "antoine")
    response = antoine.get(f"/audit/requests/{request_id}/trace.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="request-{request_id}-trace.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["type"] for r in rows] == ["instance_started", "task_created", "task_completed", "decision_evaluated",
                                         "task_created"]
    assert json.loads(rows[2]["data"])["title"] == "Refonte du site des solidarités"
    document = antoine.get(f"/audit/requests/{request_id}/trace.json").get_json()
    assert document["chain"] == {"ok": True, "events_checked": 5, "first_broken_seq": None, "reason": None}
    assert document["request"]["process_key"] == "temporary_support_mission"
    assert len(document["events"]) == 5 and all(len(e["hash"]) == 64 for e in document["events"])
    events = antoine.get("/audit/events.json?type=instance_started").get_json()
    assert [e["instance_id"] for e in events] == [request_id]
    response = antoine.get("/audit/events.csv?since=nope")
    assert response.status_code == 422


def test_csv_exports_are_safe_for_comma_and_semicolon_spreadsheets(app, request_id):
    page = Person(app.test_client())
    token = TOKEN.search(page.page("/login")).group(1)
    response = page.client.post("/login", data={"username": PAYLOAD, "password": "x", "csrf_token": token})
    assert response.status_code == 401
    antoine = Person(app.test_client(), "antoine")
    for url in ("/audit/events.csv", "/audit/events.csv?type=sign_in_failed", f"/audit/requests/{request_id}/trace.csv"):
        text = antoine.get(url).get_data(as_text=True).lstrip("\ufeff")
        assert runnable_pieces(text) == [], url
    rows = list(csv.DictReader(io.StringIO(antoine.get("/audit/events.csv?type=sign_in_failed")
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["actor"] for r in rows] == ["zz;'=cmd|' /C calc'!A0"]
    assert [e["actor"] for e in antoine.get("/audit/events.json?type=sign_in_failed").get_json()] == [PAYLOAD]


@pytest.mark.parametrize("query", ["since=0001-01-01", "until=0001-01-01", "since=1899-12-31"])
def test_dates_out_of_range_are_named(app, query):
    antoine = Person(app.test_client(), "antoine")
    response = antoine.get(f"/audit?{query}")
    assert response.status_code == 422
    assert "Saisissez une date entre les années 1900 et 9999." in text_of(response.get_data(as_text=True))
    assert antoine.get(f"/audit/events.csv?{query}").status_code == 422
    english = Person(app.test_client(), "antoine", language="en").get(f"/audit?{query}")
    assert "Enter a date between the years 1900 and 9999." in text_of(english.get_data(as_text=True))


def test_the_last_day_there_is_and_the_first_are_fine(app, request_id):
    antoine = Person(app.test_client(), "antoine")
    assert "Événements 0" not in antoine.text("/audit?until=9999-12-31")
    assert "Événements 0" not in antoine.text("/audit?since=1900-01-01")
    assert antoine.get("/audit/events.csv?since=1900-01-01&until=9999-12-31").status_code == 200


def test_dates_are_days_in_paris(app):
    """A failure at 00:30 on 2 March in Paris is 23:30 on 1 March in UTC: it is on the 2nd."""
    with frozen_at(datetime(2031, 3, 1, 23, 30, tzinfo=timezone.utc)):
        assert sign_in(app.test_client(), "nadia", "guess").status_code == 401
    antoine = Person(app.test_client(), "antoine")
    assert "Événements 1" in antoine.text("/audit?type=sign_in_failed&since=2031-03-02&until=2031-03-02")
    assert "Événements 0" in antoine.text("/audit?type=sign_in_failed&until=2031-03-01")
    assert "Événements 0" in antoine.text("/audit?type=sign_in_failed&since=2031-03-03")


@pytest.mark.parametrize("page", ["99999999999999999999999", "1000001", "0", "-1", "2", "deux", "1e3"])
def test_a_page_of_the_search_that_does_not_exist_says_so(app, page):
    text = assert_error_page(Person(app.test_client(), "antoine").get(f"/audit?page={page}"), 404)
    assert "Cette liste n’a pas de page de ce numéro." in text


def _links(html: str) -> dict[str, dict[str, list[str]]]:
    """Each link's text → its query string, parsed."""
    import re
    from html import unescape
    from urllib.parse import parse_qs, urlsplit
    return {text_of(text): parse_qs(urlsplit(unescape(href)).query)
            for href, text in re.findall(r'<a href="([^"]*)">(.*?)</a>', html)}


def test_a_long_search_pages_on_with_its_filters_kept(app, request_id, monkeypatch):
    from web.pages import audit
    monkeypatch.setattr(audit, "PAGE_SIZE", 5)  # the request's events fill more than one page of 5
    antoine = Person(app.test_client(), "antoine")
    first = antoine.get("/audit?since=2000-01-01").get_data(as_text=True)
    assert "Page 1" in first and "Page précédente" not in _links(first)
    assert _links(first)["Page suivante"] == {"since": ["2000-01-01"], "page": ["2"]}
    second = antoine.get("/audit?since=2000-01-01&page=2").get_data(as_text=True)
    assert "Page 2" in second
    assert _links(second)["Page précédente"] == {"since": ["2000-01-01"], "page": ["1"]}
