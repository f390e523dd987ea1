"""Forged approvals, self-approval, values that are not JSON and the data quota, through the API
(issue 13, items 1, 5, 6, 8): what an attacker with an ordinary account tried, and what they see now."""
from __future__ import annotations

import json
from datetime import timedelta

from engine.values import MAX_DATA_BYTES

from .api_helpers import DIAGRAMS, assert_error, only_task

NEED = {"title": "Relecture d'un guide", "description": "Guide des agents de route", "skills_wanted": "Rédaction",
        "effort_days": 2, "deadline": "2030-01-31"}
APPROVE = {"decision": "approve", "workload_arrangement": "Deux après-midi"}


def _deploy(api, name: str) -> None:
    files = [("files", (name, (DIAGRAMS / name).read_bytes(), "application/xml"))]
    response = api("luc").post("/api/v1/processes/deploy", files=files, data={"comment": "for the tests"})
    assert response.status_code in (200, 201), response.text


def _instances(client) -> int:
    return client.get("/api/v1/instances").json()["total"]


def test_start_data_cannot_forge_an_escalation_or_an_agent(api):
    thomas = api("thomas")
    body = assert_error(thomas.post("/api/v1/instances", json={"process": "mission_exchange",
                                                               "data": {"escalation_group": "agent"}}),
                        422, "escalation_group")
    assert body["errors"] == {"escalation_group": ["unknown field"]}
    body = assert_error(thomas.post("/api/v1/instances", json={"process": "mission_exchange", "data": {
        "title": "Aide", "agent": "lea", "time_share": 100}}), 422, "agent", "time_share")
    assert "title" not in body["errors"]
    assert _instances(thomas) == 0  # nothing was started


def _step(client, instance: dict, name: str, data: dict) -> dict:
    task = only_task(instance, name)
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
    assert done.status_code == 200, done.text
    return done.json()["instance"]


def test_the_requester_cannot_approve_her_own_request_though_assigned_to_her(api):
    nadia, marie = api("nadia"), api("marie")  # nadia is marie's manager
    started = nadia.post("/api/v1/instances", json={"process": "mission_exchange", "data": {}})
    assert started.status_code == 201, started.text
    instance = _step(nadia, started.json(), "post_need", NEED)
    apply = marie.get(f"/api/v1/tasks?process=mission_exchange").json()["items"][0]
    assert marie.post(f"/api/v1/tasks/{apply['id']}/complete",
                      json={"data": {"motivation": "Avec plaisir"}}).status_code == 200
    instance = nadia.get(f"/api/v1/instances/{instance['id']}").json()
    instance = _step(nadia, instance, "conversation", {"outcome": "go", "met_on": "2030-01-10"})
    approval = only_task(instance, "manager_approval")
    assert approval["assignee"] == "nadia"
    body = assert_error(nadia.post(f"/api/v1/tasks/{approval['id']}/complete", json={"data": APPROVE}), 403)
    assert "concerns you" in body["message"]
    after = nadia.get(f"/api/v1/instances/{instance['id']}").json()
    assert after["approved_at"] is None and [t["name"] for t in after["open_tasks"]] == ["manager_approval"]


def test_a_script_value_that_is_not_json_fails_the_request_visibly(api):
    _deploy(api, "integrity_test.bpmn")
    thomas = api("thomas")
    started = thomas.post("/api/v1/instances", json={"process": "integrity_test", "data": {"how": "set"}})
    assert started.status_code == 201, started.text
    body = json.loads(started.text)  # strict JSON: no NaN, no lone surrogate
    assert body["status"] == "failed" and body["open_tasks"] == []
    read = thomas.get(f"/api/v1/instances/{body['id']}")
    assert read.status_code == 200 and json.loads(read.text)["status"] == "failed"
    assert "bad" not in read.json()["data"]
    for how in ("nan", "surrogate", "nul"):
        answer = thomas.post("/api/v1/instances", json={"process": "integrity_test", "data": {"how": how}})
        assert answer.status_code == 201 and json.loads(answer.text)["status"] == "failed", how
    dated = thomas.post("/api/v1/instances", json={"process": "integrity_test", "data": {"how": "date"}}).json()
    assert dated["status"] == "running" and dated["data"]["when"] == "2027-01-31"


def test_a_form_over_the_data_quota_is_refused(api):
    _deploy(api, "integrity_test.bpmn")
    thomas = api("thomas")
    instance = thomas.post("/api/v1/instances", json={"process": "integrity_test", "data": {"how": "none"}}).json()
    task = only_task(instance, "choose")
    body = assert_error(thomas.post(f"/api/v1/tasks/{task['id']}/complete",
                                    json={"data": {"how": "none", "note": "x" * (MAX_DATA_BYTES + 1)}}), 422, "note")
    assert "256 KB" in body["errors"]["note"][0]
    assert thomas.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"how": "none", "note": "ok"}}).status_code == 200
