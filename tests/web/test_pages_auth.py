"""Signing in and out through the pages: the form, the audit trail, throttling, safe redirects."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models import AuditEvent
from web import create_app

from .page_client import TOKEN, Person, assert_error_page, sessions, text_of


def events(app, type_: str) -> list[AuditEvent]:
    with sessions(app)() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.type == type_).order_by(AuditEvent.id)))


def test_pages_need_a_signed_in_person(client):
    response = client.get("/requests")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


def test_sign_in_records_the_event_and_lands_on_my_tasks(app, client):
    person = Person(client)
    response = person.sign_in("nadia")
    assert response.location == "/"
    text = person.text("/")
    assert "Mes tâches" in text and "Nadia Benali" in text
    [event] = events(app, "user_signed_in")
    assert event.actor == "nadia"
    assert event.data == {"via": "web", "address": "127.0.0.1"}


def test_wrong_password_says_so_and_is_recorded(app, client):
    person = Person(client)
    token = TOKEN.search(person.page("/login")).group(1)
    response = client.post("/login", data={"username": "nadia", "password": "nope", "csrf_token": token})
    assert response.status_code == 401
    text = text_of(response.get_data(as_text=True))
    assert "Cet identifiant et ce mot de passe ne correspondent pas" in text
    assert 'value="nadia"' in response.get_data(as_text=True)  # the username is kept
    [event] = events(app, "sign_in_failed")
    assert (event.actor, event.data["via"]) == ("nadia", "web")
    assert person.get("/requests").status_code == 302  # still signed out


def test_empty_sign_in_names_each_field(client):
    person = Person(client)
    token = TOKEN.search(person.page("/login")).group(1)
    response = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert response.status_code == 422
    text = text_of(response.get_data(as_text=True))
    assert "Saisissez votre identifiant." in text and "Saisissez votre mot de passe." in text


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client):
    person = Person(client)
    token = TOKEN.search(person.page("/login?next=/requests")).group(1)
    response = client.post("/login", data={"username": "nadia", "password": "demo", "next": "/requests",
                                           "csrf_token": token})
    assert response.location == "/requests"
    person.sign_out()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        token = TOKEN.search(person.page("/login")).group(1)
        response = client.post("/login", data={"username": "nadia", "password": "demo", "next": target,
                                               "csrf_token": token})
        assert response.location == "/", target
        person.sign_out()


def test_sign_out_is_a_post_with_a_token(client):
    person = Person(client, "nadia")
    assert person.get("/logout").status_code == 405
    text = assert_error_page(person.post("/logout", csrf=False), 400)
    assert "Ce formulaire n’a pas pu être envoyé" in text
    assert person.get("/").status_code == 200  # still signed in
    response = person.sign_out()
    assert response.status_code == 303 and response.location == "/login"
    assert "Vous êtes déconnecté·e." in person.text("/login")
    assert person.get("/").status_code == 302


@pytest.fixture
def throttled_app(database_url, tmp_path):
    application = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40,
                              "RATELIMIT_ENABLED": True, "LOGIN_LIMIT": "3 per minute"})
    application.instance_path = str(tmp_path / "instance")
    yield application
    application.extensions["passerelle.db"].dispose()


def test_sign_in_is_throttled_per_account(throttled_app):
    client = throttled_app.test_client()
    person = Person(client)
    for _ in range(3):
        token = TOKEN.search(person.page("/login")).group(1)
        assert client.post("/login", data={"username": "claire", "password": "x", "csrf_token": token}).status_code == 401
    token = TOKEN.search(person.page("/login")).group(1)
    text = assert_error_page(client.post("/login", data={"username": "claire", "password": "demo",
                                                         "csrf_token": token}), 429)
    assert "Trop de tentatives" in text
    # Another account from elsewhere is not blocked by claire's failures.
    other = throttled_app.test_client()
    token = TOKEN.search(Person(other).page("/login")).group(1)
    response = other.post("/login", data={"username": "luc", "password": "demo", "csrf_token": token},
                          environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.status_code == 303
