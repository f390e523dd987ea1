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
    client = api("thomas")
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
    client = api("thomas")
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
