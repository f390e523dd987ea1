"""Starting a request, my requests with their status and next step, one request's story and
diagram, and withdrawing it (with a confirmation)."""
from __future__ import annotations

import re

import pytest

from .page_client import Person, assert_error_page, open_task, start_support_mission, text_of


def test_the_start_page_explains_only_what_i_may_start(app):
    nadia = Person(app.test_client(), "nadia")  # project lead: may start a temporary support mission
    page = nadia.page("/requests/new")
    text = text_of(page)
    assert "Mission d'appui temporaire à un projet" in text
    assert "Pour qui ?" in text and "Et ensuite ?" in text and "Combien de temps ?" in text
    assert "Deux à cinq semaines entre la demande et la signature" in text
    assert "Bourse aux missions" in text  # every agent may post a need
    assert "Mission courte de fin de carrière" not in text  # that one is started by HR
    assert 'action="/requests/new/temporary_support_mission"' in page
    assert "For process owners" not in text and "task id" not in text  # the README's technical part stays out
    thomas = Person(app.test_client(), "thomas").text("/requests/new")
    assert "Mission d'appui temporaire à un projet" not in thomas
    assert "Bourse aux missions" in thomas


def test_starting_a_process_i_may_not_start_is_refused(app):
    thomas = Person(app.test_client(), "thomas")
    text = assert_error_page(thomas.post("/requests/new/temporary_support_mission"), 403)
    assert "Vous n’avez pas accès à cette page" in text
    assert_error_page(thomas.post("/requests/new/no_such_process"), 404)


def test_the_start_page_speaks_english_too(app):
    text = Person(app.test_client(), "nadia", language="en").text("/requests/new")
    assert "Who is it for?" in text and "How long does it take?" in text
    assert "Two to five weeks from request to signature." in text


def test_my_requests_show_status_and_next_step(app):
    nadia = Person(app.test_client(), "nadia")
    instance_id, _ = start_support_mission(nadia)
    text = nadia.text("/requests")
    assert "Refonte du site des solidarités" in text
    assert "En validation" in text  # its phase, in words
    assert "En attente : Avis de la coordination (la coordination)" in text
    # The agent asked for takes part once the step reaches them.
    luc = Person(app.test_client(), "luc")
    luc.post(f"/tasks/{open_task(app, 'luc', 'coordinator_review')}", {"decision": "approve"})
    thomas = Person(app.test_client(), "thomas").text("/requests")
    assert "Refonte du site des solidarités" in thomas
    assert "Accord de l’agent (Thomas Girard)" in thomas or "Accord de l'agent (Thomas Girard)" in thomas
    assert "Accord du manager (Julien Moreau)" in thomas


def test_a_request_page_tells_its_story_and_shows_where_it_waits(app):
    nadia = Person(app.test_client(), "nadia")
    instance_id, _ = start_support_mission(nadia)
    page = nadia.page(f"/requests/{instance_id}")
    text = text_of(page)
    assert "En attente : Avis de la coordination (la coordination)" in text
    assert "Ce qui s’est passé" in text
    assert "Demande créée — Nadia Benali" in text
    assert "Étape faite : Décrire la mission — Nadia Benali" in text
    assert "Règles vérifiées : Vérifier l'éligibilité — Passerelle Résultat toutes les règles sont respectées" in text
    # The diagram, and the same facts in words for those who cannot see it.
    assert f'<img src="/requests/{instance_id}/diagram.svg" alt="Diagramme du processus' in page
    assert "Étapes faites Décrire la mission En attente maintenant Avis de la coordination" in text
    svg = nadia.get(f"/requests/{instance_id}/diagram.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert "script-src" not in svg.headers["Content-Security-Policy"]
    body = svg.get_data(as_text=True)
    assert re.search(r'class="[^"]*waiting[^"]*"[^>]*data-element-id="coordinator_review"', body) or \
        re.search(r'data-element-id="coordinator_review"[^>]*class="[^"]*waiting', body)


def test_a_request_i_am_not_part_of_is_not_found(app):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    pierre = Person(app.test_client(), "pierre")
    assert "Page introuvable" in assert_error_page(pierre.get(f"/requests/{instance_id}"), 404)
    assert_error_page(pierre.get(f"/requests/{instance_id}/diagram.svg"), 404)
    assert_error_page(pierre.get(f"/requests/{instance_id}/withdraw"), 404)


def test_withdrawing_asks_for_confirmation_and_a_reason(app):
    nadia = Person(app.test_client(), "nadia")
    instance_id, _ = start_support_mission(nadia)
    assert "Retirer ma demande" in nadia.text(f"/requests/{instance_id}")
    text = nadia.text(f"/requests/{instance_id}/withdraw")
    assert "va s’arrêter" in text and "C’est définitif." in text and "Non, la garder" in text
    response = nadia.post(f"/requests/{instance_id}/withdraw", {"reason": "  "})
    assert response.status_code == 422
    assert "Pourquoi ? : Dites pourquoi, en quelques mots." in text_of(response.get_data(as_text=True)) or \
        "Dites pourquoi, en quelques mots." in text_of(response.get_data(as_text=True))
    response = nadia.post(f"/requests/{instance_id}/withdraw", {"reason": "Le projet est reporté."})
    assert response.status_code == 303
    text = nadia.text(response.location)
    assert "La demande est retirée." in text
    assert "Retirée" in text and "Motif Le projet est reporté." in text
    assert "Retirer ma demande" not in text
    assert "Retirée" in nadia.text("/requests")
    # The coordination's step is gone from their list.
    assert "Rien n’attend vos groupes." in Person(app.test_client(), "luc").text("/")


def test_only_the_starter_or_hr_may_stop_a_request(app):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    luc = Person(app.test_client(), "luc")
    luc.post(f"/tasks/{open_task(app, 'luc', 'coordinator_review')}", {"decision": "approve"})
    # Luc took part, so he sees the request, but he may not withdraw it.
    assert "Retirer ma demande" not in luc.text(f"/requests/{instance_id}")
    text = assert_error_page(luc.get(f"/requests/{instance_id}/withdraw"), 403)
    assert "Seule la personne qui a fait cette demande, ou les RH, peut l’arrêter." in text
    assert_error_page(luc.post(f"/requests/{instance_id}/withdraw", {"reason": "non"}), 403)
    # HR may cancel it.
    sophie = Person(app.test_client(), "sophie")
    assert "Annuler cette demande" in sophie.text(f"/requests/{instance_id}")
    response = sophie.post(f"/requests/{instance_id}/withdraw", {"reason": "Doublon"})
    assert "La demande est annulée." in sophie.text(response.location)


@pytest.mark.parametrize("page", ["99999999999999999999999", "0", "2", "x"])
def test_a_page_of_my_requests_that_does_not_exist_says_so(app, page):
    nadia = Person(app.test_client(), "nadia")
    text = assert_error_page(nadia.get(f"/requests?page={page}"), 404)
    assert "Cette liste n’a pas de page de ce numéro. Revenez à sa première page." in text
    english = Person(app.test_client(), "nadia", language="en")
    assert "This list has no such page." in assert_error_page(english.get(f"/requests?page={page}"), 404)
    assert nadia.get("/requests?page=1").status_code == 200 and nadia.get("/requests").status_code == 200
