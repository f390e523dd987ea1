"""Uploaded files waiting for their uploader's confirmation live in the database: any server behind
the load balancer answers the review, the diagram and the confirmation; only the uploader sees
them; they last a day, and expired ones are deleted (at the next upload, and by the worker)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import (NotFound, PermissionDenied, SmtpSettings, StagedFile, StagedUpload, WorkerSettings, find_user,
                    frozen_at, get_staged_upload, now, run_worker, stage_upload, unit_of_work)
from tests.support.smtp import smtp_server  # noqa: F401 - a fixture
from web import create_app

from .conftest import SETTINGS
from .page_client import Person, assert_error_page, sessions
from .test_pages_processes import EXCHANGE, changed_exchange, upload


@pytest.fixture
def other_server(app, database_url, tmp_path):
    """A second server on the same database, with its own instance folder (another machine)."""
    other = create_app({**SETTINGS, "DATABASE_URL": database_url, "AUTO_SETUP": False})
    other.instance_path = str(tmp_path / "other-instance")
    yield other
    other.extensions["passerelle.db"].dispose()


def same_browser_on(server, person: Person) -> Person:
    """`person`'s browser (its session cookie) with its next requests sent to `server`."""
    client = server.test_client()
    client.set_cookie("session", person.client.get_cookie("session").value)
    moved = Person(client)
    moved.username = person.username
    return moved


def staged_rows(app) -> list[tuple[str, str]]:
    with sessions(app)() as s:
        return s.execute(select(StagedUpload.owner, StagedUpload.token).order_by(StagedUpload.id)).all()


def staged_at(app, review_url: str):
    with sessions(app)() as s:
        return s.scalar(select(StagedUpload.created_at).where(StagedUpload.token == review_url.rsplit("/", 1)[1]))


def test_an_upload_made_on_one_server_is_confirmed_on_another(app, other_server):
    luc = Person(app.test_client(), "luc")
    review_url = upload(luc, {"mission_exchange.bpmn": changed_exchange()}, "Un lieu pour chaque besoin").location
    there = same_browser_on(other_server, luc)
    text = there.text(review_url)
    assert "Ce qui change par rapport à la version 1" in text and "mission_exchange.bpmn" in text
    diagram = there.get(review_url + "/diagram.svg")
    assert diagram.status_code == 200 and diagram.mimetype == "image/svg+xml"
    response = there.post(review_url, {"comment": "Un lieu pour chaque besoin"})
    assert response.status_code == 303 and response.location == "/processes/mission_exchange"
    assert "La version 2 de « Bourse aux missions » est déployée" in there.text(response.location)
    # used: gone for every server
    assert_error_page(luc.get(review_url), 404)
    assert_error_page(there.get(review_url), 404)
    assert staged_rows(app) == []


def test_an_upload_made_on_one_server_is_discarded_on_another(app, other_server):
    luc = Person(app.test_client(), "luc")
    review_url = upload(luc, {"mission_exchange.bpmn": changed_exchange()}).location
    there = same_browser_on(other_server, luc)
    response = there.post(review_url + "/discard")
    assert response.status_code == 303
    assert "Rien n’a été déployé." in there.text(response.location)
    assert_error_page(luc.get(review_url), 404)
    assert staged_rows(app) == []
    assert "version 2" not in luc.text("/processes/mission_exchange")


def test_staged_files_last_a_day(app):
    luc = Person(app.test_client(), "luc")
    review_url = upload(luc, {"mission_exchange.bpmn": changed_exchange()}).location
    at = staged_at(app, review_url)
    with frozen_at(at + timedelta(hours=23, minutes=59)):
        assert "Ce qui change par rapport à la version 1" in luc.text(review_url)
        assert luc.get(review_url + "/diagram.svg").status_code == 200
    with frozen_at(at + timedelta(days=1, seconds=1)):
        assert_error_page(luc.get(review_url), 404)
        assert_error_page(luc.get(review_url + "/diagram.svg"), 404)
        assert_error_page(luc.post(review_url, {"comment": "trop tard"}), 404)
        assert_error_page(luc.post(review_url + "/discard"), 404)
    assert "version 2" not in luc.text("/processes/mission_exchange")
    # the lifetime is a setting
    app.config["STAGED_UPLOAD_HOURS"] = 1
    with frozen_at(at + timedelta(minutes=59)):
        assert luc.get(review_url).status_code == 200
    with frozen_at(at + timedelta(minutes=61)):
        assert_error_page(luc.get(review_url), 404)


def test_another_persons_token_is_not_found(app):
    elodie = Person(app.test_client(), "elodie")  # admin: may deploy too
    review_url = upload(elodie, {"mission_exchange.bpmn": changed_exchange()}, "Le lieu d’Élodie").location
    luc = Person(app.test_client(), "luc")
    assert_error_page(luc.get(review_url), 404)
    assert_error_page(luc.get(review_url + "/diagram.svg"), 404)
    assert_error_page(luc.post(review_url, {"comment": "x"}), 404)
    assert_error_page(luc.post(review_url + "/discard"), 404)
    assert_error_page(luc.get(review_url + "x"), 404)
    # all still there for its uploader, as she left it
    assert [owner for owner, _ in staged_rows(app)] == ["elodie"]
    assert "Le lieu d’Élodie" in elodie.page(review_url)
    response = elodie.post(review_url, {"comment": "Le lieu d’Élodie"})
    assert response.status_code == 303 and response.location == "/processes/mission_exchange"


def test_the_engine_keeps_staged_files_for_their_owner(app):
    with unit_of_work(sessions(app)) as s:
        luc, elodie, thomas = (find_user(s, name) for name in ("luc", "elodie", "thomas"))
        token = stage_upload(s, luc, {"mission_exchange.bpmn": EXCHANGE, "a_rule.dmn": b"<dmn/>"}, "why").token
        with pytest.raises(PermissionDenied):
            stage_upload(s, thomas, {"mission_exchange.bpmn": EXCHANGE})
    with sessions(app)() as s:
        staged = get_staged_upload(s, token, find_user(s, "luc"))
        assert (staged.owner, staged.comment) == ("luc", "why")
        assert staged.bundle == {"a_rule.dmn": b"<dmn/>", "mission_exchange.bpmn": EXCHANGE}
        for token_tried, actor in ((token, elodie), ("", luc), ("../" + token, luc), (token + "\x00", luc),
                                   ("x" * 500, luc)):
            with pytest.raises(NotFound):
                get_staged_upload(s, token_tried, actor)


def test_expired_uploads_are_deleted_at_the_next_upload(app):
    luc = Person(app.test_client(), "luc")
    with frozen_at(now() - timedelta(hours=25)):
        old = upload(luc, {"mission_exchange.bpmn": changed_exchange()}).location
    with frozen_at(now() - timedelta(hours=20)):
        recent = upload(luc, {"mission_exchange.bpmn": changed_exchange()}).location
    assert len(staged_rows(app)) == 2
    new = upload(luc, {"mission_exchange.bpmn": changed_exchange()}).location
    assert [token for _, token in staged_rows(app)] == [url.rsplit("/", 1)[1] for url in (recent, new)]
    with sessions(app)() as s:
        assert s.scalar(select(func.count()).select_from(StagedFile)) == 2
    assert_error_page(luc.get(old), 404)
    assert luc.get(recent).status_code == 200


def test_the_worker_deletes_expired_uploads(app, smtp_server):
    luc = Person(app.test_client(), "luc")
    review_url = upload(luc, {"mission_exchange.bpmn": changed_exchange()}).location
    at = staged_at(app, review_url)
    settings = WorkerSettings(smtp=SmtpSettings(host="127.0.0.1", port=smtp_server.port), reminder_hours=0)
    assert run_worker(sessions(app), settings, once=True, now=at + timedelta(hours=23)).staged_uploads_purged == 0
    assert luc.get(review_url).status_code == 200
    report = run_worker(sessions(app), settings, once=True, now=at + timedelta(days=1, minutes=1))
    assert report.staged_uploads_purged == 1 and "1 expired staged upload(s) deleted" in str(report)
    assert staged_rows(app) == []
    with sessions(app)() as s:
        assert s.scalar(select(func.count()).select_from(StagedFile)) == 0
    assert_error_page(luc.get(review_url), 404)
