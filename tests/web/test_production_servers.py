"""The production set-up as the README gives it, with real processes on PostgreSQL: gunicorn with
several workers, `passerelle worker`, many clients at once, and SIGKILL in the middle of work."""
from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import func, select

from engine import (deploy, load_organisation_file, make_engine, make_session_factory, unit_of_work,
                    upgrade_schema)
from engine.models import AuditEvent, HumanTask, Instance, OutboxMessage, ProcessVersion, Timer, User
from engine.org import DEMO_ORGANISATION
from engine.registry import PROCESSES_DIR, bundles_in
from tests.conftest import fresh_database_url
from tests.support.consistency import all_problems
from tests.support.servers import ROOT, Server, Worker, environment, passerelle
from tests.support.smtp import smtp_server  # noqa: F401 - a fixture

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MANAGER = {"thomas": "julien", "pierre": "julien", "marie": "nadia", "lea": "nadia"}


@pytest.fixture
def pg_url(tmp_path):
    url, drop = fresh_database_url("postgres", tmp_path)
    yield url
    drop()


@pytest.fixture
def db(pg_url):
    """Sessions on the test's database, for setting up and checking (closed before it is dropped)."""
    engine = make_engine(pg_url, pool_size=2)
    yield make_session_factory(engine)
    engine.dispose()


def set_up(sessions, bundle) -> None:
    """What `passerelle db upgrade`, `org load` and `deploy` do, without three interpreter start-ups."""
    upgrade_schema(sessions.kw["bind"])
    with unit_of_work(sessions) as s:
        load_organisation_file(s, DEMO_ORGANISATION)
        deploy(s, bundle, "luc", "test")


def timers_bundle(escalation="P5D"):
    text = (ROOT / "tests" / "diagrams" / "timers_test.bpmn").read_text()
    return {"timers_test.bpmn": text.replace('"P5D"</bpmn:timeDuration>', f'"{escalation}"</bpmn:timeDuration>').encode()}


@pytest.fixture
def processes():
    """Started processes, always stopped at the end of the test."""
    started = []

    def start(process):
        started.append(process)
        return process.start()

    yield start
    for process in reversed(started):
        process.stop()


class Client:
    """One API client (its own HTTP connection) signed in with a token."""

    def __init__(self, base: str, token: str):
        self.base, self.http = base, requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def tokens(cls, base: str, usernames) -> dict[str, str]:
        tokens = {}
        for username in usernames:
            response = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": "demo"},
                                     timeout=30)
            assert response.status_code == 200, response.text
            tokens[username] = response.json()["token"]
        return tokens

    def post(self, path, body=None):
        return self.http.post(self.base + path, json=body if body is not None else {}, timeout=60)

    def get(self, path):
        return self.http.get(self.base + path, timeout=60)


def run_threads(functions, timeout=120):
    errors = []

    def guarded(fn):
        try:
            fn()
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=(fn,)) for fn in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a client thread did not finish in time"
    if errors:
        raise errors[0]


# --- start-up ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["production", "development"])
def test_servers_starting_together_set_the_database_up_once(pg_url, db, tmp_path, processes, mode):
    env = environment(pg_url, DEMO_DATA="true")
    if mode == "production":
        refused = processes(Server(env, tmp_path / "refused.log", workers=1))
        refused.popen.wait(timeout=60)  # an empty database: gunicorn stops, saying what to do
        assert "run `passerelle db upgrade` before starting the servers" in refused.log()
        with ThreadPoolExecutor(2) as pool:  # two operators upgrading at the same moment
            outputs = list(pool.map(lambda _: passerelle(env, "db", "upgrade"), range(2)))
        assert outputs == ["database schema is up to date\n"] * 2
    else:
        env["PASSERELLE_ENV"] = "development"
    server = processes(Server(env, tmp_path / "gunicorn.log", workers=4)).wait_ready()
    assert "Traceback" not in server.log()
    with unit_of_work(db) as s:
        versions = s.execute(select(ProcessVersion.process_key, func.count()).group_by(ProcessVersion.process_key)).all()
        assert len(versions) == len(bundles_in(PROCESSES_DIR)) and {n for _, n in versions} == {1}
        assert s.scalar(select(func.count()).select_from(User)) == 14
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "process_deployed")) \
            == len(versions)
        assert all_problems(s) == []
    response = requests.get(server.url + "/healthz", timeout=10)
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "current"}


# --- many clients at once ----------------------------------------------------------------------

def test_many_clients_claim_and_complete_the_same_and_different_tasks(pg_url, db, tmp_path, processes, smtp_server):
    env = environment(pg_url, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port))
    set_up(db, timers_bundle())
    server = processes(Server(env, tmp_path / "gunicorn.log", workers=4)).wait_ready()
    tokens = Client.tokens(server.url, ["thomas", "pierre", "marie", "lea", "julien", "nadia", "sophie", "karim"])
    statuses: collections.Counter = collections.Counter()
    lock = threading.Lock()

    def count(response, *expected):
        with lock:
            statuses[response.status_code] += 1
        assert response.status_code in expected, f"{response.status_code} {response.text}"
        return response

    started_at = time.monotonic()
    # 1. Four requesters, two clients each, start 24 requests at once.
    started: dict[str, list[int]] = collections.defaultdict(list)

    def starter(username):
        client = Client(server.url, tokens[username])
        for i in range(3):
            response = count(client.post("/api/v1/instances", {"process": "timers_test", "data": {
                "title": f"{username} {i}", "agent": username, "end_date": "2030-01-31"}}), 201)
            with lock:
                started[username].append(response.json()["id"])

    run_threads([lambda u=u: starter(u) for u in MANAGER for _ in range(2)])
    assert sum(len(ids) for ids in started.values()) == 24

    # 2. Half of them: each manager decides in three browser tabs at once — the same tasks.
    reviewed = {u: ids[:3] for u, ids in started.items()}
    review_tasks = _open_tasks(db, [i for ids in reviewed.values() for i in ids], "review")
    wins: dict[int, list[tuple[str, str]]] = collections.defaultdict(list)

    def reviewer(manager, tab):
        client = Client(server.url, tokens[manager])
        for task_id, instance_id in review_tasks:
            if MANAGER[_starter_of(started, instance_id)] != manager:
                continue
            decision = "approve" if instance_id % 2 else "reject"
            response = count(client.post(f"/api/v1/tasks/{task_id}/complete",
                                         {"data": {"decision": decision, "comment": f"tab {tab}"}}), 200, 409)
            if response.status_code == 200:
                with lock:
                    wins[task_id].append((manager, f"tab {tab}"))

    run_threads([lambda m=m, t=t: reviewer(m, t) for m in ("julien", "nadia") for t in range(3)])

    # 3. The other half waits past the 5-day escalation: one worker pass at that moment.
    later = (datetime.now(timezone.utc) + timedelta(days=6)).isoformat(timespec="minutes")
    assert passerelle(env, "worker", "--once", "--now", later).startswith("12 timer job(s) done, 0 failed")
    escalated = [i for ids in started.values() for i in ids[3:]]
    hr_tasks = _open_tasks(db, escalated, "hr_review")
    assert len(hr_tasks) == 12

    # 4. HR: sophie and karim, two tabs each, all claim and complete the same 12 tasks.
    claimed: collections.Counter = collections.Counter()

    def hr_agent(username):
        client = Client(server.url, tokens[username])
        for task_id, _ in hr_tasks:
            claim = count(client.post(f"/api/v1/tasks/{task_id}/claim"), 200, 409)
            if claim.status_code != 200:
                continue
            with lock:
                claimed[(task_id, username)] += 1
            response = count(client.post(f"/api/v1/tasks/{task_id}/complete", {"data": {"decision": "approve"}}),
                             200, 409)
            if response.status_code == 200:
                with lock:
                    wins[task_id].append((username, "hr"))

    run_threads([lambda u=u: hr_agent(u) for u in ("sophie", "karim") for _ in range(2)])
    elapsed = time.monotonic() - started_at

    # Every task completed exactly once; every loser got 409; nothing else went wrong.
    assert sorted(wins) == sorted(t for t, _ in review_tasks + hr_tasks)
    assert all(len(w) == 1 for w in wins.values()), wins
    assert set(statuses) <= {200, 201, 409}
    attempts_review = sum(3 for _ in review_tasks)
    assert statuses[409] >= attempts_review - len(review_tasks)
    with unit_of_work(db) as s:
        for task_id, [(winner, comment)] in wins.items():
            task = s.get(HumanTask, task_id)
            assert task.status == "completed" and task.completed_by == winner
            if comment != "hr":
                assert task.data["comment"] == comment
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "task_completed")) == 24
        assert all_problems(s) == []
        assert {i.status for i in s.scalars(select(Instance))} == {"running", "completed"}
    print(f"\nconcurrency: 4 gunicorn workers, {8 + 6 + 4} client threads, 24 requests started, "
          f"24 tasks completed exactly once, {statuses[409]} answered 409, "
          f"{sum(statuses.values())} requests in {elapsed:.1f}s; statuses {dict(statuses)}")


def _open_tasks(sessions, instance_ids, bpmn_id) -> list[tuple[int, int]]:
    with unit_of_work(sessions) as s:
        return [(t.id, t.instance_id) for t in s.scalars(
            select(HumanTask).where(HumanTask.instance_id.in_(instance_ids), HumanTask.bpmn_id == bpmn_id,
                                    HumanTask.status == "ready").order_by(HumanTask.id))]


def _starter_of(started, instance_id) -> str:
    return next(u for u, ids in started.items() if instance_id in ids)


# --- crash safety ------------------------------------------------------------------------------

class Load:
    """Clients working without pause: requesters start requests, managers decide, HR claims and
    decides. Only answers the server gave are recorded as acknowledged; a cut connection is not."""

    def __init__(self, base: str, tokens: dict[str, str]):
        self.base, self.tokens = base, tokens
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.started: list[tuple[int, str]] = []
        self.completed: list[tuple[int, str, dict]] = []
        self.cut = 0  # requests sent that got no answer: the server died under them
        self.refused = 0  # requests that found no server (while it restarted)
        self.statuses: collections.Counter = collections.Counter()

    def call(self, client: Client, path: str, body=None, method="post"):
        with self.lock:
            self.in_flight += 1
        try:
            response = client.post(path, body) if method == "post" else client.get(path)
        except requests.RequestException as err:
            with self.lock:
                if "refused" in str(err):
                    self.refused += 1
                else:
                    self.cut += 1
            time.sleep(0.05)
            return None
        finally:
            with self.lock:
                self.in_flight -= 1
        with self.lock:
            self.statuses[response.status_code] += 1
        assert response.status_code < 500, f"{path}: {response.status_code} {response.text}"
        return response

    def requester(self, username):
        client, n = Client(self.base, self.tokens[username]), 0
        while not self.stop.is_set():
            n += 1
            r = self.call(client, "/api/v1/instances", {"process": "timers_test", "data": {
                "title": f"{username} {n}", "agent": username, "end_date": "2030-01-31"}})
            if r is not None and r.status_code == 201:
                with self.lock:
                    self.started.append((r.json()["id"], username))

    def decider(self, username, decision):
        client, n = Client(self.base, self.tokens[username]), 0
        while not self.stop.is_set():
            r = self.call(client, "/api/v1/tasks?page_size=20", method="get")
            if r is None or r.status_code != 200:
                continue
            for task in r.json()["items"]:
                if self.stop.is_set():
                    return
                if task["candidate_groups"] and not task["claimed"]:
                    claim = self.call(client, f"/api/v1/tasks/{task['id']}/claim")
                    if claim is None or claim.status_code != 200:
                        continue
                n += 1
                data = {"decision": decision, "comment": f"{username} {n}"}
                done = self.call(client, f"/api/v1/tasks/{task['id']}/complete", {"data": data})
                if done is not None and done.status_code == 200:
                    with self.lock:
                        self.completed.append((task["id"], username, data))
            time.sleep(0.05)

    def wait_for_work_in_flight(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.in_flight >= 2:
                    return
            time.sleep(0.005)


def _wait_until(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(message)


def test_sigkill_of_server_and_worker_mid_work_loses_nothing_acknowledged(pg_url, db, tmp_path, processes,
                                                                         smtp_server):
    env = environment(pg_url, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port), WORKER_POLL_SECONDS="0.1",
                      WORKER_BACKOFF_SECONDS="1", REMINDER_HOURS="0")
    set_up(db, timers_bundle(escalation="PT2S"))  # unanswered reviews escalate to HR after 2 seconds
    server = processes(Server(env, tmp_path / "gunicorn.log", workers=3)).wait_ready()
    worker = processes(Worker(env, tmp_path / "worker.log"))
    tokens = Client.tokens(server.url, ["thomas", "pierre", "marie", "lea", "julien", "nadia", "sophie", "karim"])
    load = Load(server.url, tokens)
    clients = [threading.Thread(target=load.requester, args=(u,)) for u in MANAGER]
    clients += [threading.Thread(target=load.decider, args=(u, "approve")) for u in ("julien", "nadia")]
    clients += [threading.Thread(target=load.decider, args=(u, "reject")) for u in ("sophie", "karim")]
    for t in clients:
        t.start()
    kills = 0
    try:
        for round in range(2):
            time.sleep(2.5)  # let work pile up: requests, escalations, mail
            load.wait_for_work_in_flight()
            server.kill()
            worker.kill()
            kills += 1
            server = processes(Server(env, tmp_path / f"gunicorn{round}.log", workers=3, port=server.port))
            worker = processes(Worker(env, tmp_path / f"worker{round}.log"))
            server.wait_ready()
        time.sleep(2)
    finally:
        load.stop.set()
        for t in clients:
            t.join(timeout=60)
    assert not any(t.is_alive() for t in clients)

    def drained():
        with unit_of_work(db) as s:
            escalations = s.scalar(select(func.count()).select_from(Timer).where(
                Timer.status == "waiting", Timer.bpmn_id == "escalation"))
            unsent = s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
            return escalations == 0 and unsent == 0
    _wait_until(drained, 45, "the restarted worker did not finish the work left behind")
    worker.stop()
    server.stop()

    assert load.cut > 0, "the kills cut no request in flight: nothing was tested"
    with unit_of_work(db) as s:
        assert all_problems(s) == []
        instances = {i.id: i for i in s.scalars(select(Instance))}
        for instance_id, username in load.started:
            assert instances[instance_id].started_by == username
        for task_id, username, data in load.completed:
            task = s.get(HumanTask, task_id)
            assert (task.status, task.completed_by, task.data["comment"]) == ("completed", username, data["comment"])
        escalated = s.execute(select(AuditEvent.instance_id, func.count()).where(
            AuditEvent.type == "timer_fired", AuditEvent.task_id == "escalation").group_by(AuditEvent.instance_id)).all()
        assert all(n == 1 for _, n in escalated)
        hr_reviews = s.execute(select(HumanTask.instance_id, func.count()).where(
            HumanTask.bpmn_id == "hr_review").group_by(HumanTask.instance_id)).all()
        assert all(n == 1 for _, n in hr_reviews)
        assert len(hr_reviews) == len(escalated) > 0
        # every task offered to someone was announced, and every announcement went out
        tasks = s.scalars(select(HumanTask)).all()
        keys = set(s.scalars(select(OutboxMessage.dedup_key).where(OutboxMessage.kind == "task_assigned")))
        expected = {f"task:{t.id}:to:{u}" for t in tasks
                    for u in ([t.default_assignee] if t.default_assignee else ["sophie", "karim"])}
        assert expected <= keys
        sent = s.scalar(select(func.count()).select_from(OutboxMessage))
    from engine.mailer import message_id
    received = collections.Counter(m["Message-ID"] for m in smtp_server.messages)
    with unit_of_work(db) as s:
        ids = {message_id(k, "passerelle@localhost") for k in s.scalars(select(OutboxMessage.dedup_key))}
    assert set(received) == ids  # nothing lost ...
    assert max(received.values()) <= 1 + kills  # ... and a re-send only for a send cut by a kill
    print(f"\ncrash: {kills} SIGKILLs of gunicorn (3 workers) and the worker, {len(load.started)} requests started and "
          f"{len(load.completed)} tasks completed with an answer, {load.cut} requests cut in flight, {load.refused} "
          f"refused while restarting, {len(instances)} requests "
          f"in the database, {len(escalated)} escalations fired once each, {sent} messages "
          f"({sum(received.values()) - len(received)} duplicates); statuses {dict(load.statuses)}")
