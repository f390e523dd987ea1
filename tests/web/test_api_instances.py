"""Instances over the API: start, read, list with filters, cancel, history, diagram."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from .api_helpers import REQUEST, assert_error, deploy_test_diagram, only_task, start_request

INSTANCE_KEYS = {"id", "process", "version", "title", "status", "end_state", "started_by", "started_at", "ended_at",
                 "approved_at", "agent", "phase", "failure", "can_cancel", "data", "open_tasks", "incidents"}


@pytest.fixture
def deployed(api):
    deploy_test_diagram(api)


def test_start_returns_the_instance_and_its_first_task(api, deployed):
    response = api("thomas").post("/api/v1/instances", json={"process": "approval_test", "data": {"title": "hi"}})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == INSTANCE_KEYS
    assert (body["process"], body["version"], body["status"], body["started_by"]) == (
        "approval_test", 1, "running", "thomas")
    assert body["title"] == "hi" and body["end_state"] is None and body["ended_at"] is None
    assert datetime.fromisoformat(body["started_at"]).utcoffset().total_seconds() == 0
    assert body["data"]["title"] == "hi" and body["data"]["started_by"] == "thomas"
    task = only_task(body, "request")
    assert (task["assignee"], task["status"], task["instance_id"], task["can_act"]) == (
        "thomas", "ready", body["id"], True)
    assert [f["id"] for f in task["form"]["fields"]] == ["title", "days", "start_date", "agent", "urgent", "kind"]
    assert body["can_cancel"] is True
    assert body["incidents"] == []  # tests/web/test_incidents.py makes some


def test_start_errors(api, deployed):
    client = api("thomas")
    assert_error(client.post("/api/v1/instances", json={"process": "no_such_process"}), 404)
    assert_error(client.post("/api/v1/instances", json={}), 422, "process")
    assert_error(client.post("/api/v1/instances", json={"process": "approval_test", "data": []}), 422, "data")
    assert_error(client.post("/api/v1/instances", json={"process": "approval_test", "data": {"started_by": "x"}}),
                 422, "started_by")
    # start data fills the first task's form: nothing it does not declare
    assert_error(client.post("/api/v1/instances", json={"process": "approval_test", "data": {"note": "hi"}}),
                 422, "note")
    assert_error(client.post("/api/v1/instances", json={"process": "approval_test", "data": {"t": "a\x00"}}),
                 422, "data")
    # longer than their columns: refused by name rather than failing in PostgreSQL
    assert_error(client.post("/api/v1/instances", json={"process": "approval_test", "data": {"title": "t" * 301}}),
                 422, "title")
    assert_error(client.post("/api/v1/instances", json={"process": "approval_test", "data": {"agent": "a" * 65}}),
                 422, "agent")
    assert_error(client.post("/api/v1/instances", json={"process": "a" * 129}), 422, "process")
    assert_error(client.post("/api/v1/instances", data="[", headers={"Content-Type": "application/json"}), 400)
    # the end-of-career mission is started by HR only
    body = assert_error(client.post("/api/v1/instances", json={"process": "end_of_career_mission"}), 403)
    assert "may not start" in body["message"]


def test_an_instance_is_visible_to_the_people_involved_only(api, deployed):
    thomas = api("thomas")
    instance = start_request(thomas)
    path = f"/api/v1/instances/{instance['id']}"
    assert thomas.get(path).json()["open_tasks"][0]["name"] == "manager_review"
    julien = api("julien").get(path)  # thomas's manager, who reviews it
    assert julien.status_code == 200 and julien.json()["can_cancel"] is False
    assert api("sophie").get(path).status_code == 200  # hr sees every request
    assert_error(api("pierre").get(path), 404)
    assert_error(thomas.get("/api/v1/instances/999999"), 404)
    assert_error(thomas.get("/api/v1/instances/99999999999"), 404)


def test_list_filters(api, deployed):
    thomas, pierre = api("thomas"), api("pierre")
    mine = start_request(thomas)
    start_request(pierre, {**REQUEST, "agent": "pierre"})
    cancelled = start_request(thomas)
    thomas.post(f"/api/v1/instances/{cancelled['id']}/cancel", json={"reason": "changed my mind"})

    def ids(client, **params):
        response = client.get("/api/v1/instances", params=params)
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == len(body["items"])
        return [i["id"] for i in body["items"]]

    assert ids(thomas) == [cancelled["id"], mine["id"]]  # newest first, only what thomas may see
    assert ids(thomas, status="running") == [mine["id"]]
    assert ids(api("sophie"), started_by="pierre") == [ids(pierre)[0]]
    assert ids(api("sophie"), involved="me") == []  # hr sees every request, took part in none
    assert len(ids(api("sophie"))) == 3
    assert len(ids(api("julien"), involved="me")) == 3  # the reviews are his
    assert ids(thomas, process="mission_exchange") == []
    assert_error(thomas.get("/api/v1/instances", params={"status": "paused"}), 422, "status")
    assert_error(thomas.get("/api/v1/instances", params={"involved": "you"}), 422, "involved")


def test_cancel_rules(api, deployed):
    thomas = api("thomas")
    instance = start_request(thomas)
    path = f"/api/v1/instances/{instance['id']}/cancel"
    assert_error(api("julien").post(path, json={"reason": "no"}), 403)  # sees it, may not cancel
    assert_error(api("pierre").post(path, json={"reason": "no"}), 404)
    assert_error(thomas.post(path, json={}), 422, "reason")
    assert_error(thomas.post(path, json={"reason": "   "}), 422, "reason")
    response = thomas.post(path, json={"reason": "no longer needed"})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["end_state"], body["open_tasks"], body["can_cancel"]) == (
        "cancelled", "withdrawn", [], False)
    assert body["ended_at"] is not None
    assert_error(thomas.post(path, json={"reason": "again"}), 409)


def test_the_starter_cannot_withdraw_once_approved_but_hr_can_cancel(api, deployed):
    thomas = api("thomas")
    instance = start_request(thomas)
    review = only_task(instance, "manager_review")
    approved = api("julien").post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}})
    assert approved.json()["instance"]["approved_at"] is not None
    path = f"/api/v1/instances/{instance['id']}/cancel"
    body = assert_error(thomas.post(path, json={"reason": "too late?"}), 403)
    assert "approved" in body["message"]
    cancelled = api("karim").post(path, json={"reason": "budget frozen"})
    assert cancelled.status_code == 200 and cancelled.json()["end_state"] == "cancelled"


def test_history_is_the_hash_chain_in_order(api, deployed):
    thomas = api("thomas")
    instance = start_request(thomas)
    response = thomas.get(f"/api/v1/instances/{instance['id']}/history")
    assert response.status_code == 200
    body = response.json()
    events = body["items"]
    assert body["total"] == len(events) and body["page"] == 1
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events][:3] == ["instance_started", "task_created", "task_completed"]
    assert "decision_evaluated" in [e["type"] for e in events]
    assert events[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(events, events[1:]))
    completed = next(e for e in events if e["type"] == "task_completed")
    assert (completed["actor"], completed["task_id"], completed["version"]) == ("thomas", "request", 1)
    assert completed["data"]["days"] == 5
    assert set(events[0]) == {"instance_id", "process", "seq", "at", "actor", "type", "task_id", "task_name", "data",
                              "version", "hash", "prev_hash"}
    second_page = thomas.get(f"/api/v1/instances/{instance['id']}/history", params={"page": 2, "page_size": 2})
    assert [e["seq"] for e in second_page.json()["items"]] == [3, 4]
    assert_error(api("pierre").get(f"/api/v1/instances/{instance['id']}/history"), 404)


def test_diagram_marks_the_path_and_the_waiting_task(api):
    thomas = api("thomas")
    instance = thomas.post("/api/v1/instances", json={"process": "mission_exchange"}).json()
    response = thomas.get(f"/api/v1/instances/{instance['id']}/diagram.svg")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    svg = response.text
    assert svg.lstrip().startswith("<svg") or svg.lstrip().startswith("<?xml")
    assert re.search(r'<g class="[^"]*\bdone\b[^"]*" data-element-id="start"', svg)
    assert re.search(r'<g class="[^"]*\bwaiting\b[^"]*" data-element-id="post_need"', svg)
    assert re.search(r'<g class="bpmn userTask" data-element-id="apply"', svg)
    assert "<script" not in svg
    assert_error(api("pierre").get(f"/api/v1/instances/{instance['id']}/diagram.svg"), 404)
