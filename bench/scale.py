"""Measurement 4: the task list and the audit search on a database that has run for years.

After bulk.load, `OPEN_TASKS` genuine requests are played through the engine so that one manager
(julien) has exactly that many open tasks among the ~300,000 task rows. Then, one call at a time,
alternating: GET /api/v1/tasks as julien, and GET /api/v1/audit/events?actor=<busy actor> as the
auditor; the same two questions are also timed at the engine level (engine.queries, no HTTP).
"""
from __future__ import annotations

import time

import requests
from sqlalchemy import func, select

from engine import find_user, queries, unit_of_work
from engine.models import AuditEvent, HumanTask, Instance

from . import play
from .stats import latency_summary

MANAGER = "julien"            # the user whose task list is measured
AUDITOR = "antoine"
AUDITED_ACTOR = "luc"         # the coordinator: acts on every request, a busy audit trail
OPEN_TASKS = 50


def genuine_open_tasks(sessions, count: int = OPEN_TASKS) -> None:
    """`count` requests of julien's agents, each waiting for julien's release agreement."""
    for n in range(count):
        agent = ("thomas", "pierre")[n % 2]
        instance_id = play.start(sessions, "nadia")
        play.advance(sessions, instance_id, 2, agent, n=n)
    with unit_of_work(sessions) as s:
        total = queries.tasks(s, find_user(s, MANAGER)).total
    if total != count:
        raise RuntimeError(f"{MANAGER} has {total} open tasks, expected {count}")


def census(sessions) -> dict[str, int]:
    with unit_of_work(sessions) as s:
        return {
            "instances": s.scalar(select(func.count(Instance.id))),
            "task_rows": s.scalar(select(func.count(HumanTask.id))),
            "open_task_rows": s.scalar(select(func.count(HumanTask.id)).where(HumanTask.status == "ready")),
            "audit_events": s.scalar(select(func.count(AuditEvent.id))),
            "audited_actor_events": s.scalar(select(func.count(AuditEvent.id))
                                             .where(AuditEvent.actor == AUDITED_ACTOR)),
            "manager_open_tasks": queries.tasks(s, find_user(s, MANAGER)).total,
        }


def measure_engine(sessions, repeats: int) -> dict:
    """Both questions through engine.queries in a fresh session each time (no HTTP)."""
    timings = {"tasks": [], "audit": []}
    with unit_of_work(sessions) as s:
        manager_id = find_user(s, MANAGER).id
    for _ in range(repeats):
        for kind in ("tasks", "audit"):
            started = time.perf_counter()
            with unit_of_work(sessions) as s:
                if kind == "tasks":
                    from engine.models import User
                    page = queries.tasks(s, s.get(User, manager_id))
                    [t.instance.process_key for t in page.items]  # what a representation reads
                else:
                    queries.audit_events(s, actor=AUDITED_ACTOR)
            timings[kind].append(time.perf_counter() - started)
    return {kind: latency_summary(samples) for kind, samples in timings.items()}


def measure_http(base: str, tokens: dict[str, str], repeats: int, open_tasks: int = OPEN_TASKS) -> dict:
    http = requests.Session()
    calls = {
        "tasks": (f"{base}/api/v1/tasks", tokens[MANAGER], open_tasks),
        "audit": (f"{base}/api/v1/audit/events?actor={AUDITED_ACTOR}", tokens[AUDITOR], None),
    }
    timings = {kind: [] for kind in calls}
    for i in range(repeats + 5):  # the first few warm both workers
        for kind, (url, token, expected) in calls.items():
            started = time.perf_counter()
            response = http.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:300]}")
            body = response.json()
            if expected is not None and (body["total"] != expected or len(body["items"]) != expected):
                raise RuntimeError(f"GET {url}: {body['total']} tasks, expected {expected}")
            if i >= 5:
                timings[kind].append(elapsed)
    return {kind: latency_summary(samples) for kind, samples in timings.items()}
