"""Comparing BPMN: processes, flow nodes (with their assignment and forms), flows and lanes."""
from __future__ import annotations

from lxml import etree

from ..xml import CAMUNDA_NS
from .forms import _form_changes
from .model import (_B, _C, _EVENTS, _GATEWAYS, Change, _Bundle, _Fact, _Facts, _changed, _display_name,
                    _extensions, _fact_details, _facts, _keyed_diff, _local, _members, _name,
                    _properties, _short, _signature, _text)

_ASSIGNMENT_ATTRS = {"assignee": "assignee", "candidateUsers": "candidate_users",
                     "candidateGroups": "candidate_groups"}
_ASSIGNMENT_PROPS = {"exclude_users"}
_FORM_ATTRS = {"formKey"}
_ATTR_LABELS = {"decisionRef": "decision", "calledElement": "called_process"}


def _diff_processes(before: _Bundle, after: _Bundle) -> list[Change]:
    def facts(el: etree._Element) -> _Facts:
        return {**_facts([("name", _name(el), "name"),
                          ("executable", el.get("isExecutable", "true"), "code"),
                          ("description", _text(el.find(f"{_B}documentation")), "code")]),
                **_camunda_facts(el, set()), **_property_facts(el, set())}

    return _keyed_diff("process", before.processes, after.processes,
                       lambda el, _: ("element", {"kind": "process", "element": _display_name(el)}),
                       lambda key, a, b: _changed("process", key,
                                                  _fact_details(facts(a), facts(b))))


def _category(kind: str) -> str:
    return "event" if kind in _EVENTS else "gateway" if kind in _GATEWAYS else "task"


def _diff_nodes(before: _Bundle, after: _Bundle) -> list[Change]:
    changes = []
    for key in [k for k in before.nodes if k not in after.nodes]:
        el = before.nodes[key]
        changes.append(Change(_category(_local(el)), key, "removed", "element.removed",
                              {"kind": _local(el), "element": _display_name(el), **before.lane_of(key)}))
    for key, el in after.nodes.items():
        category = _category(_local(el))
        old = before.nodes.get(key)
        if old is None:
            changes.append(Change(category, key, "added", "element.added",
                                  {"kind": _local(el), "element": _display_name(el), **after.lane_of(key)}))
            continue
        changes += _changed(category, key, _fact_details(_node_facts(old, before),
                                                         _node_facts(el, after)))
        changes += _changed("assignment", key, _fact_details(_assignment_facts(old),
                                                             _assignment_facts(el)))
        changes += _form_changes(key, old, el)
    return changes


def _node_facts(el: etree._Element, bundle: _Bundle) -> _Facts:
    kind = _local(el)
    facts = {"type": _Fact(kind, kind, "kind"),
             **_facts([("name", _name(el), "name"),
                       ("documentation", _text(el.find(f"{_B}documentation")), "code"),
                       ("default_flow", el.get("default", ""), "code"),
                       ("script_language", el.get("scriptFormat", ""), "code"),
                       ("script", _text(el.find(f"{_B}script")), "code"),
                       ("called_process", el.get("calledElement", ""), "code")])}
    if kind == "boundaryEvent":
        facts["attached_to"] = _Fact(el.get("attachedToRef", ""),
                                     bundle.display(el.get("attachedToRef")), "plain")
        interrupting = el.get("cancelActivity", "true")
        facts["interrupting"] = _Fact(interrupting, interrupting, "yesno")
    if kind == "startEvent" and el.get("isInterrupting") == "false":
        facts["interrupting"] = _Fact("false", "false", "yesno")
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
                label = "timer_" + _local(timer)[len("time"):].lower()
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
        return {"loop": _Fact("standardLoopCharacteristics", "standardLoopCharacteristics", "kind")}
    if loop is None:
        return {}
    # in BPMN's own terms, which read the same in every language
    parts = [f"isSequential={'true' if loop.get('isSequential') == 'true' else 'false'}"]
    parts += [f"{label}={value}" for label, value in (
        ("loopCardinality", _text(loop.find(f"{_B}loopCardinality"))),
        ("camunda:collection", loop.get(f"{_C}collection", "")),
        ("camunda:elementVariable", loop.get(f"{_C}elementVariable", "")),
        ("completionCondition", _text(loop.find(f"{_B}completionCondition")))) if value]
    summary = ", ".join(parts)
    return {"multi_instance": _Fact(summary, summary)}


def _camunda_facts(el: etree._Element, skip: set[str]) -> _Facts:
    facts = {}
    for key, value in sorted(el.attrib.items()):
        qname = etree.QName(key)
        if qname.namespace == CAMUNDA_NS and qname.localname not in skip:
            label = _ATTR_LABELS.get(qname.localname, f"camunda:{qname.localname}")
            facts[label] = _Fact(value, value)
    ext = _extensions(el)
    grouped: dict[str, list[str]] = {}
    for child in (ext if ext is not None else ()):
        if isinstance(child.tag, str) and child.tag.startswith(_C) and \
                _local(child) not in ("formData", "properties"):
            grouped.setdefault(_local(child), []).append(_signature(child))
    for tag, signatures in grouped.items():
        facts[f"camunda:{tag}"] = _Fact("|".join(signatures), "", "opaque")
    return facts


def _property_facts(el: etree._Element, skip: set[str]) -> _Facts:
    return {f"property:{name}": _Fact(value, value)
            for name, value in _properties(el).items() if name not in skip}


def _assignment_facts(el: etree._Element) -> _Facts:
    facts = _facts((label, el.get(f"{_C}{attr}", ""), "code")
                   for attr, label in _ASSIGNMENT_ATTRS.items())
    excluded = _properties(el).get("exclude_users", "")
    if excluded:
        facts["excluded_users"] = _Fact(excluded, excluded)
    return facts


def _diff_flows(before: _Bundle, after: _Bundle) -> list[Change]:
    def describe(el: etree._Element, side: str) -> tuple[str, dict]:
        bundle = before if side == "old" else after
        condition = _text(el.find(f"{_B}conditionExpression"))
        return "flow", {"kind": _local(el), "source": bundle.display(el.get("sourceRef")),
                        "target": bundle.display(el.get("targetRef")),
                        **({"condition": f"`{_short(condition)}`"} if condition else {})}

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
        changes += [Change("lane", key, "changed", "lane.moved_in", {"element": after.display(ref)})
                    for ref in new_members if ref not in old_members and ref in kept]
        changes += [Change("lane", key, "changed", "lane.moved_out", {"element": before.display(ref)})
                    for ref in old_members if ref not in new_members and ref in kept]
        return changes

    return _keyed_diff("lane", before.lanes, after.lanes,
                       lambda el, _: ("element", {"kind": "lane", "element": _display_name(el)}), compare)

