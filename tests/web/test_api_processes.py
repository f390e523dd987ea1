"""Processes over the API: listing, versions, BPMN download, validating and deploying bundles."""
from __future__ import annotations

from .api_helpers import DIAGRAMS, PROCESSES, assert_error, bundle_files, deploy_test_diagram

KEYS = {"temporary_support_mission", "end_of_career_mission", "skills_sponsorship", "mission_exchange"}


def test_list_shows_who_may_start_what(api):
    nadia = api("nadia").get("/api/v1/processes")
    assert nadia.status_code == 200
    body = nadia.json()
    assert set(body) == {"items", "total", "page", "page_size"}
    assert (body["total"], body["page"], body["page_size"]) == (len(body["items"]), 1, 50)
    by_key = {p["key"]: p for p in body["items"]}
    assert KEYS <= set(by_key)
    support = by_key["temporary_support_mission"]
    assert set(support) == {"key", "name", "description", "version", "deployed_at", "deployed_by", "can_start",
                            "starter_roles"}
    assert support["version"] == 1 and support["deployed_by"] == "system" and support["description"]
    assert support["can_start"] is True  # nadia is a project lead
    assert by_key["end_of_career_mission"]["can_start"] is False  # HR starts those
    sophie = {p["key"]: p["can_start"] for p in api("sophie").get("/api/v1/processes").json()["items"]}
    assert sophie["end_of_career_mission"] is True and sophie["temporary_support_mission"] is False


def test_list_pages(api):
    client = api("nadia")
    first = client.get("/api/v1/processes", params={"page_size": 2}).json()
    second = client.get("/api/v1/processes", params={"page_size": 2, "page": 2}).json()
    assert len(first["items"]) == 2 and first["page_size"] == 2 and first["total"] >= 4
    assert {p["key"] for p in first["items"]}.isdisjoint(p["key"] for p in second["items"])
    assert_error(client.get("/api/v1/processes", params={"page_size": 201}), 422, "page_size")
    assert_error(client.get("/api/v1/processes", params={"page": 0}), 422, "page")
    assert_error(client.get("/api/v1/processes", params={"page": "two"}), 422, "page")


def test_detail_lists_versions_newest_first(api):
    client = api("luc")
    deploy_test_diagram(api)
    changed = (DIAGRAMS / "approval_test.bpmn").read_bytes().replace(b"A small process", b"A changed process")
    response = client.post("/api/v1/processes/deploy", files=bundle_files(changed), data={"comment": "second"})
    assert response.status_code == 201
    detail = client.get("/api/v1/processes/approval_test")
    assert detail.status_code == 200
    body = detail.json()
    assert body["version"] == 2 and body["description"] == "A changed process used by the engine tests."
    assert [(v["version"], v["comment"], v["deployed_by"]) for v in body["versions"]] == [
        (2, "second", "luc"), (1, "for the tests", "luc")]
    assert all(len(v["checksum"]) == 64 for v in body["versions"])
    assert body["versions"][0]["checksum"] != body["versions"][1]["checksum"]
    assert_error(client.get("/api/v1/processes/no_such_process"), 404)


def test_bpmn_is_served_byte_for_byte(api):
    client = api("thomas")
    response = client.get("/api/v1/processes/mission_exchange/versions/1/bpmn")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    assert response.content == (PROCESSES / "mission_exchange" / "mission_exchange.bpmn").read_bytes()
    assert_error(client.get("/api/v1/processes/mission_exchange/versions/9/bpmn"), 404)
    assert_error(client.get("/api/v1/processes/nothing/versions/1/bpmn"), 404)
    assert_error(client.get("/api/v1/processes/mission_exchange/versions/99999999999/bpmn"), 404)


def test_validate_reports_located_problems(api):
    client = api("luc")
    good = client.post("/api/v1/processes/validate", files=bundle_files())
    assert good.status_code == 200
    assert good.json() == {"valid": True, "problems": []}

    broken = client.post("/api/v1/processes/validate",
                         files=[("files", ("broken.bpmn", b"<bpmn:definitions>\n<oops", "application/xml"))])
    assert broken.status_code == 200
    body = broken.json()
    assert body["valid"] is False and body["problems"]
    problem = body["problems"][0]
    assert set(problem) == {"file", "line", "element", "message"}
    assert problem["file"] == "broken.bpmn" and problem["message"]

    no_bpmn = client.post("/api/v1/processes/validate", files=[("files", ("rule.dmn", b"<x/>", "application/xml"))])
    assert no_bpmn.json()["valid"] is False
    assert "no .bpmn file" in no_bpmn.json()["problems"][-1]["message"]
    wrong_kind = client.post("/api/v1/processes/validate", files=[("files", ("notes.txt", b"hello", "text/plain"))])
    assert wrong_kind.json()["problems"][0] == {"file": "notes.txt", "line": None, "element": None,
                                                "message": "only .bpmn and .dmn files can be uploaded"}
    twice = client.post("/api/v1/processes/validate", files=bundle_files() + bundle_files()[:1])
    assert twice.json()["problems"] == [{"file": "approval_test.bpmn", "line": None, "element": None,
                                         "message": "this file was uploaded twice"}]
    long_name = client.post("/api/v1/processes/validate",
                            files=[("files", ("x" * 300 + ".bpmn", b"<a/>", "application/xml"))])
    assert "longer than 255" in long_name.json()["problems"][0]["message"]


def test_validate_needs_files(api):
    client = api("luc")
    assert_error(client.post("/api/v1/processes/validate", data={"comment": "nothing"}), 422, "files")
    assert_error(client.post("/api/v1/processes/validate", files={"files": ("a.bpmn", b"")}, data={"x": "1"}),
                 422, "x")
    assert_error(client.post("/api/v1/processes/validate", data={"files": "not a file"}), 422, "files.0")


def test_deploy_creates_a_version_then_recognises_the_same_content(api):
    first = api("luc").post("/api/v1/processes/deploy", files=bundle_files(), data={"comment": "first"})
    assert first.status_code == 201
    body = first.json()
    assert (body["key"], body["version"], body["name"], body["deployed_by"]) == (
        "approval_test", 1, "Approval test", "luc")
    assert [v["version"] for v in body["versions"]] == [1]
    again = api("elodie").post("/api/v1/processes/deploy", files=bundle_files(), data={"comment": "again"})
    assert again.status_code == 200
    assert again.json()["version"] == 1 and again.json()["versions"][0]["comment"] == "first"


def test_only_process_owners_deploy(api):
    response = api("thomas").post("/api/v1/processes/deploy", files=bundle_files())
    body = assert_error(response, 403)
    assert "process owners" in body["message"]
    keys = {p["key"] for p in api("thomas").get("/api/v1/processes").json()["items"]}
    assert "approval_test" not in keys


def test_an_invalid_bundle_is_not_deployed(api):
    client = api("luc")
    without_dmn = [bundle_files()[0]]
    response = client.post("/api/v1/processes/deploy", files=without_dmn)
    body = assert_error(response, 422, "files")
    assert body["problems"] and all(p["file"] for p in body["problems"])
    not_xml = client.post("/api/v1/processes/deploy", files=[("files", ("x.bpmn", b"not xml", "application/xml"))])
    assert_error(not_xml, 422, "files")
    long_id = (DIAGRAMS / "approval_test.bpmn").read_bytes().replace(b'"approval_test"', b'"' + b"p" * 129 + b'"')
    body = assert_error(client.post("/api/v1/processes/deploy", files=bundle_files(long_id)), 422, "files")
    assert "longer than 128" in body["message"]
    assert_error(client.get("/api/v1/processes/approval_test"), 404)


def test_an_upload_too_large_is_a_413(api, app):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = api("luc").post("/api/v1/processes/deploy",
                               files=[("files", ("big.bpmn", b"<a/>" + b" " * 20_000, "application/xml"))])
    body = assert_error(response, 413)
    assert "10000 bytes" in body["message"]


# --- issue 13: validation for process owners only, in linear time; four eyes on deploys ---------

def test_validate_is_for_process_owners_only(api):
    body = assert_error(api("thomas").post("/api/v1/processes/validate", files=bundle_files()), 403)
    assert "process owners" in body["message"]
    assert api("elodie").post("/api/v1/processes/validate", files=bundle_files()).json()["valid"] is True


def _timed(call):
    import time
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def test_huge_cells_and_lists_are_answered_at_once_and_healthz_meanwhile(api, live_server):
    """A DMN cell of 48,000 '?' took 43.8 s and /healthz waited; so did a long assignment list."""
    import threading
    import requests
    dmn = (DIAGRAMS / "approval_rule.dmn").read_bytes().replace(b"&lt;= 2", b"?" * 48_000)
    bpmn = (DIAGRAMS / "approval_test.bpmn").read_bytes().replace(
        b'camunda:assignee="${manager_of(agent)}"', b'camunda:candidateUsers="' + b"${" * 24_000 + b'"')
    client = api("luc")
    for files in ([("files", ("approval_test.bpmn", bpmn, "application/xml")),
                   ("files", ("approval_rule.dmn", (DIAGRAMS / "approval_rule.dmn").read_bytes(), "application/xml"))],
                  [bundle_files()[0], ("files", ("approval_rule.dmn", dmn, "application/xml"))]):
        health: list[float] = []
        probe = threading.Thread(target=lambda: health.append(
            _timed(lambda: requests.get(f"{live_server.url}/healthz", timeout=30))[1]))
        probe.start()
        response, seconds = _timed(lambda: client.post("/api/v1/processes/validate", files=files))
        probe.join()
        assert response.status_code == 200 and response.json()["valid"] is False
        assert seconds < 2.0 and health[0] < 1.0  # generous bounds: both take milliseconds now
        [problem] = response.json()["problems"]
        assert "refused" in problem["message"]


SELF_SIGNED = (DIAGRAMS / "approval_test.bpmn").read_bytes().replace(
    b'name="Manager review" camunda:assignee="${manager_of(agent)}"', b'name="Manager review" camunda:assignee="luc"')


def test_four_eyes_a_version_waits_for_another_process_owner(api, app):
    deploy_test_diagram(api)
    app.config["FOUR_EYES_DEPLOY"] = True
    luc, elodie = api("luc"), api("elodie")
    proposed = luc.post("/api/v1/processes/deploy", files=bundle_files(SELF_SIGNED), data={"comment": "luc signs"})
    assert proposed.status_code == 202, proposed.text
    body = proposed.json()
    assert (body["process"], body["status"], body["author"], body["comment"], body["version"]) == (
        "approval_test", "pending", "luc", "luc signs", None)
    assert body["steps_assigned_to_author"] == [{"id": "manager_review", "name": "Manager review"}]
    assert body["can_approve"] is False and body["files"] == ["approval_test.bpmn", "approval_rule.dmn"]
    pending_url = f"/api/v1/processes/approval_test/pending/{body['id']}"
    # nothing is deployed yet; process owners see what waits, others do not
    detail = elodie.get("/api/v1/processes/approval_test").json()
    assert detail["version"] == 1 and [p["id"] for p in detail["pending"]] == [body["id"]]
    assert detail["pending"][0]["can_approve"] is True
    assert "pending" not in api("thomas").get("/api/v1/processes/approval_test").json()
    assert_error(api("thomas").get("/api/v1/processes/approval_test/pending"), 403)
    assert elodie.get(pending_url + "/bpmn").content == SELF_SIGNED
    # the author cannot approve; someone else can, once
    assert "author" in assert_error(luc.post(pending_url + "/approve"), 403)["message"]
    approved = elodie.post(pending_url + "/approve")
    assert approved.status_code == 201, approved.text
    assert approved.json()["version"] == 2
    assert approved.json()["versions"][0] | {"deployed_at": None} == {
        "version": 2, "author": "luc", "deployed_by": "elodie", "comment": "luc signs", "deployed_at": None,
        "checksum": body["checksum"]}
    assert approved.json()["pending"] == []
    assert_error(elodie.post(pending_url + "/approve"), 409)
    decided = elodie.get(pending_url).json()
    assert (decided["status"], decided["reviewed_by"], decided["version"]) == ("approved", "elodie", 2)
    trail = [(e["type"], e["actor"]) for e in api("antoine").get(
        "/api/v1/audit/events", params={"process": "approval_test"}).json()["items"]]
    assert {("process_proposed", "luc"), ("process_approved", "elodie"), ("process_deployed", "elodie")} <= set(trail)


def test_four_eyes_a_version_can_be_rejected_and_off_it_deploys_at_once(api, app):
    deploy_test_diagram(api)
    app.config["FOUR_EYES_DEPLOY"] = True
    body = api("luc").post("/api/v1/processes/deploy", files=bundle_files(SELF_SIGNED)).json()
    url = f"/api/v1/processes/approval_test/pending/{body['id']}"
    assert_error(api("thomas").post(url + "/reject", json={"comment": "no"}), 403)
    assert_error(api("elodie").post("/api/v1/processes/mission_exchange/pending/%d/reject" % body["id"], json={}), 404)
    rejected = api("elodie").post(url + "/reject", json={"comment": "the manager reviews, not luc"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["review_comment"]) == ("rejected", "the manager reviews, not luc")
    assert api("luc").get("/api/v1/processes/approval_test").json()["version"] == 1
    app.config["FOUR_EYES_DEPLOY"] = False
    direct = api("luc").post("/api/v1/processes/deploy", files=bundle_files(SELF_SIGNED))
    assert direct.status_code == 201 and direct.json()["versions"][0]["author"] == "luc"
