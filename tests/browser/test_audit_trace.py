"""An auditor finds a request and opens its full trace, sealed by its hash chain, ready to print."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import fill, in_days, send, start

pytestmark = pytest.mark.browser


def test_an_auditor_opens_a_request_trace(cast):
    visitor = cast.anonymous()
    visitor.goto("/audit")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Se connecter")  # sign in first
    cast.shot(visitor, "sign-in")
    pierre = cast("pierre")
    start(pierre, "Bourse aux missions", "Publier un besoin")
    fill(pierre, {"Titre": "Inventaire des panneaux", "De quoi s'agit-il ?": "Recenser les panneaux.",
                  "Savoir-faire utiles": "Tableur", "Charge estimée (jours)": "2", "Échéance": in_days(30).isoformat()})
    send(pierre, "Publier un besoin")

    pierre.goto("/audit")  # not an auditor: a page that says so, not a stack trace
    expect(pierre.get_by_role("heading", level=1)).to_have_text("Vous n’avez pas accès à cette page")
    expect(pierre.get_by_text("L’audit est réservé aux auditeurs et aux administrateurs.")).to_be_visible()
    cast.shot(pierre, "forbidden")

    antoine = cast("antoine")
    antoine.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Audit").click()
    antoine.get_by_label("Processus").select_option("mission_exchange")
    antoine.get_by_label("Personne").select_option("pierre")
    antoine.get_by_role("button", name="Rechercher").click()
    expect(antoine.get_by_role("heading", name="Demandes 1")).to_be_visible()
    cast.shot(antoine, "audit-search")
    antoine.get_by_role("link", name="Ouvrir la trace de la demande n° 1").click()
    expect(antoine.get_by_role("heading", level=1)).to_contain_text("Trace de la demande n° 1 — Inventaire des panneaux")
    expect(antoine.locator(".chain-ok")).to_contain_text("Vérifiée : 4 événements, chaîne intacte.")
    expect(antoine.get_by_role("button", name="Imprimer")).to_be_visible()  # shown by the script
    cast.shot(antoine, "audit-trace")
    antoine.emulate_media(media="print")
    expect(antoine.locator(".site-header")).to_be_hidden()
    cast.shot(antoine, "audit-trace-printed")
    antoine.emulate_media(media="screen")
    with antoine.expect_download() as download:
        antoine.get_by_role("link", name="Exporter en CSV").click()
    assert download.value.suggested_filename == "request-1-trace.csv"
