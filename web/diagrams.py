"""BPMN-DI -> SVG, drawn on the server so that pages work without JavaScript.

`render_svg` draws one BPMNPlane of a diagram and marks the path an instance has taken
(`done`) and the tasks it waits on (`waiting`). Every drawn element carries
`data-element-id="<bpmn id>"` so that pages and tests can find it; external labels sit in a
top layer of their own and carry `data-label-for` instead, so each BPMN id appears once.

The SVG is built as an lxml tree: every name and id from the (untrusted) diagram is escaped
by the serializer, never pasted into markup. It has no scripts and no `id` attributes, so
several diagrams can be inlined in one page.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from lxml import etree

from engine.errors import InvalidBundle, Problem
from engine.xml import BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, is_bpmn, parse_xml

__all__ = ["render_svg", "has_layout", "NO_LAYOUT_TEXT", "WAITING_TEXT", "DONE_TEXT"]

SVG_NS = "http://www.w3.org/2000/svg"
NO_LAYOUT_TEXT = "Aucune mise en page dans ce fichier / No layout in this file"
WAITING_TEXT = "En attente / waiting"
DONE_TEXT = "Terminé / done"
DEFAULT_TITLE = "Diagramme BPMN / BPMN diagram"

MARGIN = 20
FONT = 11.0
LINE = 13.0  # line height; modelers size label bounds for 11px text on ~13px lines

_PLANE = f"{{{BPMNDI_NS}}}BPMNPlane"
_SHAPE = f"{{{BPMNDI_NS}}}BPMNShape"
_EDGE = f"{{{BPMNDI_NS}}}BPMNEdge"
_LABEL = f"{{{BPMNDI_NS}}}BPMNLabel"
_BOUNDS = f"{{{DC_NS}}}Bounds"
_WAYPOINT = f"{{{DI_NS}}}waypoint"

_TASKS = {"task", "userTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
          "receiveTask", "manualTask", "callActivity"}
_SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
           "boundaryEvent", "implicitThrowEvent"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
             "complexGateway"}
_DATA = {"dataObjectReference", "dataObject", "dataInput", "dataOutput", "dataStoreReference"}
# Kinds whose name is written outside the shape (below it, or in its BPMNLabel bounds).
_EXTERNAL_LABEL = _EVENTS | _GATEWAYS | _DATA

# The CSS is part of the image so that it looks the same served as <img> or inlined. State
# colours (blue path, amber waiting) stay apart for the common colour-vision deficiencies, and
# each state also differs in stroke width, with a badge and a <title> for waiting tasks.
_CSS = """
text{font-family:Arial,Helvetica,sans-serif;font-size:11px;fill:#1b1b1b}
.body{fill:#fff;stroke:#1b1b1b;stroke-width:2}
.body.thin{stroke-width:1.5}.body.thick{stroke-width:4}.body.pool,.body.lane{stroke-width:1.5}
.body.lane,.body.open{fill:none}.dashed{stroke-dasharray:6 4}.dotted{stroke-dasharray:2 3}
.group{fill:none;stroke:#1b1b1b;stroke-width:1.5;stroke-dasharray:8 4 2 4}
.sep{fill:none;stroke:#1b1b1b;stroke-width:1.5}
.line{fill:none;stroke:#1b1b1b;stroke-width:1.5;stroke-linejoin:round}
.head{fill:#1b1b1b;stroke:#1b1b1b;stroke-width:1}.head.open{fill:#fff}.head.lines{fill:none}
.mk{fill:#fff;stroke:#1b1b1b;stroke-width:1.3}.mk-solid{fill:#1b1b1b;stroke:#1b1b1b;stroke-width:1}
.mk-line{fill:none;stroke:#1b1b1b;stroke-width:1.3}.mk-inv{fill:none;stroke:#fff;stroke-width:1.3}
.mk-bar{fill:none;stroke:#1b1b1b;stroke-width:2}
.gw{fill:none;stroke:#1b1b1b;stroke-width:4}.gw.thin{stroke-width:1.3}
.done .body{stroke:#1d5fbf;stroke-width:3.5;fill:#eaf1fb}.done .body.thick{stroke-width:5}
.done .line{stroke:#1d5fbf;stroke-width:3.5}.done .head{fill:#1d5fbf;stroke:#1d5fbf}
.done .head.open{fill:#fff}.done .head.lines{fill:none}
.waiting .body{fill:#ffe08a;stroke:#a14a00;stroke-width:5}
.badge{fill:#a14a00;stroke:#fff;stroke-width:1.5}.badge-hand{fill:none;stroke:#fff;stroke-width:1.5}
.label text{stroke:#fff;stroke-width:2px;stroke-linejoin:round;paint-order:stroke}
.no-layout{font-size:14px}
"""


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------

def has_layout(bpmn: bytes) -> bool:
    """Tell whether the BPMN file has a drawable BPMN-DI plane (one with a shape or an edge).

    :param bpmn: content of a .bpmn file.
    :raises InvalidBundle: the content is not well-formed XML or not a BPMN file.
    """
    return bool(_drawable_planes(_parse_bpmn(bpmn)))


def render_svg(bpmn: bytes, *, process_id: str | None = None, completed: Collection[str] = (),
               waiting: Collection[str] = (), taken_flows: Collection[str] = (),
               title: str | None = None) -> str:
    """Draw a BPMN diagram as a self-contained SVG document.

    :param bpmn: content of a .bpmn file.
    :param process_id: which plane to draw when there are several: the plane of this process,
        of a collaboration with a participant for it, or of the sub-process/collaboration/diagram
        with this id; the first drawable plane otherwise.
    :param completed: ids of flow nodes on the path taken (class `done`).
    :param waiting: ids of the tasks waiting now (class `waiting`; wins over `completed`).
    :param taken_flows: ids of sequence flows traversed. When empty, flows whose source and
        target are both completed or waiting are marked instead.
    :param title: accessible title; defaults to the process or pool name.
    :returns: SVG markup (no scripts, no external references). A file without BPMN-DI gives a
        small SVG saying so.
    :raises InvalidBundle: the content is not well-formed XML or not a BPMN file.
    """
    root = _parse_bpmn(bpmn)
    planes = _drawable_planes(root)
    if not planes:
        return _no_layout_svg(title)
    model = {el.get("id"): el for el in root.iter(f"{{{BPMN_NS}}}*") if el.get("id")}
    plane = _choose_plane(planes, model, process_id)
    waiting_ids = set(waiting)
    done_ids = set(completed) - waiting_ids
    flows = set(taken_flows) or _inferred_flows(model, done_ids | waiting_ids)
    drawing = _Drawing(model, plane, done_ids | flows, waiting_ids)
    return drawing.render(title or _plane_name(plane, model) or DEFAULT_TITLE)


# ---------------------------------------------------------------------------------------------
# Reading the model
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Box:
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


def _parse_bpmn(bpmn: bytes) -> etree._Element:
    root = parse_xml(bpmn, "diagram.bpmn")
    if not is_bpmn(root):
        raise InvalidBundle([Problem("diagram.bpmn", None, None, "not a BPMN 2.0 definitions file")])
    return root


def _drawable_planes(root: etree._Element) -> list[etree._Element]:
    return [p for p in root.iter(_PLANE) if next(p.iter(_SHAPE, _EDGE), None) is not None]


def _choose_plane(planes: list[etree._Element], model: dict, process_id: str | None) -> etree._Element:
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


def _plane_name(plane: etree._Element, model: dict) -> str:
    target = model.get(plane.get("bpmnElement"))
    if target is None:
        return ""
    if target.get("name"):
        return target.get("name")
    for part in target.iter(f"{{{BPMN_NS}}}participant"):
        name = part.get("name") or _name(model.get(part.get("processRef")))
        if name:
            return name
    return ""


def _inferred_flows(model: dict, reached: set[str]) -> set[str]:
    if not reached:
        return set()
    return {fid for fid, el in model.items()
            if _local(el) == "sequenceFlow" and el.get("sourceRef") in reached
            and el.get("targetRef") in reached}


def _local(el: etree._Element | None) -> str:
    return etree.QName(el).localname if el is not None else ""


def _name(el: etree._Element | None) -> str:
    return (el.get("name") or "").strip() if el is not None else ""


def _number(value: str | None) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _bounds(el: etree._Element | None) -> _Box | None:
    found = el.find(_BOUNDS) if el is not None else None
    if found is None:
        return None
    values = [_number(found.get(k)) for k in ("x", "y", "width", "height")]
    if any(v is None for v in values):
        return None
    return _Box(*values)  # type: ignore[arg-type]


def _waypoints(edge: etree._Element) -> list[tuple[float, float]]:
    points = [(_number(wp.get("x")), _number(wp.get("y"))) for wp in edge.iter(_WAYPOINT)]
    return [(x, y) for x, y in points if x is not None and y is not None]


def _event_kinds(el: etree._Element) -> list[str]:
    kinds = [_local(child)[: -len("EventDefinition")] for child in el
             if _local(child).endswith("EventDefinition")]
    return kinds + ["ref"] * len(el.findall(f"{{{BPMN_NS}}}eventDefinitionRef"))


def _label_text(el: etree._Element | None, model: dict) -> str:
    kind = _local(el)
    if kind == "textAnnotation":
        return (el.findtext(f"{{{BPMN_NS}}}text") or "").strip()
    if kind == "group":
        value = model.get(el.get("categoryValueRef") or "")
        return (value.get("value") or "").strip() if value is not None else _name(el)
    name = _name(el)
    if kind in ("dataObjectReference", "dataStoreReference"):
        name = name or _name(model.get(el.get("dataObjectRef") or el.get("dataStoreRef") or ""))
        state = el.find(f"{{{BPMN_NS}}}dataState")
        if state is not None and _name(state):
            name = f"{name}\n[{_name(state)}]"
    if kind == "participant":
        name = name or _name(model.get(el.get("processRef") or ""))
    return name


# ---------------------------------------------------------------------------------------------
# SVG primitives
# ---------------------------------------------------------------------------------------------

def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _add(parent: etree._Element, tag: str, text: str | None = None, **attrs: object) -> etree._Element:
    """Append an SVG element; `class_` -> class, `data_element_id` -> data-element-id."""
    el = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}", {
        key.rstrip("_").replace("_", "-"): _n(value) if isinstance(value, float) else str(value)
        for key, value in attrs.items() if value is not None})
    if text is not None:
        el.text = text
    return el


def _circle(cx: float, cy: float, r: float) -> str:
    arc = f"a{_n(r)} {_n(r)} 0 1 0"
    return f"M{_n(cx - r)} {_n(cy)}{arc} {_n(2 * r)} 0{arc} {_n(-2 * r)} 0z"


def _polyline(points: Iterable[tuple[float, float]], close: bool = False) -> str:
    d = "M" + "L".join(f"{_n(x)} {_n(y)}" for x, y in points)
    return d + "z" if close else d


_NARROW = set("fijlrtI.,;:!'|()[] ")
_WIDE = set("mwMW@%")


def _text_width(text: str) -> float:
    """Estimate Arial width at 11px: the server has no font metrics, and a close guess wraps
    labels the way modelers sized their bounds."""
    units = sum(0.28 if ch in _NARROW else 0.86 if ch in _WIDE
                else 0.66 if ch.isupper() else 0.52 for ch in text)
    return units * FONT


def _wrap(text: str, width: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split():
            while _text_width(word) > width and len(word) > 1:  # break words longer than a line
                if line:
                    lines.append(line)
                    line = ""
                cut = max(1, int(len(word) * width / _text_width(word)))
                lines.append(word[:cut])
                word = word[cut:]
            candidate = f"{line} {word}" if line else word
            if line and _text_width(candidate) > width:
                lines.append(line)
                candidate = word
            line = candidate
        if line:
            lines.append(line)
    return lines


def _text(parent: etree._Element, lines: list[str], x: float, top: float, anchor: str = "middle",
          transform: str | None = None) -> None:
    if not lines:
        return
    node = _add(parent, "text", text_anchor=anchor, transform=transform)
    for i, line in enumerate(lines):
        _add(node, "tspan", line, x=x, y=top + LINE * (i + 1) - 3.5)


def _centred_text(parent: etree._Element, text: str, box: _Box, pad: float = 5.0) -> None:
    lines = _wrap(text, max(box.w - 2 * pad, 10))
    _text(parent, lines, box.cx, box.cy - len(lines) * LINE / 2)


# ---------------------------------------------------------------------------------------------
# Markers, as path data in small unit boxes: events 36x36, gateways 50x50, task icons and
# bottom markers 20x20 / 14x14. A role says how a part is painted; "shape" and "detail" parts
# of event markers are inverted (filled) on throwing events.
# ---------------------------------------------------------------------------------------------

_EVENT_MARKERS: dict[str, list[tuple[str, str]]] = {
    "message": [("M10 12h16v12h-16z", "shape"), ("M10 12l8 6 8-6", "detail")],
    "timer": [(_circle(18, 18, 9), "shape"),
              ("M18 12v6l4 3M18 9v2M27 18h-2M18 27v-2M9 18h2", "line")],
    "error": [("M11 26l4-14 5 7 5-9-4 14-5-7z", "shape")],
    "signal": [("M18 9l8.5 14.5h-17z", "shape")],
    "escalation": [("M18 9l7 16-7-6-7 6z", "shape")],
    "conditional": [("M12 10h12v16h-12z", "shape"), ("M14 14h8M14 18h8M14 22h8", "line")],
    "terminate": [(_circle(18, 18, 8), "solid")],
    "cancel": [("M11 13l2-2 5 5 5-5 2 2-5 5 5 5-2 2-5-5-5 5-2-2 5-5z", "shape")],
    "compensate": [("M8 18l8-6v12zM17 18l8-6v12z", "shape")],
    "link": [("M9 15h9v-5l9 8-9 8v-5h-9z", "shape")],
    "multiple": [("M18 9l9 6.5-3.4 10.5h-11.2l-3.4-10.5z", "shape")],
    "parallelMultiple": [("M16 9h4v7h7v4h-7v7h-4v-7h-7v-4h7z", "shape")],
}


def _gear(cx: float, cy: float, outer: float, inner: float, teeth: int = 8) -> str:
    points = []
    for i in range(teeth * 4):
        angle = 2 * math.pi * (i - 0.5) / (teeth * 4)
        radius = outer if i % 4 in (0, 1) else inner
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return _polyline(points, close=True)


_TASK_ICONS: dict[str, list[tuple[str, str]]] = {
    "userTask": [(_circle(10, 6, 4), "shape"), ("M2 19c0-6 3-8 8-8s8 2 8 8z", "shape")],
    "manualTask": [("M1 9l6-5h4l-3 3h9a1.5 1.5 0 0 1 0 3h-4h3a1.5 1.5 0 0 1 0 3h-3h2a1.5 1.5 0 "
                    "0 1 0 3h-2h1a1.5 1.5 0 0 1 0 3h-10l-3-2z", "shape")],
    "scriptTask": [("M6 2h11c-5 4 4 9-1 16h-11c5-7-4-12 1-16z", "shape"),
                   ("M7 6h7M8 10h7M7 14h7", "line")],
    "businessRuleTask": [("M1 3h18v14h-18z", "shape"), ("M1 3h18v4h-18z", "solid"),
                         ("M1 12h18M6 7v10", "line")],
    "serviceTask": [(_gear(10, 10, 9, 6.5), "shape"), (_circle(10, 10, 3), "line")],
    "sendTask": [("M1 4h18v12h-18z", "solid"), ("M1 4l9 7 9-7", "inverse")],
    "receiveTask": [("M1 4h18v12h-18z", "shape"), ("M1 4l9 7 9-7", "line")],
}

_BOTTOM_MARKERS: dict[str, list[tuple[str, str]]] = {
    "collapsed": [("M0 0h14v14h-14z", "shape"), ("M7 3v8M3 7h8", "line")],
    "loop": [("M3 11A5.5 5.5 0 1 1 11 11", "line"), ("M11 11l0.5-4M11 11l-4 0.5", "line")],
    "parallel": [("M3 1v12M7 1v12M11 1v12", "bar")],
    "sequential": [("M1 3h12M1 7h12M1 11h12", "bar")],
    "adhoc": [("M1 8c2-4 4-4 6 0s4 4 6 0", "line")],
    "compensation": [("M1 7l6-5v10zM7 7l6-5v10z", "shape")],
}

_ROLE_CLASS = {"shape": "mk", "solid": "mk-solid", "line": "mk-line", "detail": "mk-line",
               "inverse": "mk-inv", "bar": "mk-bar"}
_THROWN_ROLE = {"shape": "solid", "detail": "inverse"}

_GATEWAY_MARKERS: dict[str, list[tuple[str, str]]] = {
    "exclusiveGateway": [("M18 18l14 14M32 18l-14 14", "gw")],
    "parallelGateway": [("M25 13v24M13 25h24", "gw")],
    "complexGateway": [("M25 13v24M13 25h24M17 17l16 16M33 17l-16 16", "gw")],
    "inclusiveGateway": [(_circle(25, 25, 11), "gw")],
    "eventBasedGateway": [(_circle(25, 25, 13), "gw thin"), (_circle(25, 25, 10.5), "gw thin"),
                          ("M25 18l7 5-2.7 8h-8.6l-2.7-8z", "gw thin")],
    "parallelEventBasedGateway": [(_circle(25, 25, 13), "gw thin"),
                                  ("M23 16h4v7h7v4h-7v7h-4v-7h-7v-4h7z", "gw thin")],
}


def _paint(parent: etree._Element, parts: list[tuple[str, str]], x: float, y: float,
           scale: float = 1.0, roles: dict[str, str] | None = None) -> None:
    transform = f"translate({_n(x)} {_n(y)})" + (f" scale({_n(scale)})" if scale != 1 else "")
    group = _add(parent, "g", transform=transform)
    for d, role in parts:
        role = (roles or {}).get(role, role)
        _add(group, "path", d=d, class_=_ROLE_CLASS.get(role, role))


def _arrowhead(points: list[tuple[float, float]], length: float = 11, half: float = 4,
               at_start: bool = False) -> list[tuple[float, float]] | None:
    ordered = points[::-1] if at_start else points
    tip = ordered[-1]
    for base in reversed(ordered[:-1]):
        dx, dy = tip[0] - base[0], tip[1] - base[1]
        dist = math.hypot(dx, dy)
        if dist > 0.01:
            ux, uy = dx / dist, dy / dist
            bx, by = tip[0] - ux * length, tip[1] - uy * length
            return [(bx + uy * half, by - ux * half), tip, (bx - uy * half, by + ux * half)]
    return None


def _start_direction(points: list[tuple[float, float]]) -> tuple[float, float, float, float] | None:
    head = _arrowhead(points, length=1, half=0, at_start=True)
    if head is None:
        return None
    (bx, by), (sx, sy) = head[0], head[1]
    return sx, sy, bx - sx, by - sy


# ---------------------------------------------------------------------------------------------
# The drawing
# ---------------------------------------------------------------------------------------------

_LAYERS = ("pools", "lanes", "containers", "nodes", "flows", "attached", "overlay", "labels")


class _Drawing:
    """One plane drawn into layered groups, so that containers stay under their content."""

    def __init__(self, model: dict, plane: etree._Element, done: set[str], waiting: set[str]):
        self.model = model
        self.plane = plane
        self.done = done
        self.waiting = waiting
        self.svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
        _add(self.svg, "style", _CSS)
        self.layers = {name: _add(self.svg, "g", class_=f"layer-{name}") for name in _LAYERS}
        self.extent: list[float] = [math.inf, math.inf, -math.inf, -math.inf]
        self.drawn = {di.get("bpmnElement") for di in plane.iter(_SHAPE)}

    def render(self, title: str) -> str:
        summary = self._summary()
        if summary:
            self.svg.insert(0, _add(self.svg, "desc", summary))
        self.svg.insert(0, _add(self.svg, "title", title))  # the accessible name comes first
        items = list(self.plane.iter(_SHAPE, _EDGE))
        for _, di in sorted(enumerate(items), key=lambda item: self._z(item[1], item[0])):
            if di.tag == _SHAPE:
                self._shape(di)
            else:
                self._edge(di)
        x0, y0, x1, y1 = self.extent if math.isfinite(self.extent[0]) else (0, 0, 100, 100)
        x0, y0, w, h = x0 - MARGIN, y0 - MARGIN, x1 - x0 + 2 * MARGIN, y1 - y0 + 2 * MARGIN
        for key, value in (("viewBox", f"{_n(x0)} {_n(y0)} {_n(w)} {_n(h)}"),
                           ("width", _n(w)), ("height", _n(h)), ("role", "img"),
                           ("aria-label", title), ("class", "bpmn-diagram")):
            self.svg.set(key, value)
        return etree.tostring(self.svg, encoding="unicode")

    def _summary(self) -> str:
        names = [_name(self.model.get(i)) or i for i in sorted(self.waiting)
                 if i in self.drawn]
        return f"{WAITING_TEXT}: {', '.join(names)}" if names else ""

    def _z(self, di: etree._Element, order: int) -> tuple:
        el = self.model.get(di.get("bpmnElement") or "")
        kind = _local(el)
        if di.tag == _EDGE:
            return (6 if kind == "messageFlow" else 4, 0, order)
        if kind in ("participant", "process"):
            return (0, 0, order)
        if kind == "lane":
            return (1, 0, order)
        box = _bounds(di)
        if self._container(di, el, kind) and box:
            return (2, -box.w * box.h, order)  # nested sub-processes over their parents
        if kind == "boundaryEvent":
            return (5, 0, order)
        return (6 if kind == "group" else 3, 0, order)

    def _grow(self, box: _Box) -> None:
        self.extent = [min(self.extent[0], box.x), min(self.extent[1], box.y),
                       max(self.extent[2], box.x + box.w), max(self.extent[3], box.y + box.h)]

    def _group(self, layer: str, di: etree._Element, el: etree._Element | None, kind: str,
               extra: str = "") -> etree._Element:
        element_id = di.get("bpmnElement")
        state = ("waiting" if element_id in self.waiting
                 else "done" if element_id in self.done else "")
        classes = " ".join(c for c in ("bpmn", kind or "unknown", extra, state) if c)
        group = _add(self.layers[layer], "g", class_=classes, data_element_id=element_id,
                     data_di_id=di.get("id"))
        name = _label_text(el, self.model) if el is not None else ""
        cue = {"waiting": WAITING_TEXT, "done": DONE_TEXT}.get(state, "")
        if name or cue:
            _add(group, "title", " — ".join(part for part in (name, cue) if part))
        return group

    def _container(self, di: etree._Element, el: etree._Element | None, kind: str) -> bool:
        """An expanded sub-process, or a call activity drawn open on its called process."""
        if kind not in _SUBPROCESSES and kind != "callActivity":
            return False
        flag = di.get("isExpanded")
        if flag is not None:
            return flag == "true"
        # Some exporters leave isExpanded out: a sub-process whose children are drawn is open.
        return el is not None and any(child.get("id") in self.drawn for child in el)

    # -- shapes ---------------------------------------------------------------------------------

    def _shape(self, di: etree._Element) -> None:
        box = _bounds(di)
        if box is None:
            return
        self._grow(box)
        el = self.model.get(di.get("bpmnElement") or "")
        kind = _local(el)
        if kind in ("participant", "process", "lane"):
            self._pool_or_lane(di, el, kind, box)
        elif self._container(di, el, kind):
            self._subprocess(di, el, kind, box)
        elif kind in _TASKS or kind in _SUBPROCESSES:
            self._task(di, el, kind, box)
        elif kind in _EVENTS:
            self._event(di, el, kind, box)
        elif kind in _GATEWAYS:
            self._gateway(di, el, kind, box)
        elif kind in _DATA:
            self._data(di, el, kind, box)
        elif kind == "textAnnotation":
            group = self._group("nodes", di, el, kind)
            _add(group, "path", class_="sep", d=f"M{_n(box.x + 10)} {_n(box.y)}h-10v{_n(box.h)}h10")
            _text(group, _wrap(_label_text(el, self.model), box.w - 8), box.x + 5, box.y + 2, "start")
        elif kind == "group":
            group = self._group("overlay", di, el, kind)
            _add(group, "rect", class_="group", x=box.x, y=box.y, width=box.w, height=box.h,
                 rx=10.0)
            self._external_label(di, el, box, above=True)
        else:  # elements this renderer does not know (conversations, choreographies, ...)
            group = self._group("nodes", di, el, kind)
            _add(group, "rect", class_="body thin dashed", x=box.x, y=box.y, width=box.w,
                 height=box.h, rx=4.0)
            _centred_text(group, _label_text(el, self.model), box)
        if kind in _EXTERNAL_LABEL:
            self._external_label(di, el, box)

    def _pool_or_lane(self, di: etree._Element, el: etree._Element, kind: str, box: _Box) -> None:
        is_lane = kind == "lane"
        group = self._group("lanes" if is_lane else "pools", di, el, kind)
        _add(group, "rect", class_="body lane" if is_lane else "body pool", x=box.x, y=box.y,
             width=box.w, height=box.h)
        horizontal = di.get("isHorizontal", "true") != "false"
        name = _label_text(el, self.model) if kind != "process" else _name(el)
        black_box = kind == "participant" and not el.get("processRef")
        if black_box:  # a pool without a process: its name in the middle, no header band
            _centred_text(group, name, box)
            return
        band = 30.0
        nested = is_lane and el.find(f"{{{BPMN_NS}}}childLaneSet") is not None
        if horizontal:
            if not is_lane or nested:
                _add(group, "path", class_="sep", d=f"M{_n(box.x + band)} {_n(box.y)}v{_n(box.h)}")
            lines = _wrap(name, max(box.h - 10, 10))
            cx, cy = box.x + band / 2, box.cy
            _text(group, lines, cx, cy - len(lines) * LINE / 2,
                  transform=f"rotate(-90 {_n(cx)} {_n(cy)})")
        else:
            if not is_lane or nested:
                _add(group, "path", class_="sep", d=f"M{_n(box.x)} {_n(box.y + band)}h{_n(box.w)}")
            lines = _wrap(name, max(box.w - 10, 10))
            _text(group, lines, box.cx, box.y + band / 2 - len(lines) * LINE / 2)

    def _task(self, di: etree._Element, el: etree._Element | None, kind: str, box: _Box) -> None:
        group = self._group("nodes", di, el, kind)
        body = "body thick" if kind == "callActivity" else "body"
        _add(group, "rect", class_=body, x=box.x, y=box.y, width=box.w, height=box.h, rx=10.0)
        if kind == "transaction":
            _add(group, "rect", class_="body open thin", x=box.x + 3, y=box.y + 3,
                 width=box.w - 6, height=box.h - 6, rx=8.0)
        if kind in _TASK_ICONS:
            _paint(group, _TASK_ICONS[kind], box.x + 6, box.y + 6, 0.85)
        self._bottom_markers(group, el, kind, box, collapsed=kind in _SUBPROCESSES)
        _centred_text(group, _label_text(el, self.model), box)
        if di.get("bpmnElement") in self.waiting:
            self._badge(group, box)

    def _subprocess(self, di: etree._Element, el: etree._Element, kind: str, box: _Box) -> None:
        event_sub = el.get("triggeredByEvent") == "true"
        group = self._group("containers", di, el, kind, "expanded")
        body = "body thick" if kind == "callActivity" else "body dotted" if event_sub else "body"
        _add(group, "rect", class_=body, x=box.x, y=box.y,
             width=box.w, height=box.h, rx=10.0)
        if kind == "transaction":
            _add(group, "rect", class_="body open thin", x=box.x + 3, y=box.y + 3,
                 width=box.w - 6, height=box.h - 6, rx=8.0)
        self._bottom_markers(group, el, kind, box, collapsed=False)
        _text(group, _wrap(_label_text(el, self.model), box.w - 16), box.x + 8, box.y + 4, "start")
        if di.get("bpmnElement") in self.waiting:
            self._badge(group, box)

    def _bottom_markers(self, group: etree._Element, el: etree._Element | None, kind: str,
                        box: _Box, collapsed: bool) -> None:
        names = []
        for child in (el if el is not None else ()):
            if _local(child) == "standardLoopCharacteristics":
                names.append("loop")
            elif _local(child) == "multiInstanceLoopCharacteristics":
                names.append("sequential" if child.get("isSequential") == "true" else "parallel")
        if collapsed:
            names.append("collapsed")
        if kind == "adHocSubProcess":
            names.append("adhoc")
        if el is not None and el.get("isForCompensation") == "true":
            names.append("compensation")
        left = box.cx - (len(names) * 17 - 3) / 2
        for i, name in enumerate(names):
            _paint(group, _BOTTOM_MARKERS[name], left + i * 17, box.y + box.h - 18)

    def _badge(self, group: etree._Element, box: _Box) -> None:
        """A clock in the corner: waiting is visible without relying on colour."""
        cx, cy = box.x + box.w - 2, box.y + 2
        _add(group, "path", class_="badge", d=_circle(cx, cy, 8))
        _add(group, "path", class_="badge-hand", d=f"M{_n(cx)} {_n(cy - 5)}v5h4")

    def _event(self, di: etree._Element, el: etree._Element, kind: str, box: _Box) -> None:
        r = min(box.w, box.h) / 2
        cx, cy = box.cx, box.cy
        non_interrupting = (el.get("cancelActivity") == "false" if kind == "boundaryEvent"
                            else el.get("isInterrupting") == "false" and kind == "startEvent")
        dash = " dashed" if non_interrupting else ""
        group = self._group("attached" if kind == "boundaryEvent" else "nodes", di, el, kind)
        if kind == "startEvent":
            _add(group, "path", class_="body" + dash, d=_circle(cx, cy, r))
        elif kind == "endEvent":
            _add(group, "path", class_="body thick", d=_circle(cx, cy, r))
        else:
            _add(group, "path", class_="body thin" + dash, d=_circle(cx, cy, r))
            _add(group, "path", class_="body open thin" + dash, d=_circle(cx, cy, max(r - 3, 1)))
        kinds = _event_kinds(el)
        if len(kinds) > 1:
            marker = "parallelMultiple" if el.get("parallelMultiple") == "true" else "multiple"
        else:
            marker = kinds[0] if kinds else ""
        if marker in _EVENT_MARKERS:
            thrown = kind in ("endEvent", "intermediateThrowEvent", "implicitThrowEvent")
            scale = 2 * r / 36
            _paint(group, _EVENT_MARKERS[marker], cx - 18 * scale, cy - 18 * scale, scale,
                   _THROWN_ROLE if thrown else None)

    def _gateway(self, di: etree._Element, el: etree._Element, kind: str, box: _Box) -> None:
        group = self._group("nodes", di, el, kind)
        points = [(box.cx, box.y), (box.x + box.w, box.cy), (box.cx, box.y + box.h), (box.x, box.cy)]
        _add(group, "path", class_="body", d=_polyline(points, close=True))
        marker = kind
        if kind == "eventBasedGateway" and el.get("eventGatewayType") == "Parallel":
            marker = "parallelEventBasedGateway"
        if kind == "exclusiveGateway" and di.get("isMarkerVisible") != "true":
            return  # BPMN-DI draws the X only when asked to
        _paint(group, _GATEWAY_MARKERS[marker], box.x, box.y, min(box.w, box.h) / 50)

    def _data(self, di: etree._Element, el: etree._Element, kind: str, box: _Box) -> None:
        group = self._group("nodes", di, el, kind)
        x, y, w, h = box.x, box.y, box.w, box.h
        if kind == "dataStoreReference":
            ry = min(h * 0.12, 10)
            arc = f"a{_n(w / 2)} {_n(ry)} 0 0 0 {_n(w)} 0"
            back = f"a{_n(w / 2)} {_n(ry)} 0 0 0 {_n(-w)} 0"
            _add(group, "path", class_="body",
                 d=f"M{_n(x)} {_n(y + ry)}{arc}{back}v{_n(h - 2 * ry)}{arc}v{_n(-(h - 2 * ry))}")
            for k in (1, 2):
                _add(group, "path", class_="body open thin", d=f"M{_n(x)} {_n(y + ry + k * 5)}{arc}")
            return
        fold = min(w, h) * 0.3
        _add(group, "path", class_="body thin",
             d=f"M{_n(x)} {_n(y)}h{_n(w - fold)}l{_n(fold)} {_n(fold)}v{_n(h - fold)}h{_n(-w)}z")
        _add(group, "path", class_="body open thin",
             d=f"M{_n(x + w - fold)} {_n(y)}v{_n(fold)}h{_n(fold)}")
        if kind in ("dataInput", "dataOutput"):
            role = "shape" if kind == "dataInput" else "solid"
            _paint(group, [("M2 5h6v-3l6 5-6 5v-3h-6z", role)], x + 2, y + 2)
        target = self.model.get(el.get("dataObjectRef") or "") if kind == "dataObjectReference" else el
        if target is not None and target.get("isCollection") == "true":
            _paint(group, _BOTTOM_MARKERS["parallel"], box.cx - 7, y + h - 15)

    def _external_label(self, di: etree._Element, el: etree._Element | None, box: _Box | None,
                        above: bool = False, anchor_point: tuple[float, float] | None = None) -> None:
        text = _label_text(el, self.model) if el is not None else ""
        if not text:
            return
        label = _bounds(di.find(_LABEL))
        if label is not None and (label.w > 1 or label.h > 1):
            lines = _wrap(text, max(label.w + 8, 30))
            top = label.cy - len(lines) * LINE / 2
            x = label.cx
        elif anchor_point is not None:
            lines = _wrap(text, 90)
            x, top = anchor_point[0], anchor_point[1] - len(lines) * LINE - 2
        elif box is not None:
            lines = _wrap(text, max(box.w + 40, 90) if not above else box.w - 10)
            x, top = box.cx, (box.y + 2 if above else box.y + box.h + 4)
        else:
            return
        group = _add(self.layers["labels"], "g", class_="label", data_label_for=di.get("bpmnElement"))
        _text(group, lines, x, top)
        widest = max(_text_width(line) for line in lines)
        self._grow(_Box(x - widest / 2, top, widest, len(lines) * LINE))

    # -- edges ----------------------------------------------------------------------------------

    def _edge(self, di: etree._Element) -> None:
        el = self.model.get(di.get("bpmnElement") or "")
        kind = _local(el)
        points = _waypoints(di)
        for x, y in points:
            self._grow(_Box(x, y, 0, 0))
        layer = "overlay" if kind == "messageFlow" else "flows"
        group = self._group(layer, di, el, kind or "edge", "edge")
        style = {"messageFlow": "line dashed", "association": "line dotted",
                 "dataInputAssociation": "line dotted", "dataOutputAssociation": "line dotted"}
        path = _add(group, "path", class_=style.get(kind, "line"))
        if not points:
            return
        path.set("d", _polyline(points))
        if el is None:
            return  # an edge for nothing in the model: a bare line, no claim about its meaning
        if kind not in style:  # sequence flows, and edges of kinds drawn like them
            self._head(group, points, "head")
            self._flow_source_marker(group, el, points)
        elif kind == "messageFlow":
            start = _start_direction(points)
            if start:
                sx, sy, ux, uy = start
                _add(group, "path", class_="head open", d=_circle(sx + ux * 4, sy + uy * 4, 4))
            self._head(group, points, "head open")
        elif kind in ("dataInputAssociation", "dataOutputAssociation"):
            self._head(group, points, "head lines", closed=False)
        elif kind == "association" and el.get("associationDirection") in ("One", "Both"):
            self._head(group, points, "head lines", closed=False)
            if el.get("associationDirection") == "Both":
                self._head(group, points, "head lines", closed=False, at_start=True)
        if el is not None and _name(el):
            middle = points[len(points) // 2 - 1:len(points) // 2 + 1] if len(points) > 1 else points
            mx = sum(p[0] for p in middle) / len(middle)
            my = sum(p[1] for p in middle) / len(middle)
            self._external_label(di, el, None, anchor_point=(mx, my))

    def _head(self, group: etree._Element, points: list[tuple[float, float]], cls: str,
              closed: bool = True, at_start: bool = False) -> None:
        head = _arrowhead(points, at_start=at_start)
        if head:
            _add(group, "path", class_=cls, d=_polyline(head, close=closed))

    def _flow_source_marker(self, group: etree._Element, el: etree._Element | None,
                            points: list[tuple[float, float]]) -> None:
        """Default flows get a slash at their source; conditional flows leaving an activity a
        diamond (from a gateway the condition is implied)."""
        start = _start_direction(points)
        if el is None or start is None:
            return
        sx, sy, ux, uy = start
        source = self.model.get(el.get("sourceRef") or "")
        if source is not None and source.get("default") == el.get("id"):
            px, py = sx + ux * 10, sy + uy * 10
            dx, dy = (ux - uy) * 5, (uy + ux) * 5  # 45 degrees across the line
            _add(group, "path", class_="line", d=_polyline([(px - dx, py - dy), (px + dx, py + dy)]))
        elif (el.find(f"{{{BPMN_NS}}}conditionExpression") is not None
              and _local(source) not in _GATEWAYS):
            diamond = [(sx, sy), (sx + ux * 7 - uy * 4, sy + uy * 7 + ux * 4),
                       (sx + ux * 14, sy + uy * 14), (sx + ux * 7 + uy * 4, sy + uy * 7 - ux * 4)]
            _add(group, "path", class_="head open", d=_polyline(diamond, close=True))


def _no_layout_svg(title: str | None) -> str:
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    for key, value in (("viewBox", "0 0 420 60"), ("width", "420"), ("height", "60"),
                       ("role", "img"), ("aria-label", NO_LAYOUT_TEXT),
                       ("class", "bpmn-diagram no-layout")):
        svg.set(key, value)
    _add(svg, "title", f"{title} — {NO_LAYOUT_TEXT}" if title else NO_LAYOUT_TEXT)
    _add(svg, "style", _CSS)
    _add(svg, "rect", x=1.0, y=1.0, width=418.0, height=58.0, rx=6.0, class_="body thin dashed")
    _add(svg, "text", NO_LAYOUT_TEXT, x=210.0, y=35.0, text_anchor="middle", class_="no-layout")
    return etree.tostring(svg, encoding="unicode")
