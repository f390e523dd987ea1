"""A temporary support mission, from the project lead's request to the note in the agent's
annual review, through the pages, each person in turn — with a validation error on the way."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import choose, decide, fire_timers, in_days, open_my_task, request_id_of, send

pytestmark = pytest.mark.browser
TITLE = "Refonte du site des solidarités"


def test_temporary_support_mission_from_request_to_annual_review(cast, app):
    start, end = in_days(30), in_days(120)
    nadia = cast("nadia")
    cast.shot(nadia, "my-tasks-empty")
    nadia.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Faire une demande").click()
    expect(nadia.get_by_role("heading", name="Mission d'appui temporaire à un projet")).to_be_visible()
    cast.shot(nadia, "start-a-request")
    nadia.get_by_role("button", name="Commencer : Mission d'appui temporaire à un projet").click()
    expect(nadia.get_by_role("heading", level=1)).to_have_text("Décrire la mission")

    # A first try with mistakes: the errors come back next to their fields, the values stay.
    nadia.get_by_label("Intitulé de la mission").fill(TITLE)
    nadia.get_by_label("Quotité").fill("150")
    nadia.get_by_role("button", name="Envoyer", exact=True).click()
    summary = nadia.get_by_role("alert")
    expect(summary).to_contain_text("Certaines réponses sont à revoir")
    expect(summary.get_by_role("link", name=re.compile("Quotité .*Saisissez 100 ou moins"))).to_be_visible()
    expect(summary.get_by_role("link", name=re.compile("Projet concerné : Veuillez remplir ce champ"))).to_be_visible()
    expect(nadia.locator("#time_share-error")).to_contain_text("Saisissez 100 ou moins.")
    expect(nadia.get_by_label("Intitulé de la mission")).to_have_value(TITLE)
    expect(nadia.get_by_label("Quotité")).to_have_value("150")
    expect(nadia.get_by_label("Quotité")).to_have_attribute("aria-invalid", "true")
    cast.shot(nadia, "task-with-errors")

    nadia.get_by_label("Projet concerné").fill("Site web des solidarités")
    nadia.get_by_label("Objectifs de la mission").fill("Réécrire avec l'équipe les pages d'aide aux familles.")
    choose(nadia, "Intermédiaire")
    nadia.get_by_label("Quotité").fill("20")
    nadia.get_by_label("Date de début").fill(start.isoformat())
    nadia.get_by_label("Date de fin").fill(end.isoformat())
    nadia.get_by_label("Agent sollicité").select_option("thomas")
    nadia.get_by_label("La mission seconde").check()
    send(nadia, "Décrire la mission")
    request_id = request_id_of(nadia)
    expect(nadia.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(nadia.locator(".alert-info")).to_contain_text("En attente : Avis de la coordination (la coordination)")
    expect(nadia.get_by_role("img", name=re.compile("Diagramme du processus"))).to_be_visible()
    cast.shot(nadia, "request-waiting-for-coordination")

    luc = cast("luc")
    expect(luc.get_by_role("heading", name=re.compile("À prendre en charge pour vos groupes 1"))).to_be_visible()
    cast.shot(luc, "my-tasks-coordination")
    open_my_task(luc, "Avis de la coordination", TITLE)
    expect(luc.locator(".facts").first).to_contain_text("Thomas Girard")
    luc.get_by_role("button", name="La prendre en charge").click()
    expect(luc.get_by_role("status")).to_contain_text("Vous avez pris en charge « Avis de la coordination »")
    cast.shot(luc, "task-coordination-review")
    choose(luc, "Approuver")
    luc.get_by_label("Commentaire").fill("Mission bien cadrée, appui réel au projet.")
    send(luc, "Avis de la coordination")

    thomas = cast("thomas")
    open_my_task(thomas, "Accord de l'agent", TITLE)
    cast.shot(thomas, "task-agent-consent")
    choose(thomas, "J'accepte la mission")
    send(thomas, "Accord de l'agent")

    julien = cast("julien")
    decide(julien, "Accord du manager", TITLE, "J'accepte de libérer l'agent")

    sophie = cast("sophie")
    open_my_task(sophie, "Organisation RH", TITLE)
    sophie.get_by_label("Aménagement du temps de travail").fill("Les mardis et jeudis après-midi.")
    send(sophie, "Organisation RH")

    claire = cast("claire")
    decide(claire, "Signature DGS", TITLE, "Signer la fiche mission")

    # Signed: the project lead can no longer withdraw it; the mission waits for its end date.
    nadia.goto(f"/requests/{request_id}")
    expect(nadia.locator(".alert-info")).to_contain_text("En attente de la date prévue")
    expect(nadia.get_by_role("link", name="Retirer ma demande")).to_have_count(0)

    fire_timers(app, request_id, end)
    open_my_task(thomas, "Retour de l'agent", TITLE)
    thomas.get_by_label("Compétences").first.fill("Animation d'ateliers, rédaction simple.")
    choose(thomas, "4")
    send(thomas, "Retour de l'agent")
    open_my_task(nadia, "Retour du chef de projet", TITLE)
    nadia.get_by_label("Compétences").first.fill("Un regard neuf sur nos pages.")
    choose(nadia, "5")
    send(nadia, "Retour du chef de projet")
    open_my_task(julien, "Note pour l'entretien annuel", TITLE)
    julien.get_by_label("Note de reconnaissance").fill("Mission d'appui menée avec succès.")
    send(julien, "Note pour l'entretien annuel")

    nadia.goto("/requests")
    row = nadia.locator("tbody tr").filter(has_text=TITLE)
    expect(row).to_contain_text("Terminée")
    cast.shot(nadia, "my-requests-completed")
    nadia.goto(f"/requests/{request_id}")
    expect(nadia.locator(".timeline")).to_contain_text("Demande close")
    cast.shot(nadia, "request-completed")
