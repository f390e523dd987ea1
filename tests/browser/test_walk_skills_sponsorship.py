"""Skills sponsorship: an agent proposes a mission with a host organisation; manager, ethics
officer, HR, the host, the agent in writing and senior management each play their part."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import choose, decide, field, fill, fire_timers, in_days, open_my_task, request_id_of, send, start

pytestmark = pytest.mark.browser


def test_skills_sponsorship_from_proposal_to_closing(cast, app):
    begin, end = in_days(30), in_days(120)
    thomas = cast("thomas")
    start(thomas, "Mécénat de compétences", "Proposer la mission")
    field(thomas, "Organisme d'accueil").select_option("restos-isere")
    fill(thomas, {"Description de la mission": "Organiser la logistique des collectes de l'hiver.",
                  "Vos fonctions des trois dernières années (pour le contrôle déontologique)":
                      "Agent d'exploitation routière, sans lien avec l'association.",
                  "Part du temps de travail consacrée à la mission (%)": "20",
                  "Date de début": begin.isoformat(), "Date de fin": end.isoformat(),
                  "Valeur estimée de la mise à disposition (EUR)": "6000"})
    cast.shot(thomas, "task-propose-mission")
    send(thomas, "Proposer la mission")
    request_id = request_id_of(thomas)
    title = thomas.get_by_role("heading", level=1).inner_text()

    julien = cast("julien")
    open_my_task(julien, "Avis du manager", title)
    choose(julien, "Favorable")
    fill(julien, {"Organisation du travail de l'agent pendant la mission": "Pierre reprend les astreintes."})
    send(julien, "Avis du manager")

    ines = cast("ines")
    open_my_task(ines, "Contrôle déontologique", title)
    choose(ines, "Compatible")
    ines.get_by_label("J'ai examiné les fonctions des trois dernières années").check()
    cast.shot(ines, "task-ethics-check")
    send(ines, "Contrôle déontologique")

    karim = cast("karim")
    open_my_task(karim, "Rédiger la convention", title)
    fill(karim, {"Activités confiées": "Logistique des collectes.", "Lieu d'exercice": "Entrepôt de Grenoble",
                 "Horaires et temps de travail": "Le vendredi", "Conditions de remboursement": "Sans remboursement",
                 "Renouvellement et fin anticipée": "Préavis d'un mois",
                 "Rappel des obligations de l'agent (déontologie, secret, discrétion)": "Rappelées en annexe."})
    send(karim, "Rédiger la convention")

    hugo = cast("hugo")
    open_my_task(hugo, "Accord de l'organisme d'accueil", title)
    choose(hugo, "J'accepte")
    fill(hugo, {"Date de la rencontre avec l'agent": in_days(10).isoformat()})
    send(hugo, "Accord de l'organisme d'accueil")

    open_my_task(thomas, "Votre accord écrit", title)
    thomas.get_by_label("J'ai lu la convention et j'en accepte les termes").check()
    send(thomas, "Votre accord écrit")

    claire = cast("claire")
    decide(claire, "Signature de la convention", title, "Signer")

    fire_timers(app, request_id, end)
    open_my_task(hugo, "Bilan de l'organisme", title)
    fill(hugo, {"Bilan de la mission": "Une aide précieuse pour l'hiver."})
    send(hugo, "Bilan de l'organisme")
    open_my_task(thomas, "Votre bilan", title)
    fill(thomas, {"Compétences acquises ou mobilisées": "Organisation, travail avec des bénévoles."})
    choose(thomas, "5")
    send(thomas, "Votre bilan")
    open_my_task(karim, "Clôture et valorisation", title)
    fill(karim, {"Valorisation dans l'entretien professionnel annuel": "Mécénat mené à bien, à valoriser."})
    send(karim, "Clôture et valorisation")

    thomas.goto("/requests")
    expect(thomas.locator("tbody tr").filter(has_text="Mécénat de compétences")).to_contain_text("Terminée")
    thomas.goto(f"/requests/{request_id}")
    cast.shot(thomas, "request-completed")
