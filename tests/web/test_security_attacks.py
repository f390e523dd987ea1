"""Attacks tried through the pages and the API, on SQLite and PostgreSQL: each must fail, and leave
nothing changed.

- hostile uploads: XXE, billion laughs, DTDs fetched over the network, files too large, not XML,
  not BPMN, broken diagrams, forbidden code, and the real diagrams of the shared corpus;
- sign-in: redirects to another site, throttling dodged by address or by spelling, cookies, tokens
  that would be readable in the database or outlive their account, the API ridden by a cookie;
- diagram code that passes validation but runs away at run time: its request fails, with the
  reason in its trail, and the server goes on serving;
- errors that could show code, SQL or file paths; markup in titles and diagrams; values slipped in
  at start to take a decision.

Who may see and do what, role by role, is tried in test_security_matrix.py.
"""
from __future__ import annotations

import hashlib
import http.server
import io
import re
import threading
from urllib.parse import quote

import pytest
from sqlalchemy import func, select, update
from werkzeug.http import parse_options_header

from engine import (DEMO_ORGANISATION, load_organisation_file, make_engine, make_session_factory, unit_of_work,
                    upgrade_schema)
from engine.models import ApiToken, AuditEvent, Instance, ProcessFile, ProcessVersion, StagedUpload, User
from web import create_app
from web.security import limiter

from ..engine.test_validation import COMPANIONS, CORPUS, EXPECTED
from .api_helpers import DIAGRAMS
from .page_client import TOKEN, Person, text_of
from .test_security_matrix import Browser

BPMN = (DIAGRAMS / "approval_test.bpmn").read_text(encoding="utf-8")
DMN = (DIAGRAMS / "approval_rule.dmn").read_bytes()
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def sessions(app):
    return app.extensions["passerelle.sessions"]


def deployed_state(app) -> tuple[int, int, int]:
    """What an upload that is refused must leave alone: versions, their files, deployment events."""
    with sessions(app)() as s:
        return (s.scalar(select(func.count()).select_from(ProcessVersion)),
                s.scalar(select(func.count()).select_from(ProcessFile)),
                s.scalar(select(func.count()).where(AuditEvent.type == "process_deployed")))


def line_of(text: str, fragment: str) -> int:
    return text[:text.index(fragment)].count("\n") + 1


def hostile(old: str, new: str, encoding: str = "utf-8") -> bytes:
    assert old in BPMN
    text = BPMN.replace(old, new)
    if encoding != "utf-8":
        text = text.replace(DECLARATION, f'<?xml version="1.0" encoding="{encoding.upper()}"?>')
    return text.encode(encoding)


XXE = '<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
LAUGHS = ('<!DOCTYPE d [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)) + "]>")
NO_DTD = "DTDs and entity declarations are not allowed in BPMN/DMN files"

#: name -> (the BPMN file uploaded with the DMN table, a fragment of the message, its line: None for
#: the whole file, ... for any line)
HOSTILE = {
    "xxe": (hostile(DECLARATION, DECLARATION + "\n" + XXE).replace(b"A small process", b"&secret;"), NO_DTD, None),
    # the DTD is invisible to a byte search when the file is UTF-16 or UTF-32
    "xxe-utf16": (hostile(DECLARATION, DECLARATION + "\n" + XXE, "utf-16").replace(
        "A small process".encode("utf-16-le"), "&secret;".encode("utf-16-le")), NO_DTD, None),
    "xxe-utf32": (hostile(DECLARATION, DECLARATION + "\n" + XXE, "utf-32"), NO_DTD, None),
    "billion-laughs": (hostile(DECLARATION, DECLARATION + "\n" + LAUGHS).replace(b"A small process", b"&lol9;"),
                       NO_DTD, None),
    "billion-laughs-utf16": (hostile(DECLARATION, DECLARATION + "\n" + LAUGHS, "utf-16").replace(
        "A small process".encode("utf-16-le"), "&lol9;".encode("utf-16-le")), "entity", ...),  # libxml2's own limit
    "not-xml": (BPMN.replace("</bpmn:process>", "</bpmn:proc>").encode(), "not well-formed XML",
                line_of(BPMN, "</bpmn:process>")),
    "svg": (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "not BPMN: the root element is <svg>", 2),
    "duplicate-ids": (hostile('<bpmn:endEvent id="end_done"', '<bpmn:endEvent id="hr_close"'),
                      "duplicate id 'hr_close'", line_of(BPMN, '<bpmn:endEvent id="end_done"')),
    "missing-reference": (hostile('targetRef="end_done"', 'targetRef="nowhere"'),
                          "points at no element", line_of(BPMN, '<bpmn:sequenceFlow id="f6"')),
    "not-executable": (hostile('isExecutable="true"', 'isExecutable="false"'), "is not executable",
                       line_of(BPMN, "<bpmn:process ")),
    "subclasses": (hostile("route == 'auto'", "().__class__.__bases__[0].__subclasses__()"),
                   "names starting with '_' are not allowed", line_of(BPMN, "route == 'auto'")),
    "getattr": (hostile("route == 'auto'", "getattr(route, 'upper')() == 'AUTO'"), "getattr() is not allowed",
                line_of(BPMN, "route == 'auto'")),
    "import": (hostile("route == 'manager'", "__import__('os').system('id') == 0"),
               "names starting with '_' are not allowed: __import__", line_of(BPMN, "route == 'manager'")),
    "attribute-chain": (hostile("decision == 'approve'", "decision.format.__globals__ is not None"),
                        "not allowed", line_of(BPMN, "decision == 'approve'")),
    "too-large-for-a-file": (hostile("</bpmn:definitions>", "<!--" + "x" * 2_200_000 + "--></bpmn:definitions>"),
                             "larger than", None),
}


def files_of(bpmn: bytes, name: str = "approval_test.bpmn") -> list:
    return [("files", (name, bpmn, "application/xml")), ("files", ("approval_rule.dmn", DMN, "application/xml"))]


def upload_page(browser: Browser, bpmn: bytes, name: str = "approval_test.bpmn", language: str = "fr"):
    """The Processes page's upload form, sent over real HTTP."""
    return browser.http.post(f"{browser.base}/processes/upload", data={"csrf_token": browser.token, "comment": ""},
                             files=files_of(bpmn, name), allow_redirects=False, headers={"Accept-Language": language})


def test_hostile_files_are_refused_with_file_line_and_reason_and_nothing_is_deployed(app, api, live_server):
    luc, thomas = api("luc"), api("thomas")
    page = Browser(live_server.url, "luc")
    before = deployed_state(app)
    for name, (bpmn, reason, line) in HOSTILE.items():
        where = "approval_test.bpmn" + ("" if line in (None, ...) else f":{line}")
        response = luc.post("/api/v1/processes/deploy", files=files_of(bpmn), data={"comment": name})
        assert response.status_code == 422, (name, response.text[:300])
        assert any(m.startswith(where) and reason in m for m in response.json()["errors"]["files"]), (name, response.text)
        assert "root:" not in response.text  # nothing of /etc/passwd
        assert thomas.post("/api/v1/processes/validate", files=files_of(bpmn)).status_code == 403  # owners only
        checked = luc.post("/api/v1/processes/validate", files=files_of(bpmn)).json()
        assert checked["valid"] is False
        assert any(p["file"] == "approval_test.bpmn" and line in (..., p["line"]) and reason in p["message"]
                   for p in checked["problems"]), (name, checked)
        answer = upload_page(page, bpmn, language="en")  # the reasons above are English
        assert answer.status_code == 422, name
        text = text_of(answer.text)
        assert "approval_test.bpmn" in text and reason in text and "root:" not in text, (name, text[-600:])
    assert deployed_state(app) == before


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_dtd_on_the_network_is_never_fetched(app, api, live_server, encoding):
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY secret "fetched">')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dtd = f'<!DOCTYPE d SYSTEM "http://127.0.0.1:{server.server_port}/evil.dtd">'
        bpmn = hostile(DECLARATION, DECLARATION + "\n" + dtd, encoding)
        before = deployed_state(app)
        response = api("luc").post("/api/v1/processes/deploy", files=files_of(bpmn))
        assert response.status_code == 422
        assert NO_DTD in response.json()["message"] + " ".join(response.json()["errors"]["files"])
        assert upload_page(Browser(live_server.url, "luc"), bpmn).status_code == 422
        assert deployed_state(app) == before
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_a_5_mb_upload_is_a_413_and_deploys_nothing(app, api, live_server):
    big = BPMN.replace("</bpmn:definitions>", "<!--" + "x" * 5_000_000 + "--></bpmn:definitions>").encode()
    before = deployed_state(app)
    response = api("luc").post("/api/v1/processes/deploy", files=files_of(big))
    assert response.status_code == 413 and response.json()["code"] == 413
    assert "at most 4194304 bytes" in response.json()["message"]
    page = upload_page(Browser(live_server.url, "luc"), big)
    assert page.status_code == 413 and "Le fichier est trop gros" in text_of(page.text)
    assert deployed_state(app) == before


def _corpus_bundle(name: str) -> list:
    names = [name, *COMPANIONS.get(name, [])]
    return [("files", (n, (CORPUS / n).read_bytes(), "application/xml")) for n in names]


#: valid diagrams that SpiffWorkflow parses but cannot serialize: refused at upload, never a 500
UNSTORABLE = {"miwg-C.9.1.bpmn": "spiff.cannot_store"}  # the messages of its send tasks
#: the English the API says for the codes of the verdicts
VERDICT_WORDS = {"process.not_executable": "is not executable", "decision.unnamed": "names no decision",
                 "dmn.several_decisions": "only one decision per DMN file", "call.unknown": "call activity calls",
                 "spiff.invalid": "SpiffWorkflow: ", "code.refused": " refused: ",
                 "spiff.cannot_store": "SpiffWorkflow cannot store this diagram"}


def says(message: str, verdict: str) -> bool:
    """`message` words the verdict (a code and fragments of its parameters, see test_validation)."""
    code, _, fragments = verdict.partition(" ")
    return VERDICT_WORDS[code] in message and all(word in message for word in fragments.split())


def test_the_corpus_through_the_api_only_valid_diagrams_deploy(app, api):
    """Every diagram of ../shared/bpmn-corpus/ uploaded by a process owner: the verdicts written in
    tests/engine/test_validation.py, and a version only for the deployable ones."""
    luc = api("luc")
    before = deployed_state(app)
    deployed = 0
    for name, verdict in {**EXPECTED, **UNSTORABLE}.items():
        response = luc.post("/api/v1/processes/deploy", files=_corpus_bundle(name), data={"comment": "corpus"})
        if verdict is None:
            assert response.status_code in (200, 201), (name, response.text[:500])
            deployed += response.status_code == 201
        else:
            assert response.status_code == 422, (name, response.text[:300])
            problems = response.json()["problems"]
            assert any(says(p["message"], verdict) for p in problems), (name, problems)
            assert all(p["file"] in (name, *COMPANIONS.get(name, []), "<upload>") for p in problems), problems
    versions, files, events = deployed_state(app)
    assert versions == before[0] + deployed and events == before[2] + deployed  # one process_deployed each
    assert deployed == sum(verdict is None for verdict in {**EXPECTED, **UNSTORABLE}.values())


# --- sign-in: redirects, throttling, cookies, tokens --------------------------------------------

def sign_in_form(client, username: str, password: str = "demo", address: str = "127.0.0.1", **fields):
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, **fields},
                       environ_base={"REMOTE_ADDR": address})


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/ /evil.example",
                                    "/\\evil.example", "//evil.example", "https://evil.example/", "/%0a/x\x00",
                                    "\t/evil.example"])
def test_signing_in_never_leads_to_another_site(client, target):
    response = sign_in_form(client, "nadia", next=target)
    assert response.status_code == 303
    assert response.location == "/", response.location  # browsers read "/\t/x" as "//x": another site
    person = Person(client)
    person.token = TOKEN.search(client.get("/").get_data(as_text=True)).group(1)
    response = person.post("/language", {"lang": "en", "next": target})
    assert response.status_code == 303 and response.location == "/", response.location


@pytest.fixture
def throttled(database_url, tmp_path):
    """The application with sign-in throttling on: three failed attempts a minute per account at an
    address and per address, seven per account from everywhere."""
    application = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40,
                              "RATELIMIT_ENABLED": True, "LOGIN_LIMIT": "3 per minute",
                              "LOGIN_ACCOUNT_LIMIT": "7 per minute"})
    application.instance_path = str(tmp_path / "instance")
    limiter.reset()
    yield application
    limiter.reset()
    application.extensions["passerelle.db"].dispose()


def api_sign_in(client, username: str, password: str = "demo", address: str = "127.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_guessing_from_one_address_never_locks_the_person_out_elsewhere(throttled):
    attacker = throttled.test_client()
    for spelling in ("claire", " claire", "claire "):
        assert sign_in_form(attacker, spelling, "guess", "10.0.0.1").status_code == 401
    # the right password, with yet another spelling, from there: too many attempts
    response = sign_in_form(attacker, "\tclaire  ", "demo", "10.0.0.1")
    assert response.status_code == 429
    assert "Trop de tentatives" in text_of(response.get_data(as_text=True))
    assert attacker.get("/", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 302  # not signed in
    assert api_sign_in(attacker, "claire", "demo", "10.0.0.1").status_code == 429
    for _ in range(10):  # refused attempts go on: they count towards nothing
        assert sign_in_form(attacker, "claire", "guess", "10.0.0.1").status_code == 429
    # claire herself, at her desk: signed in, on the pages and through the API
    assert sign_in_form(throttled.test_client(), "claire", "demo", "10.0.0.2").status_code == 303
    answer = api_sign_in(throttled.test_client(), "claire", "demo", "10.0.0.3")
    assert answer.status_code == 200 and answer.get_json()["token"]


def test_guessing_spread_over_many_addresses_meets_the_account_ceiling(throttled):
    client = throttled.test_client()
    for n in range(7):  # seven places, half on the pages and half through the API
        attempt = sign_in_form if n % 2 else api_sign_in
        assert attempt(client, " Nadia" if n % 3 else "nadia", "guess", f"10.0.1.{n}").status_code == 401
    assert sign_in_form(client, "nadia", "demo", "10.0.1.100").status_code == 429
    answer = api_sign_in(client, "nadia", "demo", "10.0.1.101")
    assert answer.status_code == 429 and "token" not in answer.get_json()
    assert sign_in_form(client, "thomas", "demo", "10.0.1.0").status_code == 303  # other accounts are not


def test_the_pages_and_the_api_count_sign_ins_together(throttled):
    client = throttled.test_client()
    assert sign_in_form(client, "luc", "guess", "10.0.3.1").status_code == 401
    assert api_sign_in(client, "luc", "guess", "10.0.3.1").status_code == 401
    assert sign_in_form(client, "luc", "guess", "10.0.3.1").status_code == 401
    assert api_sign_in(client, "luc", "demo", "10.0.3.1").status_code == 429
    assert sign_in_form(client, "luc", "demo", "10.0.3.1").status_code == 429
    # the address too: two accounts tried through the API, one on the pages, and the address waits
    for attempt, username in ((api_sign_in, "ines"), (api_sign_in, "hugo"), (sign_in_form, "karim")):
        assert attempt(client, username, "guess", "10.0.3.2").status_code == 401
    assert sign_in_form(client, "antoine", "demo", "10.0.3.2").status_code == 429
    assert api_sign_in(client, "antoine", "demo", "10.0.3.2").status_code == 429


def test_an_address_is_throttled_whichever_accounts_it_tries(throttled):
    client = throttled.test_client()
    for username in ("luc", "ines", "hugo"):
        assert sign_in_form(client, username, "guess", "10.0.2.1").status_code == 401
    assert sign_in_form(client, "antoine", "demo", "10.0.2.1").status_code == 429
    assert sign_in_form(throttled.test_client(), "antoine", "demo", "10.0.2.2").status_code == 303
    with sessions(throttled)() as s:
        failed = s.scalars(select(AuditEvent.actor).where(AuditEvent.type == "sign_in_failed")).all()
    assert sorted(failed) == ["hugo", "ines", "luc"]  # each failure recorded; throttled attempts never reach it


def _session_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


@pytest.mark.parametrize("settings, secure", [({}, False), ({"SESSION_COOKIE_SECURE": True}, True)])
def test_the_session_cookie_is_httponly_samesite_and_secure_when_configured(database_url, tmp_path, settings, secure):
    application = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "c" * 40,
                              "RATELIMIT_ENABLED": False, **settings})
    application.instance_path = str(tmp_path / "instance")
    try:
        cookie = _session_cookie(sign_in_form(application.test_client(), "nadia"))
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path"} <= attributes and "samesite=lax" in cookie.lower()
        assert ("secure" in attributes) is secure
        assert "expires" not in attributes  # ends with the browser session
    finally:
        application.extensions["passerelle.db"].dispose()


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    database = make_engine(url)
    upgrade_schema(database)  # `passerelle db upgrade`, `passerelle org load`: production does neither itself
    with unit_of_work(make_session_factory(database)) as s:
        load_organisation_file(s, DEMO_ORGANISATION)
    database.dispose()
    monkeypatch.setenv("PASSERELLE_ENV", "production")
    application = create_app({"DATABASE_URL": url, "SECRET_KEY": "p" * 40, "RATELIMIT_ENABLED": False})
    application.instance_path = str(tmp_path / "instance")
    try:
        cookie = _session_cookie(sign_in_form(application.test_client(), "nadia"))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        application.extensions["passerelle.db"].dispose()


def test_the_api_ignores_the_session_cookie(app, client):
    """A page open in the browser cannot be made to call the API: the API takes bearer tokens only."""
    assert sign_in_form(client, "karim").status_code == 303
    with sessions(app)() as s:
        started = s.scalar(select(func.count()).select_from(Instance))
    response = client.post("/api/v1/instances", json={"process": "end_of_career_mission", "data": {}})
    assert response.status_code == 401
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    with sessions(app)() as s:
        assert s.scalar(select(func.count()).select_from(Instance)) == started


def test_tokens_are_stored_as_digests_and_die_with_the_account(app, client):
    token = client.post("/api/v1/auth/token", json={"username": "karim", "password": "demo"}).get_json()["token"]
    with sessions(app)() as s:
        [row] = s.execute(select(ApiToken.__table__)).all()
        assert token not in repr(tuple(row))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        stored = s.scalar(select(User.password_hash).where(User.username == "karim"))
        assert stored.startswith(("scrypt:", "pbkdf2:")) and "demo" not in stored
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    # the hash itself is no token
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {row.token_hash}"}).status_code == 401
    page = Person(app.test_client(), "karim")
    with unit_of_work(sessions(app)) as s:
        s.execute(update(User).where(User.username == "karim").values(active=False))
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert page.get("/").status_code == 302  # signed out of the pages too


def test_a_wrong_password_and_an_unknown_account_look_the_same(client):
    unknown = sign_in_form(client, "nobody", "demo")
    wrong = sign_in_form(client, "nadia", "nope")
    assert unknown.status_code == wrong.status_code == 401
    message = "Cet identifiant et ce mot de passe ne correspondent pas"
    assert message in text_of(unknown.get_data(as_text=True)) and message in text_of(wrong.get_data(as_text=True))


@pytest.mark.parametrize("name", ["approval\x00test.bpmn", "approval\ntest.bpmn", "approval\x7ftest.bpmn"])
def test_a_file_name_no_browser_would_send_is_no_file(app, name):
    luc = Person(app.test_client(), "luc")
    before = deployed_state(app)
    files = [(io.BytesIO(BPMN.encode()), name), (io.BytesIO(DMN), "approval_rule.dmn")]
    response = luc.post("/processes/upload", {"comment": "", "files": files}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choisissez un fichier .bpmn" in text_of(response.get_data(as_text=True))
    with app.extensions["passerelle.sessions"]() as s:
        assert s.scalar(select(func.count()).select_from(StagedUpload)) == 0
    api = app.test_client()
    token = api.post("/api/v1/auth/token", json={"username": "luc", "password": "demo"}).get_json()["token"]
    answer = api.post("/api/v1/processes/deploy", headers={"Authorization": f"Bearer {token}"},
                      data={"files": [(io.BytesIO(BPMN.encode()), name), (io.BytesIO(DMN), "approval_rule.dmn")]},
                      content_type="multipart/form-data")
    assert answer.status_code in (201, 422)  # the API names its own refusals (a DEL is a character)
    assert deployed_state(app)[0] == before[0] + (answer.status_code == 201)


def test_a_file_name_cannot_break_or_add_to_the_download_header(app):
    """Names the API accepts (a line break, a quote) are downloaded under a clean name (RFC 6266)."""
    bpmn_name, dmn_name = "approval\r\nSet-Cookie: stolen=1.bpmn", 'x"; filename="evil.exe"; a=".dmn'
    api = app.test_client()
    token = api.post("/api/v1/auth/token", json={"username": "luc", "password": "demo"}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    parts = b"".join(b"--cut\r\nContent-Disposition: form-data; name=\"files\"; filename*=UTF-8''"
                     + quote(name).encode() + b"\r\nContent-Type: application/xml\r\n\r\n" + content + b"\r\n"
                     for name, content in ((bpmn_name, BPMN.encode()), (dmn_name, DMN)))
    answer = api.post("/api/v1/processes/deploy", headers=bearer, content_type="multipart/form-data; boundary=cut",
                      data=parts + b"--cut--\r\n")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    number = answer.get_json()["version"]
    luc = Person(app.test_client(), "luc")
    downloads = [(luc.get(f"/processes/approval_test/versions/{number}/files/{quote(name, safe='')}"), name)
                 for name in (bpmn_name, dmn_name)]
    downloads.append((api.get(f"/api/v1/processes/approval_test/versions/{number}/bpmn", headers=bearer), bpmn_name))
    expected = {bpmn_name: ("approvalSet-Cookie_ stolen_1.bpmn", "approvalSet-Cookie: stolen=1.bpmn"),
                dmn_name: ("x__ filename__evil.exe__ a__.dmn", "x_; filename=_evil.exe_; a=_.dmn")}
    for response, name in downloads:
        assert response.status_code == 200, name
        assert response.get_data() in (BPMN.encode(), DMN)
        assert "Set-Cookie" not in response.headers and len(response.headers.getlist("Content-Disposition")) == 1
        header = response.headers["Content-Disposition"]
        assert "\r" not in header and "\n" not in header
        disposition, params = parse_options_header(header)  # decodes filename* (RFC 2231)
        assert disposition in ("attachment", "inline") and params["filename"] == expected[name][1]
        assert re.findall(r'(?:^|; )filename="([^"]*)"', header) == [expected[name][0]]  # one plain name, quoted


# --- diagram code that runs away at run time ------------------------------------------------------

RUNAWAY_SCRIPT = """if how == 'text':
    made = 'a' * n
elif how == 'loop':
    i = 0
    while i &lt; n:
        i = i + 1
elif how == 'power':
    made = 10 ** n
elif how == 'literal':
    made = 10 ** 10 ** 10
elif how == 'recursion':
    made = (lambda f: f(f))(lambda f: f(f))
else:
    made = n
"""
HOWS = ("text", "loop", "power", "literal", "recursion", "small")
RUNAWAY_BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_runaway" targetNamespace="http://passerelle.test/bpmn">
  <bpmn:process id="runaway" name="Runaway" isExecutable="true">
    <bpmn:documentation>A script whose cost the person who starts it chooses.</bpmn:documentation>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="ask" name="Ask" camunda:assignee="${{started_by}}">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="n" label="How much" type="long">
          <camunda:validation><camunda:constraint name="required" /></camunda:validation></camunda:formField>
        <camunda:formField id="how" label="How" type="enum">
          {"".join(f'<camunda:value id="{how}" name="{how}" />' for how in HOWS)}
          <camunda:validation><camunda:constraint name="required" /></camunda:validation></camunda:formField>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="work" name="Work" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>{RUNAWAY_SCRIPT}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="after" name="After" camunda:assignee="${{started_by}}">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask" />
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="work" />
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="after" />
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


@pytest.fixture
def runaway(api):
    """The runaway diagram deployed by its process owner (it passes validation: its code is allowed)."""
    response = api("luc").post("/api/v1/processes/deploy", data={"comment": "runaway"},
                               files=[("files", ("runaway.bpmn", RUNAWAY_BPMN, "application/xml"))])
    assert response.status_code == 201, response.text
    return api("thomas")


def _run(client, how: str, n: int) -> dict:
    started = client.post("/api/v1/instances", json={"process": "runaway"})
    assert started.status_code == 201, started.text
    [task] = started.json()["open_tasks"]
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"n": n, "how": how}})
    assert done.status_code == 200, done.text
    return done.json()["instance"]


@pytest.mark.parametrize("how, n, reason", [
    ("text", 10 ** 8, "forbidden code in the diagram: result too large: 100000000 elements"),
    ("loop", 10 ** 12, "forbidden code in the diagram: evaluation exceeded"),
    ("power", 10 ** 8, "forbidden code in the diagram: number too large"),
    ("literal", 0, "forbidden code in the diagram: number too large"),
    ("recursion", 0, "the process could not go on: RecursionError:maximum recursion depth exceeded"),
])
def test_code_that_runs_away_fails_its_request_and_the_server_keeps_serving(app, api, live_server, runaway,
                                                                            how, n, reason):
    other = api("nadia")
    answers = []
    waiting = threading.Thread(target=lambda: answers.append(other.get("/api/v1/me").status_code))
    waiting.start()  # someone else uses the site meanwhile
    instance = _run(runaway, how, n)
    waiting.join(timeout=30)
    assert answers == [200]
    assert (instance["status"], instance["open_tasks"]) == ("failed", [])
    assert instance["failure"].startswith(reason), instance["failure"]
    assert "Traceback" not in instance["failure"] and "/work/" not in instance["failure"]
    again = runaway.get(f"/api/v1/instances/{instance['id']}").json()
    assert again["status"] == "failed" and again["failure"] == instance["failure"]
    trail = runaway.get(f"/api/v1/instances/{instance['id']}/history").json()["items"]
    assert [e["type"] for e in trail][-2:] == ["task_completed", "instance_failed"]
    assert trail[-1]["data"] == {"message": instance["failure"], "caused_by": "thomas"}
    assert api("antoine").get("/api/v1/audit/verify").json()["ok"] is True
    page = Person(app.test_client(), "thomas", language="en").text(f"/requests/{instance['id']}")
    assert "This request stopped because of a technical problem." in page
    trace = Person(app.test_client(), "antoine", language="en").text(f"/audit/requests/{instance['id']}")
    assert reason in trace
    # and the next request is served as usual: the same diagram, a reasonable value
    assert runaway.get("/healthz").status_code == 200
    fine = _run(runaway, "small", 3)
    assert fine["status"] == "running" and [t["name"] for t in fine["open_tasks"]] == ["after"]
    assert fine["data"]["made"] == 3


# --- errors: never a trace of the code, the SQL or the files -------------------------------------

LEAKS = ("Traceback", 'File "', "no_such_table", "SELECT", "sqlalchemy", "OperationalError", "ProgrammingError",
         "/work/", "site-packages", ".py", "secret detail")


@pytest.fixture
def crashing(app):
    """The application with two routes that fail the way a bug would: a bad SQL query, a Python error."""
    from sqlalchemy import text

    from web import db

    def bad_sql():
        db.session().execute(text("SELECT secret_column FROM no_such_table"))

    def bad_code():
        raise KeyError("secret detail in /work/main/web/views.py")

    for prefix in ("", "/api/v1"):
        app.add_url_rule(f"{prefix}/test-only/sql", f"test_sql{prefix}", bad_sql)
        app.add_url_rule(f"{prefix}/test-only/code", f"test_code{prefix}", bad_code)
    app.config.update(PROPAGATE_EXCEPTIONS=False, MAX_CONTENT_LENGTH=10_000)
    return app


def test_error_answers_show_nothing_of_the_inside(crashing, caplog):
    person = Person(crashing.test_client(), "nadia")
    person.fresh_token()
    bearer = {"Authorization": "Bearer " + crashing.test_client().post(
        "/api/v1/auth/token", json={"username": "nadia", "password": "demo"}).get_json()["token"]}
    api = crashing.test_client()
    too_big = {"files": [(io.BytesIO(b"x" * 20_000), "big.bpmn")]}
    answers = {
        "page 404": (person.get("/no/such/page"), 404),
        "page 405": (person.get("/logout"), 405),
        "page 413": (person.post("/processes/upload", too_big, content_type="multipart/form-data"), 413),
        "page 500 sql": (person.get("/test-only/sql"), 500),
        "page 500 code": (person.get("/test-only/code"), 500),
        "api 404": (api.get("/api/v1/no/such/thing", headers=bearer), 404),
        "api 405": (api.delete("/api/v1/me", headers=bearer), 405),
        "api 413": (api.post("/api/v1/instances", headers=bearer, json={"process": "x" * 20_000}), 413),
        "api 500 sql": (api.get("/api/v1/test-only/sql", headers=bearer), 500),
        "api 500 code": (api.get("/api/v1/test-only/code", headers=bearer), 500),
    }
    for name, (response, status) in answers.items():
        body = response.get_data(as_text=True)
        assert response.status_code == status, (name, body[:300])
        assert [leak for leak in LEAKS if leak in body] == [], (name, body[:500])
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        if name.startswith("api"):
            assert response.is_json and response.get_json()["code"] == status, name
        else:
            assert response.mimetype == "text/html", name
            assert "script-src 'self'" in response.headers["Content-Security-Policy"], name
            assert "unsafe-inline" not in response.headers["Content-Security-Policy"], name
            assert response.headers["X-Frame-Options"] == "DENY", name
            assert "<main" in body, name
    assert "no_such_table" in caplog.text  # the details go to the log, for the people who run the site


# --- markup from people and from diagrams is shown as text -------------------------------------

EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>'
RAW = ("<script>alert", "<img src=x")


def _svg_is_inert(data: bytes) -> None:
    from lxml import etree
    root = etree.fromstring(data)
    assert root.findall(".//{http://www.w3.org/2000/svg}script") == []
    assert [name for element in root.iter() for name in element.attrib if name.lower().startswith("on")] == []


def test_markup_in_a_title_or_a_diagram_is_shown_as_text(app, client):
    from lxml import etree

    from engine.xml import BPMN_NS

    from .api_helpers import PROCESSES
    root = etree.fromstring((PROCESSES / "mission_exchange" / "mission_exchange.bpmn").read_bytes())
    process = root.find(f"{{{BPMN_NS}}}process")
    process.set("name", "Bourse " + EVIL)
    step = next(t for t in process.iter(f"{{{BPMN_NS}}}userTask") if t.get("id") == "post_need")
    step.set("name", "Publier " + EVIL)
    step.find(f"{{{BPMN_NS}}}documentation").text = "Décrivez " + EVIL
    luc = Person(app.test_client(), "luc")
    response = luc.post("/processes/upload", {"comment": EVIL, "files": [
        (io.BytesIO(etree.tostring(root, xml_declaration=True, encoding="UTF-8")), "mission_exchange.bpmn")]},
        content_type="multipart/form-data")
    assert response.status_code == 303, text_of(response.get_data(as_text=True))[-500:]
    review = response.location
    pages = {review: luc.page(review)}
    _svg_is_inert(luc.get(review + "/diagram.svg").data)
    assert luc.post(review, {"comment": EVIL}).status_code == 303
    for url in ("/processes", "/processes/mission_exchange", "/processes/mission_exchange/versions/2"):
        pages[url] = luc.page(url)
    _svg_is_inert(luc.get("/processes/mission_exchange/versions/2/diagram.svg").data)

    token = client.post("/api/v1/auth/token", json={"username": "thomas", "password": "demo"}).get_json()["token"]
    started = client.post("/api/v1/instances", headers={"Authorization": f"Bearer {token}"},
                          json={"process": "mission_exchange", "data": {"title": "Aide " + EVIL}})
    assert started.status_code == 201, started.get_data(as_text=True)
    instance_id, task_id = started.get_json()["id"], started.get_json()["open_tasks"][0]["id"]
    thomas = Person(app.test_client(), "thomas")
    for url in ("/", "/requests", "/requests/new", f"/requests/{instance_id}", f"/tasks/{task_id}"):
        pages[url] = thomas.page(url)
    _svg_is_inert(thomas.get(f"/requests/{instance_id}/diagram.svg").data)
    antoine = Person(app.test_client(), "antoine")
    for url in ("/audit", f"/audit/requests/{instance_id}"):
        pages[url] = antoine.page(url)
    for url, page in pages.items():
        assert [raw for raw in RAW if raw in page] == [], url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[f"/requests/{instance_id}"]  # shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[f"/tasks/{task_id}"]


def test_data_sent_at_start_cannot_take_a_decision_for_someone_else(app, api):
    """Rules and forms set what gateways read: values slipped in when starting are refused."""
    from .api_helpers import REQUEST, deploy_test_diagram, only_task
    deploy_test_diagram(api)
    thomas = api("thomas")
    slipped = thomas.post("/api/v1/instances", json={"process": "approval_test", "data": {
        "route": "auto", "decision": "approve", "comment": "self-approved"}})
    assert slipped.status_code == 422
    assert slipped.json()["errors"] == {k: ["unknown field"] for k in ("route", "decision", "comment")}
    started = thomas.post("/api/v1/instances", json={"process": "approval_test", "data": {}})
    assert started.status_code == 201
    task = only_task(started.json(), "request")
    done = thomas.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": REQUEST}).json()["instance"]
    assert done["status"] == "running" and done["data"]["route"] == "manager"
    assert [t["name"] for t in done["open_tasks"]] == ["manager_review"]
    assert done["open_tasks"][0]["assignee"] == "julien" and done["approved_at"] is None
    refused = thomas.post("/api/v1/instances", json={"process": "approval_test", "data": {"started_by": "julien"}})
    assert refused.status_code == 422 and "started_by" in refused.json()["errors"]


# --- behind a load balancer ----------------------------------------------------------------------

def _failed_addresses(app) -> list[str]:
    with sessions(app)() as s:
        return [e.data["address"] for e in s.scalars(select(AuditEvent).where(AuditEvent.type == "sign_in_failed")
                                                      .order_by(AuditEvent.id))]


def _from(client, username: str, password: str, forwarded: str, balancer: str = "10.9.9.9"):
    page = client.get("/login", environ_base={"REMOTE_ADDR": balancer}, headers={"X-Forwarded-For": forwarded})
    token = TOKEN.search(page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": balancer}, headers={"X-Forwarded-For": forwarded})


def test_without_a_trusted_proxy_a_forged_forwarded_address_dodges_nothing(throttled):
    client = throttled.test_client()
    for n, username in enumerate(("luc", "ines", "hugo")):
        assert _from(client, username, "guess", f"203.0.113.{n}").status_code == 401
    assert _from(client, "antoine", "demo", "203.0.113.77").status_code == 429
    assert _failed_addresses(throttled) == ["10.9.9.9"] * 3


def test_behind_a_trusted_load_balancer_each_person_has_their_own_address(database_url, tmp_path):
    application = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40,
                              "RATELIMIT_ENABLED": True, "LOGIN_LIMIT": "3 per minute", "TRUSTED_PROXIES": 1})
    application.instance_path = str(tmp_path / "instance")
    limiter.reset()
    try:
        client = application.test_client()
        for username in ("luc", "ines", "hugo"):
            assert _from(client, username, "guess", "203.0.113.1").status_code == 401
        assert _from(client, "antoine", "demo", "203.0.113.1").status_code == 429
        # someone else, through the same balancer, is not locked out by the first person's failures
        assert _from(application.test_client(), "antoine", "demo", "203.0.113.2").status_code == 303
        assert _failed_addresses(application) == ["203.0.113.1"] * 3
    finally:
        limiter.reset()
        application.extensions["passerelle.db"].dispose()
