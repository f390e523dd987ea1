"""While diagram code that would once have frozen or crashed the server runs in one request, the
server keeps answering everyone else, and that request fails with its reason
(tests/diagrams/sandbox_attacks.bpmn; the attacks one by one: tests/engine/test_sandbox_isolation.py)."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from engine import deploy, unit_of_work

from tests.engine.helpers import DIAGRAMS

from .page_client import sessions

BUNDLE = {name: (DIAGRAMS / name).read_bytes() for name in ("sandbox_attacks.bpmn", "sandbox_alias.dmn")}


@pytest.mark.parametrize("attack, reason", [
    ("builtin", "evaluation exceeded 1 s"),
    ("deep_script", "evaluation crashed its sandbox process (killed by SIGSEGV)"),
])
def test_healthz_answers_within_a_second_while_hostile_code_runs(app, api, live_server, attack, reason):
    with unit_of_work(sessions(app)) as s:
        deploy(s, BUNDLE, "luc", "hostile code")
    thomas = api("thomas")
    outcome: dict = {}

    def hostile():
        outcome["response"] = thomas.post("/api/v1/instances", json={
            "process": "sandbox_attacks", "data": {"title": "Hostile", "attack": attack, "wait_for": "R3/P1D"}})

    thread = threading.Thread(target=hostile, daemon=True)
    thread.start()
    latencies = []
    while not latencies or thread.is_alive():
        asked = time.monotonic()
        response = requests.get(live_server.url + "/healthz", timeout=10)
        latencies.append(time.monotonic() - asked)
        assert response.status_code == 200
        thread.join(timeout=0.05)  # ask again soon, or stop as soon as the hostile request ends
    thread.join()
    # Before, the server froze (43.8 s for one DMN cell) or died. The suite runs on both cores of a
    # 2-core machine (pytest-xdist), so while the sandbox process burns its second of CPU the server
    # shares the other core with another test: 1 s was seen to take 1.4 s under that load.
    assert max(latencies) < 3.0, f"/healthz took {max(latencies):.2f} s"
    assert sorted(latencies)[len(latencies) // 2] < 0.5  # and most answers come at once
    started = outcome["response"]
    assert started.status_code == 201, started.text
    instance = thomas.get(f"/api/v1/instances/{started.json()['id']}").json()
    assert instance["status"] == "failed"
    assert reason in instance["failure"]
