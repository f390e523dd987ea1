"""Processes, for process owners: versions, diagrams, downloads, and a new version that is checked,
compared with the deployed one, and deployed only once its owner confirms."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from engine import PROCESSES_DIR

from .page_client import Person, assert_error_page, start_support_mission, text_of

EXCHANGE = (PROCESSES_DIR / "mission_exchange" / "mission_exchange.bpmn").read_bytes()
OWNER_PAGES = [
    "/processes", "/processes/mission_exchange", "/processes/mission_exchange/versions/1",
    "/processes/mission_exchange/versions/1/diagram.svg",
    "/processes/mission_exchange/versions/1/files/mission_exchange.bpmn", "/processes/upload",
]


def changed_exchange() -> bytes:
    """mission_exchange with a renamed step and a new field on the need's form."""
    new = EXCHANGE.replace(b'name="Publier un besoin"', b'name="Publier un besoin d\'appui"', 1)
    field = b'<camunda:formField id="place" label="Lieu" type="string" />'
    return new.replace(b"<camunda:formData>", b"<camunda:formData>" + field, 1)


def upload(person: Person, files: dict[str, bytes], comment: str = ""):
    data = {"comment": comment, "files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return person.post("/processes/upload", data, content_type="multipart/form-data")


@pytest.mark.parametrize("username", ["nadia", "antoine", "sophie"])
def test_process_pages_are_for_process_owners_only(app, username):
    person = Person(app.test_client(), username)
    for url in OWNER_PAGES:
        text = assert_error_page(person.get(url), 403)
        assert "Les processus sont gérés par leurs responsables." in text, url
    assert_error_page(upload(person, {"mission_exchange.bpmn": changed_exchange()}), 403)
    assert "Processus" not in [a for a in re.findall(r'<nav class="main-nav.*?</nav>', person.page("/"), re.S)][0]


def test_the_processes_with_their_versions(app):
    luc = Person(app.test_client(), "luc")
    start_support_mission(Person(app.test_client(), "nadia"))
    text = luc.text("/processes")
    assert "Mission d'appui temporaire à un projet temporary_support_mission version 1" in text
    assert re.search(r"Mission d'appui temporaire à un projet temporary_support_mission version 1 .*? 1 ", text)
    text = luc.text("/processes/temporary_support_mission")
    assert "version 1 en vigueur Passerelle, au démarrage" in text
    assert "Lu dans le dossier processes/ au démarrage" in text
    page = luc.page("/processes/temporary_support_mission/versions/1")
    assert "1 demande en cours sur cette version" in text_of(page)
    assert '<img src="/processes/temporary_support_mission/versions/1/diagram.svg"' in page
    assert "Télécharger temporary_support_eligibility.dmn" in text_of(page)
    svg = luc.get("/processes/temporary_support_mission/versions/1/diagram.svg")
    assert svg.mimetype == "image/svg+xml" and b"data-element-id=\"describe_mission\"" in svg.data
    download = luc.get("/processes/temporary_support_mission/versions/1/files/temporary_support_mission.bpmn")
    assert download.data == (PROCESSES_DIR / "temporary_support_mission" / "temporary_support_mission.bpmn").read_bytes()
    assert download.headers["Content-Disposition"] == 'attachment; filename="temporary_support_mission.bpmn"'
    assert_error_page(luc.get("/processes/temporary_support_mission/versions/1/files/secret.txt"), 404)
    assert_error_page(luc.get("/processes/temporary_support_mission/versions/9"), 404)
    assert_error_page(luc.get("/processes/nothing_here"), 404)


def test_an_invalid_file_lists_its_problems_with_line_and_element(app):
    luc = Person(app.test_client(), "luc")
    bad = EXCHANGE.replace(b"decision == 'approve'", b"__import__('os').system('x')", 1)
    response = upload(luc, {"mission_exchange.bpmn": bad})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    text = text_of(page)
    assert "1 problème à corriger avant de déployer" in text
    line = bad[:bad.index(b"__import__")].count(b"\n") + 1
    assert re.search(rf"mission_exchange\.bpmn {line} flow_gw_manager__mission_done condition", text)
    response = upload(luc, {"mission_exchange.bpmn": EXCHANGE[:4000]})
    assert "XML mal formé" in text_of(response.get_data(as_text=True))


def test_wrong_files_are_named(app):
    luc = Person(app.test_client(), "luc")
    response = upload(luc, {"notes.txt": b"hello"})
    assert response.status_code == 422
    assert "« notes.txt » n’est pas un fichier .bpmn ou .dmn." in text_of(response.get_data(as_text=True))
    response = luc.post("/processes/upload", {"comment": ""}, content_type="multipart/form-data")
    assert "Choisissez un fichier .bpmn" in text_of(response.get_data(as_text=True))
    response = upload(luc, {"mission_exchange.bpmn": EXCHANGE})
    assert "Ces fichiers sont exactement la version 1 de « Bourse aux missions »" in text_of(response.get_data(as_text=True))


def test_a_new_version_is_compared_then_deployed_on_confirmation(app):
    luc = Person(app.test_client(), "luc")
    response = upload(luc, {"mission_exchange.bpmn": changed_exchange()}, "Un lieu pour chaque besoin")
    assert response.status_code == 303
    review_url = response.location
    page = luc.page(review_url)
    text = text_of(page)
    assert "Les fichiers sont valables : cette version peut être déployée." in text
    assert "Ce qui change par rapport à la version 1" in text
    assert re.search(r"Étape post_need modifié .*Publier un besoin", text)
    assert re.search(r"Formulaire post_need\S* (ajouté|modifié) .*place", text)
    assert "Les nouvelles demandes suivront la version 2." in text
    assert "Un lieu pour chaque besoin" in page
    # Nothing is deployed before the owner confirms.
    assert "version 2" not in luc.text("/processes/mission_exchange")
    response = luc.post(review_url, {"comment": "Un lieu pour chaque besoin"})
    assert response.status_code == 303 and response.location == "/processes/mission_exchange"
    text = luc.text(response.location)
    assert "La version 2 de « Bourse aux missions » est déployée" in text
    assert "version 2 en vigueur Luc Bernard" in text and "Un lieu pour chaque besoin" in text
    # The staged files are gone once used.
    assert_error_page(luc.get(review_url), 404)


def test_staged_files_belong_to_their_uploader(app):
    luc = Person(app.test_client(), "luc")
    review_url = upload(luc, {"mission_exchange.bpmn": changed_exchange()}).location
    elodie = Person(app.test_client(), "elodie")  # admin: may deploy, but not luc's upload
    assert_error_page(elodie.get(review_url), 404)
    assert_error_page(elodie.post(review_url, {"comment": "x"}), 404)
    assert_error_page(elodie.get("/processes/upload/..%2F..%2Fsecret"), 404)
    response = luc.post(review_url + "/discard")
    assert "Rien n’a été déployé." in luc.text(response.location)
    assert_error_page(luc.get(review_url), 404)


def test_a_new_process_and_a_file_without_layout(app):
    luc = Person(app.test_client(), "luc")
    bpmn = (Path(__file__).resolve().parents[1] / "diagrams" / "approval_test.bpmn").read_bytes()
    dmn = (Path(__file__).resolve().parents[1] / "diagrams" / "approval_rule.dmn").read_bytes()
    without_layout = re.sub(rb"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", b"", bpmn, flags=re.S)
    response = upload(luc, {"approval_test.bpmn": without_layout, "approval_rule.dmn": dmn})
    assert response.status_code == 303, text_of(response.get_data(as_text=True))[:600]
    text = luc.text(response.location)
    assert "C’est un nouveau processus" in text
    assert "Aucune mise en page dans ce fichier" in text
    response = luc.post(response.location, {"comment": ""})
    key = response.location.rsplit("/", 1)[1]
    text = luc.text(f"/processes/{key}/versions/1")
    assert "Aucune mise en page dans ce fichier" in text
    svg = luc.get(f"/processes/{key}/versions/1/diagram.svg")
    assert svg.status_code == 200 and "Aucune mise en page" in svg.get_data(as_text=True)


# --- four eyes on deploys (issue 13) -------------------------------------------------------------

SELF_APPROVING = changed_exchange().replace(b'camunda:assignee="${manager_of(volunteer)}"', b'camunda:assignee="luc"')


def test_four_eyes_luc_proposes_elodie_approves_and_the_page_warns_of_his_own_step(app):
    app.config["FOUR_EYES_DEPLOY"] = True
    luc, elodie = Person(app.test_client(), "luc"), Person(app.test_client(), "elodie")
    review_url = upload(luc, {"mission_exchange.bpmn": SELF_APPROVING}, "Luc donne l’accord").location
    text = luc.text(review_url)
    assert "Ce diagramme confie 1 étape à Luc Bernard, qui l’a écrit" in text
    assert re.search(r"Accord du manager du volontaire \( ?manager_approval ?\)", text)
    assert "Proposer cette version" in text and "Déployer cette version" not in text
    response = luc.post(review_url, {"comment": "Luc donne l’accord"})
    assert response.status_code == 303 and "/processes/mission_exchange/pending/" in response.location
    pending_url = response.location
    text = luc.text(pending_url)
    assert "La nouvelle version de « Bourse aux missions » est proposée." in text
    assert "Vous avez proposé cette version : un autre responsable de processus doit l’approuver." in text
    assert "Approuver et déployer cette version" not in text
    assert_error_page(luc.post(pending_url + "/approve"), 403)
    # nothing deployed yet; the process page lists what waits, and who proposed it
    text = elodie.text("/processes/mission_exchange")
    assert "version 2" not in text
    assert re.search(r"Versions en attente d’approbation .*Bourse aux missions mission_exchange Luc Bernard", text)
    assert "Bourse aux missions" in elodie.text("/processes").split("Versions en attente d’approbation", 1)[1]
    text = elodie.text(pending_url)
    assert "Proposée par Luc Bernard" in text and "Ce diagramme confie 1 étape à Luc Bernard" in text
    assert re.search(r"Étape post_need modifié", text)
    assert elodie.get(pending_url + "/diagram.svg").mimetype == "image/svg+xml"
    assert elodie.get(pending_url + "/files/mission_exchange.bpmn").data == SELF_APPROVING
    response = elodie.post(pending_url + "/approve")
    assert response.status_code == 303 and response.location == "/processes/mission_exchange"
    text = elodie.text(response.location)
    assert "La version 2 de « Bourse aux missions » est approuvée et déployée" in text
    assert "version 2 en vigueur Élodie Admin proposée par Luc Bernard" in text
    assert "Proposée par Luc Bernard" in elodie.text("/processes/mission_exchange/versions/2")
    assert "Approuvée par Élodie Admin : c’est la version 2." in elodie.text(pending_url)
    assert_error_page(elodie.post(pending_url + "/approve"), 409)


def test_four_eyes_a_proposed_version_is_withdrawn_or_rejected(app):
    app.config["FOUR_EYES_DEPLOY"] = True
    luc, elodie = Person(app.test_client(), "luc"), Person(app.test_client(), "elodie")
    first = luc.post(upload(luc, {"mission_exchange.bpmn": SELF_APPROVING}).location, {"comment": ""}).location
    response = elodie.post(first + "/reject", {"comment": "Le manager donne l’accord, pas Luc"})
    assert "La version proposée est refusée. Rien n’a été déployé." in elodie.text(response.location)
    assert "Refusée par Élodie Admin. Rien n’a été déployé. Le manager donne l’accord, pas Luc" in luc.text(first)
    second = luc.post(upload(luc, {"mission_exchange.bpmn": changed_exchange()}).location, {"comment": ""}).location
    response = luc.post(second + "/reject", {"comment": ""})
    assert "Vous avez retiré la version proposée." in luc.text(response.location)
    assert "version 2" not in luc.text("/processes/mission_exchange")
    assert_error_page(luc.get("/processes/temporary_support_mission/pending/" + second.rsplit("/", 1)[1]), 404)
