"""Signing out ends the session for good: a copy of the session cookie taken before, and every API
token, no longer work."""
from __future__ import annotations

from .page_client import Person


def test_a_copied_session_cookie_dies_with_sign_out(app):
    person = Person(app.test_client(), "nadia")
    assert person.get("/").status_code == 200
    stolen = app.test_client()
    cookie = person.client.get_cookie("session")
    stolen.set_cookie("session", cookie.value)
    assert stolen.get("/").status_code == 200  # the copy works while nadia is signed in

    response = person.post("/logout")
    assert response.status_code == 303

    replay = stolen.get("/")
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]
    again = Person(app.test_client(), "nadia")  # signing in again works
    assert again.get("/").status_code == 200


def test_signing_out_of_the_pages_revokes_every_api_token_too(app):
    api = app.test_client()
    tokens = [api.post("/api/v1/auth/token", json={"username": "nadia", "password": "demo"}).get_json()["token"]
              for _ in range(2)]
    other = api.post("/api/v1/auth/token", json={"username": "thomas", "password": "demo"}).get_json()["token"]
    for token in tokens:
        assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    assert Person(app.test_client(), "nadia").post("/logout").status_code == 303

    for token in tokens:
        answer = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401 and answer.get_json()["code"] == 401
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"}).status_code == 200  # only hers
    fresh = api.post("/api/v1/auth/token", json={"username": "nadia", "password": "demo"}).get_json()["token"]
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
