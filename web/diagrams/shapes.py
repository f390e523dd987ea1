"""How a _Drawing draws shapes: pools, lanes, tasks, sub-processes, events, gateways, data."""
from __future__ import annotations

from lxml import etree

from engine import BPMN_NS

from .labels import LINE, draw_centred_text, draw_text, wrap
from .markers import BOTTOM_MARKERS, EVENT_MARKERS, GATEWAY_MARKERS, TASK_ICONS, THROWN_ROLE, paint
from .model import (DATA, EVENTS, EXTERNAL_LABEL, GATEWAYS, SUBPROCESSES, TASKS, Box, bounds_of, event_kinds,
                    label_text, local_name, name_of)
from .svg import add, circle_path, num, polyline_path


class Shapes:
    """The shapes part of _Drawing (see render.py): one method for each kind of shape."""

    def _shape(self, di: etree._Element) -> None:
        box = bounds_of(di)
        if box is None:
            return
        self._grow(box)
        el = self.model.get(di.get("bpmnElement") or "")
        kind = local_name(el)
        if kind in ("participant", "process", "lane"):
            self._pool_or_lane(di, el, kind, box)
        elif self._container(di, el, kind):
            self._subprocess(di, el, kind, box)
        elif kind in TASKS or kind in SUBPROCESSES:
            self._task(di, el, kind, box)
        elif kind in EVENTS:
            self._event(di, el, kind, box)
        elif kind in GATEWAYS:
            self._gateway(di, el, kind, box)
        elif kind in DATA:
            self._data(di, el, kind, box)
        elif kind == "textAnnotation":
            group = self._group("nodes", di, el, kind)
            add(group, "path", class_="sep", d=f"M{num(box.x + 10)} {num(box.y)}h-10v{num(box.h)}h10")
            draw_text(group, wrap(label_text(el, self.model), box.w - 8), box.x + 5, box.y + 2, "start")
        elif kind == "group":
            group = self._group("overlay", di, el, kind)
            add(group, "rect", class_="group", x=box.x, y=box.y, width=box.w, height=box.h,
                rx=10.0)
            self._external_label(di, el, box, above=True)
        else:  # elements this renderer does not know (conversations, choreographies, ...)
            group = self._group("nodes", di, el, kind)
            add(group, "rect", class_="body thin dashed", x=box.x, y=box.y, width=box.w,
                height=box.h, rx=4.0)
            draw_centred_text(group, label_text(el, self.model), box)
        if kind in EXTERNAL_LABEL:
            self._external_label(di, el, box)

    def _pool_or_lane(self, di: etree._Element, el: etree._Element, kind: str, box: Box) -> None:
        is_lane = kind == "lane"
        group = self._group("lanes" if is_lane else "pools", di, el, kind)
        add(group, "rect", class_="body lane" if is_lane else "body pool", x=box.x, y=box.y,
            width=box.w, height=box.h)
        horizontal = di.get("isHorizontal", "true") != "false"
        name = label_text(el, self.model) if kind != "process" else name_of(el)
        black_box = kind == "participant" and not el.get("processRef")
        if black_box:  # a pool without a process: its name in the middle, no header band
            draw_centred_text(group, name, box)
            return
        band = 30.0
        nested = is_lane and el.find(f"{{{BPMN_NS}}}childLaneSet") is not None
        if horizontal:
            if not is_lane or nested:
                add(group, "path", class_="sep", d=f"M{num(box.x + band)} {num(box.y)}v{num(box.h)}")
            lines = wrap(name, max(box.h - 10, 10))
            cx, cy = box.x + band / 2, box.cy
            draw_text(group, lines, cx, cy - len(lines) * LINE / 2,
                      transform=f"rotate(-90 {num(cx)} {num(cy)})")
        else:
            if not is_lane or nested:
                add(group, "path", class_="sep", d=f"M{num(box.x)} {num(box.y + band)}h{num(box.w)}")
            lines = wrap(name, max(box.w - 10, 10))
            draw_text(group, lines, box.cx, box.y + band / 2 - len(lines) * LINE / 2)

    def _task(self, di: etree._Element, el: etree._Element | None, kind: str, box: Box) -> None:
        group = self._group("nodes", di, el, kind)
        body = "body thick" if kind == "callActivity" else "body"
        add(group, "rect", class_=body, x=box.x, y=box.y, width=box.w, height=box.h, rx=10.0)
        if kind == "transaction":
            add(group, "rect", class_="body open thin", x=box.x + 3, y=box.y + 3,
                width=box.w - 6, height=box.h - 6, rx=8.0)
        if kind in TASK_ICONS:
            paint(group, TASK_ICONS[kind], box.x + 6, box.y + 6, 0.85)
        self._bottom_markers(group, el, kind, box, collapsed=kind in SUBPROCESSES)
        draw_centred_text(group, label_text(el, self.model), box)
        if di.get("bpmnElement") in self.waiting:
            self._badge(group, box)

    def _subprocess(self, di: etree._Element, el: etree._Element, kind: str, box: Box) -> None:
        event_sub = el.get("triggeredByEvent") == "true"
        group = self._group("containers", di, el, kind, "expanded")
        body = "body thick" if kind == "callActivity" else "body dotted" if event_sub else "body"
        add(group, "rect", class_=body, x=box.x, y=box.y,
            width=box.w, height=box.h, rx=10.0)
        if kind == "transaction":
            add(group, "rect", class_="body open thin", x=box.x + 3, y=box.y + 3,
                width=box.w - 6, height=box.h - 6, rx=8.0)
        self._bottom_markers(group, el, kind, box, collapsed=False)
        draw_text(group, wrap(label_text(el, self.model), box.w - 16), box.x + 8, box.y + 4, "start")
        if di.get("bpmnElement") in self.waiting:
            self._badge(group, box)

    def _bottom_markers(self, group: etree._Element, el: etree._Element | None, kind: str,
                        box: Box, collapsed: bool) -> None:
        names = []
        for child in (el if el is not None else ()):
            if local_name(child) == "standardLoopCharacteristics":
                names.append("loop")
            elif local_name(child) == "multiInstanceLoopCharacteristics":
                names.append("sequential" if child.get("isSequential") == "true" else "parallel")
        if collapsed:
            names.append("collapsed")
        if kind == "adHocSubProcess":
            names.append("adhoc")
        if el is not None and el.get("isForCompensation") == "true":
            names.append("compensation")
        left = box.cx - (len(names) * 17 - 3) / 2
        for i, name in enumerate(names):
            paint(group, BOTTOM_MARKERS[name], left + i * 17, box.y + box.h - 18)

    def _badge(self, group: etree._Element, box: Box) -> None:
        """A clock in the corner: waiting is visible without relying on colour."""
        cx, cy = box.x + box.w - 2, box.y + 2
        add(group, "path", class_="badge", d=circle_path(cx, cy, 8))
        add(group, "path", class_="badge-hand", d=f"M{num(cx)} {num(cy - 5)}v5h4")

    def _event(self, di: etree._Element, el: etree._Element, kind: str, box: Box) -> None:
        r = min(box.w, box.h) / 2
        cx, cy = box.cx, box.cy
        non_interrupting = (el.get("cancelActivity") == "false" if kind == "boundaryEvent"
                            else el.get("isInterrupting") == "false" and kind == "startEvent")
        dash = " dashed" if non_interrupting else ""
        group = self._group("attached" if kind == "boundaryEvent" else "nodes", di, el, kind)
        if kind == "startEvent":
            add(group, "path", class_="body" + dash, d=circle_path(cx, cy, r))
        elif kind == "endEvent":
            add(group, "path", class_="body thick", d=circle_path(cx, cy, r))
        else:
            add(group, "path", class_="body thin" + dash, d=circle_path(cx, cy, r))
            add(group, "path", class_="body open thin" + dash, d=circle_path(cx, cy, max(r - 3, 1)))
        kinds = event_kinds(el)
        if len(kinds) > 1:
            marker = "parallelMultiple" if el.get("parallelMultiple") == "true" else "multiple"
        else:
            marker = kinds[0] if kinds else ""
        if marker in EVENT_MARKERS:
            thrown = kind in ("endEvent", "intermediateThrowEvent", "implicitThrowEvent")
            scale = 2 * r / 36
            paint(group, EVENT_MARKERS[marker], cx - 18 * scale, cy - 18 * scale, scale,
                  THROWN_ROLE if thrown else None)

    def _gateway(self, di: etree._Element, el: etree._Element, kind: str, box: Box) -> None:
        group = self._group("nodes", di, el, kind)
        points = [(box.cx, box.y), (box.x + box.w, box.cy), (box.cx, box.y + box.h), (box.x, box.cy)]
        add(group, "path", class_="body", d=polyline_path(points, close=True))
        marker = kind
        if kind == "eventBasedGateway" and el.get("eventGatewayType") == "Parallel":
            marker = "parallelEventBasedGateway"
        if kind == "exclusiveGateway" and di.get("isMarkerVisible") != "true":
            return  # BPMN-DI draws the X only when asked to
        paint(group, GATEWAY_MARKERS[marker], box.x, box.y, min(box.w, box.h) / 50)

    def _data(self, di: etree._Element, el: etree._Element, kind: str, box: Box) -> None:
        group = self._group("nodes", di, el, kind)
        x, y, w, h = box.x, box.y, box.w, box.h
        if kind == "dataStoreReference":
            ry = min(h * 0.12, 10)
            arc = f"a{num(w / 2)} {num(ry)} 0 0 0 {num(w)} 0"
            back = f"a{num(w / 2)} {num(ry)} 0 0 0 {num(-w)} 0"
            add(group, "path", class_="body",
                d=f"M{num(x)} {num(y + ry)}{arc}{back}v{num(h - 2 * ry)}{arc}v{num(-(h - 2 * ry))}")
            for k in (1, 2):
                add(group, "path", class_="body open thin", d=f"M{num(x)} {num(y + ry + k * 5)}{arc}")
            return
        fold = min(w, h) * 0.3
        add(group, "path", class_="body thin",
            d=f"M{num(x)} {num(y)}h{num(w - fold)}l{num(fold)} {num(fold)}v{num(h - fold)}h{num(-w)}z")
        add(group, "path", class_="body open thin",
            d=f"M{num(x + w - fold)} {num(y)}v{num(fold)}h{num(fold)}")
        if kind in ("dataInput", "dataOutput"):
            role = "shape" if kind == "dataInput" else "solid"
            paint(group, [("M2 5h6v-3l6 5-6 5v-3h-6z", role)], x + 2, y + 2)
        target = self.model.get(el.get("dataObjectRef") or "") if kind == "dataObjectReference" else el
        if target is not None and target.get("isCollection") == "true":
            paint(group, BOTTOM_MARKERS["parallel"], box.cx - 7, y + h - 15)
