"""The bundle model: which file is the BPMN, which are the DMN tables, which process is the main
one, its name and documentation; each file parsed once, whatever the case of its name."""
from __future__ import annotations

import pytest

import engine.bundle
from engine import (BPMN, DMN, Bundle, ProposedVersion, Problem, bundle_of, bundles_in, deploy, get_version,
                    kind_of, submit, unit_of_work, validate)
from engine.registry import identify

from ..conftest import CORPUS, DIAGRAMS
from .helpers import as_user

BPMN_BYTES = (DIAGRAMS / "approval_test.bpmn").read_bytes()
DMN_BYTES = (DIAGRAMS / "approval_rule.dmn").read_bytes()
UPPER = {"Rules.DMN": DMN_BYTES, "Approval.BPMN": BPMN_BYTES}  # the BPMN file is not the first one
CALLED_FIRST = (DIAGRAMS / "called_first.bpmn").read_bytes()


def said(problem: Problem) -> str:
    """What a problem says besides where it is (whatever form that takes)."""
    where = ("file", "line", "element")
    return " ".join(str(value) for key, value in problem.as_dict().items() if key not in where).strip()


@pytest.mark.parametrize("name, kind", [
    ("approval.bpmn", BPMN), ("Approval.BPMN", BPMN), ("a.Bpmn", BPMN), ("rules.DMN", DMN), ("r.dmn", DMN),
    ("README.md", None), ("approval.bpmn.txt", None), ("bpmn", None), ("approval.xml", None)])
def test_the_kind_of_a_file_is_its_suffix_in_any_case(name, kind):
    assert kind_of(name) == kind


def test_an_upper_case_bundle_says_which_file_is_which_and_what_its_process_is():
    bundle = Bundle({**UPPER, "README.md": b"# notes"})
    assert (bundle.bpmn_names, bundle.bpmn_name) == (["Approval.BPMN"], "Approval.BPMN")
    assert bundle.dmn_names == ["Rules.DMN"] and bundle.other_names == ["README.md"]
    assert (bundle.key, bundle.name) == ("approval_test", "Approval test")
    assert bundle.description == "A small process used by the engine tests."
    assert bundle.starter_roles == ["agent"]
    assert [name for name, _ in bundle.stored_order()] == ["Approval.BPMN", "Rules.DMN", "README.md"]
    assert dict(bundle) == {**UPPER, "README.md": b"# notes"} and len(bundle) == 3
    assert Bundle.of(bundle) is bundle and bundle.root("Approval.BPMN") is bundle.root("Approval.BPMN")


def test_the_main_process_is_the_executable_one_no_call_activity_calls():
    bundle = Bundle({"called_first.bpmn": CALLED_FIRST})
    assert bundle.key == "calls_helper"  # not `helper`, the first process of the file
    assert bundle.name == "calls_helper"  # no name: the key names it
    assert bundle.description == "Calls the helper, then ends."
    assert validate(bundle) == []
    not_executable = Bundle({"x.bpmn": CALLED_FIRST.replace(b'isExecutable="true"', b'isExecutable="false"')})
    assert (not_executable.main_process, not_executable.key, not_executable.name) == (None, None, None)
    assert not_executable.description == "" and not_executable.starter_roles == ["agent"]


@pytest.mark.parametrize("files", [
    {}, {"rules.dmn": DMN_BYTES}, {"a.bpmn": BPMN_BYTES, "B.BPMN": BPMN_BYTES}, {"a.bpmn": b"<definitions"},
    {"a.bpmn": DMN_BYTES}, {"notes.txt": b"hello"}, {"a.bpmn": b""}])
def test_files_that_are_no_bundle_answer_none_and_validation_says_why(files):
    bundle = Bundle(files)
    assert bundle.bpmn_root is None and bundle.key is None and bundle.name is None and bundle.description == ""
    problems = validate(bundle)
    assert problems and all(isinstance(p, Problem) and said(p) for p in problems)


def test_an_upper_case_bundle_validates_deploys_and_its_versions_find_their_bpmn_file(org_sessions):
    assert validate(UPPER) == []
    assert identify(UPPER)[:2] == ("approval_test", "Approval test")
    with unit_of_work(org_sessions) as s:
        version = deploy(s, UPPER, "luc", "upper case").version
        assert (version.process_key, version.name, version.starter_roles) == ("approval_test", "Approval test",
                                                                                ["agent"])
        assert version.description == "A small process used by the engine tests."
    with unit_of_work(org_sessions) as s:
        version = get_version(s, "approval_test")
        assert version.bpmn_file.filename == "Approval.BPMN" and version.bpmn_file.content == BPMN_BYTES
        assert version.files[0].filename == "Approval.BPMN"  # stored first
        assert bundle_of(version) == UPPER and bundle_of(version).key == "approval_test"
        changed = {**UPPER, "Approval.BPMN": BPMN_BYTES.replace(b"A small process", b"A changed process")}
        proposed = submit(s, changed, as_user(s, "luc"), four_eyes=True)
        assert isinstance(proposed, ProposedVersion) and proposed.bpmn_file.filename == "Approval.BPMN"
        assert proposed.name == "Approval test"


def test_deploying_parses_each_file_once(org_sessions, monkeypatch):
    parsed: list[str] = []
    real = engine.bundle.parse_xml

    def counting(content: bytes, filename: str = "<upload>"):
        parsed.append(filename)
        return real(content, filename)

    monkeypatch.setattr(engine.bundle, "parse_xml", counting)
    bundle = Bundle(UPPER)
    assert validate(bundle) == []
    with unit_of_work(org_sessions) as s:
        assert deploy(s, bundle, "luc").created
    assert sorted(parsed) == ["Approval.BPMN", "Rules.DMN"]


def test_a_processes_folder_is_read_whatever_the_case_of_its_file_names(tmp_path):
    (tmp_path / "approval").mkdir()
    (tmp_path / "approval" / "Approval.BPMN").write_bytes(BPMN_BYTES)
    (tmp_path / "approval" / "Rules.DMN").write_bytes(DMN_BYTES)
    (tmp_path / "approval" / "README.md").write_text("notes")
    (tmp_path / "Called.Bpmn").write_bytes(CALLED_FIRST)
    (tmp_path / "stray.dmn").write_bytes(DMN_BYTES)  # no sub-folder: used by no bundle
    bundles = bundles_in(tmp_path)
    assert sorted(bundles) == ["Called.Bpmn", "approval/Approval.BPMN"]
    assert dict(bundles["approval/Approval.BPMN"]) == UPPER
    assert list(bundles["Called.Bpmn"]) == ["Called.Bpmn"]


# --- the corpus of diagrams written by other projects (/work/shared/bpmn-corpus) ----------------

CORPUS_FILES = sorted(p for p in CORPUS.iterdir() if kind_of(p.name) is not None)
#: the bundles SOURCES.md lists: files that use each other
CORPUS_BUNDLES = [
    ("camunda-invoice.v2.bpmn", "camunda-reviewInvoice.bpmn", "camunda-invoiceBusinessDecisions.dmn"),
    ("spiff-call_activity_with_message_parent.bpmn", "spiff-call_activity_with_message.bpmn"),
    ("spiff-ExclusiveGatewayIfElseAndDecision.bpmn", "spiff-test_integer_decision.dmn"),
]


def test_the_corpus_is_all_there():
    assert len(CORPUS_FILES) == 59


def assert_a_bundle_or_a_clear_problem(bundle: Bundle) -> list[Problem]:
    problems = validate(bundle)
    assert all(isinstance(p, Problem) and said(p) for p in problems)
    assert all(p.file in (*bundle, "<upload>") for p in problems), problems
    if not problems:
        assert bundle.bpmn_root is not None and bundle.key and bundle.name
    assert isinstance(bundle.description, str) and bundle.starter_roles
    return problems


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_corpus_file_is_a_bundle_or_a_clear_problem(path):
    bundle = Bundle({path.name: path.read_bytes()})
    assert (bundle.bpmn_name == path.name) == (kind_of(path.name) == BPMN)
    assert bundle.dmn_names == ([path.name] if kind_of(path.name) == DMN else [])
    problems = assert_a_bundle_or_a_clear_problem(bundle)
    if kind_of(path.name) == DMN:
        assert [p for p in problems if p.file == "<upload>"]  # no BPMN file
    elif bundle.main_process is None:
        assert problems  # nothing to deploy
    else:
        assert bundle.main_process.get("isExecutable") == "true"


@pytest.mark.parametrize("names", CORPUS_BUNDLES, ids=lambda names: names[0])
def test_the_corpus_bundles_are_bundles_or_clear_problems(names):
    bundle = Bundle({name: (CORPUS / name).read_bytes() for name in names})
    problems = assert_a_bundle_or_a_clear_problem(bundle)
    if len(bundle.bpmn_names) > 1:
        assert bundle.bpmn_name is None and bundle.key is None
        assert any(p.file == "<upload>" and all(n in said(p) for n in bundle.bpmn_names) for p in problems)
