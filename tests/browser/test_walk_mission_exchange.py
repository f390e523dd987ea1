"""A mission exchange: a need posted, a colleague offers to help, they talk, the volunteer's
manager agrees, the work is done and the requester says thank you."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import choose, decide, fill, in_days, open_my_task, request_id_of, send, start

pytestmark = pytest.mark.browser
TITLE = "Coup de main pour l'inventaire des panneaux"


def test_mission_exchange_from_need_to_thanks(cast):
    pierre = cast("pierre")
    start(pierre, "Bourse aux missions", "Publier un besoin")
    fill(pierre, {"Titre": TITLE, "De quoi s'agit-il ?": "Recenser les panneaux du secteur nord.",
                  "Savoir-faire utiles": "Lecture de plans, tableur", "Charge estimée (jours)": "3",
                  "Échéance": in_days(60).isoformat()})
    send(pierre, "Publier un besoin")
    request_id = request_id_of(pierre)

    thomas = cast("thomas")
    expect(thomas.get_by_role("region", name="À prendre en charge pour vos groupes")).to_contain_text(TITLE)
    cast.shot(thomas, "my-tasks-offers")
    open_my_task(thomas, "Se proposer", TITLE)
    fill(thomas, {"Pourquoi vous, et quand êtes-vous disponible ?": "J'ai fait l'inventaire du sud l'an passé."})
    send(thomas, "Se proposer")

    decide(pierre, "Échange avec le volontaire", TITLE, "On continue ensemble")

    julien = cast("julien")
    open_my_task(julien, "Accord du manager du volontaire", TITLE)
    choose(julien, "J'accepte")
    fill(julien, {"Organisation du travail habituel pendant la mission": "Trois mercredis."})
    send(julien, "Accord du manager du volontaire")

    open_my_task(thomas, "Mission réalisée", TITLE)
    fill(thomas, {"Jours réellement passés": "3", "Ce qui a été fait": "Inventaire complet, 412 panneaux."})
    send(thomas, "Mission réalisée")

    open_my_task(pierre, "Remercier le volontaire", TITLE)
    fill(pierre, {"Votre message de remerciement": "Merci Thomas, travail impeccable !"})
    send(pierre, "Remercier le volontaire")

    pierre.goto(f"/requests/{request_id}")
    expect(pierre.locator(".meta .badge")).to_have_text("Terminée")
    expect(pierre.locator(".timeline")).to_contain_text("Merci Thomas, travail impeccable !")
    cast.shot(pierre, "request-completed")
