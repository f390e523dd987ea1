"""The API fuzzed from its own OpenAPI document (schemathesis): whatever a client sends, no answer
is a 500 and every answer matches the documented schema. SQLite only; a couple of minutes at most."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from .api_helpers import deploy_test_diagram, start_request

pytestmark = pytest.mark.slow

EXAMPLES = 12
#: revoking the token in use would turn the rest of the run into 401s; it has its own tests
SKIPPED = {("DELETE", "/api/v1/auth/token")}


@pytest.fixture
def database_url(tmp_path):
    """This module runs on SQLite only (it overrides the parametrized fixture)."""
    return f"sqlite:///{tmp_path / 'fuzz.sqlite'}"


def _fuzz(operation, strategy, base_url: str, headers: dict, failures: list) -> int:
    calls = 0

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        nonlocal calls
        calls += 1
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        case.validate_response(response, headers=headers,
                               checks=[not_a_server_error, response_schema_conformance, content_type_conformance])

    try:
        run()
    except Exception as error:  # keep going: report every operation that fails, not just the first
        failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    return calls


def _with_known_process(case):
    if isinstance(case.body, dict):
        case.body["process"] = "approval_test"
    return case


def test_the_api_survives_its_own_schema(api, live_server):
    deploy_test_diagram(api)
    admin = api("elodie")  # an administrator may call every endpoint
    instance = start_request(api("thomas"))  # to read, cancel, draw
    started = admin.post("/api/v1/instances", json={"process": "approval_test"}).json()
    task = started["open_tasks"][0]  # elodie's own form: random submissions reach form validation
    headers = {"Authorization": f"Bearer {admin.token}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    known = {"key": "approval_test", "version": 1, "instance_id": instance["id"], "task_id": task["id"],
             "kind": "message", "incident_id": 1, "proposed_id": 1}

    failures: list[str] = []
    calls = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 22
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            calls += _fuzz(operation, operation.as_strategy(generation_mode=mode), live_server.url, headers,
                           failures)
        names = {p.name for p in operation.path_parameters}
        if names:  # again on objects that exist, so that bodies reach the engine
            fixed = {name: known[name] for name in names}
            calls += _fuzz(operation, operation.as_strategy(path_parameters=fixed), live_server.url, headers,
                           failures)
        if (operation.method.upper(), operation.path) == ("POST", "/api/v1/instances"):  # random start data
            calls += _fuzz(operation, operation.as_strategy().map(_with_known_process), live_server.url, headers,
                           failures)
    print(f"schemathesis: {calls} cases over {len(operations)} operations")
    assert calls > 300
    assert failures == []
