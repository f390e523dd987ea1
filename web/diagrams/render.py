"""The drawing of one plane into layered SVG groups, and the entry points render_svg and has_layout."""
from __future__ import annotations

import math
from collections.abc import Collection

from flask_babel import gettext, lazy_gettext as _l
from lxml import etree

from engine import BPMN_NS

from .edges import Edges
from .labels import LINE, draw_text, text_width, wrap
from .model import (EDGE, LABEL, SHAPE, SUBPROCESSES, Box, bounds_of, choose_plane, drawable_planes,
                    inferred_flows, label_text, local_name, name_of, parse_bpmn, plane_name)
from .shapes import Shapes
from .svg import SVG_NS, add, num

# Words in the drawing, in the reader's language (English outside a request: tests, scripts).
NO_LAYOUT_TEXT = _l("No layout in this file")
WAITING_TEXT = _l("Waiting")
DONE_TEXT = _l("Done")
DEFAULT_TITLE = _l("BPMN diagram")

MARGIN = 20

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
    return bool(drawable_planes(parse_bpmn(bpmn)))


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
    root = parse_bpmn(bpmn)
    planes = drawable_planes(root)
    if not planes:
        return _no_layout_svg(title)
    model = {el.get("id"): el for el in root.iter(f"{{{BPMN_NS}}}*") if el.get("id")}
    plane = choose_plane(planes, model, process_id)
    waiting_ids = set(waiting)
    done_ids = set(completed) - waiting_ids
    flows = set(taken_flows) or inferred_flows(model, done_ids | waiting_ids)
    drawing = _Drawing(model, plane, done_ids | flows, waiting_ids)
    return drawing.render(title or plane_name(plane, model) or str(DEFAULT_TITLE))


_LAYERS = ("pools", "lanes", "containers", "nodes", "flows", "attached", "overlay", "labels")


# The methods that draw shapes and edges are in shapes.py and edges.py, one module each.
class _Drawing(Shapes, Edges):
    """One plane drawn into layered groups, so that containers stay under their content."""

    def __init__(self, model: dict, plane: etree._Element, done: set[str], waiting: set[str]):
        self.model = model
        self.plane = plane
        self.done = done
        self.waiting = waiting
        self.svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
        add(self.svg, "style", _CSS)
        self.layers = {name: add(self.svg, "g", class_=f"layer-{name}") for name in _LAYERS}
        self.extent: list[float] = [math.inf, math.inf, -math.inf, -math.inf]
        self.drawn = {di.get("bpmnElement") for di in plane.iter(SHAPE)}

    def render(self, title: str) -> str:
        summary = self._summary()
        if summary:
            self.svg.insert(0, add(self.svg, "desc", summary))
        self.svg.insert(0, add(self.svg, "title", title))  # the accessible name comes first
        items = list(self.plane.iter(SHAPE, EDGE))
        for _, di in sorted(enumerate(items), key=lambda item: self._z(item[1], item[0])):
            if di.tag == SHAPE:
                self._shape(di)
            else:
                self._edge(di)
        x0, y0, x1, y1 = self.extent if math.isfinite(self.extent[0]) else (0, 0, 100, 100)
        x0, y0, w, h = x0 - MARGIN, y0 - MARGIN, x1 - x0 + 2 * MARGIN, y1 - y0 + 2 * MARGIN
        for key, value in (("viewBox", f"{num(x0)} {num(y0)} {num(w)} {num(h)}"),
                           ("width", num(w)), ("height", num(h)), ("role", "img"),
                           ("aria-label", title), ("class", "bpmn-diagram")):
            self.svg.set(key, value)
        return etree.tostring(self.svg, encoding="unicode")

    def _summary(self) -> str:
        names = [name_of(self.model.get(i)) or i for i in sorted(self.waiting)
                 if i in self.drawn]
        return gettext("Waiting: %(steps)s", steps=", ".join(names)) if names else ""

    def _z(self, di: etree._Element, order: int) -> tuple:
        el = self.model.get(di.get("bpmnElement") or "")
        kind = local_name(el)
        if di.tag == EDGE:
            return (6 if kind == "messageFlow" else 4, 0, order)
        if kind in ("participant", "process"):
            return (0, 0, order)
        if kind == "lane":
            return (1, 0, order)
        box = bounds_of(di)
        if self._container(di, el, kind) and box:
            return (2, -box.w * box.h, order)  # nested sub-processes over their parents
        if kind == "boundaryEvent":
            return (5, 0, order)
        return (6 if kind == "group" else 3, 0, order)

    def _grow(self, box: Box) -> None:
        self.extent = [min(self.extent[0], box.x), min(self.extent[1], box.y),
                       max(self.extent[2], box.x + box.w), max(self.extent[3], box.y + box.h)]

    def _group(self, layer: str, di: etree._Element, el: etree._Element | None, kind: str,
               extra: str = "") -> etree._Element:
        element_id = di.get("bpmnElement")
        state = ("waiting" if element_id in self.waiting
                 else "done" if element_id in self.done else "")
        classes = " ".join(c for c in ("bpmn", kind or "unknown", extra, state) if c)
        group = add(self.layers[layer], "g", class_=classes, data_element_id=element_id,
                    data_di_id=di.get("id"))
        name = label_text(el, self.model) if el is not None else ""
        cue = str({"waiting": WAITING_TEXT, "done": DONE_TEXT}.get(state, ""))
        if name or cue:
            add(group, "title", " — ".join(part for part in (name, cue) if part))
        return group

    def _container(self, di: etree._Element, el: etree._Element | None, kind: str) -> bool:
        """An expanded sub-process, or a call activity drawn open on its called process."""
        if kind not in SUBPROCESSES and kind != "callActivity":
            return False
        flag = di.get("isExpanded")
        if flag is not None:
            return flag == "true"
        # Some exporters leave isExpanded out: a sub-process whose children are drawn is open.
        return el is not None and any(child.get("id") in self.drawn for child in el)

    def _external_label(self, di: etree._Element, el: etree._Element | None, box: Box | None,
                        above: bool = False, anchor_point: tuple[float, float] | None = None) -> None:
        text = label_text(el, self.model) if el is not None else ""
        if not text:
            return
        label = bounds_of(di.find(LABEL))
        if label is not None and (label.w > 1 or label.h > 1):
            lines = wrap(text, max(label.w + 8, 30))
            top = label.cy - len(lines) * LINE / 2
            x = label.cx
        elif anchor_point is not None:
            lines = wrap(text, 90)
            x, top = anchor_point[0], anchor_point[1] - len(lines) * LINE - 2
        elif box is not None:
            lines = wrap(text, max(box.w + 40, 90) if not above else box.w - 10)
            x, top = box.cx, (box.y + 2 if above else box.y + box.h + 4)
        else:
            return
        group = add(self.layers["labels"], "g", class_="label", data_label_for=di.get("bpmnElement"))
        draw_text(group, lines, x, top)
        widest = max(text_width(line) for line in lines)
        self._grow(Box(x - widest / 2, top, widest, len(lines) * LINE))


def _no_layout_svg(title: str | None) -> str:
    text = str(NO_LAYOUT_TEXT)
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    for key, value in (("viewBox", "0 0 420 60"), ("width", "420"), ("height", "60"),
                       ("role", "img"), ("aria-label", text),
                       ("class", "bpmn-diagram no-layout")):
        svg.set(key, value)
    add(svg, "title", f"{title} — {text}" if title else text)
    add(svg, "style", _CSS)
    add(svg, "rect", x=1.0, y=1.0, width=418.0, height=58.0, rx=6.0, class_="body thin dashed")
    add(svg, "text", text, x=210.0, y=35.0, text_anchor="middle", class_="no-layout")
    return etree.tostring(svg, encoding="unicode")
