"""What changes between two versions of a process bundle, for the owner to read before deploying.

A bundle is one .bpmn file and its .dmn tables. Elements are matched by id, and only what
changes how the process runs is compared: node types and names, flows and their conditions,
forms, assignment, lanes, timers, scripts, extension settings, and the DMN tables row by row.
BPMN-DI (where things are drawn) is never read, so moving shapes around changes nothing.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import NamedTuple

from lxml import etree

from .errors import InvalidBundle, Problem
from .xml import BPMN_NS, CAMUNDA_NS, is_bpmn, is_dmn, parse_xml

__all__ = ["Change", "diff_bundles", "CATEGORIES"]

CATEGORIES = ("task", "event", "gateway", "flow", "form", "rule", "lane", "assignment", "process")

_B = f"{{{BPMN_NS}}}"
_C = f"{{{CAMUNDA_NS}}}"
_TASKS = {"task", "userTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
          "receiveTask", "manualTask", "callActivity", "subProcess", "transaction",
          "adHocSubProcess"}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
           "boundaryEvent", "implicitThrowEvent"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
             "complexGateway"}
_FLOWS = {"sequenceFlow", "messageFlow"}
_ASSIGNMENT_ATTRS = {"assignee": "assignee", "candidateUsers": "candidate users",
                     "candidateGroups": "candidate groups"}
_ASSIGNMENT_PROPS = {"exclude_users"}
_FORM_ATTRS = {"formKey"}
_ATTR_LABELS = {"decisionRef": "decision", "calledElement": "called process"}


@dataclass(frozen=True)
class Change:
    """One difference, e.g. Change("flow", "approved", "changed",
    "condition changed from `x > 1` to `x > 2`").

    category: one of CATEGORIES; change: added, removed or changed; detail: a short sentence.
    """

    category: str
    element_id: str
    change: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class _Fact(NamedTuple):
    """A compared value: `raw` decides equality, `shown` is what the sentence says.

    style: "name" quotes with '', "code" with backticks, "plain" as is, "opaque" not at all
    (listeners, io mappings: too long to quote, enough to say they changed)."""

    raw: str
    shown: str
    style: str = "code"


_Facts = dict[str, _Fact]


def diff_bundles(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[Change]:
    """List what changes from bundle `old` to bundle `new`.

    :param old: filename -> content of the deployed bundle (.bpmn and .dmn files; other files
        such as a README are ignored).
    :param new: the same for the bundle about to be deployed.
    :returns: changes ordered by (category, element_id), then in document order.
    :raises InvalidBundle: a .bpmn/.dmn file is not well-formed XML or not BPMN/DMN.
    """
    before, after = _Bundle(old), _Bundle(new)
    changes = [*_diff_processes(before, after), *_diff_nodes(before, after),
               *_diff_flows(before, after), *_diff_lanes(before, after),
               *_diff_decisions(before, after)]
    return sorted(changes, key=lambda change: (change.category, change.element_id))


# ---------------------------------------------------------------------------------------------
# Reading a bundle
# ---------------------------------------------------------------------------------------------

class _Bundle:
    def __init__(self, files: Mapping[str, bytes]):
        self.processes: dict[str, etree._Element] = {}
        self.nodes: dict[str, etree._Element] = {}
        self.flows: dict[str, etree._Element] = {}
        self.lanes: dict[str, etree._Element] = {}
        self.decisions: dict[str, etree._Element] = {}
        self.model: dict[str, etree._Element] = {}
        for filename in sorted(files):
            suffix = filename.lower().rsplit(".", 1)[-1]
            if suffix not in ("bpmn", "dmn"):
                continue
            root = parse_xml(files[filename], filename)
            if suffix == "bpmn" and is_bpmn(root):
                self._read_bpmn(root)
            elif suffix == "dmn" and is_dmn(root):
                ns = etree.QName(root).namespace
                self.decisions.update((d.get("id"), d) for d in root.iter(f"{{{ns}}}decision"))
            else:
                raise InvalidBundle([Problem(filename, None, None,
                                             f"not a {suffix.upper()} file (root element "
                                             f"{etree.QName(root).localname!r})")])

    def _read_bpmn(self, root: etree._Element) -> None:
        for el in root.iter(f"{_B}*"):
            element_id, kind = el.get("id"), _local(el)
            if not element_id:
                continue
            self.model[element_id] = el
            bucket = {"process": self.processes, "lane": self.lanes}.get(kind)
            if bucket is None and kind in _TASKS | _EVENTS | _GATEWAYS:
                bucket = self.nodes
            elif bucket is None and kind in _FLOWS:
                bucket = self.flows
            if bucket is not None:
                bucket[element_id] = el

    def lane_of(self, node_id: str) -> str:
        """Where a node sits, for sentences: " in lane 'Approver'", or "" outside named lanes."""
        for lane in self.lanes.values():
            if node_id in _members(lane) and _name(lane):
                return f" in lane '{_name(lane)}'"
        return ""

    def display(self, element_id: str | None) -> str:
        """How a sentence names an element: 'its name', or `its id` when unnamed."""
        name = _name(self.model.get(element_id or ""))
        return f"'{name}'" if name else f"`{element_id}`"


def _local(el: etree._Element | None) -> str:
    return etree.QName(el).localname if el is not None else ""


def _name(el: etree._Element | None) -> str:
    return " ".join((el.get("name") or "").split()) if el is not None else ""


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _human(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind).lower()


def _short(value: str, limit: int = 80) -> str:
    flat = " ".join(value.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _signature(el: etree._Element) -> str:
    """A canonical text for an extension element, blind to prefixes and indentation."""
    children = ",".join(_signature(child) for child in el if isinstance(child.tag, str))
    attrs = ",".join(f"{k}={v}" for k, v in sorted(el.attrib.items()))
    return f"{el.tag}[{attrs}]({_text(el)})[{children}]"


def _extensions(el: etree._Element) -> etree._Element | None:
    return el.find(f"{_B}extensionElements")


def _properties(el: etree._Element) -> dict[str, str]:
    ext = _extensions(el)
    props = ext.find(f"{_C}properties") if ext is not None else None
    return {(p.get("name") or p.get("id") or ""): p.get("value") or ""
            for p in (props if props is not None else ()) if p.tag == f"{_C}property"}


# ---------------------------------------------------------------------------------------------
# Comparing facts
# ---------------------------------------------------------------------------------------------

def _quote(fact: _Fact) -> str:
    value = _short(fact.shown)
    return {"name": f"'{value}'", "plain": value}.get(fact.style, f"`{value}`")


def _fact_details(old: _Facts, new: _Facts) -> list[str]:
    """Sentences for each label whose value differs, in the new version's order."""
    details = []
    for label in [*new, *(k for k in old if k not in new)]:
        # An empty value counts as no value: "" -> "x" reads as added, not changed.
        before, after = (fact if fact is not None and fact.raw else None
                         for fact in (old.get(label), new.get(label)))
        if before is None and after is None or (before and after and before.raw == after.raw):
            continue
        if any(f is not None and f.style == "opaque" for f in (before, after)):
            verb = "added" if before is None else "removed" if after is None else "changed"
            details.append(f"{label} {verb}")
        elif before is None:
            details.append(f"{label} added" + (f": {_quote(after)}" if after.shown else ""))
        elif after is None:
            details.append(f"{label} removed" + (f" (was {_quote(before)})" if before.shown else ""))
        else:
            details.append(f"{label} changed from {_quote(before)} to {_quote(after)}")
    return details


def _facts(pairs: Iterable[tuple[str, str, str]]) -> _Facts:
    """Facts from (label, value, style) triples, leaving out empty values."""
    return {label: _Fact(value, value, style) for label, value, style in pairs if value}


def _changed(category: str, element_id: str, details: Iterable[str]) -> list[Change]:
    return [Change(category, element_id, "changed", detail) for detail in details]


def _keyed_diff(category: str, old: dict[str, etree._Element], new: dict[str, etree._Element],
                describe: Callable[[etree._Element, str], str],
                compare: Callable[[str, etree._Element, etree._Element], list[Change]]) -> list[Change]:
    """Added/removed by id with `describe(el, bundle_side)`, then `compare(old_el, new_el)`."""
    changes = [Change(category, key, "removed", describe(el, "old") + " removed")
               for key, el in old.items() if key not in new]
    for key, el in new.items():
        if key not in old:
            changes.append(Change(category, key, "added", describe(el, "new") + " added"))
        else:
            changes += compare(key, old[key], el)
    return changes


# ---------------------------------------------------------------------------------------------
# BPMN: processes, flow nodes, flows, lanes
# ---------------------------------------------------------------------------------------------

def _diff_processes(before: _Bundle, after: _Bundle) -> list[Change]:
    def facts(el: etree._Element) -> _Facts:
        return {**_facts([("name", _name(el), "name"),
                          ("executable", el.get("isExecutable", "true"), "code"),
                          ("description", _text(el.find(f"{_B}documentation")), "code")]),
                **_camunda_facts(el, set()), **_property_facts(el, set())}

    return _keyed_diff("process", before.processes, after.processes,
                       lambda el, _: f"process {_display_name(el)}",
                       lambda key, a, b: _changed("process", key,
                                                  _fact_details(facts(a), facts(b))))


def _display_name(el: etree._Element) -> str:
    return f"'{_name(el)}'" if _name(el) else f"`{el.get('id')}`"


def _category(kind: str) -> str:
    return "event" if kind in _EVENTS else "gateway" if kind in _GATEWAYS else "task"


def _diff_nodes(before: _Bundle, after: _Bundle) -> list[Change]:
    changes = []
    for key in [k for k in before.nodes if k not in after.nodes]:
        el = before.nodes[key]
        changes.append(Change(_category(_local(el)), key, "removed",
                              f"{_human(_local(el))} {_display_name(el)} removed"
                              + before.lane_of(key)))
    for key, el in after.nodes.items():
        category = _category(_local(el))
        old = before.nodes.get(key)
        if old is None:
            changes.append(Change(category, key, "added",
                                  f"{_human(_local(el))} {_display_name(el)} added"
                                  + after.lane_of(key)))
            continue
        changes += _changed(category, key, _fact_details(_node_facts(old, before),
                                                         _node_facts(el, after)))
        changes += _changed("assignment", key, _fact_details(_assignment_facts(old),
                                                             _assignment_facts(el)))
        changes += _form_changes(key, old, el)
    return changes


def _node_facts(el: etree._Element, bundle: _Bundle) -> _Facts:
    kind = _local(el)
    facts = {"type": _Fact(kind, _human(kind), "plain"),
             **_facts([("name", _name(el), "name"),
                       ("documentation", _text(el.find(f"{_B}documentation")), "code"),
                       ("default flow", el.get("default", ""), "code"),
                       ("script language", el.get("scriptFormat", ""), "code"),
                       ("script", _text(el.find(f"{_B}script")), "code"),
                       ("called process", el.get("calledElement", ""), "code")])}
    if kind == "boundaryEvent":
        facts["attached to"] = _Fact(el.get("attachedToRef", ""),
                                     bundle.display(el.get("attachedToRef")), "plain")
        interrupting = el.get("cancelActivity", "true")
        facts["interrupting"] = _Fact(interrupting, "yes" if interrupting == "true" else "no", "plain")
    if kind == "startEvent" and el.get("isInterrupting") == "false":
        facts["interrupting"] = _Fact("false", "no", "plain")
    facts.update(_event_facts(el, bundle))
    facts.update(_loop_facts(el))
    facts.update(_camunda_facts(el, set(_ASSIGNMENT_ATTRS) | _FORM_ATTRS))
    facts.update(_property_facts(el, _ASSIGNMENT_PROPS))
    return facts


def _event_facts(el: etree._Element, bundle: _Bundle) -> _Facts:
    definitions = [d for d in el if _local(d).endswith("EventDefinition")]
    if not definitions:
        return {}
    triggers = ", ".join(_local(d)[: -len("EventDefinition")] for d in definitions)
    facts = {"trigger": _Fact(triggers, triggers, "plain")}
    for definition in definitions:
        for timer in definition:
            if _local(timer) in ("timeDate", "timeDuration", "timeCycle"):
                label = "timer " + _human(_local(timer))[len("time "):]
                facts[label] = _Fact(_text(timer), _text(timer))
        for attr in ("messageRef", "signalRef", "errorRef", "escalationRef"):
            ref = definition.get(attr)
            if ref:
                target = bundle.model.get(ref)
                shown = _name(target) or (target.get("errorCode") if target is not None else "") or ref
                facts[attr[: -len("Ref")]] = _Fact(ref if target is None else shown, shown)
        if definition.find(f"{_B}condition") is not None:
            condition = _text(definition.find(f"{_B}condition"))
            facts["condition"] = _Fact(condition, condition)
    return facts


def _loop_facts(el: etree._Element) -> _Facts:
    loop = el.find(f"{_B}multiInstanceLoopCharacteristics")
    if el.find(f"{_B}standardLoopCharacteristics") is not None:
        return {"loop": _Fact("standard", "standard", "plain")}
    if loop is None:
        return {}
    parts = ["sequential" if loop.get("isSequential") == "true" else "parallel"]
    parts += [f"{label} {value}" for label, value in (
        ("cardinality", _text(loop.find(f"{_B}loopCardinality"))),
        ("collection", loop.get(f"{_C}collection", "")),
        ("element variable", loop.get(f"{_C}elementVariable", "")),
        ("completion", _text(loop.find(f"{_B}completionCondition")))) if value]
    summary = ", ".join(parts)
    return {"multi-instance": _Fact(summary, summary)}


def _camunda_facts(el: etree._Element, skip: set[str]) -> _Facts:
    facts = {}
    for key, value in sorted(el.attrib.items()):
        qname = etree.QName(key)
        if qname.namespace == CAMUNDA_NS and qname.localname not in skip:
            label = _ATTR_LABELS.get(qname.localname, f"`camunda:{qname.localname}`")
            facts[label] = _Fact(value, value)
    ext = _extensions(el)
    grouped: dict[str, list[str]] = {}
    for child in (ext if ext is not None else ()):
        if isinstance(child.tag, str) and child.tag.startswith(_C) and \
                _local(child) not in ("formData", "properties"):
            grouped.setdefault(_local(child), []).append(_signature(child))
    for tag, signatures in grouped.items():
        facts[f"`camunda:{tag}`"] = _Fact("|".join(signatures), "", "opaque")
    return facts


def _property_facts(el: etree._Element, skip: set[str]) -> _Facts:
    return {f"property `{name}`": _Fact(value, value)
            for name, value in _properties(el).items() if name not in skip}


def _assignment_facts(el: etree._Element) -> _Facts:
    facts = _facts((label, el.get(f"{_C}{attr}", ""), "code")
                   for attr, label in _ASSIGNMENT_ATTRS.items())
    excluded = _properties(el).get("exclude_users", "")
    if excluded:
        facts["excluded users"] = _Fact(excluded, excluded)
    return facts


def _diff_flows(before: _Bundle, after: _Bundle) -> list[Change]:
    def describe(el: etree._Element, side: str) -> str:
        bundle = before if side == "old" else after
        text = (f"{_human(_local(el))} from {bundle.display(el.get('sourceRef'))} "
                f"to {bundle.display(el.get('targetRef'))}")
        condition = _text(el.find(f"{_B}conditionExpression"))
        return f"{text} (condition `{_short(condition)}`)" if condition else text

    def facts(el: etree._Element, bundle: _Bundle) -> _Facts:
        return {"source": _Fact(el.get("sourceRef", ""), bundle.display(el.get("sourceRef")), "plain"),
                "target": _Fact(el.get("targetRef", ""), bundle.display(el.get("targetRef")), "plain"),
                **_facts([("name", _name(el), "name"),
                          ("condition", _text(el.find(f"{_B}conditionExpression")), "code")]),
                **_camunda_facts(el, set())}

    return _keyed_diff("flow", before.flows, after.flows, describe,
                       lambda key, a, b: _changed("flow", key, _fact_details(facts(a, before),
                                                                             facts(b, after))))


def _diff_lanes(before: _Bundle, after: _Bundle) -> list[Change]:
    def compare(key: str, old: etree._Element, new: etree._Element) -> list[Change]:
        changes = _changed("lane", key, _fact_details(_facts([("name", _name(old), "name")]),
                                                      _facts([("name", _name(new), "name")])))
        # Nodes added or removed are reported as such; here only nodes that changed lane.
        kept = before.nodes.keys() & after.nodes.keys()
        old_members, new_members = _members(old), _members(new)
        changes += [Change("lane", key, "changed", f"{after.display(ref)} moved into this lane")
                    for ref in new_members if ref not in old_members and ref in kept]
        changes += [Change("lane", key, "changed", f"{before.display(ref)} moved out of this lane")
                    for ref in old_members if ref not in new_members and ref in kept]
        return changes

    return _keyed_diff("lane", before.lanes, after.lanes,
                       lambda el, _: f"lane {_display_name(el)}", compare)


def _members(lane: etree._Element) -> list[str]:
    return [_text(ref) for ref in lane.findall(f"{_B}flowNodeRef")]


# ---------------------------------------------------------------------------------------------
# Forms (camunda:formData)
# ---------------------------------------------------------------------------------------------

def _form_fields(el: etree._Element) -> dict[str, etree._Element]:
    ext = _extensions(el)
    form = ext.find(f"{_C}formData") if ext is not None else None
    return {field.get("id", ""): field for field in (form if form is not None else ())
            if field.tag == f"{_C}formField"}


def _field_facts(field: etree._Element) -> _Facts:
    facts = _facts([("type", field.get("type", ""), "code"),
                    ("label", field.get("label", ""), "name"),
                    ("default", field.get("defaultValue", ""), "code"),
                    ("date pattern", field.get("datePattern", ""), "code")])
    validation = field.find(f"{_C}validation")
    for constraint in (validation if validation is not None else ()):
        if constraint.tag == f"{_C}constraint":
            # "required" has no config: its presence is the fact.
            config = constraint.get("config", "")
            facts[f"constraint `{constraint.get('name', '')}`"] = _Fact(config or "on", config)
    for value in field.findall(f"{_C}value"):
        facts[f"value `{value.get('id', '')}`"] = _Fact(value.get("name") or "on",
                                                        value.get("name", ""), "name")
    props = field.find(f"{_C}properties")
    for prop in (props if props is not None else ()):
        if prop.tag == f"{_C}property":
            name = prop.get("id") or prop.get("name") or ""
            facts[f"property `{name}`"] = _Fact(prop.get("value", ""), prop.get("value", ""))
    return facts


def _form_changes(key: str, old: etree._Element, new: etree._Element) -> list[Change]:
    def form_key(el: etree._Element) -> _Facts:
        return _facts([("form key", el.get(f"{_C}formKey", ""), "code")])

    changes = _changed("form", key, _fact_details(form_key(old), form_key(new)))
    old_fields, new_fields = _form_fields(old), _form_fields(new)
    for field_id in old_fields:
        if field_id not in new_fields:
            changes.append(Change("form", key, "removed", f"field `{field_id}` removed"))
    for field_id, field in new_fields.items():
        if field_id not in old_fields:
            changes.append(Change("form", key, "added", f"field `{field_id}` added"))
        else:
            changes += _changed("form", key, (f"field `{field_id}` {detail}" for detail in
                                              _fact_details(_field_facts(old_fields[field_id]),
                                                            _field_facts(field))))
    kept_old = [f for f in old_fields if f in new_fields]
    if kept_old != [f for f in new_fields if f in old_fields]:
        changes.append(Change("form", key, "changed", "field order changed"))
    return changes


# ---------------------------------------------------------------------------------------------
# DMN decisions: hit policy, columns, then rules row by row
# ---------------------------------------------------------------------------------------------

class _Table(NamedTuple):
    inputs: list[tuple[str, str, _Facts]]   # (column id, display name, facts)
    outputs: list[tuple[str, str, _Facts]]
    rules: list[tuple[str, list[str], list[str], str]]  # (key, input cells, output cells, note)


def _child(el: etree._Element, tag: str) -> etree._Element | None:
    return el.find(f"{{{etree.QName(el).namespace}}}{tag}")


def _children(el: etree._Element, tag: str) -> list[etree._Element]:
    return el.findall(f"{{{etree.QName(el).namespace}}}{tag}")


def _cell(el: etree._Element | None) -> str:
    return _text(_child(el, "text")) if el is not None else ""


def _read_table(table: etree._Element) -> _Table:
    inputs = []
    for i, clause in enumerate(_children(table, "input")):
        expression = _child(clause, "inputExpression")
        text = _cell(expression)
        type_ref = expression.get("typeRef", "") if expression is not None else ""
        inputs.append((clause.get("id") or f"input {i + 1}",
                       clause.get("label") or text or f"input {i + 1}",
                       _facts([("label", clause.get("label", ""), "name"), ("expression", text, "code"),
                               ("type", type_ref, "code"),
                               ("allowed values", _cell(_child(clause, "inputValues")), "code")])))
    outputs = []
    for i, clause in enumerate(_children(table, "output")):
        outputs.append((clause.get("id") or f"output {i + 1}",
                        clause.get("label") or clause.get("name") or f"output {i + 1}",
                        _facts([("label", clause.get("label", ""), "name"),
                                ("name", clause.get("name", ""), "code"),
                                ("type", clause.get("typeRef", ""), "code"),
                                ("allowed values", _cell(_child(clause, "outputValues")), "code")])))
    rules = _children(table, "rule")
    by_id = all(rule.get("id") for rule in rules)
    return _Table(inputs, outputs, [
        (rule.get("id") if by_id else f"#{i}", [_cell(e) for e in _children(rule, "inputEntry")],
         [_cell(e) for e in _children(rule, "outputEntry")], _text(_child(rule, "description")))
        for i, rule in enumerate(rules)])


def _diff_decisions(before: _Bundle, after: _Bundle) -> list[Change]:
    def describe(el: etree._Element, _: str) -> str:
        return f"decision {_display_name(el)}"

    def compare(key: str, old: etree._Element, new: etree._Element) -> list[Change]:
        details = _fact_details(_decision_facts(old), _decision_facts(new))
        changes = _changed("rule", key, details)
        old_table, new_table = _child(old, "decisionTable"), _child(new, "decisionTable")
        if old_table is not None and new_table is not None:
            changes += _table_changes(key, _read_table(old_table), _read_table(new_table))
        return changes

    return _keyed_diff("rule", before.decisions, after.decisions, describe, compare)


def _decision_facts(decision: etree._Element) -> _Facts:
    table = _child(decision, "decisionTable")
    literal = _child(decision, "literalExpression")
    return _facts([("name", _name(decision), "name"),
                   ("hit policy", table.get("hitPolicy", "UNIQUE") if table is not None else "", "code"),
                   ("aggregation", table.get("aggregation", "") if table is not None else "", "code"),
                   ("expression", _cell(literal), "code")])


def _table_changes(key: str, old: _Table, new: _Table) -> list[Change]:
    changes = []
    for side, old_cols, new_cols in (("input", old.inputs, new.inputs),
                                     ("output", old.outputs, new.outputs)):
        old_by_id = {col_id: (name, facts) for col_id, name, facts in old_cols}
        new_ids = {col_id for col_id, _, _ in new_cols}
        changes += [Change("rule", key, "removed", f"{side} `{name}` removed")
                    for col_id, name, _ in old_cols if col_id not in new_ids]
        for col_id, name, facts in new_cols:
            if col_id not in old_by_id:
                changes.append(Change("rule", key, "added", f"{side} `{name}` added"))
            else:
                changes += _changed("rule", key, (f"{side} `{name}` {d}" for d in
                                                  _fact_details(old_by_id[col_id][1], facts)))
    return changes + _rule_changes(key, old, new)


def _rule_changes(key: str, old: _Table, new: _Table) -> list[Change]:
    old_rows = {rule[0]: (row, rule) for row, rule in enumerate(old.rules, 1)}
    new_keys = {rule[0] for rule in new.rules}
    changes = [Change("rule", key, "removed", f"rule {row} removed (was {_row_text(rule)})")
               for rule_key, (row, rule) in old_rows.items() if rule_key not in new_keys]
    for row, rule in enumerate(new.rules, 1):
        if rule[0] not in old_rows:
            changes.append(Change("rule", key, "added", f"rule {row} added: {_row_text(rule)}"))
            continue
        old_row, old_rule = old_rows[rule[0]]
        name = f"rule {row}" + (f" (was rule {old_row})" if old_row != row else "")
        for side, index in (("input", 1), ("output", 2)):
            old_cells = _cells_by_column(old.inputs if index == 1 else old.outputs, old_rule[index])
            new_cells = _cells_by_column(new.inputs if index == 1 else new.outputs, rule[index])
            for col_id, (col_name, cell) in new_cells.items():
                if col_id in old_cells and old_cells[col_id][1] != cell:
                    before, after = _short(old_cells[col_id][1]) or "-", _short(cell) or "-"
                    changes.append(Change("rule", key, "changed", f"{name} {side} `{col_name}` "
                                          f"changed from `{before}` to `{after}`"))
        if old_rule[3] != rule[3]:
            changes.append(Change("rule", key, "changed", f"{name} annotation changed"))
    kept_old = [r[0] for r in old.rules if r[0] in new_keys]
    if kept_old != [r[0] for r in new.rules if r[0] in old_rows]:
        changes.append(Change("rule", key, "changed", "rule order changed"))
    return changes


def _cells_by_column(columns: list[tuple[str, str, _Facts]],
                     cells: list[str]) -> dict[str, tuple[str, str]]:
    """column id -> (column name, cell text); DMN matches cells to columns by position."""
    return {col_id: (name, cells[i] if i < len(cells) else "")
            for i, (col_id, name, _) in enumerate(columns)}


def _row_text(rule: tuple[str, list[str], list[str], str]) -> str:
    inputs = ", ".join(f"`{_short(c, 40) or '-'}`" for c in rule[1])
    outputs = ", ".join(f"`{_short(c, 40) or '-'}`" for c in rule[2])
    return f"{inputs} → {outputs}"
