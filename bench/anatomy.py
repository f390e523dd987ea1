"""Where an API call's time goes: one `temporary_support_mission` request played in-process
through the Flask test client, counting the SQL statements of each call and the share of its time
spent waiting on the database. Counts do not depend on the machine; they explain measurement 3."""
from __future__ import annotations

import statistics
import time

from sqlalchemy import event

from . import scenario


def measure(database_url: str, tokens: dict[str, str], requests: int = 3) -> dict:
    from web import create_app

    app = create_app({"DATABASE_URL": database_url, "AUTO_SETUP": False, "SECRET_KEY": "bench-" + "k" * 40})
    engine = app.extensions["passerelle.db"]
    counter = {"statements": 0, "sql_seconds": 0.0}

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        counter["statements"] += 1
        counter["sql_seconds"] += time.perf_counter() - conn.info.pop("bench_started")

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    client = app.test_client()
    calls: dict[str, list[tuple[int, float, float]]] = {"start": [], "complete": []}

    def call(kind, user, path, body):
        counter.update(statements=0, sql_seconds=0.0)
        started = time.perf_counter()
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[user]}"})
        elapsed = time.perf_counter() - started
        if response.status_code >= 300:
            raise RuntimeError(f"{kind} as {user}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        calls[kind].append((counter["statements"], counter["sql_seconds"], elapsed))
        return response.get_json()

    try:
        for n in range(requests + 1):  # the first one warms the caches and is not counted
            if n == 1:
                calls = {"start": [], "complete": []}
            agent, starter = scenario.AGENTS[n % len(scenario.AGENTS)]
            instance = call("start", starter, "/api/v1/instances", {"process": scenario.PROCESS, "data": {}})
            while instance["open_tasks"]:
                task = instance["open_tasks"][0]
                given = scenario.request_values(agent, n) if task["name"] == "describe_mission" else {}
                actor = scenario.actor_for(task["assignee"], task["candidate_users"], task["candidate_groups"], (), n)
                instance = call("complete", actor, f"/api/v1/tasks/{task['id']}/complete",
                                {"data": scenario.answers(task["form"], given)})["instance"]
    finally:
        engine.dispose()
    out = {}
    for kind, rows in calls.items():
        out[kind] = {
            "calls": len(rows),
            "statements_median": statistics.median(r[0] for r in rows),
            "statements_max": max(r[0] for r in rows),
            "sql_time_share": round(sum(r[1] for r in rows) / sum(r[2] for r in rows), 2),
        }
    return out
