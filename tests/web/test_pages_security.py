"""Every form needs its CSRF token; errors are pages people can read (never a stack trace); pages
carry no inline script or style (the CSP forbids them) and are never kept in a cache."""
from __future__ import annotations

import io
import re

import pytest

from engine import queries

from .page_client import Person, assert_error_page, open_task, start_support_mission

PAGE_BLUEPRINTS = ("auth", "tasks", "requests", "processes", "audit")
SAMPLE_ARGS = {"task_id": 1, "instance_id": 1, "key": "mission_exchange", "number": 1, "token": "abc",
               "filename": "x.bpmn", "fmt": "csv", "kind": "message", "incident_id": 1, "proposed_id": 1}


def post_routes(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in PAGE_BLUEPRINTS and "POST" in rule.methods:
            urls.append(rule.build({a: SAMPLE_ARGS[a] for a in rule.arguments})[1])
    return urls


def test_every_form_needs_its_csrf_token(app):
    urls = post_routes(app)
    assert len(urls) == 14, urls  # sign in/out, language, task, claim, release, start, withdraw, upload x3, retry,
    # approve or reject a proposed version
    person = Person(app.test_client(), "elodie")
    for url in urls:
        text = assert_error_page(person.post(url, {"lang": "en", "username": "x", "password": "y"}, csrf=False), 400)
        assert "Ce formulaire n’a pas pu être envoyé" in text, url


def test_a_wrong_token_is_refused_too(app):
    person = Person(app.test_client(), "nadia")
    response = person.post("/requests/new/temporary_support_mission", {"csrf_token": "forged"})
    assert_error_page(response, 400)


def test_unknown_pages_and_methods(app):
    person = Person(app.test_client(), "nadia")
    assert "Page introuvable" in assert_error_page(person.get("/no/such/page"), 404)
    assert_error_page(person.get("/tasks/999999"), 404)
    assert_error_page(person.get("/requests/999999"), 404)
    assert_error_page(person.get("/requests/new/mission_exchange"), 405)


def test_the_api_keeps_its_json_errors(app):
    response = app.test_client().get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json


def test_a_crash_shows_a_calm_page(app, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    person = Person(app.test_client(), "nadia")

    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(queries, "tasks", broken)
    text = assert_error_page(person.get("/"), 500)
    assert "Un problème est survenu de notre côté" in text
    assert "secret internal detail" not in text and "RuntimeError" not in text


def test_a_conflict_explains_what_happened(app):
    nadia = Person(app.test_client(), "nadia")
    _, task_id = start_support_mission(nadia)
    text = assert_error_page(nadia.post(f"/tasks/{task_id}/claim"), 409)  # done meanwhile
    assert "Quelqu’un d’autre a agi au même moment" in text


def test_a_file_too_large_is_refused_with_a_page(app):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    luc = Person(app.test_client(), "luc")
    luc.fresh_token()
    response = luc.post("/processes/upload", {"files": [(io.BytesIO(b"x" * 5000), "big.bpmn")]},
                        content_type="multipart/form-data")
    assert "Le fichier est trop gros" in assert_error_page(response, 413)


@pytest.mark.parametrize("username, urls", [
    ("nadia", ["/", "/requests", "/requests/new", "/requests/{i}", "/requests/{i}/withdraw", "/login"]),
    ("luc", ["/tasks/{t}", "/processes", "/processes/mission_exchange", "/processes/mission_exchange/versions/1",
             "/processes/upload"]),
    ("antoine", ["/audit", "/audit/requests/{i}"]),
])
def test_pages_have_no_inline_script_or_style_and_a_strict_policy(app, username, urls):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    task_id = open_task(app, "luc", "coordinator_review")
    person = Person(app.test_client(), username)
    for url in urls:
        response = person.get(url.format(i=instance_id, t=task_id))
        page = response.get_data(as_text=True)
        assert response.status_code in (200, 302), url
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), url
        assert " style=" not in page and "<style" not in page, url
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        if response.status_code == 200:
            assert '<main id="main"' in page and '<a class="skip-link" href="#main">' in page
            assert re.search(r'<html lang="(fr|en)">', page)


def test_signed_in_pages_and_personal_answers_are_never_kept_in_a_cache(app):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    nadia = Person(app.test_client(), "nadia")
    for url in ("/", "/requests", f"/requests/{instance_id}", f"/requests/{instance_id}/diagram.svg"):
        response = nadia.get(url)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store", url
    antoine = Person(app.test_client(), "antoine")
    for url in ("/audit", "/audit/events.csv", f"/audit/requests/{instance_id}/trace.json"):
        assert antoine.get(url).headers["Cache-Control"] == "no-store", url
    api = app.test_client()
    token = api.post("/api/v1/auth/token", json={"username": "nadia", "password": "demo"}).get_json()["token"]
    for url in ("/api/v1/me", f"/api/v1/instances/{instance_id}"):
        assert api.get(url, headers={"Authorization": f"Bearer {token}"}).headers["Cache-Control"] == "no-store"
    static = nadia.get("/static/passerelle.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")  # the same for everyone: may be kept
    static.close()
