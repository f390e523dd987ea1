"""Tasks over the API: lists by scope, claim and release, completing with the form's data."""
from __future__ import annotations

import threading

import pytest

from .api_helpers import REQUEST, assert_error, deploy_test_diagram, only_task, start_request

TASK_KEYS = {"id", "instance_id", "process", "name", "title", "lane", "assignee", "claimed", "candidate_users",
             "candidate_groups", "status", "can_act", "created_at", "due_at", "completed_at", "completed_by", "form",
             "context"}


@pytest.fixture
def hr_task(api):
    """An end-of-career request just started by sophie: `describe_need` is offered to group hr."""
    instance = api("sophie").post("/api/v1/instances", json={"process": "end_of_career_mission"})
    assert instance.status_code == 201, instance.text
    return only_task(instance.json(), "describe_need")


def _ids(client, **params) -> list[int]:
    response = client.get("/api/v1/tasks", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "total", "page", "page_size"}
    return [t["id"] for t in body["items"]]


def test_a_task_carries_its_form_and_context(api, hr_task):
    response = api("karim").get(f"/api/v1/tasks/{hr_task['id']}")
    assert response.status_code == 200
    task = response.json()
    assert set(task) == TASK_KEYS
    assert (task["process"], task["name"], task["title"], task["status"]) == (
        "end_of_career_mission", "describe_need", "Décrire le besoin", "ready")
    assert task["candidate_groups"] == ["hr"] and task["assignee"] is None and task["claimed"] is False
    assert task["can_act"] is True and task["completed_at"] is None
    fields = {f["id"]: f for f in task["form"]["fields"]}
    assert fields["agent"]["type"] == "string" and fields["agent"]["required"] is True
    assert "username" in fields["agent"]["constraints"]
    assert fields["time_share"]["constraints"] == {"min": "1", "max": "100"}
    assert set(fields["title"]) == {"id", "label", "type", "required", "default", "options", "constraints",
                                    "properties"}
    assert task["context"]["started_by"] == "sophie" and "title" in task["context"]
    assert not any(key.startswith("_") for key in task["context"])
    assert_error(api("thomas").get(f"/api/v1/tasks/{hr_task['id']}"), 404)
    assert_error(api("thomas").get("/api/v1/tasks/424242"), 404)


def test_lists_by_scope(api, hr_task):
    karim, sophie = api("karim"), api("sophie")
    assert hr_task["id"] in _ids(karim)
    assert hr_task["id"] in _ids(karim, scope="claimable")
    assert hr_task["id"] not in _ids(karim, scope="mine")
    assert karim.post(f"/api/v1/tasks/{hr_task['id']}/claim").status_code == 200
    assert hr_task["id"] in _ids(karim, scope="mine")
    assert hr_task["id"] not in _ids(sophie)  # claimed by karim: not hers to act on now
    assert hr_task["id"] not in _ids(sophie, scope="claimable")
    assert hr_task["id"] in _ids(sophie, scope="all_visible")
    assert _ids(api("thomas"), scope="all_visible") == []
    assert hr_task["id"] in _ids(karim, process="end_of_career_mission", instance=hr_task["instance_id"])
    assert _ids(karim, process="mission_exchange") == []
    assert _ids(karim, instance=hr_task["instance_id"] + 1000) == []
    assert_error(karim.get("/api/v1/tasks", params={"scope": "everything"}), 422, "scope")
    assert_error(karim.get("/api/v1/tasks", params={"instance": "first"}), 422, "instance")


def test_claim_and_release(api, hr_task):
    karim, sophie = api("karim"), api("sophie")
    path = f"/api/v1/tasks/{hr_task['id']}"
    assert_error(api("thomas").post(f"{path}/claim"), 404)
    assert_error(api("antoine").post(f"{path}/claim"), 403)  # the auditor sees it but is no candidate
    assert_error(karim.post(f"{path}/release"), 409)  # nobody holds it
    claimed = karim.post(f"{path}/claim")
    assert claimed.status_code == 200
    assert (claimed.json()["assignee"], claimed.json()["claimed"]) == ("karim", True)
    assert karim.post(f"{path}/claim").status_code == 200  # claiming one's own task again changes nothing
    body = assert_error(sophie.post(f"{path}/claim"), 409)
    assert "karim" in body["message"]
    assert_error(sophie.post(f"{path}/complete", json={"data": {}}), 409)
    assert_error(api("antoine").post(f"{path}/release"), 403)
    released = karim.post(f"{path}/release")
    assert released.status_code == 200
    assert (released.json()["assignee"], released.json()["claimed"]) == (None, False)
    assert sophie.post(f"{path}/claim").json()["assignee"] == "sophie"


def test_complete_refuses_invalid_data_field_by_field(api):
    deploy_test_diagram(api)
    thomas = api("thomas")
    started = thomas.post("/api/v1/instances", json={"process": "approval_test"}).json()
    path = f"/api/v1/tasks/{only_task(started, 'request')['id']}/complete"
    body = assert_error(thomas.post(path, json={"data": {"days": 0, "start_date": "07/01/2030", "agent": "ghost",
                                                          "kind": "z", "colour": "red"}}),
                        422, "title", "days", "start_date", "agent", "kind", "colour")
    assert body["errors"]["title"] == ["this field is required"]
    assert body["errors"]["days"] == ["must be at least 1"]
    assert body["errors"]["colour"] == ["unknown field"]
    assert body["errors"]["agent"] == ["unknown user: ghost"]
    assert_error(thomas.post(path, json={"data": "title=x"}), 422, "data")
    assert_error(thomas.post(path, json={"data": REQUEST, "extra": 1}), 422, "extra")
    assert_error(thomas.post(path, data="{", headers={"Content-Type": "application/json"}), 400)
    # nothing moved
    assert thomas.get(f"/api/v1/instances/{started['id']}").json()["open_tasks"][0]["name"] == "request"


def test_complete_moves_the_instance_on(api):
    deploy_test_diagram(api)
    thomas = api("thomas")
    started = thomas.post("/api/v1/instances", json={"process": "approval_test"}).json()
    task = only_task(started, "request")
    assert_error(api("sophie").post(f"/api/v1/tasks/{task['id']}/complete", json={"data": REQUEST}), 403)
    assert_error(api("pierre").post(f"/api/v1/tasks/{task['id']}/complete", json={"data": REQUEST}), 404)
    response = thomas.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": REQUEST})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"task", "instance"}
    assert (body["task"]["status"], body["task"]["completed_by"], body["task"]["can_act"]) == (
        "completed", "thomas", False)
    assert body["task"]["completed_at"] is not None
    assert body["instance"]["title"] == "Help the roads team"
    review = only_task(body["instance"], "manager_review")
    assert (review["assignee"], review["due_at"] is not None) == ("julien", True)
    assert_error(thomas.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": REQUEST}), 409)
    assert thomas.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "completed"


def test_a_short_request_is_approved_by_the_rule(api):
    deploy_test_diagram(api)
    instance = start_request(api("thomas"), {**REQUEST, "days": 2})
    assert (instance["status"], instance["end_state"], instance["open_tasks"]) == ("completed", "completed", [])
    assert instance["data"]["route"] == "auto"


def test_context_shows_why_a_request_came_back(api):
    nadia = api("nadia")
    started = nadia.post("/api/v1/instances", json={"process": "temporary_support_mission"}).json()
    task = only_task(started, "describe_mission")
    data = {"title": "Appui au projet vélo", "project": "Plan vélo", "objectives": "Cartographier les usages",
            "expertise_level": "intermediate", "time_share": 60, "start_date": "2031-01-06",
            "end_date": "2031-06-30", "agent": "thomas", "is_project_support": True}
    done = nadia.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
    assert done.status_code == 200, done.text
    again = only_task(done.json()["instance"], "describe_mission")
    assert again["id"] != task["id"]
    problems = again["context"]["eligibility_problems"]
    assert len(problems) == 1 and "40 %" in problems[0]


NEED = {"title": "Transmission", "host_unit": "Routes", "host_manager": "julien", "description": "Partager",
        "time_share": 20, "start_date": "2027-09-01", "end_date": "2028-02-28", "agent": "marie"}


def _at_once(clients, path: str, body: dict | None = None) -> list[int]:
    """Every client sends the same request at the same moment; their statuses, sorted."""
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def send(client):
        barrier.wait()
        statuses.append(client.post(path, json=body).status_code)

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(statuses)


def test_two_people_claiming_at_once_one_wins_the_other_gets_a_409(api, hr_task):
    assert _at_once([api("karim"), api("sophie")], f"/api/v1/tasks/{hr_task['id']}/claim") == [200, 409]
    assert api("elodie").get(f"/api/v1/tasks/{hr_task['id']}").json()["claimed"] is True


def test_two_people_completing_at_once_one_wins_the_other_gets_a_409(api, hr_task):
    path = f"/api/v1/tasks/{hr_task['id']}/complete"
    assert _at_once([api("karim"), api("sophie")], path, {"data": NEED}) == [200, 409]
    instance = api("elodie").get(f"/api/v1/instances/{hr_task['instance_id']}").json()
    assert [t["name"] for t in instance["open_tasks"]] == ["matching_meeting"]
    history = api("elodie").get(f"/api/v1/instances/{hr_task['instance_id']}/history").json()["items"]
    assert [e["task_id"] for e in history if e["type"] == "task_completed"] == ["describe_need"]
