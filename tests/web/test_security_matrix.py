"""Who may do what: every role of the demo organisation against every page and every API endpoint.

The expected answers come from the tables below (SEES, ACTS, CANCELS, ...), written from the issue's
rules, never computed by the code under test. Requests and tasks are real ones, made once per
module on SQLite (`world`); every call that is refused, or that is answered without acting (a
form sent empty by the one person who may send it), must leave the database exactly as it was:
same tasks in the same state, same audit events, same instances, same versions. The guessing of
task and request ids is tried again over real HTTP on SQLite and PostgreSQL at the end.
"""
from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

import pytest
from sqlalchemy import func, select

from engine import (cancel_instance, claim_task, complete_task, deploy, find_user, now, queries, reject, release_task,
                    submit,
                    start_instance, unit_of_work)
from engine.models import AuditEvent, HumanTask, Instance, OutboxMessage, ProcessVersion, StagedFile, StagedUpload
from web import create_app

from .api_helpers import DIAGRAMS
from .page_client import Person

# --- the organisation and the rules, declared -----------------------------------------------------

#: one person per role of the demo organisation (luc is both coordinator and process owner)
ROLES = {
    "thomas": "agent", "julien": "manager of thomas and pierre", "nadia": "project_lead, manager of marie",
    "karim": "hr", "luc": "coordinator, process_owner", "claire": "dgs, manager of julien and nadia",
    "ines": "ethics", "hugo": "host_referent", "antoine": "auditor", "elodie": "admin",
}
USERS = tuple(ROLES)
ANONYMOUS = None
EVERYONE = (*USERS, ANONYMOUS)

#: the requests made in `world`: who starts each and for which agent, and how far it goes
#   A  thomas for himself, waiting for his manager julien (task TA; TD is his own finished "describe")
#   B  marie for herself, waiting for her manager nadia (TB)
#   C  pierre for himself, approved by julien, offered to the ethics group and claimed by ines (TC)
#   F  julien for himself, waiting for his manager claire (TF)
#   E  thomas for himself, withdrawn by him before review
#   G  marie's mission-exchange need, offered to every agent: thomas offered to help (TG, done), she
#      has yet to talk with him. Every agent was a candidate of TG; only who sees G may read it.
# Each is seen by its starter, the people it waits or waited on, its agent's line manager (not the
# manager's manager), and hr, auditor and admin (every request); nobody else.
SEES = {
    "A": {"thomas", "julien", "karim", "antoine", "elodie"},
    "B": {"nadia", "karim", "antoine", "elodie"},
    "C": {"julien", "ines", "karim", "antoine", "elodie"},
    "F": {"julien", "claire", "karim", "antoine", "elodie"},
    "E": {"thomas", "julien", "karim", "antoine", "elodie"},
    "G": {"thomas", "nadia", "karim", "antoine", "elodie"},
}
REQUEST_OF = {"TA": "A", "TB": "B", "TC": "C", "TF": "F", "TD": "A", "TG": "G"}
#: who may act on each open task now
ACTS = {"TA": {"julien"}, "TB": {"nadia"}, "TC": {"ines"}, "TF": {"claire"}, "TD": set()}
#: who may withdraw (the starter, until approved) or cancel (hr, admin)
CANCELS = {"A": {"thomas", "karim", "elodie"}, "B": {"karim", "elodie"}, "C": {"karim", "elodie"},
           "F": {"julien", "karim", "elodie"}, "E": {"thomas", "karim", "elodie"}}
#: who may release a task claimed by ines: ines herself, hr and admin
RELEASES_TC = {"ines", "karim", "elodie"}
#: who may retry an incident (a job that kept failing): hr and admin
RETRIES_INCIDENTS = {"karim", "elodie"}
PROCESS_OWNERS = {"luc", "elodie"}
AUDITORS = {"antoine", "elodie"}
HR_ONLY_STARTERS = {"karim"}
#: the upload staged on the Processes page belongs to luc alone
UPLOADER = "luc"

# --- the diagrams of this module -----------------------------------------------------------------

MATRIX_BPMN = (DIAGRAMS / "security_matrix.bpmn").read_bytes()
HR_ONLY_BPMN = (DIAGRAMS / "hr_only.bpmn").read_bytes()

NOT_XML = ("broken.bpmn", b"this is not XML")


# --- the world: one app, the requests above, a signed-in client and a token per person -------------

@dataclass
class World:
    app: object
    ids: dict[str, object]
    pages: dict[str | None, Person]
    tokens: dict[str, str]

    @property
    def sessions(self):
        return self.app.extensions["passerelle.sessions"]

    def url(self, template: str) -> str:
        return template.format(**self.ids)


def _request(sessions, starter: str, title: str) -> tuple[int, int]:
    """`starter` starts a security_matrix request for themselves and describes it: (instance, describe task)."""
    with unit_of_work(sessions) as s:
        user = find_user(s, starter)
        instance = start_instance(s, "security_matrix", user, {})
        [describe] = queries.open_tasks(s, instance.id)
        complete_task(s, describe.id, user, {"title": title, "agent": starter})
        return instance.id, describe.id


def _need_offered(sessions, starter: str, title: str, volunteer: str) -> tuple[int, int]:
    """`starter` posts a mission-exchange need and `volunteer` offers to help: (instance, the done `apply`)."""
    need = {"title": title, "description": "A hand", "skills_wanted": "Any", "effort_days": 2,
            "deadline": (now() + timedelta(days=60)).date().isoformat()}
    with unit_of_work(sessions) as s:
        instance = start_instance(s, "mission_exchange", find_user(s, starter), {})
        [post] = queries.open_tasks(s, instance.id)
        complete_task(s, post.id, find_user(s, starter), need)
        [apply] = queries.open_tasks(s, instance.id)
        complete_task(s, apply.id, find_user(s, volunteer), {"motivation": "I can"})
        return instance.id, apply.id


def _open_task(sessions, instance_id: int) -> int:
    with sessions() as s:
        [task] = queries.open_tasks(s, instance_id)
        return task.id


def _act(sessions, username: str, task_id: int, data: dict | None = None, claim: bool = False) -> None:
    with unit_of_work(sessions) as s:
        user = find_user(s, username)
        if claim:
            claim_task(s, task_id, user)
        else:
            complete_task(s, task_id, user, data or {})


def _stage_spoilt_upload(app, person: Person) -> str:
    """An upload checked and waiting on its owner's confirmation: its token. The staged files are
    then spoilt in the database, so that confirming them fails validation and deploys nothing."""
    changed = MATRIX_BPMN.replace(b"gives an opinion", b"gives an opinion, then it ends")
    response = person.post("/processes/upload", {"comment": "", "files": [(io.BytesIO(changed), "security_matrix.bpmn")]},
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    token = response.location.rsplit("/", 1)[1]
    with unit_of_work(app.extensions["passerelle.sessions"]) as s:
        [staged] = s.scalars(select(StagedFile).join(StagedUpload).where(
            StagedUpload.token == token, StagedFile.filename == "security_matrix.bpmn"))
        assert staged.content == changed
        staged.content = changed.replace(b'targetRef="end"', b'targetRef="nowhere"')
    return token


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("matrix")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder / 'matrix.sqlite'}",
                      "SECRET_KEY": "test-secret-key-" + "x" * 32, "AUTO_SETUP": True, "DEMO_DATA": True,
                      "RATELIMIT_ENABLED": False})
    app.instance_path = str(folder / "instance")
    sessions = app.extensions["passerelle.sessions"]
    with unit_of_work(sessions) as s:
        deploy(s, {"security_matrix.bpmn": MATRIX_BPMN}, "luc", "matrix")
        deploy(s, {"hr_only.bpmn": HR_ONLY_BPMN}, "luc", "matrix")
        # four eyes: a version luc proposed, waiting (P), and one already rejected (PD)
        luc = find_user(s, "luc")
        waiting = submit(s, {"security_matrix.bpmn": MATRIX_BPMN.replace(b"gives an opinion", b"gives a view")},
                         luc, "", four_eyes=True)
        decided = submit(s, {"security_matrix.bpmn": MATRIX_BPMN.replace(b"gives an opinion", b"says no")},
                         luc, "", four_eyes=True)
        reject(s, decided.id, find_user(s, "elodie"), "no")
        proposals = {"P": waiting.id, "PD": decided.id}
    ids: dict[str, object] = dict(proposals)
    ids["A"], ids["TD"] = _request(sessions, "thomas", "Request A by thomas")
    ids["B"], _ = _request(sessions, "marie", "Request B by marie")
    ids["C"], _ = _request(sessions, "pierre", "Request C by pierre")
    ids["F"], _ = _request(sessions, "julien", "Request F by julien")
    ids["E"], _ = _request(sessions, "thomas", "Request E by thomas")
    ids["TA"], ids["TB"], ids["TF"] = (_open_task(sessions, ids[k]) for k in ("A", "B", "F"))
    _act(sessions, "julien", _open_task(sessions, ids["C"]), {"decision": "approve"})
    ids["TC"] = _open_task(sessions, ids["C"])
    _act(sessions, "ines", ids["TC"], claim=True)
    with unit_of_work(sessions) as s:
        cancel_instance(s, ids["E"], find_user(s, "thomas"), "no longer needed")
    ids["G"], ids["TG"] = _need_offered(sessions, "marie", "Request G by marie", "thomas")

    pages = {username: Person(app.test_client(), username) for username in USERS}
    pages[ANONYMOUS] = Person(app.test_client())
    client = app.test_client()
    tokens = {}
    for username in USERS:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
        assert response.status_code == 200, response.get_data(as_text=True)
        tokens[username] = response.get_json()["token"]
    ids["token"] = _stage_spoilt_upload(app, pages[UPLOADER])
    with sessions() as s:  # a job of A that is no incident (a notice still to send): retrying it acts on nothing
        ids["MA"] = s.scalars(select(OutboxMessage.id).where(OutboxMessage.instance_id == ids["A"])).first()
        assert ids["MA"] is not None
    yield World(app, ids, pages, tokens)
    app.extensions["passerelle.db"].dispose()


# --- what "nothing changed" means ----------------------------------------------------------------

def fingerprint(sessions) -> tuple:
    """Everything a refused call must leave alone: every request and its saved workflow, every task
    and its holder, the audit trail, the process versions, the outbox, the staged uploads."""
    def count(model):
        return s.scalar(select(func.count()).select_from(model))

    with sessions() as s:
        requests = s.execute(select(Instance.id, Instance.status, Instance.end_state, Instance.approved_at,
                                    Instance.data, Instance.state, Instance.title).order_by(Instance.id)).all()
        tasks = s.execute(select(HumanTask.id, HumanTask.status, HumanTask.assignee, HumanTask.claimed,
                                 HumanTask.completed_by, HumanTask.data).order_by(HumanTask.id)).all()
        last_event = s.scalar(select(func.max(AuditEvent.id)))
        staged = s.execute(select(StagedUpload.token, StagedUpload.owner, StagedFile.filename, StagedFile.content)
                           .join(StagedFile).order_by(StagedUpload.id, StagedFile.id)).all()
        return (count(AuditEvent), last_event, count(ProcessVersion), count(Instance), count(OutboxMessage),
                hashlib.sha256(repr(requests).encode()).hexdigest(), tuple(tasks),
                hashlib.sha256(repr(staged).encode()).hexdigest())


# --- the rows: every route, what each person must get ----------------------------------------------

Expect = Callable[[str], int]


def every(status: int = 200) -> Expect:
    return lambda user: status


def only(allowed: set[str], yes: int = 200, no: int = 403) -> Expect:
    return lambda user: yes if user in allowed else no


def seen(request: str, yes: int = 200) -> Expect:
    """Visible: `yes`; not visible: 404 (its existence is not disclosed)."""
    return lambda user: yes if user in SEES[request] else 404


def refused(request: str) -> Expect:
    """Who sees the request: 403; anyone else: 404."""
    return lambda user: 403 if user in SEES[request] else 404


def but(who: str, status: int, otherwise: Expect) -> Expect:
    return lambda user: status if user == who else otherwise(user)


def acting(task: str, yes: int, seen_only: int = 403) -> Expect:
    """The task's actor: `yes`; who sees its request: `seen_only`; anyone else: 404."""
    return lambda user: yes if user in ACTS[task] else seen_only if user in SEES[REQUEST_OF[task]] else 404


def cancelling(request: str, yes: int) -> Expect:
    return lambda user: yes if user in CANCELS[request] else 403 if user in SEES[request] else 404


def releasing(yes: int) -> Expect:
    return lambda user: yes if user in RELEASES_TC else 403 if user in SEES["C"] else 404


def retrying(request: str, yes: int) -> Expect:
    return lambda user: yes if user in RETRIES_INCIDENTS else 403 if user in SEES[request] else 404


def upload_owner(yes: int) -> Expect:
    """Staged files: their uploader; another process owner is told they do not exist."""
    return lambda user: yes if user == UPLOADER else 404 if user in PROCESS_OWNERS else 403


@dataclass
class Row:
    method: str
    url: str
    expect: Expect
    anonymous: int | None = None     # None: 302 to the sign-in page (pages) or 401 (API)
    data: object = None              # form fields (pages) or JSON body (API)
    files: tuple | None = None       # one (name, bytes) uploaded as `files`
    changes: Callable[[str | None], bool] = field(default=lambda user: False)  # cells that really act
    fresh_client: bool = False       # the call changes the client's session (sign out, language)

    @property
    def api(self) -> bool:
        return self.url.startswith("/api/")

    def expected(self, user: str | None) -> int:
        if user is ANONYMOUS:
            return self.anonymous if self.anonymous is not None else (401 if self.api else 302)
        return self.expect(user)

    @property
    def id(self) -> str:
        return f"{self.method} {self.url}"


def _requests_rows(template: str, expect: Callable[[str], Expect]) -> list[Row]:
    return [Row("GET", template.format(r="{" + r + "}"), expect(r)) for r in SEES]


PAGE_READS = [
    Row("GET", "/login", every(302), anonymous=200),
    Row("GET", "/", every()),
    Row("GET", "/requests", every()),
    Row("GET", "/requests/new", every()),
    *_requests_rows("/requests/{r}", seen),
    Row("GET", "/requests/{A}/diagram.svg", seen("A")),
    Row("GET", "/requests/{B}/diagram.svg", seen("B")),
    Row("GET", "/requests/{A}/withdraw", cancelling("A", 200)),
    Row("GET", "/requests/{B}/withdraw", cancelling("B", 200)),
    Row("GET", "/requests/{C}/withdraw", cancelling("C", 200)),
    Row("GET", "/requests/{F}/withdraw", cancelling("F", 200)),
    Row("GET", "/requests/{E}/withdraw", seen("E", 303)),  # already ended: back to the request
    Row("GET", "/tasks/{TA}", acting("TA", 200)),
    Row("GET", "/tasks/{TB}", acting("TB", 200)),
    Row("GET", "/tasks/{TC}", acting("TC", 200)),
    Row("GET", "/tasks/{TF}", acting("TF", 200)),
    Row("GET", "/tasks/{TD}", seen("A")),  # a finished step: who did it, for those who see the request
    Row("GET", "/tasks/{TG}", seen("G")),  # not for the other members of the group it was offered to
    Row("GET", "/processes", only(PROCESS_OWNERS)),
    Row("GET", "/processes/security_matrix", only(PROCESS_OWNERS)),
    Row("GET", "/processes/security_matrix/versions/1", only(PROCESS_OWNERS)),
    Row("GET", "/processes/security_matrix/versions/1/diagram.svg", only(PROCESS_OWNERS)),
    Row("GET", "/processes/security_matrix/versions/1/files/security_matrix.bpmn", only(PROCESS_OWNERS)),
    Row("GET", "/processes/upload", only(PROCESS_OWNERS)),
    Row("GET", "/processes/security_matrix/pending/{P}", only(PROCESS_OWNERS)),
    Row("GET", "/processes/security_matrix/pending/{P}/diagram.svg", only(PROCESS_OWNERS)),
    Row("GET", "/processes/security_matrix/pending/{P}/files/security_matrix.bpmn", only(PROCESS_OWNERS)),
    Row("GET", "/processes/upload/{token}", upload_owner(200)),
    Row("GET", "/processes/upload/{token}/diagram.svg", upload_owner(200)),
    Row("GET", "/audit", only(AUDITORS)),
    Row("GET", "/audit/events.csv", only(AUDITORS)),
    Row("GET", "/audit/events.json", only(AUDITORS)),
    Row("GET", "/audit/requests/{A}", only(AUDITORS)),
    Row("GET", "/audit/requests/{B}/trace.csv", only(AUDITORS)),
    Row("GET", "/audit/requests/{C}/trace.json", only(AUDITORS)),
    Row("GET", "/missions", every()),  # everyone has a register: their own missions at least
    Row("GET", "/missions/export.csv", every()),
    Row("GET", "/healthz", every(), anonymous=200),
    Row("GET", "/static/passerelle.css", every(), anonymous=200),
]

API_READS = [
    Row("GET", "/api/openapi.json", every(), anonymous=200),
    Row("GET", "/api/v1/me", every()),
    Row("GET", "/api/v1/processes", every()),
    Row("GET", "/api/v1/processes/security_matrix", every()),
    # a process definition is no secret: every signed-in person may read how a process works
    Row("GET", "/api/v1/processes/security_matrix/versions/1/bpmn", every()),
    # a version waiting for a second process owner is for process owners only
    Row("GET", "/api/v1/processes/security_matrix/pending", only(PROCESS_OWNERS)),
    Row("GET", "/api/v1/processes/security_matrix/pending/{P}", only(PROCESS_OWNERS)),
    Row("GET", "/api/v1/processes/security_matrix/pending/{P}/bpmn", only(PROCESS_OWNERS)),
    Row("GET", "/api/v1/instances", every()),
    *_requests_rows("/api/v1/instances/{r}", seen),
    Row("GET", "/api/v1/instances/{A}/history", seen("A")),
    Row("GET", "/api/v1/instances/{C}/history", seen("C")),
    Row("GET", "/api/v1/instances/{F}/diagram.svg", seen("F")),
    Row("GET", "/api/v1/tasks", every()),
    Row("GET", "/api/v1/tasks/{TA}", seen("A")),
    Row("GET", "/api/v1/tasks/{TB}", seen("B")),
    Row("GET", "/api/v1/tasks/{TC}", seen("C")),
    Row("GET", "/api/v1/tasks/{TF}", seen("F")),
    Row("GET", "/api/v1/tasks/{TD}", seen("A")),
    Row("GET", "/api/v1/tasks/{TG}", seen("G")),
    Row("GET", "/api/v1/audit/events", only(AUDITORS)),
    Row("GET", "/api/v1/audit/verify", only(AUDITORS)),
    Row("GET", "/api/v1/audit/export", only(AUDITORS)),
    Row("GET", "/api/v1/missions", every()),
    Row("GET", "/api/v1/missions/export", every()),
]

#: writes. A permitted person is stopped one step later with nothing done (an empty form: 422; a
#: request already ended or a task already done: 409) unless `changes` says the call really acts.
EMPTY_DECISION: dict = {}
PAGE_WRITES = [
    Row("POST", "/login", every(302), anonymous=422, data={"username": "", "password": ""}),
    # signing out revokes every session of that person (a copied cookie too): sign them back in after
    Row("POST", "/logout", every(303), fresh_client=True, changes=lambda u: u is not ANONYMOUS),
    Row("POST", "/language", every(303), anonymous=303, data={"lang": "en"}, fresh_client=True),
    Row("POST", "/tasks/{TA}", acting("TA", 422), data=EMPTY_DECISION),
    Row("POST", "/tasks/{TB}", acting("TB", 422), data=EMPTY_DECISION),
    Row("POST", "/tasks/{TC}", acting("TC", 422), data=EMPTY_DECISION),
    Row("POST", "/tasks/{TF}", acting("TF", 422), data=EMPTY_DECISION),
    # thomas did TD: sent again, he is told he already answered; anyone else is refused
    Row("POST", "/tasks/{TD}", but("thomas", 303, refused("A")), data=EMPTY_DECISION),
    # ines already holds TC: claiming it again changes nothing
    Row("POST", "/tasks/{TC}/claim", acting("TC", 303)),
    Row("POST", "/tasks/{TA}/claim", but("julien", 303, refused("A")), changes=lambda u: u == "julien"),
    Row("POST", "/tasks/{TC}/release", releasing(303), changes=lambda u: u in RELEASES_TC),
    Row("POST", "/requests/new/hr_only", only(HR_ONLY_STARTERS, 303), changes=lambda u: u in HR_ONLY_STARTERS),
    *[Row("POST", f"/requests/{{{r}}}/withdraw", cancelling(r, 422), data={"reason": ""}) for r in "ABCF"],
    Row("POST", "/requests/{E}/withdraw", seen("E", 303), data={"reason": "again"}),
    # not an incident: the operator is told so on the request page; anyone else is refused
    Row("POST", "/requests/{A}/incidents/message/{MA}/retry", retrying("A", 303)),
    Row("POST", "/processes/upload", only(PROCESS_OWNERS, 422), files=NOT_XML),
    Row("POST", "/processes/upload/{token}", upload_owner(422), data={"comment": "spoilt"}),
    Row("POST", "/processes/upload/{token}/discard", upload_owner(303), changes=lambda u: u == UPLOADER),
    # PD is decided already: its author may never approve it (403), another process owner is told (409)
    Row("POST", "/processes/security_matrix/pending/{PD}/approve", but("elodie", 409, only(set(), 403))),
    Row("POST", "/processes/security_matrix/pending/{PD}/reject", only(PROCESS_OWNERS, 409), data={"comment": ""}),
]

API_WRITES = [
    Row("POST", "/api/v1/auth/token", every(200), anonymous=401, changes=lambda u: True),
    Row("DELETE", "/api/v1/auth/token", every(204), fresh_client=True),
    Row("POST", "/api/v1/instances", only(HR_ONLY_STARTERS, 422),
        data={"process": "hr_only", "data": {"started_by": "someone else"}}),
    *[Row("POST", f"/api/v1/instances/{{{r}}}/cancel", cancelling(r, 422), data={"reason": ""}) for r in "ABCF"],
    Row("POST", "/api/v1/instances/{E}/cancel", cancelling("E", 409), data={"reason": "again"}),
    Row("POST", "/api/v1/instances/{A}/incidents/message/{MA}/retry", retrying("A", 409)),
    *[Row("POST", f"/api/v1/tasks/{{{t}}}/complete", acting(t, 422), data={"data": {}}) for t in ("TA", "TB", "TC", "TF")],
    Row("POST", "/api/v1/tasks/{TD}/complete", seen("A", 409), data={"data": {}}),  # done: 409 for who sees it
    Row("POST", "/api/v1/tasks/{TG}/complete", seen("G", 409), data={"data": {}}),
    Row("POST", "/api/v1/tasks/{TC}/claim", acting("TC", 200)),
    Row("POST", "/api/v1/tasks/{TB}/claim", but("nadia", 200, refused("B")), changes=lambda u: u == "nadia"),
    Row("POST", "/api/v1/tasks/{TC}/release", releasing(200), changes=lambda u: u in RELEASES_TC),
    Row("POST", "/api/v1/processes/validate", only(PROCESS_OWNERS, 200), files=NOT_XML),
    Row("POST", "/api/v1/processes/security_matrix/pending/{PD}/approve", but("elodie", 409, only(set(), 403))),
    Row("POST", "/api/v1/processes/security_matrix/pending/{PD}/reject", only(PROCESS_OWNERS, 409),
        data={"comment": ""}),
    Row("POST", "/api/v1/processes/deploy", only(PROCESS_OWNERS, 422), files=NOT_XML),
]

READS = PAGE_READS + API_READS
WRITES = PAGE_WRITES + API_WRITES
ROWS = READS + WRITES


# --- calling a route as someone, and what every answer must look like ----------------------------

def prepare(world: World, row: Row, user: str | None) -> Callable[[], object]:
    """The call of `row` by `user`, ready to send: signing in for a fresh session or token is done
    here, before the database is fingerprinted."""
    url = world.url(row.url)
    if row.api:
        client = world.app.test_client()
        if row.method == "POST" and row.url == "/api/v1/auth/token":
            body = {"username": user or "thomas", "password": "demo" if user else "wrong"}
            return lambda: client.post(url, json=body)
        headers = {}
        if user is not ANONYMOUS:
            token = world.tokens[user]
            if row.fresh_client:  # revoking: a token of its own
                token = client.post("/api/v1/auth/token", json={"username": user, "password": "demo"}).get_json()["token"]
            headers["Authorization"] = f"Bearer {token}"
        if row.files:
            name, content = row.files
            return lambda: client.open(url, method=row.method, headers=headers,
                                       data={"files": (io.BytesIO(content), name)}, content_type="multipart/form-data")
        return lambda: client.open(url, method=row.method, headers=headers, json=row.data)
    person = Person(world.app.test_client(), user) if row.fresh_client else world.pages[user]
    if row.method == "GET":
        return lambda: person.get(url)
    person.fresh_token()
    data = dict(row.data or {})
    if row.files:
        name, content = row.files
        data["files"] = [(io.BytesIO(content), name)]
        return lambda: person.post(url, data, content_type="multipart/form-data")
    return lambda: person.post(url, data)


TRACES = ("Traceback", 'File "', "sqlalchemy", "SELECT ", "psycopg", "/work/", "site-packages")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)", re.I)


def check_answer(response, row: Row, user: str | None) -> list[str]:
    """What is wrong with an answer besides its status: leaks, missing headers, inline scripts."""
    problems = []
    body = response.get_data(as_text=True)
    headers = response.headers
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no nosniff")
    if response.status_code >= 400 and any(trace in body for trace in TRACES):
        problems.append("the error shows internals")
    if response.mimetype == "text/html":
        policy = headers.get("Content-Security-Policy", "")
        script_src = re.search(r"script-src ([^;]*)", policy)
        if not script_src or "'unsafe-inline'" in script_src.group(1) or "frame-ancestors 'none'" not in policy:
            problems.append(f"weak policy {policy!r}")
        if headers.get("X-Frame-Options") != "DENY":
            problems.append("framable")
        if INLINE_SCRIPT.search(body):
            problems.append("inline script")
    if user is not ANONYMOUS and response.mimetype in ("text/html", "application/json", "text/csv"):
        if "no-store" not in headers.get("Cache-Control", ""):
            problems.append("may be kept in a cache")
    if row.api and response.status_code >= 400:
        payload = response.get_json(silent=True)
        if not (isinstance(payload, dict) and payload.get("code") == response.status_code and payload.get("message")):
            problems.append(f"not the API's error body: {body[:120]!r}")
    if not row.api and response.status_code == 302 and user is ANONYMOUS:
        if not response.location.startswith("/login?next="):
            problems.append(f"redirected to {response.location}")
    return problems


def _run_row(world: World, row: Row) -> list[str]:
    wrong = []
    for user in EVERYONE:
        expected = row.expected(user)
        acts = row.method != "GET" and row.changes(user)
        send = prepare(world, row, user)
        before = None if acts or row.method == "GET" else fingerprint(world.sessions)
        response = send()
        who = user or "anonymous"
        if response.status_code != expected:
            wrong.append(f"{who}: {response.status_code}, expected {expected}")
        wrong += [f"{who}: {p}" for p in check_answer(response, row, user)]
        response.close()
        if before is not None and fingerprint(world.sessions) != before:
            wrong.append(f"{who}: the database changed ({response.status_code})")
        if acts and response.status_code == expected:
            _restore(world, row, user)
    return wrong


def _restore(world: World, row: Row, user: str | None) -> None:
    """Put back what a permitted call changed, so that the next person meets the same world."""
    ids, sessions = world.ids, world.sessions
    if row.url == "/logout":  # signing out ends every session and revokes every token of the person
        world.pages[user] = Person(world.app.test_client(), user)
        response = world.app.test_client().post("/api/v1/auth/token", json={"username": user, "password": "demo"})
        world.tokens[user] = response.get_json()["token"]
    elif row.url.endswith("{TC}/release"):
        _act(sessions, "ines", ids["TC"], claim=True)
    elif row.url.endswith("{TA}/claim"):
        _release(sessions, "julien", ids["TA"])
    elif row.url.endswith("{TB}/claim"):
        _release(sessions, "nadia", ids["TB"])
    elif row.url.endswith("/discard"):
        ids["token"] = _stage_spoilt_upload(world.app, world.pages[UPLOADER])


def _release(sessions, username: str, task_id: int) -> None:
    with unit_of_work(sessions) as s:
        release_task(s, task_id, find_user(s, username))


@pytest.mark.parametrize("row", READS, ids=lambda row: row.id)
def test_reading(world, row):
    assert _run_row(world, row) == []


@pytest.mark.parametrize("row", WRITES, ids=lambda row: row.id)
def test_writing(world, row):
    assert _run_row(world, row) == []


# --- the matrix covers every route and every documented operation ---------------------------------

def _rule_of(world: World, method: str, url: str):
    adapter = world.app.url_map.bind("localhost")
    rule, _ = adapter.match(url.split("?")[0], method=method, return_rule=True)
    return rule


def test_every_route_has_a_row(world):
    declared = {(row.method, _rule_of(world, row.method, world.url(row.url)).rule) for row in ROWS}
    routes = {(method, rule.rule) for rule in world.app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - declared == set()


def test_every_documented_operation_has_a_row_and_documents_its_answers(world):
    spec = world.app.test_client().get("/api/openapi.json").get_json()
    missing, undocumented = [], []
    for path, item in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            rows = [r for r in ROWS if r.method == method.upper() and pattern.match(world.url(r.url))]
            if not rows:
                missing.append(f"{method.upper()} {path}")
            documented = {int(code) for code in operation["responses"] if code != "default"}
            for row in rows:
                for user in EVERYONE:
                    if row.expected(user) not in documented:
                        undocumented.append(f"{row.id} -> {row.expected(user)} for {user}")
    assert missing == []
    assert undocumented == []


def test_the_matrix_tells_people_apart():
    """Not a table of one answer: every route but the public ones gives some people another answer."""
    assert {r.expected(u) for r in ROWS for u in EVERYONE} >= {200, 204, 302, 303, 401, 403, 404, 409, 422}
    refused = [row.id for row in ROWS if {row.expected(u) for u in USERS} & {403, 404}]
    assert len(refused) >= 60, len(refused)


# --- what lists show ---------------------------------------------------------------------------

def _fixture_ids(world: World) -> dict[int, str]:
    return {world.ids[k]: k for k in SEES}


@pytest.mark.parametrize("user", USERS)
def test_each_person_lists_exactly_the_requests_they_may_see(world, user):
    client = world.app.test_client()
    headers = {"Authorization": f"Bearer {world.tokens[user]}"}
    body = client.get("/api/v1/instances?page_size=200", headers=headers).get_json()
    known = _fixture_ids(world)
    listed = {known[item["id"]] for item in body["items"] if item["id"] in known}
    assert listed == {k for k, people in SEES.items() if user in people}
    tasks = client.get("/api/v1/tasks?scope=all_visible&page_size=200", headers=headers).get_json()["items"]
    assert {known[t["instance_id"]] for t in tasks if t["instance_id"] in known} <= listed
    actionable = client.get("/api/v1/tasks?page_size=200", headers=headers).get_json()["items"]
    task_names = {world.ids[k]: k for k in ACTS}
    assert {task_names[t["id"]] for t in actionable if t["id"] in task_names} == {k for k, p in ACTS.items() if user in p}


@pytest.mark.parametrize("user", USERS)
def test_pages_never_show_the_title_of_a_request_one_may_not_see(world, user):
    hidden = [f"Request {k} by" for k, people in SEES.items() if user not in people]
    person = world.pages[user]
    for url in ("/", "/requests", "/requests/new", "/audit"):
        page = person.get(url).get_data(as_text=True)
        if user in AUDITORS and url == "/audit":
            continue  # the audit lists every request, for auditors and administrators only
        assert [title for title in hidden if title in page] == [], url


def test_a_manager_sees_their_reports_requests_and_no_one_elses(world):
    client = world.app.test_client()

    def listed(user):
        body = client.get("/api/v1/instances?page_size=200",
                          headers={"Authorization": f"Bearer {world.tokens[user]}"}).get_json()
        return {item["started_by"] for item in body["items"]}

    assert listed("julien") == {"thomas", "pierre", "julien"}     # his reports and himself
    assert listed("nadia") == {"marie"}                           # marie reports to her; thomas does not
    assert listed("claire") == {"julien"}                         # julien's own request, not his reports'
    assert "marie" not in listed("julien") and "thomas" not in listed("nadia")


# --- guessing ids over real HTTP, on SQLite and PostgreSQL --------------------------------------

TOKEN_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """Someone signed in to the pages over real HTTP, sending forms with their CSRF token."""

    def __init__(self, base: str, username: str):
        import requests
        self.base, self.http = base, requests.Session()
        token = TOKEN_FIELD.search(self.http.get(f"{base}/login").text).group(1)
        signed_in = self.http.post(f"{base}/login", data={"username": username, "password": "demo", "csrf_token": token},
                                   allow_redirects=False)
        assert signed_in.status_code == 303, signed_in.text[:300]
        self.token = TOKEN_FIELD.search(self.http.get(f"{base}/").text).group(1)

    def post(self, path: str, data: dict | None = None):
        return self.http.post(self.base + path, data={**(data or {}), "csrf_token": self.token}, allow_redirects=False)


def test_guessing_task_and_request_ids_changes_nothing(app, api, live_server):
    """thomas tries every task id on the API and the pages, with a valid decision, and every request
    id for a cancellation: the tasks of a request he cannot see are not found, the others refused,
    and the database is as it was."""
    sessions = app.extensions["passerelle.sessions"]
    with unit_of_work(sessions) as s:
        deploy(s, {"security_matrix.bpmn": MATRIX_BPMN}, "luc", "matrix")
    mine, _ = _request(sessions, "thomas", "Request A by thomas")       # waits for julien
    hidden, _ = _request(sessions, "marie", "Request B by marie")        # waits for nadia
    with sessions() as s:
        all_tasks = {t.id: t.instance_id for t in s.scalars(select(HumanTask))}
        all_requests = set(s.scalars(select(Instance.id)))
    assert {mine, hidden} <= set(all_tasks.values())
    thomas, julien = api("thomas"), api("julien")
    browser = Browser(live_server.url, "thomas")
    before = fingerprint(sessions)

    answers = {}
    for task_id in range(1, max(all_tasks) + 3):
        decision = {"decision": "approve", "comment": "guessed"}
        answers[task_id] = [
            thomas.post(f"/api/v1/tasks/{task_id}/complete", json={"data": decision}).status_code,
            thomas.post(f"/api/v1/tasks/{task_id}/claim").status_code,
            thomas.post(f"/api/v1/tasks/{task_id}/release").status_code,
            browser.post(f"/tasks/{task_id}", decision).status_code,
            browser.post(f"/tasks/{task_id}/claim").status_code,
            browser.post(f"/tasks/{task_id}/release").status_code,
        ]
    for task_id, statuses in answers.items():
        if all_tasks.get(task_id) in (None, hidden):
            assert statuses == [404] * 6, (task_id, statuses)   # not his to know about
        else:
            assert set(statuses) <= {403, 409, 303}, (task_id, statuses)
            assert 303 not in statuses[:3] + statuses[4:], (task_id, statuses)  # only "already answered"
    assert fingerprint(sessions) == before
    julien_browser = Browser(live_server.url, "julien")
    before = fingerprint(sessions)  # julien's sign-in is on record
    for request_id in sorted(all_requests - {mine}) + [max(all_requests) + 1]:  # not his own: he may withdraw it
        assert thomas.post(f"/api/v1/instances/{request_id}/cancel", json={"reason": "guess"}).status_code == 404
        assert browser.post(f"/requests/{request_id}/withdraw", {"reason": "guess"}).status_code == 404
    for request_id in sorted(all_requests) + [max(all_requests) + 1]:
        # julien sees thomas's request (his report's) but may not cancel it; marie's he may not even see
        expected = 403 if request_id == mine else 404
        assert julien.post(f"/api/v1/instances/{request_id}/cancel", json={"reason": "guess"}).status_code == expected
        assert julien_browser.post(f"/requests/{request_id}/withdraw", {"reason": "guess"}).status_code == expected
    assert fingerprint(sessions) == before
    with sessions() as s:
        assert [t.bpmn_id for t in queries.open_tasks(s, mine)] == ["review"]
        assert s.get(Instance, hidden).status == "running"
