"""What one API call costs the database, counted (never timed): a whole `temporary_support_mission`
request played over the API, as the benchmark plays it (bench/scenario.py).

Each call is one transaction; completing a task, with the request as it now stands in the answer,
stays within a statement budget, and the task list costs the same few statements however long.
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from bench import scenario

#: SQL statements per call, BEGIN not counted (measured: start 15, complete at most 35, list 2)
BUDGET = {"start": 17, "complete": 37, "list": 3}


class Counted:
    """The app's test client with a bearer token per person, counting each call's statements and
    transactions."""

    def __init__(self, app):
        self.client = app.test_client()
        self.engine = app.extensions["passerelle.db"]
        self.tokens: dict[str, str] = {}
        self.calls: list[tuple[str, int, int]] = []  # (kind, statements, transactions)

    def token(self, username: str) -> str:
        if username not in self.tokens:
            response = self.client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json["token"]
        return self.tokens[username]

    def call(self, kind: str, username: str, method: str, path: str, body=None):
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        with self.counting() as seen:
            response = self.client.open(path, method=method, json=body, headers=headers)
        assert response.status_code < 300, response.text
        self.calls.append((kind, seen["statements"], seen["transactions"]))
        return response.json

    @contextmanager
    def counting(self):
        seen = {"statements": 0, "transactions": 0}

        def statement(conn, cursor, sql, *args):
            if not sql.startswith("BEGIN"):  # SQLite's BEGIN [IMMEDIATE] is a statement; PostgreSQL's is not
                seen["statements"] += 1

        def begin(conn):
            seen["transactions"] += 1

        event.listen(self.engine, "before_cursor_execute", statement)
        event.listen(self.engine, "begin", begin)
        try:
            yield seen
        finally:
            event.remove(self.engine, "before_cursor_execute", statement)
            event.remove(self.engine, "begin", begin)


def play_request(api: Counted, n: int = 0) -> None:
    """Start a request and complete its tasks one by one, each actor reading their task list first."""
    agent, starter = scenario.AGENTS[n % len(scenario.AGENTS)]
    instance = api.call("start", starter, "POST", "/api/v1/instances", {"process": scenario.PROCESS, "data": {}})
    while instance["open_tasks"]:
        task = instance["open_tasks"][0]
        given = scenario.request_values(agent, n) if task["name"] == "describe_mission" else {}
        actor = scenario.actor_for(task["assignee"], task["candidate_users"], task["candidate_groups"], (), n)
        api.call("list", actor, "GET", "/api/v1/tasks")
        answer = api.call("complete", actor, "POST", f"/api/v1/tasks/{task['id']}/complete",
                          {"data": scenario.answers(task["form"], given)})
        instance = answer["instance"]
    assert instance["status"] == "completed", instance


def test_each_call_of_a_whole_request_stays_within_its_statement_budget(app):
    api = Counted(app)
    play_request(api)
    assert {kind for kind, _, _ in api.calls} == set(BUDGET)
    for kind, statements, transactions in api.calls:
        assert statements <= BUDGET[kind], (kind, statements, api.calls)
        # the answer is read in the transaction that made the change, not in a second one
        assert transactions == 1, (kind, transactions)


def test_the_task_list_costs_the_same_however_long(app):
    api = Counted(app)
    api.call("start", "nadia", "POST", "/api/v1/instances", {"process": scenario.PROCESS, "data": {}})
    first = api.call("list", "nadia", "GET", "/api/v1/tasks")
    for _ in range(4):
        api.call("start", "nadia", "POST", "/api/v1/instances", {"process": scenario.PROCESS, "data": {}})
    many = api.call("list", "nadia", "GET", "/api/v1/tasks")
    assert (first["total"], many["total"]) == (1, 5)
    lists = [statements for kind, statements, _ in api.calls if kind == "list"]
    assert lists[0] == lists[1] <= BUDGET["list"], lists
