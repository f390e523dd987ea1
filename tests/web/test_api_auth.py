"""Signing in for API tokens, using and revoking them, and who am I — over real HTTP."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from engine import clock, unit_of_work
from engine.models import ApiToken, AuditEvent, User

from .api_helpers import assert_error


def _events(app, type_: str) -> list[AuditEvent]:
    with unit_of_work(app.extensions["passerelle.sessions"]) as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.type == type_).order_by(AuditEvent.id)))
        session.expunge_all()
        return rows


def test_sign_in_returns_a_token_that_opens_the_api(api, app):
    client = api()
    response = client.post("/api/v1/auth/token", json={"username": "nadia", "password": "demo"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() == timedelta(0)
    assert timedelta(hours=11) < expires - clock.now() <= timedelta(hours=12)
    assert "Set-Cookie" not in response.headers

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json() == {"username": "nadia", "name": "Nadia Benali", "email": me.json()["email"],
                         "roles": ["agent", "manager", "project_lead"], "directorate": "DSOL",
                         "directorate_name": "Direction des solidarités", "manager": "claire"}

    signed_in = _events(app, "user_signed_in")
    assert [(e.actor, e.data["via"], e.data["address"]) for e in signed_in] == [("nadia", "api", "127.0.0.1")]


@pytest.mark.parametrize("username, password", [("nadia", "wrong"), ("nobody", "demo")])
def test_wrong_credentials_are_refused_and_recorded(api, app, username, password):
    response = api().post("/api/v1/auth/token", json={"username": username, "password": password})
    body = assert_error(response, 401)
    assert body["message"] == "wrong username or password"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    failed = _events(app, "sign_in_failed")
    assert [(e.actor, e.data) for e in failed] == [(username, {"via": "api", "address": "127.0.0.1"})]
    assert _events(app, "user_signed_in") == []


def test_an_inactive_account_cannot_sign_in(api, app):
    with unit_of_work(app.extensions["passerelle.sessions"]) as session:
        session.execute(update(User).where(User.username == "lea").values(active=False))
    assert_error(api().post("/api/v1/auth/token", json={"username": "lea", "password": "demo"}), 401)


def test_sign_in_needs_both_fields(api):
    body = assert_error(api().post("/api/v1/auth/token", json={"username": "nadia"}), 422, "password")
    assert body["errors"]["password"] == ["Missing data for required field."]
    assert_error(api().post("/api/v1/auth/token", json={"username": "x" * 65, "password": "demo"}), 422, "username")
    assert_error(api().post("/api/v1/auth/token", json={"username": "a\x00b", "password": "demo"}), 422, "username")


def test_malformed_json_is_a_400(api):
    response = api().post("/api/v1/auth/token", data='{"username": "nadia", ',
                          headers={"Content-Type": "application/json"})
    body = assert_error(response, 400)
    assert body["message"] == "the request body is not valid JSON: Expecting property name enclosed in double quotes"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ", "Basic bmFkaWE6ZGVtbw==", "Bearer not-a-token",
                                    "Token abc"])
def test_every_endpoint_but_sign_in_needs_a_live_token(api, header):
    client = api()
    headers = {"Authorization": header} if header is not None else {}
    for path in ("/api/v1/me", "/api/v1/processes", "/api/v1/instances", "/api/v1/tasks", "/api/v1/audit/events",
                 "/api/v1/instances/1", "/api/v1/tasks/1"):
        response = client.get(path, headers=headers)
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(client.post("/api/v1/instances", json={"process": "x"}, headers=headers), 401)
    assert_error(client.delete("/api/v1/auth/token", headers=headers), 401)


def test_a_revoked_token_is_refused(api):
    client = api("thomas")
    assert client.get("/api/v1/me").status_code == 200
    response = client.delete("/api/v1/auth/token")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get("/api/v1/me"), 401)
    other = api("thomas")  # another token of the same person still works
    assert other.get("/api/v1/me").json()["username"] == "thomas"


def test_an_expired_token_is_refused(api, app):
    client = api("thomas")
    with unit_of_work(app.extensions["passerelle.sessions"]) as session:
        session.execute(update(ApiToken).values(expires_at=clock.now() - timedelta(seconds=1)))
    response = client.get("/api/v1/me")
    body = assert_error(response, 401)
    assert "expired" in body["message"]
    assert "invalid_token" in response.headers["WWW-Authenticate"]
