"""Helpers for the API tests: the error body, the small test diagram, a clock for the live server."""
from __future__ import annotations

from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path

from engine import frozen_at, run_due_timers, unit_of_work
from engine.models import Instance

DIAGRAMS = Path(__file__).resolve().parents[1] / "diagrams"
PROCESSES = Path(__file__).resolve().parents[2] / "processes"

#: a request of the test diagram that needs the manager's review (more than 2 days)
REQUEST = {"title": "Help the roads team", "days": 5, "start_date": "2030-01-07", "agent": "thomas",
           "urgent": False, "kind": "a"}


def assert_error(response, status: int, *fields: str) -> dict:
    """The response is the API's error body for `status`, naming `fields` among its errors."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["code"] == status
    assert body["status"] == HTTPStatus(status).phrase
    assert isinstance(body["message"], str) and body["message"].strip()
    assert "Traceback" not in response.text
    for field in fields:
        assert field in body.get("errors", {}), body
        assert all(isinstance(m, str) and m for m in body["errors"][field])
    return body


def bundle_files(bpmn: bytes | None = None) -> list:
    """The multipart `files` of the test diagram and its DMN table."""
    bpmn = bpmn or (DIAGRAMS / "approval_test.bpmn").read_bytes()
    return [("files", ("approval_test.bpmn", bpmn, "application/xml")),
            ("files", ("approval_rule.dmn", (DIAGRAMS / "approval_rule.dmn").read_bytes(), "application/xml"))]


def deploy_test_diagram(api) -> dict:
    """Deploy tests/diagrams/approval_test.bpmn through the API as the process owner luc."""
    response = api("luc").post("/api/v1/processes/deploy", files=bundle_files(), data={"comment": "for the tests"})
    assert response.status_code in (200, 201), response.text
    return response.json()


def start_request(client, data: dict | None = None) -> dict:
    """Start the test diagram and fill in its first form; returns the instance after it."""
    started = client.post("/api/v1/instances", json={"process": "approval_test", "data": {}})
    assert started.status_code == 201, started.text
    task = only_task(started.json(), "request")
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data or REQUEST})
    assert done.status_code == 200, done.text
    return done.json()["instance"]


def only_task(instance: dict, name: str) -> dict:
    """The one open task called `name` (its BPMN id) of an instance body."""
    found = [t for t in instance["open_tasks"] if t["name"] == name]
    assert len(found) == 1, [t["name"] for t in instance["open_tasks"]]
    return found[0]


class FrozenClock:
    """Runs every request of the live server at a chosen moment (the engine clock), and fires timers
    the way `passerelle worker` does. Timers and date rules then do not depend on the day the
    tests run."""

    def __init__(self, app, moment: datetime):
        self.app = app
        self.moment = moment
        inner = app.wsgi_app

        def wsgi(environ, start_response):
            with frozen_at(self.moment):
                return list(inner(environ, start_response))

        app.wsgi_app = wsgi

    def set(self, moment: datetime) -> None:
        self.moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def fire_timers(self, instance_id: int) -> bool:
        with frozen_at(self.moment), unit_of_work(self.app.extensions["passerelle.sessions"]) as session:
            return run_due_timers(session, session.get(Instance, instance_id))
