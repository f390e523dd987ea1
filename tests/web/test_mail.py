"""The e-mails people receive are worded by the web (web/templates/mail/), in the language set by
MAIL_LANGUAGE: French by default, word for word what people have always received, with links to
the site's public address; English on request, with no French left in it."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine import OutboxMessage, notifications
from engine.mailer import SmtpSettings
from engine.timers import WorkerSettings, run_worker
from tests.support.smtp import smtp_server  # noqa: F401 - a fixture
from web import create_app
from web.mail import MailTexts

from .conftest import SETTINGS
from .page_client import Person, sessions, start_support_mission

BASE_URL = "https://passerelle.example.gouv.fr"
TASK = {"name": "Julien Moreau", "request": "Renfort au service des routes", "task": "Avis du manager",
        "task_id": 12, "mine": True, "due": date(2027, 6, 6)}
DECISION = {"name": "Thomas Girard", "actor": "Julien Moreau", "request": "Renfort au service des routes",
            "task": "Avis du manager", "decision": "Refuser", "comment": "Pas cette année.", "instance_id": 7}
ENDED = {"name": "Thomas Girard", "request": "Renfort au service des routes", "end_state": "rejected",
         "instance_id": 7}


@pytest.mark.parametrize("kind, params, expected", [
    ("task_assigned", TASK, (
        "Tâche à traiter : Avis du manager",
        "Bonjour Julien Moreau,\n\nUne tâche vous est confiée dans la demande « Renfort au service des routes » :"
        "\n\n    Avis du manager\n    à faire avant le 06/06/2027\n\nPour la traiter : {base_url}/tasks/12\n")),
    ("task_assigned", {**TASK, "mine": False, "due": None}, (
        "Tâche à traiter : Avis du manager",
        "Bonjour Julien Moreau,\n\nUne tâche attend une personne de votre groupe dans la demande « Renfort au "
        "service des routes » :\n\n    Avis du manager\n\nPour la traiter : {base_url}/tasks/12\n")),
    ("reminder", TASK, (
        "Rappel : Avis du manager avant le 06/06/2027",
        "Bonjour Julien Moreau,\n\nLa tâche « Avis du manager » de la demande « Renfort au service des routes » "
        "est à faire avant le 06/06/2027.\n\nPour la traiter : {base_url}/tasks/12\n")),
    ("decision", DECISION, (
        "Décision sur votre demande : Refuser",
        "Bonjour Thomas Girard,\n\nJulien Moreau a rendu sa décision sur « Avis du manager » pour votre demande "
        "« Renfort au service des routes » : Refuser.\n\nCommentaire : Pas cette année.\n\n"
        "Votre demande : {base_url}/requests/7\n")),
    ("decision", {**DECISION, "comment": ""}, (
        "Décision sur votre demande : Refuser",
        "Bonjour Thomas Girard,\n\nJulien Moreau a rendu sa décision sur « Avis du manager » pour votre demande "
        "« Renfort au service des routes » : Refuser.\n\nVotre demande : {base_url}/requests/7\n")),
    ("instance_ended", ENDED, (
        "Votre demande a été refusée : Renfort au service des routes",
        "Bonjour Thomas Girard,\n\nVotre demande « Renfort au service des routes » a été refusée.\n\n"
        "Son historique : {base_url}/requests/7\n")),
    ("instance_ended", {**ENDED, "end_state": "declined"}, (
        "Votre demande est terminée (declined) : Renfort au service des routes",
        "Bonjour Thomas Girard,\n\nVotre demande « Renfort au service des routes » est terminée (declined).\n\n"
        "Son historique : {base_url}/requests/7\n")),
])
def test_french_mail_is_what_people_have_always_received(kind, params, expected):
    assert MailTexts("fr")(kind, params, "someone") == expected


FRENCH = ("Bonjour", "tâche", "demande", "Pour la traiter", "avant le", "Rappel", "Décision", "Commentaire",
          "historique", "été", " : ")


@pytest.mark.parametrize("end_state", ["completed", "approved", "rejected", "expired", "withdrawn", "cancelled",
                                       None])
def test_every_kind_has_its_words_in_both_languages(end_state):
    reminder = {key: value for key, value in TASK.items() if key != "mine"}
    samples = {"task_assigned": TASK, "reminder": reminder, "decision": {**DECISION, "comment": "ok"},
               "instance_ended": {**ENDED, "end_state": end_state}}
    assert set(samples) == set(notifications.MAIL_KINDS)
    for kind, params in samples.items():
        assert set(params) == set(notifications.MAIL_KINDS[kind])
        french = MailTexts("fr")(kind, params, "someone")
        english = MailTexts("en")(kind, params, "someone")
        assert french != english
        words = " ".join(english).replace(params["request"], "").replace(params.get("task", ""), "")
        assert not [w for w in FRENCH if w in words], english
        assert "{base_url}/" in french[1] and "{base_url}/" in english[1]


def worker_settings(smtp_server):
    return WorkerSettings(smtp=SmtpSettings(host="127.0.0.1", port=smtp_server.port, base_url=BASE_URL),
                          max_attempts=3, backoff_seconds=60, reminder_hours=0)


def test_the_worker_sends_french_mail_with_links_to_the_site(app, smtp_server):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    with sessions(app)() as s:
        queued = s.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == instance_id)).all()
    assert queued and all(m.subject.startswith("Tâche à traiter : ") for m in queued)
    report = run_worker(sessions(app), worker_settings(smtp_server), once=True)
    assert report.messages_sent == len(queued)
    mails = smtp_server.wait_for(len(queued))
    for mail in mails:
        body = mail.get_content()
        assert body.startswith("Bonjour ") and "dans la demande « Refonte du site des solidarités » :" in body
        assert f"Pour la traiter : {BASE_URL}/tasks/" in body and "{base_url}" not in body


def test_mail_language_english(app, smtp_server):
    english = create_app({**SETTINGS, "DATABASE_URL": app.config["DATABASE_URL"], "MAIL_LANGUAGE": "en"})
    try:
        instance_id, _ = start_support_mission(Person(english.test_client(), "nadia"))
        run_worker(sessions(english), worker_settings(smtp_server), once=True)
        [mail, *_] = smtp_server.wait_for(1)
        assert mail["Subject"].startswith("Task to handle: ")
        body = mail.get_content()
        assert body.startswith("Hello ") and "in the request “Refonte du site des solidarités”:" in body
        assert f"To handle it: {BASE_URL}/tasks/" in body
    finally:
        english.extensions["passerelle.db"].dispose()
        create_app({**SETTINGS, "DATABASE_URL": app.config["DATABASE_URL"]}).extensions["passerelle.db"].dispose()


def test_an_unknown_mail_language_is_refused_at_start(tmp_path):
    with pytest.raises(RuntimeError, match="MAIL_LANGUAGE"):  # before anything opens the database
        create_app({**SETTINGS, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}", "MAIL_LANGUAGE": "de"})
