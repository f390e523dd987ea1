"""Validating an uploaded bundle — one BPMN file and the DMN files it uses — before deployment.

`validate_bundle` reports every problem it can find, each located (file, line, element id) for the
person who drew the diagram: unsafe or malformed XML, wrong file kinds, processes that are not
executable, broken references, code the sandbox would refuse, and finally whatever SpiffWorkflow's
CamundaParser says. Nothing is evaluated here; diagram code is only compiled by `sandbox.check_code`.
"""
from __future__ import annotations

import ast
import warnings
from typing import Iterator, Mapping

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

from .assignment import invalid_expressions
from .bundle import BPMN, DMN, Bundle, kind_of
from .errors import InvalidBundle, Problem
from .phases import PHASES
from .sandbox import TIMER_KINDS, check_code, timer_constant_problem
from .xml import BPMN_NS, BPMNDI_NS, CAMUNDA_NS, DC_NS, DI_NS, DMN_NAMESPACES, is_bpmn, is_dmn

__all__ = ["validate_bundle"]

UPLOAD = "<upload>"  # the file name of problems that belong to the bundle as a whole
_DMNDI_NS = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
_ID_NAMESPACES = {BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, _DMNDI_NS, *DMN_NAMESPACES}
_B = f"{{{BPMN_NS}}}"
_CAMUNDA = f"{{{CAMUNDA_NS}}}"

# where diagram code hides in BPMN: (element, what it is (a CODE_KINDS code), compile mode)
_BPMN_CODE = (
    ("conditionExpression", "condition", "eval"),
    ("condition", "condition", "eval"),  # conditional events
    ("script", "script", "exec"),
    ("timeDate", "timer", "eval"),
    ("timeDuration", "timer", "eval"),
    ("timeCycle", "timer", "eval"),
    ("loopCardinality", "loop_cardinality", "eval"),
    ("completionCondition", "completion_condition", "eval"),
)
_CODE_ELEMENTS = {local for local, _, _ in _BPMN_CODE}
#: the `what` of a "code.refused" problem
CODE_KINDS = ("condition", "script", "timer", "loop_cardinality", "completion_condition", "message_payload",
              "dmn_input_expression", "dmn_output_entry", "dmn_input_entry")
_ASSIGNMENT_ATTRIBUTES = ("assignee", "candidateUsers", "candidateGroups")
# SpiffWorkflow's DMNEngine finds the '?' of an input entry with a pattern that reads the rest of
# the cell for each '?' (the square of the cell at every evaluation): entries stay within bounds
_MAX_INPUT_ENTRY = 10_000  # characters
_MAX_QUESTION_MARKS = 16


def validate_bundle(files: Mapping[str, bytes]) -> list[Problem]:
    """Every problem that would keep `files` (name -> content, or a Bundle, whose parsed files are
    reused) from being deployed; [] if none.

    A bundle is exactly one `.bpmn` file plus the `.dmn` files its business rule tasks use. Nothing
    raises: hostile or broken input comes back as Problems.
    """
    files = Bundle.of(files)
    if not files:
        return [Problem(UPLOAD, None, None, "upload.empty")]
    problems: list[Problem] = []
    bpmn: dict[str, etree._Element] = {}
    dmn: dict[str, etree._Element] = {}
    for name in files:
        if len(name) > 255:  # the size of process_file.filename
            problems.append(Problem(name[:60] + "…", None, None, "file.name_too_long"))
            continue
        root = _load(files, name, problems)
        if root is not None:
            (bpmn if kind_of(name) == BPMN else dmn)[name] = root
    bpmn_names = files.bpmn_names
    if not bpmn_names:
        problems.append(Problem(UPLOAD, None, None, "upload.no_bpmn"))
    elif len(bpmn_names) > 1:
        problems.append(Problem(UPLOAD, None, None, "upload.several_bpmn",
                                {"count": len(bpmn_names), "files": ", ".join(bpmn_names)}))
    structure: list[Problem] = []
    for name, root in {**bpmn, **dmn}.items():
        structure += _duplicate_ids(name, root)
    decisions = _decisions(dmn, structure)
    all_dmn_loaded = len(dmn) == len(files.dmn_names)
    for name, root in bpmn.items():
        structure += _processes(name, root)
        structure += _flows(name, root)
        structure += _phases(name, root)
        structure += _references(name, root, decisions if all_dmn_loaded else None)
    code: list[Problem] = []
    for name, root in bpmn.items():
        code += _bpmn_code(name, root)
        code += _assignments(name, root)
    for name, root in dmn.items():
        code += _dmn_code(name, root)
    problems += structure
    # SpiffWorkflow only gets well-formed bundles: it crashes on some broken references
    verdict = _spiff_problems(bpmn, dmn) if not problems and len(bpmn) == 1 else []
    return problems + code + verdict


# --- files ----------------------------------------------------------------------------------------

def _load(files: Bundle, name: str, problems: list[Problem]) -> etree._Element | None:
    kind = kind_of(name)
    if kind is None:
        problems.append(Problem(name, None, None, "file.wrong_kind"))
        return None
    if not files[name].strip():
        problems.append(Problem(name, None, None, "file.empty"))
        return None
    try:
        root = files.root(name)
    except InvalidBundle as err:
        problems.extend(err.problems)
        return None
    if kind == BPMN and not is_bpmn(root):
        problems.append(Problem(name, root.sourceline, None, "file.not_bpmn", _describe(root)))
        return None
    if kind == DMN and not is_dmn(root):
        problems.append(Problem(name, root.sourceline, None, "file.not_dmn", _describe(root)))
        return None
    return root


def _describe(element: etree._Element) -> dict[str, str]:
    """{"root": "<definitions>", "namespace": ...} of a root element (no namespace: no key)."""
    qname = etree.QName(element)
    return {"root": f"<{qname.localname}>", **({"namespace": qname.namespace} if qname.namespace else {})}


def _ns(element: etree._Element) -> str | None:
    return etree.QName(element).namespace if isinstance(element.tag, str) else None


def _local(element: etree._Element) -> str | None:
    return etree.QName(element).localname if isinstance(element.tag, str) else None


def _owner_id(element: etree._Element) -> str | None:
    """The id of the element, or of the nearest ancestor a person would look for (the event, not
    its timer definition)."""
    while element is not None:
        local = _local(element) or ""
        if (element.get("id") and _ns(element) in _ID_NAMESPACES and local not in _CODE_ELEMENTS
                and not local.endswith(("EventDefinition", "LoopCharacteristics"))):
            return element.get("id")
        element = element.getparent()
    return None


# --- structure ------------------------------------------------------------------------------------

def _duplicate_ids(name: str, root: etree._Element) -> Iterator[Problem]:
    # only BPMN/DMN/DI elements: camunda:formField ids are field names, shared between forms
    first_line: dict[str, int | None] = {}
    for element in root.iter():
        ident = element.get("id") if _ns(element) in _ID_NAMESPACES else None
        if not ident:
            continue
        if ident in first_line:
            yield Problem(name, element.sourceline, ident, "id.duplicate",
                          {"id": ident, "first_line": first_line[ident]})
        else:
            first_line[ident] = element.sourceline


def _processes(name: str, root: etree._Element) -> Iterator[Problem]:
    processes = root.findall(f"{_B}process")
    if not processes:
        yield Problem(name, root.sourceline, None, "process.none")
    for process in processes:
        # the sizes of process_version.process_key and .name
        if len(process.get("id") or "") > 128:
            yield Problem(name, process.sourceline, None, "process.id_too_long")
        if len(process.get("name") or "") > 200:
            yield Problem(name, process.sourceline, process.get("id"), "process.name_too_long")
        if process.get("isExecutable") != "true":
            yield Problem(name, process.sourceline, process.get("id"), "process.not_executable",
                          {"id": process.get("id")})


def _flows(name: str, root: etree._Element) -> Iterator[Problem]:
    nodes = {e.get("id"): e for e in root.iter(f"{_B}*") if e.get("id")}
    incoming: set[str] = set()
    outgoing: set[str] = set()
    for flow in root.iter(f"{_B}sequenceFlow"):
        for end, seen in (("sourceRef", outgoing), ("targetRef", incoming)):
            ref = flow.get(end)
            if not ref:
                yield Problem(name, flow.sourceline, flow.get("id"), "flow.no_end", {"end": end})
            elif ref not in nodes:
                yield Problem(name, flow.sourceline, flow.get("id"), "flow.unknown_end", {"end": end, "ref": ref})
            else:
                seen.add(ref)
    for event in root.iter(f"{_B}startEvent"):
        if event.get("id") not in outgoing:
            yield Problem(name, event.sourceline, event.get("id"), "start.no_outgoing")
    for event in root.iter(f"{_B}endEvent"):
        if event.get("id") not in incoming:
            yield Problem(name, event.sourceline, event.get("id"), "end.no_incoming")


def _phases(name: str, root: etree._Element) -> Iterator[Problem]:
    """A step's `phase` property names one of the phases a mission has (`engine.phases`)."""
    for element in root.iter(f"{_CAMUNDA}property"):
        value = element.get("value")
        if element.get("name") == "phase" and (value or "").strip() not in PHASES:
            yield Problem(name, element.sourceline, _owner_id(element), "phase.unknown",
                          {"phase": value or "", "known": ", ".join(PHASES)})


def _decisions(dmn: Mapping[str, etree._Element], problems: list[Problem]) -> dict[str, str]:
    """decision id -> file; SpiffWorkflow reads one decision per DMN file."""
    found: dict[str, str] = {}
    for name, root in dmn.items():
        decisions = [e for e in root if _local(e) == "decision"]
        if not decisions:
            problems.append(Problem(name, root.sourceline, None, "dmn.no_decision"))
            continue
        if len(decisions) > 1:
            problems.append(Problem(name, decisions[1].sourceline, decisions[1].get("id"), "dmn.several_decisions"))
        ident = decisions[0].get("id")
        if ident in found:
            problems.append(Problem(name, decisions[0].sourceline, ident, "decision.duplicate",
                                    {"id": ident, "file": found[ident]}))
        found.setdefault(ident, name)
    return found


def _references(name: str, root: etree._Element, decisions: Mapping[str, str] | None) -> Iterator[Problem]:
    """Business rule tasks and call activities must name something in the bundle (`decisions`
    is None when a DMN file could not be read: its problem is reported already)."""
    for task in root.iter(f"{_B}businessRuleTask"):
        ref = task.get(f"{_CAMUNDA}decisionRef")
        if not ref:
            yield Problem(name, task.sourceline, task.get("id"), "decision.unnamed")
        elif decisions is not None and ref not in decisions:
            yield Problem(name, task.sourceline, task.get("id"), "decision.unknown",
                          {"ref": ref, "known": ", ".join(sorted(decisions))})
    processes = {p.get("id") for p in root.iter(f"{_B}process")}
    for call in root.iter(f"{_B}callActivity"):
        called = call.get("calledElement")
        if not called:
            yield Problem(name, call.sourceline, call.get("id"), "call.unnamed")
        elif called not in processes:
            yield Problem(name, call.sourceline, call.get("id"), "call.unknown", {"called": called})


# --- code -----------------------------------------------------------------------------------------

def _code_problem(name: str, element: etree._Element, what: str, source: str, mode: str,
                  shown: str | None = None) -> Problem | None:
    """A Problem if the sandbox refuses `source`; expressions are quoted (`shown` if given)."""
    reason = check_code(source, mode)
    if reason is None:
        return None
    expression = ""
    if mode == "eval":
        text = " ".join((shown if shown is not None else source).split())
        expression = repr(text if len(text) <= 60 else text[:60] + "…")
    return Problem(name, element.sourceline, _owner_id(element), "code.refused",
                   {"what": what, "expression": expression, "reason": reason})


def _bpmn_code(name: str, root: etree._Element) -> Iterator[Problem]:
    for local, what, mode in _BPMN_CODE:
        for element in root.iter(f"{_B}{local}"):
            text = element.text or ""
            if local == "script" and not text.strip():
                yield Problem(name, element.sourceline, _owner_id(element), "script.empty")
            elif text.strip():
                problem = _code_problem(name, element, what, text, mode)
                reason = timer_constant_problem(local, text) if problem is None and local in TIMER_KINDS else None
                if reason:
                    problem = Problem(name, element.sourceline, _owner_id(element), "code.timer", {"reason": reason})
                if problem:
                    yield problem
    for element in root.iter(f"{_B}messageEventDefinition"):
        payload = element.get(f"{_CAMUNDA}expression")
        problem = payload and _code_problem(name, element, "message_payload", payload, "eval")
        if problem:
            yield problem


def _assignments(name: str, root: etree._Element) -> Iterator[Problem]:
    """`${...}` in assignments and properties: only `${name}` and `${function(name)}`."""
    for element in root.iter():
        values = [("assignment.refused", {"where": f"camunda:{a}"}, element.get(f"{_CAMUNDA}{a}"))
                  for a in _ASSIGNMENT_ATTRIBUTES]
        if element.tag == f"{_CAMUNDA}property":
            values.append(("property.refused", {"property": element.get("name")}, element.get("value")))
        for code, where, value in values:
            for item in invalid_expressions(value):
                yield Problem(name, element.sourceline, _owner_id(element), code,
                              {**where, "expression": repr(_shown(item))})


def _dmn_code(name: str, root: etree._Element) -> Iterator[Problem]:
    for table in (e for e in root.iter() if _local(e) == "decisionTable"):
        inputs = []
        for column in (e for e in table if _local(e) == "input"):
            text = _text_child(column, "inputExpression")
            inputs.append(text)
            if text is not None and text.text and text.text.strip():
                problem = _code_problem(name, text, "dmn_input_expression", text.text, "eval")
                if problem:
                    yield problem
        for rule in (e for e in table if _local(e) == "rule"):
            entries = [e for e in rule if _local(e) == "inputEntry"]
            for index, entry in enumerate(entries):
                column = inputs[index] if index < len(inputs) else None
                problem = _input_entry_problem(name, entry, column.text if column is not None else None)
                if problem:
                    yield problem
            for entry in (e for e in rule if _local(e) == "outputEntry"):
                text = _text_child(entry)
                if text is not None and text.text and text.text.strip():
                    problem = _code_problem(name, text, "dmn_output_entry", text.text, "eval")
                    if problem:
                        yield problem


def _text_child(element: etree._Element, wrapper: str | None = None) -> etree._Element | None:
    if wrapper is not None:
        element = next((e for e in element if _local(e) == wrapper), None)
        if element is None:
            return None
    return next((e for e in element if _local(e) == "text"), None)


def _parses(source: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _input_marks_replaced(cell: str) -> str:
    """`cell` with each '?' outside quotes replaced by `dmninputexpr`, as SpiffWorkflow's DMNEngine
    does. Its pattern replaces a '?' when an even number of quote characters (' or ", either
    closing either) follow it; one pass from the end counts them."""
    parts: list[str] = []
    quotes_after = 0
    for char in reversed(cell):
        if char in "'\"":
            quotes_after += 1
        parts.append("dmninputexpr" if char == "?" and quotes_after % 2 == 0 else char)
    return "".join(reversed(parts))


def _shown(text: str) -> str:
    return text if len(text) <= 60 else text[:60] + "…"


def _input_entry_problem(name: str, entry: etree._Element, input_expression: str | None) -> Problem | None:
    """Build the expression SpiffWorkflow's DMNEngine would evaluate for this cell, then check it."""
    element = _text_child(entry)
    cell = element.text if element is not None else None
    if cell is None or cell == "-":  # empty and '-' mean "any value"
        return None
    element = element if element is not None else entry
    if len(cell) > _MAX_INPUT_ENTRY or cell.count("?") > _MAX_QUESTION_MARKS:
        return Problem(name, element.sourceline, _owner_id(element), "dmn.entry_too_long",
                       {"entry": repr(_shown(cell.strip())), "max_chars": _MAX_INPUT_ENTRY,
                        "max_marks": _MAX_QUESTION_MARKS})
    value = (input_expression or "").strip()
    if not value or check_code(value, "eval") is not None:
        value = "dmninputexpr"  # the column's own problem is reported once, on its input expression
    test = _input_marks_replaced(cell)
    if "dmninputexpr" in test:
        expression = test
    elif _parses(cell):
        expression = f"({value}) == ({cell})"
    elif _parses(f"v {cell}"):
        expression = value + cell
    else:
        return Problem(name, element.sourceline, _owner_id(element), "dmn.entry_unreadable",
                       {"entry": repr(cell.strip())})
    return _code_problem(name, element, "dmn_input_entry", expression, "eval", shown=cell)


# --- SpiffWorkflow's own verdict ------------------------------------------------------------------

def _spiff_problems(bpmn: Mapping[str, etree._Element], dmn: Mapping[str, etree._Element]) -> list[Problem]:
    (bpmn_name, root), = bpmn.items()
    trees = {bpmn_name: root, **dmn}
    parser = CamundaParser()
    try:
        for name, dmn_root in dmn.items():
            parser.add_dmn_xml(dmn_root, filename=name)
        parser.add_bpmn_xml(root, filename=bpmn_name)
        for dmn_parser in parser.dmn_parsers.values():
            dmn_parser.parse()
        for process_id in parser.find_all_specs():
            parser.get_subprocess_specs(process_id)
    except ValidationException as err:
        file = err.file_name if err.file_name in trees else bpmn_name
        line = err.line_number if isinstance(err.line_number, int) else _line_of(trees[file], err.id)
        return [Problem(file, line, err.id or None, "spiff.invalid", {"detail": str(err.args[0] if err.args else err)})]
    except Exception as err:  # the library crashes on some diagrams rather than raising its own error
        return [Problem(bpmn_name, None, None, "spiff.crashed", {"detail": f"{type(err).__name__}: {err}"})]
    return []


def _line_of(root: etree._Element, ident: str | None) -> int | None:
    if not ident:
        return None
    found = root.xpath("//*[@id=$ident]", ident=ident)
    return found[0].sourceline if found else None
