"""Comparing BPMN: processes, flow nodes (with their assignment and forms), flows and lanes."""
from __future__ import annotations

from lxml import etree

from ..xml import CAMUNDA_NS
from .forms import form_changes
from .model import (BPMN_TAG, CAMUNDA_TAG, EVENTS, GATEWAYS, BundleElements, Change, Fact, Facts, changed,
                    display_name, extensions_of, fact_details, keyed_diff, lane_members, local_name, make_facts,
                    name_of, properties_of, shorten, signature, text_of)

_ASSIGNMENT_ATTRS = {"assignee": "assignee", "candidateUsers": "candidate_users",
                     "candidateGroups": "candidate_groups"}
_ASSIGNMENT_PROPS = {"exclude_users"}
_FORM_ATTRS = {"formKey"}
_ATTR_LABELS = {"decisionRef": "decision", "calledElement": "called_process"}


def diff_processes(before: BundleElements, after: BundleElements) -> list[Change]:
    def facts(el: etree._Element) -> Facts:
        return {**make_facts([("name", name_of(el), "name"),
                              ("executable", el.get("isExecutable", "true"), "code"),
                              ("description", text_of(el.find(f"{BPMN_TAG}documentation")), "code")]),
                **_camunda_facts(el, set()), **_property_facts(el, set())}

    return keyed_diff("process", before.processes, after.processes,
                      lambda el, _: ("element", {"kind": "process", "element": display_name(el)}),
                      lambda key, a, b: changed("process", key,
                                                fact_details(facts(a), facts(b))))


def _category(kind: str) -> str:
    return "event" if kind in EVENTS else "gateway" if kind in GATEWAYS else "task"


def diff_nodes(before: BundleElements, after: BundleElements) -> list[Change]:
    changes = []
    for key in [k for k in before.nodes if k not in after.nodes]:
        el = before.nodes[key]
        changes.append(Change(_category(local_name(el)), key, "removed", "element.removed",
                              {"kind": local_name(el), "element": display_name(el), **before.lane_of(key)}))
    for key, el in after.nodes.items():
        category = _category(local_name(el))
        old = before.nodes.get(key)
        if old is None:
            changes.append(Change(category, key, "added", "element.added",
                                  {"kind": local_name(el), "element": display_name(el), **after.lane_of(key)}))
            continue
        changes += changed(category, key, fact_details(_node_facts(old, before),
                                                       _node_facts(el, after)))
        changes += changed("assignment", key, fact_details(_assignment_facts(old),
                                                           _assignment_facts(el)))
        changes += form_changes(key, old, el)
    return changes


def _node_facts(el: etree._Element, bundle: BundleElements) -> Facts:
    kind = local_name(el)
    facts = {"type": Fact(kind, kind, "kind"),
             **make_facts([("name", name_of(el), "name"),
                           ("documentation", text_of(el.find(f"{BPMN_TAG}documentation")), "code"),
                           ("default_flow", el.get("default", ""), "code"),
                           ("script_language", el.get("scriptFormat", ""), "code"),
                           ("script", text_of(el.find(f"{BPMN_TAG}script")), "code"),
                           ("called_process", el.get("calledElement", ""), "code")])}
    if kind == "boundaryEvent":
        facts["attached_to"] = Fact(el.get("attachedToRef", ""),
                                    bundle.display(el.get("attachedToRef")), "plain")
        interrupting = el.get("cancelActivity", "true")
        facts["interrupting"] = Fact(interrupting, interrupting, "yesno")
    if kind == "startEvent" and el.get("isInterrupting") == "false":
        facts["interrupting"] = Fact("false", "false", "yesno")
    facts.update(_event_facts(el, bundle))
    facts.update(_loop_facts(el))
    facts.update(_camunda_facts(el, set(_ASSIGNMENT_ATTRS) | _FORM_ATTRS))
    facts.update(_property_facts(el, _ASSIGNMENT_PROPS))
    return facts


def _event_facts(el: etree._Element, bundle: BundleElements) -> Facts:
    definitions = [d for d in el if local_name(d).endswith("EventDefinition")]
    if not definitions:
        return {}
    triggers = ", ".join(local_name(d)[: -len("EventDefinition")] for d in definitions)
    facts = {"trigger": Fact(triggers, triggers, "plain")}
    for definition in definitions:
        for timer in definition:
            if local_name(timer) in ("timeDate", "timeDuration", "timeCycle"):
                label = "timer_" + local_name(timer)[len("time"):].lower()
                facts[label] = Fact(text_of(timer), text_of(timer))
        for attr in ("messageRef", "signalRef", "errorRef", "escalationRef"):
            ref = definition.get(attr)
            if ref:
                target = bundle.model.get(ref)
                shown = name_of(target) or (target.get("errorCode") if target is not None else "") or ref
                facts[attr[: -len("Ref")]] = Fact(ref if target is None else shown, shown)
        if definition.find(f"{BPMN_TAG}condition") is not None:
            condition = text_of(definition.find(f"{BPMN_TAG}condition"))
            facts["condition"] = Fact(condition, condition)
    return facts


def _loop_facts(el: etree._Element) -> Facts:
    loop = el.find(f"{BPMN_TAG}multiInstanceLoopCharacteristics")
    if el.find(f"{BPMN_TAG}standardLoopCharacteristics") is not None:
        return {"loop": Fact("standardLoopCharacteristics", "standardLoopCharacteristics", "kind")}
    if loop is None:
        return {}
    # in BPMN's own terms, which read the same in every language
    parts = [f"isSequential={'true' if loop.get('isSequential') == 'true' else 'false'}"]
    parts += [f"{label}={value}" for label, value in (
        ("loopCardinality", text_of(loop.find(f"{BPMN_TAG}loopCardinality"))),
        ("camunda:collection", loop.get(f"{CAMUNDA_TAG}collection", "")),
        ("camunda:elementVariable", loop.get(f"{CAMUNDA_TAG}elementVariable", "")),
        ("completionCondition", text_of(loop.find(f"{BPMN_TAG}completionCondition")))) if value]
    summary = ", ".join(parts)
    return {"multi_instance": Fact(summary, summary)}


def _camunda_facts(el: etree._Element, skip: set[str]) -> Facts:
    facts = {}
    for key, value in sorted(el.attrib.items()):
        qname = etree.QName(key)
        if qname.namespace == CAMUNDA_NS and qname.localname not in skip:
            label = _ATTR_LABELS.get(qname.localname, f"camunda:{qname.localname}")
            facts[label] = Fact(value, value)
    ext = extensions_of(el)
    grouped: dict[str, list[str]] = {}
    for child in (ext if ext is not None else ()):
        if isinstance(child.tag, str) and child.tag.startswith(CAMUNDA_TAG) and \
                local_name(child) not in ("formData", "properties"):
            grouped.setdefault(local_name(child), []).append(signature(child))
    for tag, signatures in grouped.items():
        facts[f"camunda:{tag}"] = Fact("|".join(signatures), "", "opaque")
    return facts


def _property_facts(el: etree._Element, skip: set[str]) -> Facts:
    return {f"property:{name}": Fact(value, value)
            for name, value in properties_of(el).items() if name not in skip}


def _assignment_facts(el: etree._Element) -> Facts:
    facts = make_facts((label, el.get(f"{CAMUNDA_TAG}{attr}", ""), "code")
                       for attr, label in _ASSIGNMENT_ATTRS.items())
    excluded = properties_of(el).get("exclude_users", "")
    if excluded:
        facts["excluded_users"] = Fact(excluded, excluded)
    return facts


def diff_flows(before: BundleElements, after: BundleElements) -> list[Change]:
    def describe(el: etree._Element, side: str) -> tuple[str, dict]:
        bundle = before if side == "old" else after
        condition = text_of(el.find(f"{BPMN_TAG}conditionExpression"))
        return "flow", {"kind": local_name(el), "source": bundle.display(el.get("sourceRef")),
                        "target": bundle.display(el.get("targetRef")),
                        **({"condition": f"`{shorten(condition)}`"} if condition else {})}

    def facts(el: etree._Element, bundle: BundleElements) -> Facts:
        return {"source": Fact(el.get("sourceRef", ""), bundle.display(el.get("sourceRef")), "plain"),
                "target": Fact(el.get("targetRef", ""), bundle.display(el.get("targetRef")), "plain"),
                **make_facts([("name", name_of(el), "name"),
                              ("condition", text_of(el.find(f"{BPMN_TAG}conditionExpression")), "code")]),
                **_camunda_facts(el, set())}

    return keyed_diff("flow", before.flows, after.flows, describe,
                      lambda key, a, b: changed("flow", key, fact_details(facts(a, before),
                                                                          facts(b, after))))


def diff_lanes(before: BundleElements, after: BundleElements) -> list[Change]:
    def compare(key: str, old: etree._Element, new: etree._Element) -> list[Change]:
        changes = changed("lane", key, fact_details(make_facts([("name", name_of(old), "name")]),
                                                    make_facts([("name", name_of(new), "name")])))
        # Nodes added or removed are reported as such; here only nodes that changed lane.
        kept = before.nodes.keys() & after.nodes.keys()
        old_members, new_members = lane_members(old), lane_members(new)
        changes += [Change("lane", key, "changed", "lane.moved_in", {"element": after.display(ref)})
                    for ref in new_members if ref not in old_members and ref in kept]
        changes += [Change("lane", key, "changed", "lane.moved_out", {"element": before.display(ref)})
                    for ref in old_members if ref not in new_members and ref in kept]
        return changes

    return keyed_diff("lane", before.lanes, after.lanes,
                      lambda el, _: ("element", {"kind": "lane", "element": display_name(el)}), compare)

