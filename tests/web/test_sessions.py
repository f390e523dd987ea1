"""Signing out ends the session for good: a copy of the session cookie taken before no longer works."""
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
