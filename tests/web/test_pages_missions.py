"""The Missions page: the register in French and English, filters, sorts, pages and its CSV
download, each reader seeing only their rows; a request's badge says its phase."""
from __future__ import annotations

import csv
import io

from .page_client import MISSION, Person, start_support_mission, text_of


def test_hr_sees_the_register_with_phases_in_words(app):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    sophie = Person(app.test_client(), "sophie")
    page = sophie.page("/missions")
    text = text_of(page)
    assert "Missions" in text and MISSION["title"] in text
    assert "En validation" in text and "Thomas Girard" in text and MISSION["project"] in text
    assert "20 %" in text and "la coordination" in text
    assert f'href="/requests/{instance_id}"' in page and 'class="table-scroll"' in page
    assert 'href="/missions"' in page  # in the main menu
    english = Person(app.test_client(), "sophie", language="en").text("/missions")
    assert "In approval" in english and "Export as CSV" in english
    assert "En validation" in text_of(sophie.page(f"/requests/{instance_id}"))  # the request's badge


def test_filters_sort_and_the_export_keep_to_what_the_reader_may_see(app):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    sophie = Person(app.test_client(), "sophie")
    assert MISSION["title"] in sophie.text("/missions?phase=in_approval&q=familles")
    assert "Aucune mission ne correspond à ces filtres." in sophie.text("/missions?phase=closed")
    assert MISSION["title"] in sophie.text("/missions?from=2031-06-30&to=2031-12-31")
    assert "Aucune mission" in sophie.text("/missions?from=2031-07-01&to=2031-12-31")
    bad = sophie.text("/missions?from=demain")
    assert "Saisissez une date au format AAAA-MM-JJ." in bad
    sorted_page = sophie.page("/missions?sort=time_share")
    assert 'aria-sort="ascending"' in sorted_page and "sort=-time_share" in sorted_page
    response = sophie.get("/missions/export.csv?phase=in_approval")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "instance_id" and [r[0] for r in rows[1:]] == [str(instance_id)]
    assert rows[1][3] == "En validation"
    assert Person(app.test_client(), "pierre").text("/missions").count(MISSION["title"]) == 0
    hugo = Person(app.test_client(), "hugo").get("/missions/export.csv")
    assert len(list(csv.reader(io.StringIO(hugo.get_data(as_text=True).lstrip("\ufeff"))))) == 1  # the header


def test_the_directorate_filter_offers_the_directorates(app):
    start_support_mission(Person(app.test_client(), "nadia"))
    sophie = Person(app.test_client(), "sophie")
    page = sophie.page("/missions")
    assert '<option value="DSOL">Direction des solidarités</option>' in page
    assert MISSION["title"] in sophie.text("/missions?directorate=DSOL")  # the host's (the project lead's)
    assert MISSION["title"] in sophie.text("/missions?directorate=DMOB")  # the agent's (thomas)
    assert "Aucune mission" in sophie.text("/missions?directorate=DRH")


def test_the_register_pages_on_with_its_filters_and_sort_kept(app, monkeypatch):
    from web.pages import missions

    from .test_pages_audit import _links
    monkeypatch.setattr(missions, "PAGE_SIZE", 1)
    for _ in range(2):
        start_support_mission(Person(app.test_client(), "nadia"))
    sophie = Person(app.test_client(), "sophie")
    first = sophie.page("/missions?phase=in_approval&sort=-title")
    assert _links(first)["Page suivante"] == {"phase": ["in_approval"], "sort": ["-title"], "page": ["2"]}
    second = sophie.page("/missions?phase=in_approval&sort=-title&page=2")
    assert "Page 2" in text_of(second)
    assert _links(second)["Page précédente"] == {"phase": ["in_approval"], "sort": ["-title"], "page": ["1"]}
