"""Bundle validation: the shared corpus, the shipped processes, and hostile uploads. Problems are
codes and parameters (their words: tests/web/test_deploy_texts.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import PROBLEM_CODES, Problem
from engine.validation import UPLOAD, validate_bundle

from .helpers import DIAGRAMS

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "bpmn-corpus"
PROCESSES = Path(__file__).resolve().parents[2] / "processes"

NOT_EXECUTABLE = "process.not_executable"


def said(problem: Problem) -> str:
    """A problem's code and parameters on one line, for looking for a fragment in them."""
    return " ".join([problem.code, *(str(v) for v in problem.params.values() if v != "")])

# SOURCES.md: companion files parsed together with a diagram
COMPANIONS = {
    "camunda-invoice.v2.bpmn": ["camunda-invoiceBusinessDecisions.dmn"],
    "spiff-ExclusiveGatewayIfElseAndDecision.bpmn": ["spiff-test_integer_decision.dmn"],
}

# None: deployable. Otherwise a fragment of one problem's code and parameters (`said`). Derived from SOURCES.md
# (CamundaParser verdicts, executable processes) plus our own rules: every process must say
# isExecutable="true", one .bpmn per bundle (so call activities must call a process of the
# same file), and diagram code must pass the sandbox.
EXPECTED = {
    "bpmnio-diagram.bpmn": NOT_EXECUTABLE,
    "bpmnio-kitchen-sink.bpmn": "decision.unnamed",
    "bpmnio-nested-subprocesses.bpmn": None,
    "bpmnio-pizza-collaboration.bpmn": NOT_EXECUTABLE,
    "bpmnio-transaction-boundaries.bpmn": NOT_EXECUTABLE,
    "camunda-invoice.v2.bpmn": "dmn.several_decisions",  # a DRD; conditions are JUEL: ${approved}
    "camunda-loanApproval.bpmn": None,
    "camunda-reviewInvoice.bpmn": None,
    "miwg-A.1.0.bpmn": NOT_EXECUTABLE,
    "miwg-A.2.0.bpmn": NOT_EXECUTABLE,
    "miwg-A.2.1.bpmn": NOT_EXECUTABLE,
    "miwg-A.3.0.bpmn": NOT_EXECUTABLE,
    "miwg-A.4.0.bpmn": NOT_EXECUTABLE,
    "miwg-A.4.1.bpmn": NOT_EXECUTABLE,
    "miwg-B.1.0.bpmn": NOT_EXECUTABLE,
    "miwg-B.2.0.bpmn": NOT_EXECUTABLE,
    "miwg-C.1.0.bpmn": NOT_EXECUTABLE,  # one of its two processes
    "miwg-C.1.1.bpmn": "spiff.invalid Data Store with name Financial Accounting System has no implementation",
    "miwg-C.2.0.bpmn": NOT_EXECUTABLE,
    "miwg-C.3.0.bpmn": "spiff.invalid Exactly one start event is required in a SubWorkflow Task",
    "miwg-C.4.0.bpmn": NOT_EXECUTABLE,
    "miwg-C.5.0.bpmn": NOT_EXECUTABLE,
    "miwg-C.6.0.bpmn": NOT_EXECUTABLE,
    "miwg-C.7.0.bpmn": "decision.unnamed",
    "miwg-C.8.0.bpmn": NOT_EXECUTABLE,
    "miwg-C.8.1.bpmn": "decision.unnamed",
    "miwg-C.9.0.bpmn": "decision.unnamed",
    "miwg-C.9.1.bpmn": None,
    "miwg-C.9.2.bpmn": "call.unknown requestDocument_en",
    "miwg-aris-A.1.0-export.bpmn": NOT_EXECUTABLE,  # no isExecutable attribute at all
    "miwg-bonita-A.3.0-export.bpmn": NOT_EXECUTABLE,
    "miwg-camunda-eclipse-A.1.0-export.bpmn": NOT_EXECUTABLE,
    "miwg-camundamodeler-A.2.0-export.bpmn": NOT_EXECUTABLE,
    "miwg-camundamodeler-B.2.0-export.bpmn": NOT_EXECUTABLE,
    "miwg-cardanit-C.2.0-export.bpmn": NOT_EXECUTABLE,
    "miwg-modelio-A.4.0-export.bpmn": NOT_EXECUTABLE,
    "miwg-signavio-A.4.0-export.bpmn": NOT_EXECUTABLE,
    "miwg-signavio-C.1.0-export.bpmn": NOT_EXECUTABLE,
    "miwg-trisotech-A.3.0-export.bpmn": NOT_EXECUTABLE,
    "miwg-trisotech-B.1.0-export.bpmn": NOT_EXECUTABLE,
    "miwg-yaoqiang-A.2.0-export.bpmn": "spiff.invalid Non-default exclusive outgoing sequence flow without condition",
    "spiff-ExclusiveGatewayIfElseAndDecision.bpmn": None,
    "spiff-MessageBoundary.bpmn": None,
    "spiff-boundary.bpmn": None,
    "spiff-call_activity_with_message.bpmn": None,
    "spiff-call_activity_with_message_parent.bpmn": "call.unknown Subprocess",
    "spiff-event-gateway.bpmn": None,
    "spiff-external_message.bpmn": None,
    "spiff-lanes.bpmn": None,
    "spiff-message_test.bpmn": None,
    "spiff-noninterrupting-MessageBoundary.bpmn": None,
    "spiff-random_fact.bpmn": "code.refused script attribute 'FactService' is not allowed",  # scripts.FactService
    "spiff-subWorkflowComplex.bpmn": None,
    "spiff-timer-cycle-start.bpmn": None,
    "spiff-timer-non-interrupt-boundary.bpmn": None,
    "spiff-token_trial_parallel_simple.bpmn": None,
    "spiff-transaction.bpmn": None,
}


def test_every_corpus_diagram_has_an_expectation():
    assert sorted(p.name for p in CORPUS.glob("*.bpmn")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_verdict(name):
    files = {name: (CORPUS / name).read_bytes()}
    files.update({dmn: (CORPUS / dmn).read_bytes() for dmn in COMPANIONS.get(name, [])})
    problems = validate_bundle(files)
    expected = EXPECTED[name]
    if expected is None:
        assert problems == []
    else:
        assert any(expected in said(p) for p in problems), problems
        assert all(p.file in files and p.code in PROBLEM_CODES for p in problems)


def test_non_executable_corpus_processes_are_located():
    problems = validate_bundle({"bpmnio-diagram.bpmn": (CORPUS / "bpmnio-diagram.bpmn").read_bytes()})
    assert problems == [Problem("bpmnio-diagram.bpmn", 6, "sid-C3803939-0872-457F-8336-EAE484DC4A04",
                                NOT_EXECUTABLE, {"id": "sid-C3803939-0872-457F-8336-EAE484DC4A04"})]


def shipped_processes():
    return sorted(p for p in PROCESSES.iterdir() if p.is_dir() and any(p.glob("*.bpmn")))


@pytest.mark.parametrize("folder", shipped_processes(), ids=lambda p: p.name)
def test_shipped_processes_are_valid(folder):
    files = {f.name: f.read_bytes() for f in folder.iterdir() if f.suffix in (".bpmn", ".dmn")}
    assert validate_bundle(files) == []


# --- a valid bundle and hostile variants of it ----------------------------------------------------

BPMN = (DIAGRAMS / "validation_sample.bpmn").read_text(encoding="utf-8")
DMN = (DIAGRAMS / "validation_sample.dmn").read_text(encoding="utf-8")


def bundle(bpmn: str = BPMN, dmn: str | None = DMN) -> dict[str, bytes]:
    files = {"sample.bpmn": bpmn.encode()}
    if dmn is not None:
        files["eligibility.dmn"] = dmn.encode()
    return files


def line_of(text: str, marker: str) -> int:
    return text[:text.index(marker)].count("\n") + 1


def only_problem(files: dict[str, bytes]) -> Problem:
    problems = validate_bundle(files)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_sample_bundle_is_valid():
    assert validate_bundle(bundle()) == []


def test_xxe_is_refused():
    xxe = BPMN.replace('<?xml version="1.0" encoding="UTF-8"?>',
                       '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                       ).replace('name="Sample"', 'name="&xxe;"')
    problem = only_problem(bundle(xxe))
    assert (problem.file, problem.line) == ("sample.bpmn", None)
    assert problem.code == "xml.dtd"


def test_billion_laughs_is_refused():
    laughs = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
              + ']>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;'
              '</bpmn:definitions>')
    problem = only_problem({"laughs.bpmn": laughs.encode(), "eligibility.dmn": DMN.encode()})
    assert problem.file == "laughs.bpmn"
    assert problem.code == "xml.dtd"


def test_a_3_mb_file_is_refused():
    huge = BPMN.replace("</bpmn:definitions>", "<!--" + "x" * 3_000_000 + "--></bpmn:definitions>")
    problem = only_problem(bundle(huge))
    assert (problem.file, problem.line) == ("sample.bpmn", None)
    assert (problem.code, problem.params) == ("xml.too_large", {"limit": 2048})


def test_not_xml_is_refused_with_its_line():
    problem = only_problem({"sample.bpmn": b"<?xml version='1.0'?>\n<bpmn:definitions>\n<oops\n",
                            "eligibility.dmn": DMN.encode()})
    assert problem.file == "sample.bpmn"
    assert problem.line is not None
    assert problem.code == "xml.not_well_formed" and problem.params["detail"]


def test_an_svg_is_not_bpmn():
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><rect width="1"/></svg>'
    problem = only_problem({"diagram.bpmn": svg})
    assert (problem.file, problem.line) == ("diagram.bpmn", 2)
    assert (problem.code, problem.params) == ("file.not_bpmn",
                                              {"root": "<svg>", "namespace": "http://www.w3.org/2000/svg"})


def test_a_dmn_alone_is_not_a_bundle():
    assert validate_bundle({"eligibility.dmn": DMN.encode()}) == [
        Problem(UPLOAD, None, None, "upload.no_bpmn")]


def test_upload_shapes_are_checked():
    assert validate_bundle({}) == [Problem(UPLOAD, None, None, "upload.empty")]
    assert only_problem({**bundle(), "notes.txt": b"hello"}) == Problem("notes.txt", None, None, "file.wrong_kind")
    assert only_problem({**bundle(), "other.bpmn": BPMN.encode()}) == Problem(
        UPLOAD, None, None, "upload.several_bpmn", {"count": 2, "files": "sample.bpmn, other.bpmn"})
    assert only_problem(bundle(dmn=None) | {"eligibility.dmn": b""}) == Problem(
        "eligibility.dmn", None, None, "file.empty")
    assert only_problem({"sample.bpmn": BPMN.encode(), "eligibility.dmn": BPMN.encode()}).code == "file.not_dmn"


def test_duplicate_ids_are_refused():
    duplicated = BPMN.replace('<bpmn:endEvent id="refused" />',
                              '<bpmn:endEvent id="refused" />\n    <bpmn:textAnnotation id="review" />')
    first = line_of(duplicated, '<bpmn:userTask id="review"')
    problem = only_problem(bundle(duplicated))
    assert problem == Problem("sample.bpmn", line_of(duplicated, '<bpmn:textAnnotation'), "review",
                              "id.duplicate", {"id": "review", "first_line": first})


def test_a_flow_to_a_missing_target_is_refused():
    broken = BPMN.replace('targetRef="refused"', 'targetRef="nowhere"')
    problems = validate_bundle(bundle(broken))
    assert Problem("sample.bpmn", line_of(broken, '<bpmn:sequenceFlow id="f7"'), "f7",
                   "flow.unknown_end", {"end": "targetRef", "ref": "nowhere"}) in problems
    assert Problem("sample.bpmn", line_of(broken, '<bpmn:endEvent id="refused"'), "refused",
                   "end.no_incoming") in problems


def test_a_missing_decision_is_refused():
    broken = BPMN.replace('camunda:decisionRef="eligibility"', 'camunda:decisionRef="eligibility_v2"')
    problem = only_problem(bundle(broken))
    assert problem == Problem("sample.bpmn", line_of(broken, '<bpmn:businessRuleTask'), "check",
                              "decision.unknown", {"ref": "eligibility_v2", "known": "eligibility"})
    assert only_problem(bundle(dmn=None)).params == {"ref": "eligibility", "known": ""}


def test_a_non_executable_process_is_refused():
    broken = BPMN.replace('isExecutable="true"', 'isExecutable="false"')
    problem = only_problem(bundle(broken))
    assert problem == Problem("sample.bpmn", line_of(broken, "<bpmn:process"), "sample", NOT_EXECUTABLE,
                              {"id": "sample"})


def test_a_script_that_imports_is_refused():
    hostile = BPMN.replace("share = time_share + 10", "share = __import__('os').system('id')")
    problem = only_problem(bundle(hostile))
    assert (problem.file, problem.line, problem.element) == ("sample.bpmn", line_of(hostile, "<bpmn:script>"),
                                                             "prepare")
    assert (problem.code, problem.params) == ("code.refused", {
        "what": "script", "expression": "", "reason": "names starting with '_' are not allowed: __import__ (line 2)"})


def test_a_condition_reaching_for_dunders_is_refused():
    hostile = BPMN.replace("len(problems) == 0", "().__class__")
    problem = only_problem(bundle(hostile))
    assert problem == Problem("sample.bpmn", line_of(hostile, "().__class__"), "f6", "code.refused", {
        "what": "condition", "expression": "'().__class__'",
        "reason": "names starting with '_' are not allowed: __class__"})


def test_a_dmn_cell_that_imports_is_refused():
    hostile = DMN.replace('<text>"contractuel","employee"</text>', "<text>__import__('os').system('id')</text>")
    problem = only_problem(bundle(dmn=hostile))
    assert problem == Problem("eligibility.dmn", line_of(hostile, "__import__"), "wrong_status_status",
                              "code.refused", {"what": "dmn_input_entry",
                                               "expression": "\"__import__('os').system('id')\"",
                                               "reason": "names starting with '_' are not allowed: __import__"})


def test_dmn_output_entries_and_input_expressions_are_checked():
    hostile = DMN.replace('<text>"status"</text>', "<text>open('/etc/passwd')</text>").replace(
        "<text>agent_status</text>", "<text>agent_status.__class__</text>")
    problems = validate_bundle(bundle(dmn=hostile))
    assert [(p.element, p.params["what"], p.params["reason"]) for p in problems] == [
        ("status_expression", "dmn_input_expression", "names starting with '_' are not allowed: __class__"),
        ("wrong_status_out", "dmn_output_entry", "open() is not allowed"),
    ]


def test_timers_are_checked():
    timed = BPMN.replace('<bpmn:endEvent id="refused" />', """<bpmn:endEvent id="refused" />
    <bpmn:boundaryEvent id="too_late" attachedToRef="review">
      <bpmn:outgoing>f8</bpmn:outgoing>
      <bpmn:timerEventDefinition id="timer"><bpmn:timeDate>[].__class__</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="expired" />
    <bpmn:sequenceFlow id="f8" sourceRef="too_late" targetRef="expired" />""")
    problem = only_problem(bundle(timed))
    assert (problem.line, problem.element) == (line_of(timed, "<bpmn:timeDate>"), "too_late")
    assert (problem.code, problem.params["what"], problem.params["expression"]) == (
        "code.refused", "timer", "'[].__class__'")
    assert validate_bundle(bundle(timed.replace("[].__class__", "add_days(start_date, 5)"))) == []


@pytest.mark.parametrize("assignee", ["${agent.__class__}", "${a + b}", "#{agent}", "${manager_of(x, y)}"])
def test_assignment_expressions_keep_to_the_documented_forms(assignee):
    hostile = BPMN.replace("${manager_of(agent)}", assignee)
    problem = only_problem(bundle(hostile))
    assert (problem.line, problem.element) == (line_of(hostile, '<bpmn:userTask id="review"'), "review")
    assert (problem.code, problem.params) == ("assignment.refused",
                                              {"where": "camunda:assignee", "expression": repr(assignee)})


def test_spiffworkflow_has_the_last_word():
    # an exclusive gateway whose only way out has no condition and is not the default
    broken = BPMN.replace('<bpmn:sequenceFlow id="f7" sourceRef="gateway" targetRef="refused">',
                          '<bpmn:sequenceFlow id="f7" sourceRef="gateway" targetRef="refused">\n'
                          '<bpmn:documentation>x</bpmn:documentation>').replace(
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">len(problems) &gt; 0</bpmn:conditionExpression>',
        "")
    problem = only_problem(bundle(broken))
    assert problem.file == "sample.bpmn"
    assert problem.code == "spiff.invalid"
    assert problem.params["detail"].startswith("Non-default exclusive outgoing sequence flow without condition")


# --- linear time (issue 13: a 48,000-character DMN cell took 43.8 s, the server waiting) ---------

HOSTILE_LENGTH = 48_000


def timed_validation(files: dict[str, bytes]) -> tuple[list[Problem], float]:
    import time
    started = time.perf_counter()
    problems = validate_bundle(files)
    return problems, time.perf_counter() - started


@pytest.mark.parametrize("cell", ["?" * HOSTILE_LENGTH, "'" + "?" * HOSTILE_LENGTH, "? > 1 or " * 5000 + "? > 2"],
                         ids=["marks", "quoted", "tests"])
def test_a_huge_dmn_cell_is_refused_at_once(cell):
    hostile = DMN.replace("<text>10 &lt; ? &lt; 20</text>", f"<text>{cell}</text>")
    problems, seconds = timed_validation(bundle(dmn=hostile))
    assert seconds < 1.0  # the quadratic pattern took 43.8 s on 48,000 '?'
    assert [(p.element, p.code, p.params["max_chars"], p.params["max_marks"]) for p in problems] == [
        ("question_mark_share", "dmn.entry_too_long", 10_000, 16)]


def test_question_marks_outside_quotes_stand_for_the_input():
    # the DMNEngine's reading: a '?' inside a string is text
    quoted = DMN.replace("<text>? not in ['fonctionnaire']</text>", "<text>? != 'why?' and ? != \"?\"</text>")
    assert validate_bundle(bundle(dmn=quoted)) == []
    hostile = DMN.replace("<text>? not in ['fonctionnaire']</text>", "<text>'?' + __name__</text>")
    reason = only_problem(bundle(dmn=hostile)).params["reason"]
    assert reason.endswith("names starting with '_' are not allowed: __name__")


@pytest.mark.parametrize("value", [",".join(["hr"] * (HOSTILE_LENGTH // 3)), "${" * (HOSTILE_LENGTH // 2),
                                   "{" * HOSTILE_LENGTH + ",x", "," * HOSTILE_LENGTH],
                         ids=["names", "openings", "braces", "commas"])
def test_a_huge_assignment_list_is_read_in_linear_time(value):
    hostile = BPMN.replace('camunda:assignee="${manager_of(agent)}"',
                           f'camunda:assignee="${{manager_of(agent)}}" camunda:candidateUsers="{value}"')
    assert hostile != BPMN
    problems, seconds = timed_validation(bundle(hostile))
    assert seconds < 1.0  # the list pattern grew with the square of the list
    assert [p.code for p in problems] == (["assignment.refused"] if "${" in value else [])


def test_a_step_declares_one_of_the_phases_of_a_mission():
    declared = BPMN.replace('<camunda:property name="exclude_users" value="${started_by}" />',
                            '<camunda:property name="exclude_users" value="${started_by}" />'
                            '<camunda:property name="phase" value="in_approval" />')
    assert validate_bundle(bundle(declared)) == []
    unknown = declared.replace('value="in_approval"', 'value="pending"')
    problem = only_problem(bundle(unknown))
    assert (problem.line, problem.element, problem.code) == (line_of(unknown, 'name="phase"'), "review",
                                                             "phase.unknown")
    assert problem.params["phase"] == "pending" and "in_approval" in problem.params["known"]
