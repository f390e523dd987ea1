"""A process owner uploads a new version of a diagram: it is checked, compared, confirmed; a new
request follows it while the request already running keeps its version."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine import PROCESSES_DIR

from .conftest import fill, in_days, open_my_task, request_id_of, send, start

pytestmark = pytest.mark.browser


def new_version(tmp_path):
    bpmn = (PROCESSES_DIR / "mission_exchange" / "mission_exchange.bpmn").read_bytes()
    bpmn = bpmn.replace(b'name="Publier un besoin"', b'name="Publier un besoin d\'appui"', 1)
    field = b'<camunda:formField id="place" label="Lieu de la mission" type="string" />'
    bpmn = bpmn.replace(b"<camunda:formData>", b"<camunda:formData>" + field, 1)
    path = tmp_path / "mission_exchange.bpmn"
    path.write_bytes(bpmn)
    return path


def post_need(page, title, first_step):
    start(page, "Bourse aux missions", first_step)
    fill(page, {"Titre": title, "De quoi s'agit-il ?": "Un coup de main ponctuel.", "Savoir-faire utiles": "Aucun",
                "Charge estimée (jours)": "2", "Échéance": in_days(45).isoformat()})
    return page


def test_a_new_version_applies_to_new_requests_only(cast, tmp_path):
    pierre = cast("pierre")
    post_need(pierre, "Besoin ancien", "Publier un besoin")
    send(pierre, "Publier un besoin")
    old_request = request_id_of(pierre)

    luc = cast("luc")
    luc.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Processus").click()
    cast.shot(luc, "processes")
    luc.get_by_role("link", name="Bourse aux missions").click()
    luc.get_by_role("link", name="Envoyer une nouvelle version").click()
    luc.get_by_label("Fichiers").set_input_files(str(new_version(tmp_path)))
    luc.get_by_label("Ce qui change, et pourquoi").fill("Le lieu de la mission est demandé dès le besoin.")
    luc.get_by_role("button", name="Vérifier les fichiers").click()
    expect(luc.get_by_role("heading", level=1)).to_have_text("Vérifier les changements avant de déployer")
    changes = luc.locator("table").filter(has_text="post_need")
    expect(changes).to_contain_text("Publier un besoin d'appui")
    expect(changes).to_contain_text("place")
    expect(luc.get_by_text("1 demande est en cours sur la version 1 : elle se terminera sur cette version.")).to_be_visible()
    cast.shot(luc, "upload-review")
    luc.get_by_role("button", name="Déployer cette version").click()
    expect(luc.get_by_role("status")).to_contain_text("La version 2 de « Bourse aux missions » est déployée")
    versions = luc.locator("tbody tr")
    expect(versions.nth(0)).to_contain_text(re.compile(r"version 2 en vigueur\s+Luc Bernard"))
    expect(versions.nth(0).locator("td.num")).to_have_text("0")
    expect(versions.nth(1).locator("td.num")).to_have_text("1")
    cast.shot(luc, "process-versions")

    # A new request follows version 2: its first step has the new name and the new field.
    lea = cast("lea")
    post_need(lea, "Besoin nouveau", "Publier un besoin d'appui")
    fill(lea, {"Lieu de la mission": "Grenoble"})
    send(lea, "Publier un besoin d'appui")
    expect(lea.locator(".eyebrow")).to_contain_text("version 2")

    # The older request keeps version 1 and goes on.
    thomas = cast("thomas")
    open_my_task(thomas, "Se proposer", "Besoin ancien")
    fill(thomas, {"Pourquoi vous, et quand êtes-vous disponible ?": "Disponible lundi."})
    send(thomas, "Se proposer")
    pierre.goto(f"/requests/{old_request}")
    expect(pierre.locator(".eyebrow")).to_contain_text("version 1")
    expect(pierre.locator(".alert-info")).to_contain_text("En attente : Échange avec le volontaire (Pierre Roux)")

    luc.reload()
    expect(versions.nth(0).locator("td.num")).to_have_text("1")
    expect(versions.nth(1).locator("td.num")).to_have_text("1")
