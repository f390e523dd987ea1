"""The mission register over real HTTP: `GET /api/v1/missions` (its contract, filters, 422 on bad
ones, who sees which rows) and its CSV export; an instance says its phase."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from .api_helpers import FrozenClock, assert_error, only_task

TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
KEYS = {"instance_id", "process", "title", "phase", "agent", "agent_name", "agent_directorate", "host",
        "host_directorate", "time_share", "start_date", "end_date", "started_by", "waiting_for", "waiting_since",
        "end_state"}
PROPOSAL = {"host_organisation": "restos-isere",
            "mission_description": "Organiser la collecte et la distribution alimentaire du jeudi",
            "previous_duties": "Entretien des routes départementales", "time_share": 20,
            "start_date": "2026-04-01", "end_date": "2026-09-30", "reimbursed": False, "estimated_value_eur": 12000}
SUPPORT = {"title": "=Appui au plan vélo", "project": "Plan vélo départemental",
           "objectives": "Cartographier les itinéraires cyclables", "expertise_level": "intermediate",
           "time_share": 30, "start_date": "2026-10-01", "end_date": "2027-03-31", "agent": "marie",
           "is_project_support": True}


def complete(client, instance: dict, name: str, data: dict) -> dict:
    task = only_task(instance, name)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
    assert response.status_code == 200, response.text
    return client.get(f"/api/v1/instances/{instance['id']}").json()


@pytest.fixture
def missions(api, app):
    """thomas's skills sponsorship with restos-isere, waiting for his manager; marie's temporary
    support asked by nadia, waiting for the coordination."""
    FrozenClock(app, TODAY)
    thomas, nadia = api("thomas"), api("nadia")
    sponsorship = thomas.post("/api/v1/instances", json={"process": "skills_sponsorship", "data": {}}).json()
    assert sponsorship["phase"] == "draft"
    sponsorship = complete(thomas, sponsorship, "propose_mission", PROPOSAL)
    assert sponsorship["phase"] == "in_approval"
    support = nadia.post("/api/v1/instances", json={"process": "temporary_support_mission", "data": {}}).json()
    support = complete(nadia, support, "describe_mission", SUPPORT)
    return {"sponsorship": sponsorship["id"], "support": support["id"]}


def ids(client, **params) -> list[int]:
    response = client.get("/api/v1/missions", params=params)
    assert response.status_code == 200, response.text
    return [item["instance_id"] for item in response.json()["items"]]


def test_the_register_lists_missions_with_the_documented_keys(api, missions):
    body = api("sophie").get("/api/v1/missions", params={"sort": "instance_id"}).json()
    assert body["total"] == 2 and {"items", "total"} <= set(body)
    sponsorship, support = body["items"]
    assert set(sponsorship) == KEYS
    assert sponsorship == {
        "instance_id": missions["sponsorship"], "process": "skills_sponsorship", "title": sponsorship["title"],
        "phase": "in_approval", "agent": "thomas", "agent_name": "Thomas Girard", "agent_directorate": "DMOB",
        "host": "Les Restos du Cœur de l'Isère", "host_directorate": None, "time_share": 20,
        "start_date": "2026-04-01", "end_date": "2026-09-30", "started_by": "thomas",
        "waiting_for": ["Julien Moreau"], "waiting_since": "2026-03-02T09:00:00+00:00", "end_state": None}
    assert (support["agent_name"], support["host"], support["host_directorate"], support["phase"]) == (
        "Marie Lefebvre", "Plan vélo départemental", "DSOL", "in_approval")
    assert len(support["waiting_for"]) == 1 and support["waiting_for"][0] != "coordinator"  # a group's label


def test_filters_sort_and_pages(api, missions):
    sophie = api("sophie")
    assert ids(sophie, process="temporary_support_mission") == [missions["support"]]
    assert set(ids(sophie, phase=["in_approval", "draft"])) == set(missions.values())
    assert ids(sophie, phase="closed") == []
    assert ids(sophie, agent="marie") == [missions["support"]]
    assert ids(sophie, directorate="DMOB") == [missions["sponsorship"]]
    assert ids(sophie, overlaps="2026-10-01/2026-12-31") == [missions["support"]]
    assert ids(sophie, overlaps="2026-09-30/2026-10-01", sort="instance_id") == sorted(missions.values())
    assert ids(sophie, q="cyclables") == [missions["support"]]
    assert ids(sophie, sort="-time_share") == [missions["support"], missions["sponsorship"]]
    assert ids(sophie, sort="start_date") == [missions["sponsorship"], missions["support"]]
    page = sophie.get("/api/v1/missions", params={"sort": "instance_id", "page": 2, "page_size": 1}).json()
    assert (page["total"], [i["instance_id"] for i in page["items"]]) == (2, [missions["support"]])


@pytest.mark.parametrize("params, field", [
    ({"phase": "pending"}, "phase"), ({"overlaps": "2026-01-01"}, "overlaps"),
    ({"overlaps": "2026-02-01/2026-01-01"}, "overlaps"), ({"overlaps": "2026-13-01/2026-14-01"}, "overlaps"),
    ({"sort": "state"}, "sort"), ({"format": "xlsx"}, "format"),
])
def test_bad_filters_are_refused_naming_the_field(api, params, field):
    if field != "format":
        assert_error(api("sophie").get("/api/v1/missions", params=params), 422, field)
    assert_error(api("sophie").get("/api/v1/missions/export", params=params), 422, field)


@pytest.mark.parametrize("params, field", [({"page": 0}, "page"), ({"page_size": 500}, "page_size")])
def test_bad_pages_are_refused_naming_the_field(api, params, field):
    assert_error(api("sophie").get("/api/v1/missions", params=params), 422, field)


@pytest.mark.parametrize("reader, expected", [
    ("luc", {"sponsorship", "support"}), ("antoine", {"sponsorship", "support"}), ("elodie", {"sponsorship", "support"}),
    ("julien", {"sponsorship"}), ("thomas", {"sponsorship"}), ("marie", {"support"}), ("nadia", {"support"}),
    ("hugo", {"sponsorship"}), ("pierre", set()),
])
def test_who_sees_which_missions(api, missions, reader, expected):
    assert set(ids(api(reader))) == {missions[name] for name in expected}


def test_the_export_is_csv_with_a_header_row_and_the_same_filters(api, missions):
    response = api("sophie").get("/api/v1/missions/export", params={"format": "csv", "sort": "instance_id"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "missions.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["instance_id", "process", "title", "phase", "agent", "agent_name", "agent_directorate",
                       "host", "host_directorate", "time_share", "start_date", "end_date", "started_by",
                       "waiting_for", "waiting_since", "end_state"]
    assert [r[0] for r in rows[1:]] == [str(missions["sponsorship"]), str(missions["support"])]
    assert rows[2][2] == "'=Appui au plan vélo"  # a title no spreadsheet runs as a formula
    assert rows[1][3:8] == ["in_approval", "thomas", "Thomas Girard", "DMOB", "Les Restos du Cœur de l'Isère"]
    only = api("hugo").get("/api/v1/missions/export").text
    assert len(list(csv.reader(io.StringIO(only)))) == 2  # the header and restos-isere's mission
