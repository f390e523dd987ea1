"""One error body everywhere under /api/, and an OpenAPI document that describes it all."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

import web.api.me

from .api_helpers import assert_error

#: the contract: every endpoint, its method, and the error statuses it must document
CONTRACT = {
    ("post", "/api/v1/auth/token"): {400, 401, 422, 429},
    ("delete", "/api/v1/auth/token"): {401},
    ("get", "/api/v1/me"): {401},
    ("get", "/api/v1/processes"): {401},
    ("get", "/api/v1/processes/{key}"): {401, 404},
    ("get", "/api/v1/processes/{key}/versions/{version}/bpmn"): {401, 404},
    ("post", "/api/v1/processes/validate"): {401, 413, 422},
    ("post", "/api/v1/processes/deploy"): {401, 403, 413, 422},
    ("post", "/api/v1/instances"): {400, 401, 403, 404, 413, 422},
    ("get", "/api/v1/instances"): {401},
    ("get", "/api/v1/instances/{instance_id}"): {401, 404},
    ("post", "/api/v1/instances/{instance_id}/cancel"): {400, 401, 403, 404, 409, 422},
    ("post", "/api/v1/instances/{instance_id}/incidents/{kind}/{incident_id}/retry"): {401, 403, 404, 409},
    ("get", "/api/v1/instances/{instance_id}/history"): {401, 404},
    ("get", "/api/v1/instances/{instance_id}/diagram.svg"): {401, 404},
    ("get", "/api/v1/tasks"): {401},
    ("get", "/api/v1/tasks/{task_id}"): {401, 404},
    ("post", "/api/v1/tasks/{task_id}/claim"): {401, 403, 404, 409},
    ("post", "/api/v1/tasks/{task_id}/release"): {401, 403, 404, 409},
    ("post", "/api/v1/tasks/{task_id}/complete"): {400, 401, 403, 404, 409, 413, 422},
    ("get", "/api/v1/audit/events"): {401, 403},
    ("get", "/api/v1/audit/verify"): {401, 403},
    ("get", "/api/v1/audit/export"): {401, 403},
}


def test_unknown_paths_and_methods(api):
    client = api("thomas")
    body = assert_error(client.get("/api/v1/nothing/here"), 404)
    assert "/api/v1/nothing/here" in body["message"]
    assert_error(api().post("/api/v2/instances", json={}), 404)  # no token needed to learn it does not exist
    response = client.http.put(client.base + "/api/v1/me", json={})
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]
    assert_error(client.delete("/api/v1/tasks/1"), 405)


@pytest.mark.parametrize("raw, reason", [
    ('{"process": "mission_exchange", "data": {"x": "\\ud800"}}', "lone surrogate"),
    ('{"process": "mission_exchange", "data": {"n": NaN}}', "NaN is not a JSON number"),
    ('{"process": "mission_exchange", "data": {"n": 1e400}}', "out of range"),
    ('{"process": "mission_exchange", "data": {"n": ' + "[" * 5000 + "]" * 5000 + "}}", "recursion"),
    ('{"process": "mission_exchange", "data": {"n": ' + "9" * 5000 + "}}", "digits"),
    ('{"process": "mission_exchange"', "Expecting"),
    (b'{"process": "\xff"}', "not UTF-8"),
])
def test_what_json_cannot_say_safely_is_a_400(api, raw, reason):
    response = api("thomas").post("/api/v1/instances", data=raw, headers={"Content-Type": "application/json"})
    body = assert_error(response, 400)
    assert body["message"].startswith("the request body is not valid JSON")
    assert reason in body["message"]


def test_data_nested_too_deeply_is_refused(api):
    nested: list = []
    for _ in range(40):
        nested = [nested]
    response = api("thomas").post("/api/v1/instances", json={"process": "mission_exchange", "data": {"n": nested}})
    assert "too deeply" in assert_error(response, 422, "data")["errors"]["data"][0]


def test_a_body_too_large_is_a_413(api, app):
    app.config["MAX_CONTENT_LENGTH"] = 2_000
    response = api("thomas").post("/api/v1/instances", json={"process": "mission_exchange",
                                                             "data": {"note": "x" * 5_000}})
    assert_error(response, 413)


@pytest.mark.parametrize("failure", [RuntimeError("boom in SELECT secret FROM user_account"),
                                     OperationalError("SELECT password_hash FROM user_account", {}, Exception("db"))])
def test_an_unexpected_failure_is_a_generic_500(api, monkeypatch, caplog, failure):
    client = api("thomas")

    def broken(*args, **kwargs):
        raise failure

    monkeypatch.setattr(web.api.me.representations, "me", broken)
    response = client.get("/api/v1/me")
    body = assert_error(response, 500)
    assert body == {"code": 500, "status": "Internal Server Error",
                    "message": "the server could not answer this request; the incident has been logged"}
    assert "SELECT" not in response.text and "password_hash" not in response.text
    assert any(r.levelname == "ERROR" and "/api/v1/me" in r.getMessage() for r in caplog.records)


def test_the_openapi_document_describes_the_contract(api):
    response = api().get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "Passerelle API"
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearerAuth": []}]
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "message"}
    operations = {(method, path): op for path, item in spec["paths"].items() for method, op in item.items()
                  if method in ("get", "post", "delete", "put", "patch")}
    assert set(CONTRACT) <= set(operations)
    for key, statuses in CONTRACT.items():
        documented = {int(s) for s in operations[key]["responses"] if s != "default"}
        assert statuses <= documented, (key, documented)
        assert "default" in operations[key]["responses"]
    assert operations[("post", "/api/v1/auth/token")]["security"] == []
    deploy = operations[("post", "/api/v1/processes/deploy")]
    assert {"200", "201"} <= set(deploy["responses"])
    assert "multipart/form-data" in deploy["requestBody"]["content"]
    assert "application/xml" in operations[("get", "/api/v1/processes/{key}/versions/{version}/bpmn")][
        "responses"]["200"]["content"]
    assert "image/svg+xml" in operations[("get", "/api/v1/instances/{instance_id}/diagram.svg")][
        "responses"]["200"]["content"]
    export = operations[("get", "/api/v1/audit/export")]["responses"]["200"]["content"]
    assert {"text/csv", "application/json"} <= set(export)
