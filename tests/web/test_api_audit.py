"""The audit trail over the API: search, verify, export — for auditors and administrators only."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock, unit_of_work
from engine.models import AuditEvent

from .api_helpers import assert_error, deploy_test_diagram, start_request


@pytest.fixture
def trail(api):
    """Two requests of the test diagram, by thomas and pierre; returns their ids."""
    deploy_test_diagram(api)
    first = start_request(api("thomas"))
    second = start_request(api("pierre"), {"title": "Other", "days": 4, "start_date": "2030-02-03",
                                           "agent": "pierre"})
    return first["id"], second["id"]


def _events(client, **params) -> list[dict]:
    response = client.get("/api/v1/audit/events", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_events_across_instances_with_filters(api, trail):
    antoine = api("antoine")
    everything = antoine.get("/api/v1/audit/events", params={"page_size": 200}).json()
    assert everything["total"] == len(everything["items"]) > 10
    moments = [e["at"] for e in everything["items"]]
    assert moments == sorted(moments, reverse=True)  # newest first
    assert {e["type"] for e in everything["items"]} >= {"process_deployed", "user_signed_in", "instance_started",
                                                         "task_completed", "decision_evaluated"}
    assert {e["instance_id"] for e in _events(antoine, instance=trail[0])} == {trail[0]}
    completed = _events(antoine, type="task_completed")
    assert {(e["actor"], e["task_id"]) for e in completed} == {("thomas", "request"), ("pierre", "request")}
    assert {e["actor"] for e in _events(antoine, actor="pierre")} == {"pierre"}
    assert {e["process"] for e in _events(antoine, process="approval_test")} == {"approval_test"}
    later = (clock.now() + timedelta(minutes=5)).isoformat()
    assert _events(antoine, since=later) == []
    assert len(_events(antoine, until=later, page_size=200)) == everything["total"]
    assert len(_events(api("elodie"), page_size=200)) >= everything["total"]
    assert_error(antoine.get("/api/v1/audit/events", params={"type": "coffee_made"}), 422, "type")
    assert_error(antoine.get("/api/v1/audit/events", params={"since": "yesterday"}), 422, "since")
    assert_error(antoine.get("/api/v1/audit/events", params={"since": "0001-01-01T00:00:00+05:00"}), 422, "since")


def test_only_auditors_and_admins_read_the_audit(api, trail):
    for path in ("/api/v1/audit/events", "/api/v1/audit/verify", "/api/v1/audit/export?format=json"):
        for user in ("thomas", "sophie", "luc"):
            assert_error(api(user).get(path), 403)


def test_verify_finds_the_first_broken_link(api, app, trail):
    antoine = api("antoine")
    ok = antoine.get("/api/v1/audit/verify")
    assert ok.status_code == 200
    body = ok.json()
    assert body["ok"] is True and body["first_broken"] is None and body["events_checked"] > 10
    with unit_of_work(app.extensions["passerelle.sessions"]) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.instance_id == trail[1], AuditEvent.seq == 3))
        event.data = {**event.data, "days": 1}  # someone edits the trail behind the application's back
    broken = antoine.get("/api/v1/audit/verify").json()
    assert broken["ok"] is False
    assert broken["first_broken"] == {"instance_id": trail[1], "seq": 3}
    assert broken["reason"]


def test_export_csv_and_json(api, trail):
    antoine = api("antoine")
    response = antoine.get("/api/v1/audit/export", params={"format": "csv", "instance": trail[0]})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit-events.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["instance_id", "process", "seq", "at", "actor", "type", "task_id", "task_name",
                             "version", "data", "prev_hash", "hash"]
    assert [int(r["seq"]) for r in rows] == list(range(1, len(rows) + 1))  # oldest first
    assert {r["instance_id"] for r in rows} == {str(trail[0])}

    as_json = antoine.get("/api/v1/audit/export", params={"format": "json", "type": "task_completed"})
    assert as_json.status_code == 200
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert as_json.headers["Content-Disposition"] == 'attachment; filename="audit-events.json"'
    events = as_json.json()
    assert [e["actor"] for e in events] == ["thomas", "pierre"]
    assert events[0]["data"]["title"] == "Help the roads team"
    assert antoine.get("/api/v1/audit/export").headers["Content-Type"].startswith("text/csv")  # csv by default
    assert_error(antoine.get("/api/v1/audit/export", params={"format": "xlsx"}), 422, "format")


def test_csv_cells_never_start_a_formula(api):
    # a failed sign-in records the username as typed: a spreadsheet must not run it
    assert_error(api().post("/api/v1/auth/token", json={"username": "=1+2", "password": "x"}), 401)
    text = api("antoine").get("/api/v1/audit/export", params={"type": "sign_in_failed"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["actor"] for r in rows] == ["'=1+2"]
    as_json = api("antoine").get("/api/v1/audit/export", params={"type": "sign_in_failed", "format": "json"})
    assert [e["actor"] for e in as_json.json()] == ["=1+2"]  # the JSON export is exact


PAYLOAD = "zz;=cmd|' /C calc'!A0"


def runnable_pieces(text: str) -> list[str]:
    """What a spreadsheet could run in a CSV text, splitting on ';' or ',' (even inside quotes, as
    one that ignores them would): every piece that starts, after spaces and quotes, with a formula."""
    return [piece for line in text.splitlines() for separator in ";," for piece in line.split(separator)
            if piece.lstrip(' "')[:1] in ("=", "+", "-", "@", "\t") or piece[:1] == "\r"]


def test_csv_cells_are_safe_for_comma_and_semicolon_spreadsheets(api):
    for username in (PAYLOAD, "a,@SUM(1)", 'b;"-2+3', "c, =1"):
        assert_error(api().post("/api/v1/auth/token", json={"username": username, "password": "x"}), 401)
    text = api("antoine").get("/api/v1/audit/export", params={"type": "sign_in_failed"}).text
    assert PAYLOAD.split(";")[1] in text and runnable_pieces(text) == []
    for separator in (",", ";"):  # a spreadsheet that respects quotes sees each cell whole
        for row in csv.reader(io.StringIO(text), delimiter=separator):
            assert all(cell[:1] not in ("=", "+", "-", "@") for cell in row), row
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["actor"] for r in rows] == ["zz;'=cmd|' /C calc'!A0", "a,'@SUM(1)", "b;'\"-2+3", "c,' =1"]


def test_out_of_range_pages_and_dates_are_named(api):
    antoine = api("antoine")
    assert_error(antoine.get("/api/v1/audit/events", params={"page": "99999999999999999999999"}), 422, "page")
    assert_error(antoine.get("/api/v1/audit/events", params={"since": "0001-01-01"}), 422, "since")
    assert_error(antoine.get("/api/v1/audit/export", params={"since": "0001-01-01T00:00:00+05:00"}), 422, "since")
    assert_error(antoine.get("/api/v1/audit/export", params={"until": "9999-12-31T23:59:59-05:00"}), 422, "until")
    assert antoine.get("/api/v1/audit/events", params={"until": "9999-12-31T23:59:59"}).status_code == 200
    assert_error(antoine.get("/api/v1/instances", params={"page": "99999999999999999999999"}), 422, "page")
    assert_error(antoine.get("/api/v1/tasks", params={"page": "99999999999999999999999"}), 422, "page")
