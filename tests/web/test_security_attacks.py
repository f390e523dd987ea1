"""Attacks tried through the pages and the API, on SQLite and PostgreSQL: each must fail, and leave
nothing changed.

- hostile uploads: XXE, billion laughs, DTDs fetched over the network, files too large, not XML,
  not BPMN, broken diagrams, forbidden code, and the real diagrams of the shared corpus;
"""
from __future__ import annotations

import http.server
import threading

import pytest
from sqlalchemy import func, select

from engine.models import AuditEvent, ProcessFile, ProcessVersion

from ..engine.test_validation import COMPANIONS, CORPUS, EXPECTED
from .api_helpers import DIAGRAMS
from .page_client import text_of
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


def upload_page(browser: Browser, bpmn: bytes, name: str = "approval_test.bpmn"):
    """The Processes page's upload form, sent over real HTTP."""
    return browser.http.post(f"{browser.base}/processes/upload", data={"csrf_token": browser.token, "comment": ""},
                             files=files_of(bpmn, name), allow_redirects=False)


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
        checked = thomas.post("/api/v1/processes/validate", files=files_of(bpmn)).json()
        assert checked["valid"] is False
        assert any(p["file"] == "approval_test.bpmn" and line in (..., p["line"]) and reason in p["message"]
                   for p in checked["problems"]), (name, checked)
        answer = upload_page(page, bpmn)
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
UNSTORABLE = {"miwg-C.9.1.bpmn": "SpiffWorkflow cannot store this diagram"}  # the messages of its send tasks


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
            assert any(verdict in p["message"] for p in problems), (name, problems)
            assert all(p["file"] in (name, *COMPANIONS.get(name, []), "<upload>") for p in problems), problems
    versions, files, events = deployed_state(app)
    assert versions == before[0] + deployed and events == before[2] + deployed  # one process_deployed each
    assert deployed == sum(verdict is None for verdict in {**EXPECTED, **UNSTORABLE}.values())
