"""A task shows what its step needs, to those who may read it (API and pages, SQLite and PostgreSQL).

pierre posts a mission-exchange need; thomas offers to help; pierre answers "not this time" with a
comment about him; the need is offered again to every agent — marie, the external referent hugo.
"""
from __future__ import annotations

import json

from .api_helpers import assert_error, only_task
from .page_client import Person, text_of

NEED = {"title": "Inventaire des panneaux du secteur nord", "description": "Recenser les panneaux et leur état.",
        "skills_wanted": "Lecture de plans, tableur", "effort_days": 3, "deadline": "2027-03-01"}
MOTIVATION = "J'ai fait l'inventaire du sud l'an passé."
COMMENT = "Thomas est trop pris en février."
SHOWN_TO_VOLUNTEERS = {"title", "started_by", "description", "skills_wanted", "effort_days", "deadline"}


def _complete(client, task_id: int, data: dict) -> dict:
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})
    assert response.status_code == 200, response.text
    return response.json()


def _posted(api) -> tuple[int, dict]:
    pierre = api("pierre")
    started = pierre.post("/api/v1/instances", json={"process": "mission_exchange"})
    assert started.status_code == 201, started.text
    after = _complete(pierre, only_task(started.json(), "post_need")["id"], NEED)["instance"]
    return after["id"], only_task(after, "apply")


def _applied(api) -> tuple[int, int]:
    """thomas has offered to help: (the request, thomas's finished `apply`)."""
    instance_id, apply = _posted(api)
    _complete(api("thomas"), apply["id"], {"motivation": MOTIVATION})
    return instance_id, apply["id"]


def _reopened(api) -> tuple[int, int, int]:
    """pierre said no_go to thomas: (the request, thomas's finished `apply`, the `apply` waiting again)."""
    instance_id, first = _applied(api)
    conversation = only_task(api("pierre").get(f"/api/v1/instances/{instance_id}").json(), "conversation")
    after = _complete(api("pierre"), conversation["id"], {"outcome": "no_go", "comment": COMMENT})["instance"]
    return instance_id, first, only_task(after, "apply")["id"]


def test_a_step_done_by_one_agent_is_not_found_by_the_other_agents(api):
    instance_id, done = _applied(api)
    for outsider in ("marie", "hugo"):  # candidates of the group `agent` once, never of the request
        assert_error(api(outsider).get(f"/api/v1/tasks/{done}"), 404)
        assert_error(api(outsider).get(f"/api/v1/instances/{instance_id}"), 404)
        listed = api(outsider).get("/api/v1/tasks", params={"scope": "all_visible", "page_size": 200}).json()
        assert done not in [t["id"] for t in listed["items"]]
    # who did it, who asked and HR read it, with the answer given there
    for reader in ("thomas", "pierre", "karim"):
        task = api(reader).get(f"/api/v1/tasks/{done}").json()
        assert (task["completed_by"], task["context"]["motivation"]) == ("thomas", MOTIVATION), reader


def test_a_candidate_reads_only_what_the_step_shows(api):
    _instance_id, apply = _posted(api)
    assert set(apply["context"]) == SHOWN_TO_VOLUNTEERS  # the requester's answer already: the step's view
    for reader in ("marie", "hugo"):
        task = api(reader).get(f"/api/v1/tasks/{apply['id']}").json()
        assert set(task["context"]) == SHOWN_TO_VOLUNTEERS, reader
        assert task["context"]["description"] == NEED["description"]
        offered = api(reader).get("/api/v1/tasks", params={"scope": "claimable", "page_size": 200}).json()
        [listed] = [t for t in offered["items"] if t["id"] == apply["id"]]
        assert listed["context"] == task["context"]


def test_the_volunteers_manager_decides_on_the_need_and_the_volunteer_only(api, app):
    instance_id, _done = _applied(api)
    conversation = only_task(api("pierre").get(f"/api/v1/instances/{instance_id}").json(), "conversation")
    assert set(conversation["context"]) == SHOWN_TO_VOLUNTEERS - {"skills_wanted"} | {"volunteer", "motivation"}
    after = _complete(api("pierre"), conversation["id"], {"outcome": "go", "met_on": "2026-12-01"})["instance"]
    approval = api("julien").get(f"/api/v1/tasks/{only_task(after, 'manager_approval')['id']}").json()
    assert approval["context"] == {"title": NEED["title"], "started_by": "pierre", "description": NEED["description"],
                                   "effort_days": 3, "deadline": NEED["deadline"], "volunteer": "thomas",
                                   "motivation": MOTIVATION}
    page = Person(app.test_client(), "julien").text(f"/tasks/{approval['id']}")
    assert "Volontaire Thomas Girard" in page and MOTIVATION in page and NEED["description"] in page
    assert "Lecture de plans" not in page and "On continue ensemble" not in page  # not this step's to show


def test_the_reopened_need_shows_no_trace_of_the_previous_volunteer(api, app):
    instance_id, first, again = _reopened(api)
    for reader in ("marie", "hugo"):
        body = api(reader).get(f"/api/v1/tasks/{again}")
        assert body.status_code == 200
        assert set(body.json()["context"]) == SHOWN_TO_VOLUNTEERS
        assert not [trace for trace in ("thomas", MOTIVATION, COMMENT, "no_go") if trace in body.text], reader
        page = Person(app.test_client(), reader).text(f"/tasks/{again}")
        assert NEED["description"] in page and "Se proposer" in page
        assert not [trace for trace in ("Thomas Girard", MOTIVATION, COMMENT, "Cette demande vous revient",
                                        "Pas cette fois") if trace in page], (reader, page)
    # marie offers in turn: she now sees the request, and thomas's finished step — without him in it
    _complete(api("marie"), again, {"motivation": "Disponible tout février"})
    earlier = api("marie").get(f"/api/v1/tasks/{first}")
    assert earlier.status_code == 200
    assert earlier.json()["completed_by"] is None and "motivation" not in earlier.json()["context"]
    assert "thomas" not in json.dumps(earlier.json()) and MOTIVATION not in earlier.text
    page = Person(app.test_client(), "marie").text(f"/tasks/{first}")
    assert "Thomas Girard" not in page and "Cette étape a été faite le" in page


def test_the_requester_and_hr_still_see_the_whole_request(api, app):
    instance_id, _first, _again = _reopened(api)
    for reader in ("pierre", "karim"):
        page = text_of(Person(app.test_client(), reader).page(f"/requests/{instance_id}"))
        assert all(seen in page for seen in ("Thomas Girard", MOTIVATION, COMMENT, NEED["description"])), reader
        data = api(reader).get(f"/api/v1/instances/{instance_id}").json()["data"]
        assert (data["motivation"], data["comment"], data["volunteer"]) == (MOTIVATION, COMMENT, "thomas"), reader
