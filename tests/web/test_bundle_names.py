"""Bundles whose file names are not in lower case (`Approval.BPMN`, `Rules.DMN`): they validate,
deploy and show on every page like any other bundle (issue 14: the pages used to crash on them)."""
from __future__ import annotations

import io

from .api_helpers import DIAGRAMS, PROCESSES, start_request
from .page_client import Person, text_of

BPMN = (DIAGRAMS / "approval_test.bpmn").read_bytes()
DMN = (DIAGRAMS / "approval_rule.dmn").read_bytes()
EXCHANGE = (PROCESSES / "mission_exchange" / "mission_exchange.bpmn").read_bytes()
UPPER = {"Approval.BPMN": BPMN, "Rules.DMN": DMN}


def test_an_upper_case_bundle_is_checked_deployed_and_shown_on_the_pages(app):
    luc = Person(app.test_client(), "luc")
    data = {"comment": "", "files": [(io.BytesIO(content), name) for name, content in UPPER.items()]}
    response = luc.post("/processes/upload", data, content_type="multipart/form-data")
    assert response.status_code == 303, text_of(response.get_data(as_text=True))[:600]
    review_url = response.location
    text = luc.text(review_url)
    assert "Les fichiers sont valables : cette version peut être déployée." in text
    assert "C’est un nouveau processus" in text
    staged_svg = luc.get(review_url + "/diagram.svg")
    assert staged_svg.status_code == 200 and staged_svg.mimetype == "image/svg+xml"
    response = luc.post(review_url, {"comment": "en majuscules"})
    assert response.status_code == 303 and response.location == "/processes/approval_test"
    text = luc.text(response.location)
    assert "La version 1 de « Approval test » est déployée" in text and "en majuscules" in text
    assert "Approval test" in luc.text("/processes")
    page = luc.page("/processes/approval_test/versions/1")
    assert "Approval test" in text_of(page) and "Télécharger Rules.DMN" in text_of(page)
    assert "Aucune mise en page dans ce fichier" in text_of(page)  # the test diagram has no BPMN-DI
    svg = luc.get("/processes/approval_test/versions/1/diagram.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert "Aucune mise en page" in svg.get_data(as_text=True)
    assert luc.get("/processes/approval_test/versions/1/files/Approval.BPMN").data == BPMN


def test_an_upper_case_new_version_is_compared_and_drawn(app):
    luc = Person(app.test_client(), "luc")
    changed = EXCHANGE.replace(b'name="Publier un besoin"', b'name="Publier un besoin d\'appui"', 1)
    data = {"comment": "", "files": [(io.BytesIO(changed), "Bourse.BPMN")]}
    response = luc.post("/processes/upload", data, content_type="multipart/form-data")
    assert response.status_code == 303, text_of(response.get_data(as_text=True))[:600]
    review_url = response.location
    text = luc.text(review_url)
    assert "Ce qui change par rapport à la version 1" in text and "Publier un besoin d'appui" in text
    assert b'data-element-id="post_need"' in luc.get(review_url + "/diagram.svg").data
    assert luc.post(review_url, {"comment": ""}).location == "/processes/mission_exchange"
    assert "Bourse aux missions" in luc.text("/processes/mission_exchange/versions/2")
    svg = luc.get("/processes/mission_exchange/versions/2/diagram.svg")
    assert svg.status_code == 200 and b'data-element-id="post_need"' in svg.data


def test_an_upper_case_bundle_over_the_api(app, api):
    luc = api("luc")
    files = [("files", (name, content, "application/xml")) for name, content in UPPER.items()]
    checked = luc.post("/api/v1/processes/validate", files=files)
    assert checked.status_code == 200 and checked.json() == {"valid": True, "problems": []}
    deployed = luc.post("/api/v1/processes/deploy", files=files, data={"comment": "en majuscules"})
    assert deployed.status_code == 201, deployed.text
    assert (deployed.json()["key"], deployed.json()["name"]) == ("approval_test", "Approval test")
    bpmn = luc.get("/api/v1/processes/approval_test/versions/1/bpmn")
    assert bpmn.status_code == 200 and bpmn.content == BPMN
    assert 'filename="Approval.BPMN"' in bpmn.headers["Content-Disposition"]
    nadia = api("nadia")
    instance = start_request(nadia)
    svg = nadia.get(f"/api/v1/instances/{instance['id']}/diagram.svg")
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert "Approval test" in Person(app.test_client(), "nadia").text(f"/requests/{instance['id']}")
