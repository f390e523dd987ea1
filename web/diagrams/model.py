"""Reading the model: BPMN-DI planes, bounds and waypoints, element kinds and names."""
from __future__ import annotations

import math
from dataclasses import dataclass

from lxml import etree

from engine import BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, InvalidBundle, Problem, is_bpmn, parse_xml

_PLANE = f"{{{BPMNDI_NS}}}BPMNPlane"
SHAPE = f"{{{BPMNDI_NS}}}BPMNShape"
EDGE = f"{{{BPMNDI_NS}}}BPMNEdge"
LABEL = f"{{{BPMNDI_NS}}}BPMNLabel"
_BOUNDS = f"{{{DC_NS}}}Bounds"
_WAYPOINT = f"{{{DI_NS}}}waypoint"

TASKS = {"task", "userTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
         "receiveTask", "manualTask", "callActivity"}
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
          "boundaryEvent", "implicitThrowEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
            "complexGateway"}
DATA = {"dataObjectReference", "dataObject", "dataInput", "dataOutput", "dataStoreReference"}
# Kinds whose name is written outside the shape (below it, or in its BPMNLabel bounds).
EXTERNAL_LABEL = EVENTS | GATEWAYS | DATA


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def parse_bpmn(bpmn: bytes) -> etree._Element:
    root = parse_xml(bpmn, "diagram.bpmn")
    if not is_bpmn(root):
        raise InvalidBundle([Problem("diagram.bpmn", root.sourceline, None, "file.not_bpmn",
                                     {"root": f"<{etree.QName(root).localname}>"})])
    return root


def drawable_planes(root: etree._Element) -> list[etree._Element]:
    return [p for p in root.iter(_PLANE) if next(p.iter(SHAPE, EDGE), None) is not None]


def choose_plane(planes: list[etree._Element], model: dict, process_id: str | None) -> etree._Element:
    if process_id:
        for plane in planes:
            if process_id in (plane.get("bpmnElement"), plane.getparent().get("id")):
                return plane
        for plane in planes:
            target = model.get(plane.get("bpmnElement"))
            if target is not None and any(part.get("processRef") == process_id
                                          for part in target.iter(f"{{{BPMN_NS}}}participant")):
                return plane
    return planes[0]


def plane_name(plane: etree._Element, model: dict) -> str:
    target = model.get(plane.get("bpmnElement"))
    if target is None:
        return ""
    if target.get("name"):
        return target.get("name")
    for part in target.iter(f"{{{BPMN_NS}}}participant"):
        name = part.get("name") or name_of(model.get(part.get("processRef")))
        if name:
            return name
    return ""


def inferred_flows(model: dict, reached: set[str]) -> set[str]:
    if not reached:
        return set()
    return {fid for fid, el in model.items()
            if local_name(el) == "sequenceFlow" and el.get("sourceRef") in reached
            and el.get("targetRef") in reached}


def local_name(el: etree._Element | None) -> str:
    return etree.QName(el).localname if el is not None else ""


def name_of(el: etree._Element | None) -> str:
    return (el.get("name") or "").strip() if el is not None else ""


def _number(value: str | None) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def bounds_of(el: etree._Element | None) -> Box | None:
    found = el.find(_BOUNDS) if el is not None else None
    if found is None:
        return None
    values = [_number(found.get(k)) for k in ("x", "y", "width", "height")]
    if any(v is None for v in values):
        return None
    return Box(*values)  # type: ignore[arg-type]


def waypoints(edge: etree._Element) -> list[tuple[float, float]]:
    points = [(_number(wp.get("x")), _number(wp.get("y"))) for wp in edge.iter(_WAYPOINT)]
    return [(x, y) for x, y in points if x is not None and y is not None]


def event_kinds(el: etree._Element) -> list[str]:
    kinds = [local_name(child)[: -len("EventDefinition")] for child in el
             if local_name(child).endswith("EventDefinition")]
    return kinds + ["ref"] * len(el.findall(f"{{{BPMN_NS}}}eventDefinitionRef"))


def label_text(el: etree._Element | None, model: dict) -> str:
    kind = local_name(el)
    if kind == "textAnnotation":
        return (el.findtext(f"{{{BPMN_NS}}}text") or "").strip()
    if kind == "group":
        value = model.get(el.get("categoryValueRef") or "")
        return (value.get("value") or "").strip() if value is not None else name_of(el)
    name = name_of(el)
    if kind in ("dataObjectReference", "dataStoreReference"):
        name = name or name_of(model.get(el.get("dataObjectRef") or el.get("dataStoreRef") or ""))
        state = el.find(f"{{{BPMN_NS}}}dataState")
        if state is not None and name_of(state):
            name = f"{name}\n[{name_of(state)}]"
    if kind == "participant":
        name = name or name_of(model.get(el.get("processRef") or ""))
    return name
