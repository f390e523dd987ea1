"""The one audit exporter behind the audit pages' downloads and the API's export: the same columns
and rows, cells no spreadsheet runs, and a body streamed as the events are read."""
from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import timedelta

from sqlalchemy import func, insert, select

from engine import clock
from engine.models import AuditEvent

from .api_helpers import assert_error
from .page_client import Person, sessions, start_support_mission
from .test_api_audit import runnable_pieces

API_COLUMNS = ["instance_id", "process", "seq", "at", "actor", "type", "task_id", "task_name", "version", "data",
               "prev_hash", "hash"]


def page_text(person: Person, url: str) -> str:
    response = person.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # spreadsheets read the pages' CSV as UTF-8
    return text[1:]


def test_the_pages_and_the_api_export_the_same_columns_and_rows(app, api):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    antoine, auditor = Person(app.test_client(), "antoine"), api("antoine")  # the last events: their sign-ins

    from_api = auditor.get("/api/v1/audit/export")
    assert from_api.status_code == 200
    from_page = page_text(antoine, "/audit/events.csv")
    assert from_page == from_api.text
    rows = list(csv.DictReader(io.StringIO(from_page)))
    assert list(rows[0]) == API_COLUMNS
    assert {r["process"] for r in rows} >= {"temporary_support_mission"}
    assert rows[-1]["type"] == "user_signed_in" and rows[-1]["actor"] == "antoine"  # oldest first

    trace = page_text(antoine, f"/audit/requests/{instance_id}/trace.csv")
    assert trace == auditor.get("/api/v1/audit/export", params={"instance": instance_id}).text
    assert [r["seq"] for r in csv.DictReader(io.StringIO(trace))] == ["1", "2", "3", "4", "5"]

    as_json = antoine.get("/audit/events.json?type=instance_started").get_json()
    assert as_json == auditor.get("/api/v1/audit/export", params={"format": "json", "type": "instance_started"}).json()
    assert list(as_json[0]) == API_COLUMNS and as_json[0]["instance_id"] == instance_id
    # the same events as the search answers (which is newest first)
    searched = auditor.get("/api/v1/audit/events", params={"type": "instance_started"}).json()["items"]
    assert as_json == searched[::-1]
    document = antoine.get(f"/audit/requests/{instance_id}/trace.json").get_json()
    assert document["events"] == auditor.get("/api/v1/audit/export", params={"format": "json",
                                                                             "instance": instance_id}).json()


USERNAMES = ["=1+2", "+33 6", "-2", "@SUM(A1)", "x;=cmd|' /C calc'!A0", "y,+1", "z, -1", 'q;"-2+3', "plain; text, here"]


def test_exported_cells_are_safe_whoever_reads_them(app, api):
    for username in USERNAMES:  # a failed sign-in records the username as typed
        assert_error(api().post("/api/v1/auth/token", json={"username": username, "password": "x"}), 401)
    from_api = api("antoine").get("/api/v1/audit/export", params={"type": "sign_in_failed"}).text
    from_page = page_text(Person(app.test_client(), "antoine"), "/audit/events.csv?type=sign_in_failed")
    for text in (from_api, from_page):
        assert runnable_pieces(text) == []
        for separator in (",", ";"):  # a spreadsheet splitting on either, quotes respected
            for row in csv.reader(io.StringIO(text), delimiter=separator):
                assert all(cell[:1] not in ("=", "+", "-", "@") for cell in row), row
        actors = [r["actor"] for r in csv.DictReader(io.StringIO(text))]
        assert [a.replace("'", "") for a in actors] == [u.replace("'", "") for u in USERNAMES]  # apostrophes added
        assert actors[-1] == "plain; text, here"  # and only where a formula could start
    as_json = api("antoine").get("/api/v1/audit/export", params={"type": "sign_in_failed", "format": "json"}).json()
    assert [e["actor"] for e in as_json] == USERNAMES  # the JSON export is exact


def add_events(app, count: int) -> None:
    """`count` events of the global stream, written straight to the table (a trail of years)."""
    with sessions(app)() as s:
        first = (s.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.instance_id.is_(None))) or 0) + 1
        start = clock.now() - timedelta(days=365)
        rows = [{"instance_id": None, "seq": first + n, "at": start + timedelta(minutes=n), "actor": f"user{n % 97}",
                 "type": "user_signed_in", "process_key": None, "version": None, "task_id": None, "task_name": None,
                 "data": {"address": "192.0.2.1", "note": "x" * 200, "n": n}, "prev_hash": "0" * 64,
                 "hash": f"{n:064x}"} for n in range(count)]
        for at in range(0, count, 5_000):
            s.execute(insert(AuditEvent), rows[at:at + 5_000])
        s.commit()


def test_an_export_is_sent_while_it_is_read(app, api):
    add_events(app, 3_000)
    auditor = api("antoine")
    for fmt in ("csv", "json"):
        response = auditor.get("/api/v1/audit/export", params={"format": fmt}, stream=True)
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == f'attachment; filename="audit-events.{fmt}"'
        # no length announced: the server sends the file in pieces as it reads the events
        assert "Content-Length" not in response.headers and response.headers["Transfer-Encoding"] == "chunked"
        chunks = list(response.iter_content(chunk_size=None))
        assert len(chunks) > 3
        body = b"".join(chunks).decode()
        rows = list(csv.DictReader(io.StringIO(body))) if fmt == "csv" else json.loads(body)
        assert list(rows[0]) == API_COLUMNS and len(rows) > 3_000
        assert [r["hash"] for r in rows if r["actor"] == "user5"][:2] == [f"{5:064x}", f"{102:064x}"]


def test_a_large_export_does_not_hold_the_trail_in_memory(app):
    """20,000 events (~9.5 MB of CSV): the server holds a few batches of them at a time, not all."""
    events = 20_000
    add_events(app, events)
    antoine = Person(app.test_client(), "antoine")
    tracemalloc.start()
    try:
        response = antoine.get("/audit/events.csv", buffered=False)
        assert response.status_code == 200
        lines = size = 0
        for chunk in response.response:  # as the server hands them to the client, dropped once read
            lines += chunk.count(b"\n")
            size += len(chunk)
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines > events and size > 8_000_000
    # one list of every event and the whole text at once, as before, peaked at 58 MB; streamed, 3.6 MB
    assert peak < 16_000_000, f"{peak:,} bytes at the peak for {size:,} bytes exported"


def test_an_abandoned_download_gives_its_database_connection_back(app):
    add_events(app, 3_000)
    antoine = Person(app.test_client(), "antoine")
    pool = app.extensions["passerelle.db"].pool
    head = antoine.client.head("/audit/events.csv", headers=antoine.headers)
    assert head.status_code == 200 and head.get_data() == b""
    head.close()  # as every WSGI server does once it has sent the answer
    assert pool.checkedout() == 0  # although its body was never read
    response = antoine.get("/audit/events.csv", buffered=False)
    first = next(iter(response.response))
    assert first.startswith("\ufeff\"instance_id\"".encode()) and pool.checkedout() == 1  # reading
    response.close()  # the person cancels the download
    assert pool.checkedout() == 0
