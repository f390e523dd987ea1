"""An end-of-career mission: HR describes the need, agent and host meet, everyone agrees, HR plans
the workload, checks in at mid-mission, and closes with everyone's feedback."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import choose, decide, field, fill, fire_timers, in_days, open_my_task, request_id_of, send, start

pytestmark = pytest.mark.browser
TITLE = "Appui à la démarche usagers"


def test_end_of_career_mission_from_need_to_debrief(cast, app):
    begin, end = in_days(40), in_days(160)
    sophie = cast("sophie")
    start(sophie, "Mission courte de fin de carrière", "Décrire le besoin")
    fill(sophie, {"Intitulé de la mission": TITLE, "Unité d'accueil": "Service des mobilités douces",
                  "Description du besoin": "Mettre l'expérience de terrain au service de la démarche usagers.",
                  "Quotité (% du temps de travail de l'agent)": "30",
                  "Date de début": begin.isoformat(), "Date de fin": end.isoformat()})
    field(sophie, "Responsable de l'unité d'accueil (identifiant)").select_option("julien")
    field(sophie, "Agent pressenti (identifiant)").select_option("marie")
    send(sophie, "Décrire le besoin")
    request_id = request_id_of(sophie)
    expect(sophie.locator(".alert-info")).to_contain_text("En attente : Rencontre agent – accueil (les RH)")

    karim = cast("karim")
    open_my_task(karim, "Rencontre agent – accueil", TITLE)
    cast.shot(karim, "task-matching-meeting")
    fill(karim, {"Date de la rencontre": in_days(5).isoformat()})
    choose(karim, "On poursuit")
    send(karim, "Rencontre agent – accueil")

    marie = cast("marie")
    decide(marie, "Accord de l'agent", TITLE, "J'accepte la mission")
    nadia = cast("nadia")
    decide(nadia, "Accord du manager", TITLE, "J'accepte de libérer l'agent")
    julien = cast("julien")
    decide(julien, "Confirmation de l'accueil", TITLE, "Je confirme l'accueil")

    open_my_task(sophie, "Plan de charge", TITLE)
    fill(sophie, {"Allègement de la charge habituelle de l'agent": "Ses dossiers du mardi passent à Léa."})
    send(sophie, "Plan de charge")
    expect(sophie.locator(".alert-info")).to_contain_text("En attente de la date prévue")

    fire_timers(app, request_id, begin + (end - begin) / 2)
    open_my_task(karim, "Point RH à mi-parcours", TITLE)
    fill(karim, {"Compte rendu du point à mi-parcours": "Tout va bien, charge tenable."})
    karim.get_by_label("La charge de travail de l'agent reste soutenable").check()
    send(karim, "Point RH à mi-parcours")

    fire_timers(app, request_id, end)
    open_my_task(marie, "Retour de l'agent", TITLE)
    fill(marie, {"Compétences acquises ou partagées pendant la mission": "Transmission de la connaissance du terrain."})
    choose(marie, "5")
    marie.get_by_label("Je recommanderais ce type de mission à un·e collègue").check()
    send(marie, "Retour de l'agent")
    open_my_task(julien, "Retour de l'accueil", TITLE)
    fill(julien, {"Compétences apportées par l'agent": "Une connaissance fine des usagers."})
    choose(julien, "4")
    send(julien, "Retour de l'accueil")
    open_my_task(sophie, "Bilan RH", TITLE)
    fill(sophie, {"Bilan de la mission": "Mission réussie, à renouveler."})
    send(sophie, "Bilan RH")

    marie.goto(f"/requests/{request_id}")
    expect(marie.locator(".meta .badge")).to_have_text("Terminée")
    expect(marie.locator(".timeline")).to_contain_text("Date atteinte")
    cast.shot(marie, "request-completed")
