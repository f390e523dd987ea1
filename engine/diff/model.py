"""The vocabulary of a diff: Change, facts and how they compare, and a bundle read by element id."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

from lxml import etree

from ..errors import InvalidBundle, Problem
from ..bundle import BPMN, DMN, Bundle, kind_of
from ..xml import BPMN_NS, CAMUNDA_NS, is_bpmn, is_dmn

CATEGORIES = ("task", "event", "gateway", "flow", "form", "rule", "lane", "assignment", "process")

BPMN_TAG = f"{{{BPMN_NS}}}"
CAMUNDA_TAG = f"{{{CAMUNDA_NS}}}"
_TASKS = {"task", "userTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
          "receiveTask", "manualTask", "callActivity", "subProcess", "transaction",
          "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
          "boundaryEvent", "implicitThrowEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
            "complexGateway"}
_FLOWS = {"sequenceFlow", "messageFlow"}


@dataclass(frozen=True)
class Change:
    """One difference, e.g. Change("flow", "approved", "changed", "fact.changed",
    {"fact": "condition", "before": "`x > 1`", "after": "`x > 2`"}).

    category: one of CATEGORIES; change: added, removed or changed; code: one of CHANGE_CODES,
    whose `params` say what (element names are quoted 'like this', code `like this`); the web
    words it in the reader's language.
    """

    category: str
    element_id: str
    change: str
    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {**asdict(self), "params": dict(self.params)}


#: Every Change code, with its parameters ([optional] in brackets; see web/messages/uploads.py).
#: Any change may also carry the prefixes `field` (a form field), `side` + `column` (a DMN column).
CHANGE_CODES: dict[str, tuple[str, ...]] = {
    "element.added": ("kind", "element", "[lane]"),
    "element.removed": ("kind", "element", "[lane]"),
    "flow.added": ("kind", "source", "target", "[condition]"),
    "flow.removed": ("kind", "source", "target", "[condition]"),
    "fact.added": ("fact", "[name]", "[value]"),
    "fact.removed": ("fact", "[name]", "[value]"),
    "fact.changed": ("fact", "[name]", "[before]", "[after]"),
    "lane.moved_in": ("element",),
    "lane.moved_out": ("element",),
    "field.added": ("field",),
    "field.removed": ("field",),
    "field.order_changed": (),
    "column.added": ("side", "column"),
    "column.removed": ("side", "column"),
    "rule.added": ("row", "inputs", "outputs"),
    "rule.removed": ("row", "inputs", "outputs"),
    "rule.cell_changed": ("row", "[was_row]", "side", "column", "before", "after"),
    "rule.annotation_changed": ("row", "[was_row]"),
    "rule.order_changed": (),
}

#: The facts compared (the `fact` of fact.* changes; camunda, property, constraint and value
#: come with the `name` of the attribute, property, constraint or value).
FACTS = ("name", "executable", "description", "type", "documentation", "default_flow", "script_language",
         "script", "called_process", "decision", "attached_to", "interrupting", "trigger", "timer_date",
         "timer_duration", "timer_cycle", "message", "signal", "error", "escalation", "condition", "loop",
         "multi_instance", "camunda", "property", "assignee", "candidate_users", "candidate_groups",
         "excluded_users", "source", "target", "form_key", "label", "default", "date_pattern", "constraint",
         "value", "expression", "allowed_values", "hit_policy", "aggregation")


class Fact(NamedTuple):
    """A compared value: `raw` decides equality, `shown` is what the change says.

    style: "name" quotes with '', "code" with backticks, "plain" as is, "kind" a BPMN element
    type and "yesno" true/false (both worded by the web), "opaque" not at all (listeners, io
    mappings: too long to quote, enough to say they changed)."""

    raw: str
    shown: str
    style: str = "code"


Facts = dict[str, Fact]


# ---------------------------------------------------------------------------------------------
# Reading a bundle
# ---------------------------------------------------------------------------------------------

class BundleElements:
    def __init__(self, files: Mapping[str, bytes]):
        self.processes: dict[str, etree._Element] = {}
        self.nodes: dict[str, etree._Element] = {}
        self.flows: dict[str, etree._Element] = {}
        self.lanes: dict[str, etree._Element] = {}
        self.decisions: dict[str, etree._Element] = {}
        self.model: dict[str, etree._Element] = {}
        bundle = Bundle.of(files)
        for filename in sorted(bundle.bpmn_names + bundle.dmn_names):
            kind, root = kind_of(filename), bundle.root(filename)
            if kind == BPMN and is_bpmn(root):
                self._read_bpmn(root)
            elif kind == DMN and is_dmn(root):
                ns = etree.QName(root).namespace
                self.decisions.update((d.get("id"), d) for d in root.iter(f"{{{ns}}}decision"))
            else:
                raise InvalidBundle([Problem(filename, None, None, "file.not_kind",
                                             {"kind": kind[1:].upper(), "root": f"<{etree.QName(root).localname}>"})])

    def _read_bpmn(self, root: etree._Element) -> None:
        for el in root.iter(f"{BPMN_TAG}*"):
            element_id, kind = el.get("id"), local_name(el)
            if not element_id:
                continue
            self.model[element_id] = el
            bucket = {"process": self.processes, "lane": self.lanes}.get(kind)
            if bucket is None and kind in _TASKS | EVENTS | GATEWAYS:
                bucket = self.nodes
            elif bucket is None and kind in _FLOWS:
                bucket = self.flows
            if bucket is not None:
                bucket[element_id] = el

    def lane_of(self, node_id: str) -> dict[str, str]:
        """Where a node sits: {"lane": "'Approver'"}, or {} outside named lanes."""
        for lane in self.lanes.values():
            if node_id in lane_members(lane) and name_of(lane):
                return {"lane": f"'{name_of(lane)}'"}
        return {}

    def display(self, element_id: str | None) -> str:
        """How a change names an element: 'its name', or `its id` when unnamed."""
        name = name_of(self.model.get(element_id or ""))
        return f"'{name}'" if name else f"`{element_id}`"


def local_name(el: etree._Element | None) -> str:
    return etree.QName(el).localname if el is not None else ""


def name_of(el: etree._Element | None) -> str:
    return " ".join((el.get("name") or "").split()) if el is not None else ""


def text_of(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def shorten(value: str, limit: int = 80) -> str:
    flat = " ".join(value.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def signature(el: etree._Element) -> str:
    """A canonical text for an extension element, blind to prefixes and indentation."""
    children = ",".join(signature(child) for child in el if isinstance(child.tag, str))
    attrs = ",".join(f"{k}={v}" for k, v in sorted(el.attrib.items()))
    return f"{el.tag}[{attrs}]({text_of(el)})[{children}]"


def extensions_of(el: etree._Element) -> etree._Element | None:
    return el.find(f"{BPMN_TAG}extensionElements")


def properties_of(el: etree._Element) -> dict[str, str]:
    ext = extensions_of(el)
    props = ext.find(f"{CAMUNDA_TAG}properties") if ext is not None else None
    return {(p.get("name") or p.get("id") or ""): p.get("value") or ""
            for p in (props if props is not None else ()) if p.tag == f"{CAMUNDA_TAG}property"}


def lane_members(lane: etree._Element) -> list[str]:
    return [text_of(ref) for ref in lane.findall(f"{BPMN_TAG}flowNodeRef")]


def display_name(el: etree._Element) -> str:
    return f"'{name_of(el)}'" if name_of(el) else f"`{el.get('id')}`"


# ---------------------------------------------------------------------------------------------
# Comparing facts
# ---------------------------------------------------------------------------------------------

def _quote(fact: Fact) -> str:
    value = shorten(fact.shown)
    return {"name": f"'{value}'", "plain": value, "kind": value, "yesno": value}.get(fact.style, f"`{value}`")


def _fact_params(label: str, fact: Fact | None = None) -> dict[str, object]:
    """{"fact": ..., "name": ...} of a fact label ("name", "property:exclude_users")."""
    kind, _, name = label.partition(":")
    params: dict[str, object] = {"fact": kind, **({"name": name} if name else {})}
    if fact is not None and fact.style in ("kind", "yesno"):
        params["style"] = fact.style
    return params


def fact_details(old: Facts, new: Facts) -> list[tuple[str, dict]]:
    """(code, params) for each label whose value differs, in the new version's order."""
    details = []
    for label in [*new, *(k for k in old if k not in new)]:
        # An empty value counts as no value: "" -> "x" reads as added, not changed.
        before, after = (fact if fact is not None and fact.raw else None
                         for fact in (old.get(label), new.get(label)))
        if before is None and after is None or (before and after and before.raw == after.raw):
            continue
        params = _fact_params(label, after or before)
        if any(f is not None and f.style == "opaque" for f in (before, after)):
            verb = "added" if before is None else "removed" if after is None else "changed"
            details.append((f"fact.{verb}", params))
        elif before is None:
            details.append(("fact.added", {**params, **({"value": _quote(after)} if after.shown else {})}))
        elif after is None:
            details.append(("fact.removed", {**params, **({"value": _quote(before)} if before.shown else {})}))
        else:
            details.append(("fact.changed", {**params, "before": _quote(before), "after": _quote(after)}))
    return details


def make_facts(pairs: Iterable[tuple[str, str, str]]) -> Facts:
    """Facts from (label, value, style) triples, leaving out empty values."""
    return {label: Fact(value, value, style) for label, value, style in pairs if value}


def changed(category: str, element_id: str, details: Iterable[tuple[str, dict]],
            **prefix: object) -> list[Change]:
    """Changes of `details` (code, params), each with `prefix` (a field, a DMN column) in its params."""
    return [Change(category, element_id, "changed", code, {**prefix, **params}) for code, params in details]


def keyed_diff(category: str, old: dict[str, etree._Element], new: dict[str, etree._Element],
               describe: Callable[[etree._Element, str], tuple[str, dict]],
               compare: Callable[[str, etree._Element, etree._Element], list[Change]]) -> list[Change]:
    """Added/removed by id with `describe(el, bundle_side)` -> (code prefix, params), then
    `compare(old_el, new_el)`."""
    changes = []
    for key, el in old.items():
        if key not in new:
            prefix, params = describe(el, "old")
            changes.append(Change(category, key, "removed", f"{prefix}.removed", params))
    for key, el in new.items():
        if key not in old:
            prefix, params = describe(el, "new")
            changes.append(Change(category, key, "added", f"{prefix}.added", params))
        else:
            changes += compare(key, old[key], el)
    return changes
