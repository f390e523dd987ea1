"""HR finds missions in the register: filters them, sorts a column, downloads the filtered list;
the register reads on a 390 px phone, its table scrolling inside its frame."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.page_client import Person, start_support_mission

pytestmark = pytest.mark.browser


def test_hr_filters_sorts_and_exports_the_register(cast, app):
    nadia = Person(app.test_client(), "nadia")
    start_support_mission(nadia, {"title": "Refonte du site des solidarités", "time_share": "40"})
    start_support_mission(nadia, {"title": "Atelier vélo", "time_share": "10", "agent": "pierre"})

    sophie = cast("sophie")
    sophie.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Missions").click()
    expect(sophie.get_by_role("heading", level=1)).to_have_text("Missions")
    rows = sophie.locator("main table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("En validation")

    sophie.get_by_role("link", name="Quotité").click()  # ascending
    expect(sophie.get_by_role("columnheader", name="Quotité")).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text("Atelier vélo")
    sophie.get_by_role("link", name="Quotité").click()  # then descending
    expect(sophie.get_by_role("columnheader", name="Quotité")).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_contain_text("Refonte du site des solidarités")
    cast.shot(sophie, "register-sorted")

    sophie.get_by_label("Mots").fill("vélo")
    sophie.get_by_label("Phase").select_option("in_approval")
    sophie.get_by_role("button", name="Rechercher").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Atelier vélo")
    expect(sophie.get_by_text("1 mission", exact=True)).to_be_visible()

    link = sophie.get_by_role("link", name="Exporter en CSV")
    assert "q=v%C3%A9lo" in link.get_attribute("href") and "phase=in_approval" in link.get_attribute("href")
    with sophie.expect_download() as download:
        link.click()
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith('"instance_id","process","title"') and len(lines) == 2
    assert "Atelier vélo" in lines[1]

    sophie.set_viewport_size({"width": 390, "height": 844})
    sophie.reload()
    expect(sophie.locator(".table-scroll table")).to_be_visible()
    assert sophie.evaluate("document.documentElement.scrollWidth") <= 390  # only the table's frame scrolls
    cast.shot(sophie, "register-phone")
