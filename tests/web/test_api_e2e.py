"""One request of each of the four processes, driven from start to end through the API alone,
signing in as each person in turn. The live server runs at a frozen moment so that date rules
and timers do not depend on the day the tests run; timers are fired as `passerelle worker` does."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from .api_helpers import FrozenClock

MONDAY = datetime(2027, 1, 4, 8, 0, tzinfo=timezone.utc)
MISSION = {"start_date": "2027-02-01", "end_date": "2027-07-30"}


class Walk:
    """Signs in as each person, finds their task in their own task list, completes it."""

    def __init__(self, api, clock: FrozenClock):
        self.api = api
        self.clock = clock
        self.instance_id: int | None = None

    def start(self, username: str, process: str) -> dict:
        response = self.api(username).post("/api/v1/instances", json={"process": process, "data": {}})
        assert response.status_code == 201, response.text
        self.instance_id = response.json()["id"]
        return response.json()

    def do(self, username: str, task: str, data: dict, claim: bool = False) -> dict:
        """`username` completes their task `task` (its BPMN id); returns the instance after it."""
        client = self.api(username)  # a fresh sign-in: tokens expire as the clock moves on
        listed = client.get("/api/v1/tasks", params={"instance": self.instance_id})
        assert listed.status_code == 200, listed.text
        mine = [t for t in listed.json()["items"] if t["name"] == task]
        assert len(mine) == 1, (username, task, [t["name"] for t in listed.json()["items"]])
        found = mine[0]
        assert found["can_act"] is True
        if claim:
            claimed = client.post(f"/api/v1/tasks/{found['id']}/claim")
            assert claimed.status_code == 200 and claimed.json()["assignee"] == username, claimed.text
        done = client.post(f"/api/v1/tasks/{found['id']}/complete", json={"data": data})
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["task"]["completed_by"] == username
        assert body["instance"]["status"] == "running" or body["instance"]["open_tasks"] == []
        return body["instance"]

    def waiting(self) -> list[str]:
        body = self.api("elodie").get(f"/api/v1/instances/{self.instance_id}").json()
        return sorted(t["name"] for t in body["open_tasks"])

    def at(self, moment: str) -> None:
        """The clock moves to `moment` and the worker fires what is due."""
        self.clock.set(datetime.fromisoformat(moment).replace(tzinfo=timezone.utc))
        assert self.clock.fire_timers(self.instance_id)

    def finish(self, starter: str) -> dict:
        client = self.api(starter)
        body = client.get(f"/api/v1/instances/{self.instance_id}").json()
        assert (body["status"], body["end_state"], body["open_tasks"]) == ("completed", "completed", [])
        assert body["ended_at"] is not None and body["approved_at"] is not None
        history = client.get(f"/api/v1/instances/{self.instance_id}/history", params={"page_size": 200}).json()
        types = [e["type"] for e in history["items"]]
        assert types[0] == "instance_started" and types[-1] == "instance_completed"
        svg = client.get(f"/api/v1/instances/{self.instance_id}/diagram.svg").text
        assert re.search(r'class="[^"]*\bdone\b[^"]*" data-element-id="end_completed"', svg)
        assert self.api("antoine").get("/api/v1/audit/verify").json()["ok"] is True
        return body


@pytest.fixture
def walk(api, app):
    return Walk(api, FrozenClock(app, MONDAY))


def test_temporary_support_mission(walk):
    walk.start("nadia", "temporary_support_mission")
    mission = {"title": "Appui au plan vélo", "project": "Plan vélo départemental",
               "objectives": "Cartographier les usages et préparer la concertation",
               "expertise_level": "intermediate", "time_share": 20, **MISSION, "agent": "thomas",
               "is_project_support": True}
    walk.do("nadia", "describe_mission", mission)
    walk.do("luc", "coordinator_review", {"decision": "rework", "comment": "Précisez les objectifs."})
    walk.do("nadia", "describe_mission", {**mission, "objectives": "Cartographier les usages, deux ateliers"})
    walk.do("luc", "coordinator_review", {"decision": "approve"})
    assert walk.waiting() == ["agent_consent", "release_agreement"]
    walk.do("thomas", "agent_consent", {"decision": "accept"})
    walk.do("julien", "release_agreement", {"decision": "approve"})
    walk.do("sophie", "hr_record", {"working_time_arrangement": "Le jeudi, hors périodes de viabilité hivernale"},
            claim=True)
    after = walk.do("claire", "dgs_signature", {"decision": "sign"})
    assert after["approved_at"] is not None and after["open_tasks"] == []
    walk.at("2027-07-31T06:00:00")
    assert walk.waiting() == ["agent_feedback", "host_feedback"]
    feedback = {"skills_gained": "Animation d'ateliers", "collective_effects": "Lien DMOB-DSOL", "belonging": "4",
                "recommend": True}
    walk.do("thomas", "agent_feedback", feedback)
    walk.do("nadia", "host_feedback", {**feedback, "belonging": "5"})
    walk.do("julien", "annual_review_note", {"recognition_note": "Mission d'appui réussie, à valoriser."})
    body = walk.finish("nadia")
    assert body["data"]["agent_feedback_answers"]["belonging"] == "4"


def test_end_of_career_mission(walk):
    walk.start("sophie", "end_of_career_mission")
    walk.do("sophie", "describe_need", {
        "title": "Transmission sur les marchés publics", "host_unit": "Service des routes", "host_manager": "julien",
        "description": "Partager vingt ans de pratique des marchés de travaux", "time_share": 20, **MISSION,
        "agent": "marie"})
    walk.do("karim", "matching_meeting", {"met_on": "2027-01-12", "outcome": "go", "notes": "Bonne entente"},
            claim=True)
    assert walk.waiting() == ["agent_consent", "host_confirmation", "release_agreement"]
    walk.do("marie", "agent_consent", {"decision": "accept"})
    walk.do("nadia", "release_agreement", {"decision": "approve"})
    walk.do("julien", "host_confirmation", {"decision": "confirm"})
    walk.do("sophie", "workload_plan", {"workload_adjustment": "Dossiers courants confiés à Léa"})
    walk.at("2027-05-02T08:00:00")  # past the midpoint of the mission
    walk.do("karim", "hr_follow_up", {"follow_up_notes": "Tout va bien", "workload_ok": True})
    walk.at("2027-07-31T08:00:00")
    feedback = {"skills_gained": "Transmission", "belonging": "5", "recommend": True}
    walk.do("marie", "agent_feedback", feedback)
    walk.do("julien", "host_feedback", feedback)
    walk.do("sophie", "hr_debrief", {"debrief_notes": "Une réussite", "recognition_note": "Valorisée"})
    walk.finish("sophie")


def test_skills_sponsorship(walk):
    walk.start("thomas", "skills_sponsorship")
    after = walk.do("thomas", "propose_mission", {
        "host_organisation": "restos-isere", "mission_description": "Organiser la logistique des collectes",
        "previous_duties": "Agent d'exploitation des routes, sans lien avec l'association", "time_share": 20,
        **MISSION, "reimbursed": False, "estimated_value_eur": 30000})
    assert after["data"]["subsidy_convention_required"] is True
    walk.do("julien", "manager_opinion", {"decision": "approve", "workload_arrangement": "Le vendredi"})
    walk.do("ines", "ethics_check", {"decision": "compatible", "duties_reviewed": True})
    walk.do("karim", "draft_convention", {
        "activities": "Logistique", "place": "Entrepôt de Fontaine", "hours": "Vendredi 9h-17h",
        "reimbursement_terms": "Non remboursée", "renewal_and_termination": "Fin anticipée sur préavis d'un mois",
        "duties_reminder": "Obligations de discrétion et de neutralité",
        "subsidy_convention_terms": "Convention de subvention jointe"}, claim=True)
    walk.do("hugo", "host_agreement", {"decision": "accept", "met_agent_on": "2027-01-15"})
    walk.do("thomas", "agent_written_agreement", {"agree": True})
    walk.do("claire", "sign_decision", {"decision": "sign"})
    walk.at("2027-07-31T08:00:00")
    assert walk.waiting() == ["agent_feedback", "host_report"]
    walk.do("hugo", "host_report", {"host_assessment": "Très utile", "would_host_again": True})
    walk.do("thomas", "agent_feedback", {"skills_gained": "Logistique", "belonging": "4"})
    walk.do("sophie", "hr_close", {"recognition_note": "Engagement reconnu à l'entretien annuel"})
    walk.finish("thomas")


def test_mission_exchange(walk):
    walk.start("thomas", "mission_exchange")
    walk.do("thomas", "post_need", {"title": "Aide sur un tableau de bord", "description": "Suivi des chantiers",
                                    "skills_wanted": "Tableur", "effort_days": 3, "deadline": "2027-01-20"})
    listed = walk.api("thomas").get("/api/v1/tasks", params={"instance": walk.instance_id}).json()
    assert listed["items"] == []  # the requester cannot volunteer for their own need
    after = walk.do("pierre", "apply", {"motivation": "J'aime les tableurs"})
    assert after["data"]["volunteer"] == "pierre"
    walk.do("thomas", "conversation", {"outcome": "go", "met_on": "2027-01-06"})
    walk.do("julien", "manager_approval", {"decision": "approve", "workload_arrangement": "Trois mardis"})
    walk.do("pierre", "mission_done", {"days_spent": 3, "summary": "Tableau livré"})
    walk.do("thomas", "requester_feedback", {"thanks": "Merci Pierre !", "recommend": True})
    walk.finish("thomas")
