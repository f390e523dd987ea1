"""The words of what the engine says in codes about an upload: validation problems and diff changes.

The engine returns `Problem(file, line, element, code, params)` and `Change(category, element_id,
change, code, params)`; these texts, one per code with named placeholders, say them in the
reader's language (`web.messages.say` is the entry point). tests/web/test_deploy_texts.py checks
that every code the engine declares (engine.PROBLEM_CODES, engine.CHANGE_CODES) has its text here,
in English and in French. The API's problems are these same words in English.
"""
from __future__ import annotations

from collections.abc import Mapping

from flask_babel import force_locale, gettext, lazy_gettext as _l

from engine import Change, Problem

PROBLEM_TEXTS = {
    "upload.empty": _l("the upload is empty: send one .bpmn file and the .dmn files it uses"),
    "upload.no_bpmn": _l("the upload has no .bpmn file: send exactly one"),
    "upload.several_bpmn": _l("send exactly one .bpmn file per upload, not %(count)s: %(files)s"),
    "upload.unnamed": _l("this file has no usable name"),
    "upload.twice": _l("this file was uploaded twice"),
    "file.name_too_long": _l("the file name is longer than 255 characters"),
    "file.wrong_kind": _l("only .bpmn and .dmn files can be uploaded"),
    "file.empty": _l("the file is empty"),
    "file.not_bpmn": _l("not BPMN: the root element is %(root)s, not BPMN 2.0 <definitions>"),
    "file.not_dmn": _l("not DMN: the root element is %(root)s, not DMN <definitions>"),
    "file.not_kind": _l("not a %(kind)s file (root element %(root)s)"),
    "xml.not_well_formed": _l("not well-formed XML: %(detail)s"),
    "xml.too_large": _l("file is larger than %(limit)s KiB"),
    "xml.dtd": _l("DTDs and entity declarations are not allowed in BPMN/DMN files"),
    "id.duplicate": _l("duplicate id '%(id)s' (first used on line %(first_line)s)"),
    "process.none": _l("the file has no process"),
    "process.id_too_long": _l("the process id is longer than 128 characters"),
    "process.name_too_long": _l("the process name is longer than 200 characters"),
    "process.not_executable": _l("process '%(id)s' is not executable: mark the process executable in "
                                 "Camunda Modeler (Executable checkbox)"),
    "process.none_executable": _l("no executable process in this file"),
    "flow.no_end": _l("sequence flow has no %(end)s"),
    "flow.unknown_end": _l("sequence flow %(end)s '%(ref)s' points at no element of this file"),
    "start.no_outgoing": _l("start event has no outgoing sequence flow"),
    "end.no_incoming": _l("end event has no incoming sequence flow"),
    "dmn.no_decision": _l("the DMN file has no decision"),
    "dmn.several_decisions": _l("only one decision per DMN file is supported: put each decision table in its "
                                "own .dmn file"),
    "decision.duplicate": _l("decision '%(id)s' is also defined in %(file)s"),
    "decision.unnamed": _l("business rule task names no decision: set its DMN decision (camunda:decisionRef)"),
    "decision.unknown": _l("decision '%(ref)s' is not in the uploaded DMN files (decisions found: %(known)s)"),
    "call.unnamed": _l("call activity names no process to call (calledElement)"),
    "call.unknown": _l("call activity calls '%(called)s', which is not a process of this file"),
    "code.refused": _l("%(what)s %(expression)s refused: %(reason)s"),
    "code.timer": _l("%(reason)s"),
    "script.empty": _l("script task has an empty script"),
    "assignment.refused": _l("%(where)s expression %(expression)s refused: only ${name} and ${function(name)} "
                             "are allowed"),
    "property.refused": _l("property %(property)s expression %(expression)s refused: only ${name} and "
                           "${function(name)} are allowed"),
    "dmn.entry_too_long": _l("DMN input entry %(entry)s refused: an input entry may have at most %(max_chars)s "
                             "characters and %(max_marks)s '?'"),
    "dmn.entry_unreadable": _l("DMN input entry %(entry)s is neither a value nor a test such as '> 40'"),
    "spiff.invalid": _l("SpiffWorkflow: %(detail)s"),
    "spiff.crashed": _l("SpiffWorkflow cannot load this diagram: %(detail)s"),
    "spiff.cannot_store": _l("SpiffWorkflow cannot store this diagram: %(detail)s"),
    "phase.unknown": _l("phase '%(phase)s' is not a phase of a mission (phases: %(known)s)"),
}

_CODE_REFUSED = _l("%(what)s refused: %(reason)s")
_IN_NAMESPACE = {
    "file.not_bpmn": _l("not BPMN: the root element is %(root)s in namespace %(namespace)s, not BPMN 2.0 "
                        "<definitions>"),
    "file.not_dmn": _l("not DMN: the root element is %(root)s in namespace %(namespace)s, not DMN <definitions>"),
}

#: the `what` of "code.refused": where the refused code sits
CODE_KIND_TEXTS = {
    "condition": _l("condition"),
    "script": _l("script"),
    "timer": _l("timer"),
    "loop_cardinality": _l("loop cardinality"),
    "completion_condition": _l("completion condition"),
    "message_payload": _l("message payload"),
    "dmn_input_expression": _l("DMN input expression"),
    "dmn_output_entry": _l("DMN output entry"),
    "dmn_input_entry": _l("DMN input entry"),
}

#: the ends of a sequence flow ("flow.no_end", "flow.unknown_end")
FLOW_END_TEXTS = {"sourceRef": _l("sourceRef"), "targetRef": _l("targetRef")}


def _fill(texts: Mapping, code: str, params: Mapping[str, object]) -> str:
    """The text of `code` in the reader's language with `params` in its placeholders; a code
    without a text is shown as is (never a 500)."""
    text = texts.get(code)
    if text is not None:
        try:
            return str(text) % params if params else str(text)
        except (KeyError, TypeError, ValueError):  # parameters that are not the code's
            pass
    return " ".join([code, *(f"{k}={v}" for k, v in params.items())])


def problem_text(problem: Problem) -> str:
    """What is wrong, in the reader's language."""
    params = dict(problem.params)
    if "what" in params:
        params["what"] = str(CODE_KIND_TEXTS.get(str(params["what"]), params["what"]))
    if "end" in params:
        params["end"] = str(FLOW_END_TEXTS.get(str(params["end"]), params["end"]))
    if problem.code == "decision.unknown" and not params.get("known"):
        params["known"] = gettext("none")
    if problem.code == "code.refused" and not params.get("expression"):  # a script: too long to quote
        return str(_CODE_REFUSED) % params
    if problem.code in _IN_NAMESPACE and params.get("namespace"):
        return _fill(_IN_NAMESPACE, problem.code, params)
    return _fill(PROBLEM_TEXTS, problem.code, params)


def problem_as_dict(problem: Problem, language: str | None = None) -> dict:
    """The API's wire form of a problem: file, line, element and its message (English unless
    `language` says otherwise: the API speaks English)."""
    with force_locale(language or "en"):
        message = problem_text(problem)
    return {"file": problem.file, "line": problem.line, "element": problem.element, "message": message}


# --- diff changes ----------------------------------------------------------------------------------

CHANGE_TEXTS = {
    "element.added": _l("%(kind)s %(element)s added"),
    "element.removed": _l("%(kind)s %(element)s removed"),
    "flow.added": _l("%(kind)s from %(source)s to %(target)s added"),
    "flow.removed": _l("%(kind)s from %(source)s to %(target)s removed"),
    "fact.added": _l("%(fact)s added: %(value)s"),
    "fact.removed": _l("%(fact)s removed (was %(value)s)"),
    "fact.changed": _l("%(fact)s changed from %(before)s to %(after)s"),
    "lane.moved_in": _l("%(element)s moved into this lane"),
    "lane.moved_out": _l("%(element)s moved out of this lane"),
    "field.added": _l("field `%(field)s` added"),
    "field.removed": _l("field `%(field)s` removed"),
    "field.order_changed": _l("field order changed"),
    "column.added": _l("%(side)s `%(column)s` added"),
    "column.removed": _l("%(side)s `%(column)s` removed"),
    "rule.added": _l("rule %(row)s added: %(inputs)s → %(outputs)s"),
    "rule.removed": _l("rule %(row)s removed (was %(inputs)s → %(outputs)s)"),
    "rule.cell_changed": _l("%(rule)s %(side)s `%(column)s` changed from %(before)s to %(after)s"),
    "rule.annotation_changed": _l("%(rule)s annotation changed"),
    "rule.order_changed": _l("rule order changed"),
}

# the same changes when a part is missing: no lane, no condition, no value to quote
_IN_LANE = {"element.added": _l("%(kind)s %(element)s added in lane %(lane)s"),
            "element.removed": _l("%(kind)s %(element)s removed in lane %(lane)s")}
_WITH_CONDITION = {"flow.added": _l("%(kind)s from %(source)s to %(target)s (condition %(condition)s) added"),
                   "flow.removed": _l("%(kind)s from %(source)s to %(target)s (condition %(condition)s) removed")}
_NO_VALUE = {"fact.added": _l("%(fact)s added"), "fact.removed": _l("%(fact)s removed"),
             "fact.changed": _l("%(fact)s changed")}
_RULE = _l("rule %(row)s")
_RULE_MOVED = _l("rule %(row)s (was rule %(was_row)s)")
_OF_FIELD = _l("field `%(field)s` %(change)s")
_OF_COLUMN = {"input": _l("input `%(column)s` %(change)s"), "output": _l("output `%(column)s` %(change)s")}
SIDE_TEXTS = {"input": _l("input"), "output": _l("output")}

#: the element types a change names (BPMN's, and the bundle's own parts)
KIND_TEXTS = {
    "process": _l("process"), "lane": _l("lane"), "decision": _l("decision"),
    "task": _l("task"), "userTask": _l("user task"), "scriptTask": _l("script task"),
    "serviceTask": _l("service task"), "businessRuleTask": _l("business rule task"),
    "sendTask": _l("send task"), "receiveTask": _l("receive task"), "manualTask": _l("manual task"),
    "callActivity": _l("call activity"), "subProcess": _l("sub process"), "transaction": _l("transaction"),
    "adHocSubProcess": _l("ad hoc sub process"), "startEvent": _l("start event"), "endEvent": _l("end event"),
    "intermediateCatchEvent": _l("intermediate catch event"),
    "intermediateThrowEvent": _l("intermediate throw event"), "boundaryEvent": _l("boundary event"),
    "implicitThrowEvent": _l("implicit throw event"), "exclusiveGateway": _l("exclusive gateway"),
    "parallelGateway": _l("parallel gateway"), "inclusiveGateway": _l("inclusive gateway"),
    "eventBasedGateway": _l("event based gateway"), "complexGateway": _l("complex gateway"),
    "sequenceFlow": _l("sequence flow"), "messageFlow": _l("message flow"),
    "standardLoopCharacteristics": _l("standard"),
}
YES_NO = {"true": _l("yes"), "false": _l("no")}

#: what was compared (the `fact` of fact.* changes); some name an attribute, property, constraint, value
FACT_TEXTS = {
    "name": _l("name"), "executable": _l("executable"), "description": _l("description"), "type": _l("type"),
    "documentation": _l("documentation"), "default_flow": _l("default flow"),
    "script_language": _l("script language"), "script": _l("script"), "called_process": _l("called process"),
    "decision": _l("decision"), "attached_to": _l("attached to"), "interrupting": _l("interrupting"),
    "trigger": _l("trigger"), "timer_date": _l("timer date"), "timer_duration": _l("timer duration"),
    "timer_cycle": _l("timer cycle"), "message": _l("message"), "signal": _l("signal"), "error": _l("error"),
    "escalation": _l("escalation"), "condition": _l("condition"), "loop": _l("loop"),
    "multi_instance": _l("multi-instance"), "camunda": _l("`camunda:%(name)s`"),
    "property": _l("property `%(name)s`"), "assignee": _l("assignee"), "candidate_users": _l("candidate users"),
    "candidate_groups": _l("candidate groups"), "excluded_users": _l("excluded users"), "source": _l("source"),
    "target": _l("target"), "form_key": _l("form key"), "label": _l("label"), "default": _l("default"),
    "date_pattern": _l("date pattern"), "constraint": _l("constraint `%(name)s`"),
    "value": _l("value `%(name)s`"), "expression": _l("expression"), "allowed_values": _l("allowed values"),
    "hit_policy": _l("hit policy"), "aggregation": _l("aggregation"),
}


def _kind(value: object) -> str:
    return str(KIND_TEXTS.get(str(value), value))


def change_text(change: Change) -> str:
    """What one change does, in the reader's language."""
    code, params = change.code, dict(change.params)
    texts = CHANGE_TEXTS
    if "kind" in params:
        params["kind"] = _kind(params["kind"])
    if "side" in params:
        params["side"] = str(SIDE_TEXTS.get(str(params["side"]), params["side"]))
    if code in _IN_LANE and params.get("lane"):
        texts = _IN_LANE
    elif code in _WITH_CONDITION and params.get("condition"):
        texts = _WITH_CONDITION
    elif code.startswith("fact."):
        params["fact"] = _fill(FACT_TEXTS, str(params["fact"]), {"name": params.get("name", "")})
        if params.get("style") in ("kind", "yesno"):
            words = KIND_TEXTS if params["style"] == "kind" else YES_NO
            for key in ("value", "before", "after"):
                if key in params:
                    params[key] = str(words.get(str(params[key]), params[key]))
        if code == "fact.changed" and "before" not in params or code != "fact.changed" and "value" not in params:
            texts = _NO_VALUE
    elif code in ("rule.cell_changed", "rule.annotation_changed"):
        params["rule"] = str(_RULE_MOVED if params.get("was_row") else _RULE) % params
    text = _fill(texts, code, params)
    if code.startswith("fact.") and "field" in change.params:
        return str(_OF_FIELD) % {"field": change.params["field"], "change": text}
    if code.startswith("fact.") and "column" in change.params:
        template = _OF_COLUMN.get(str(change.params.get("side")))
        return str(template) % {"column": change.params["column"], "change": text} if template else text
    return text
