"""Measurement 3: whole `temporary_support_mission` requests, from start to their last task,
driven through the JSON API by concurrent clients against gunicorn.

Each client plays one request after another as the people of the demo organisation (an API token
each): POST /api/v1/instances, then POST /api/v1/tasks/<id>/complete for every task that comes up,
reading the next tasks from each answer, as a client of the API does. Every call is timed.
"""
from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import requests

from . import scenario
from .stats import latency_summary


@dataclass(frozen=True)
class Load:
    clients: int = 8
    seconds: float = 40.0   # start new requests until then; requests under way are finished
    warmup_requests: int = 2


class Client(threading.Thread):
    def __init__(self, number: int, base: str, tokens: dict[str, str], deadline: float):
        super().__init__(name=f"bench-client-{number}", daemon=True)
        self.number, self.base, self.tokens, self.deadline = number, base, tokens, deadline
        self.agent, self.starter = scenario.AGENTS[number % len(scenario.AGENTS)]
        self.http = requests.Session()
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.requests_done = 0
        self.completions = 0
        self.error: str | None = None

    def call(self, kind: str, user: str, path: str, body: dict) -> dict:
        started = time.perf_counter()
        response = self.http.post(self.base + path, json=body, timeout=120,
                                  headers={"Authorization": f"Bearer {self.tokens[user]}"})
        elapsed = time.perf_counter() - started
        if response.status_code >= 300:
            raise RuntimeError(f"{kind} as {user}: {response.status_code} {response.text[:300]}")
        self.timings[kind].append(elapsed)
        return response.json()

    def play(self, n: int) -> None:
        instance = self.call("start", self.starter, "/api/v1/instances",
                             {"process": scenario.PROCESS, "data": {}})
        for _ in range(30):  # far more than the process has tasks
            tasks = instance["open_tasks"]
            if not tasks:
                break
            task = tasks[0]
            given = scenario.request_values(self.agent, n) if task["name"] == "describe_mission" else {}
            actor = scenario.actor_for(task["assignee"], task["candidate_users"], task["candidate_groups"], (), n)
            done = self.call("complete", actor, f"/api/v1/tasks/{task['id']}/complete",
                             {"data": scenario.answers(task["form"], given)})
            self.completions += 1
            instance = done["instance"]
        if instance["status"] != "completed" or instance["end_state"] != "completed":
            raise RuntimeError(f"request {instance['id']} ended {instance['status']}/{instance['end_state']}: "
                               f"{instance.get('failure') or instance['data'].get('eligibility_problems')}")
        self.requests_done += 1

    def run(self) -> None:
        n = 0
        try:
            while time.monotonic() < self.deadline:
                self.play(n)
                n += 1
        except Exception as err:  # reported, and fails the run
            self.error = f"{type(err).__name__}: {err}"


def measure(base: str, tokens: dict[str, str], load: Load, cpu=None, log=print) -> dict:
    """Run the load; `cpu()` (optional) returns CPU seconds used so far by part (server, ...)."""
    warm = Client(0, base, tokens, 0)
    for n in range(load.warmup_requests):  # both workers import, connect and cache the specs
        warm.play(n)
    deadline = time.monotonic() + load.seconds
    clients = [Client(i, base, tokens, deadline) for i in range(load.clients)]
    cpu_before = cpu() if cpu else {}
    started = time.perf_counter()
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=load.seconds + 600)
    elapsed = time.perf_counter() - started
    cpu_after = cpu() if cpu else {}
    errors = [c.error for c in clients if c.error] + [f"{c.name} still running" for c in clients if c.is_alive()]
    if errors:
        raise RuntimeError("HTTP load failed: " + "; ".join(errors[:3]))
    every = [t for c in clients for ts in c.timings.values() for t in ts]
    by_kind = {kind: [t for c in clients for t in c.timings.get(kind, [])] for kind in ("start", "complete")}
    requests_done = sum(c.requests_done for c in clients)
    completions = sum(c.completions for c in clients)
    result = {
        "clients": load.clients,
        "seconds": round(elapsed, 1),
        "missions": requests_done,
        "http_calls": len(every),
        "calls_per_second": round(len(every) / elapsed, 1),
        "completions_per_second": round(completions / elapsed, 1),
        "missions_per_second": round(requests_done / elapsed, 2),
        "latency": latency_summary(every),
        "latency_start": latency_summary(by_kind["start"]),
        "latency_complete": latency_summary(by_kind["complete"]),
    }
    if cpu_after:
        # CPU time per HTTP call, by part: with 2 cores, 2000 / (their sum) calls a second at best
        result["cpu_ms_per_call"] = {part: round((cpu_after[part] - cpu_before[part]) * 1000 / len(every), 2)
                                     for part in cpu_after}
        result["cpu_busy_share"] = round(sum(cpu_after[p] - cpu_before[p] for p in cpu_after)
                                         / (elapsed * (os.cpu_count() or 1)), 2)
    if "cpu_ms_per_call" in result:
        log(f"    CPU ms per call: {result['cpu_ms_per_call']}, machine busy {result['cpu_busy_share']:.0%}")
    log(f"    {result['completions_per_second']} completions/s, {result['calls_per_second']} calls/s, "
        f"p50/p95/p99 {result['latency']['p50_ms']}/{result['latency']['p95_ms']}/{result['latency']['p99_ms']} ms")
    return result
