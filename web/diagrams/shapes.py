"""How a _Drawing draws shapes: pools, lanes, tasks, sub-processes, events, gateways, data."""
from __future__ import annotations

from lxml import etree

from engine import BPMN_NS

from .labels import LINE, _centred_text, _text, _wrap
from .markers import _BOTTOM_MARKERS, _EVENT_MARKERS, _GATEWAY_MARKERS, _TASK_ICONS, _THROWN_ROLE, _paint
from .model import (_DATA, _EVENTS, _EXTERNAL_LABEL, _GATEWAYS, _SUBPROCESSES, _TASKS, _Box, _bounds, _event_kinds,
                    _label_text, _local, _name)
from .svg import _add, _circle, _n, _polyline


class _Shapes:
    """The shapes part of _Drawing (see render.py): one method for each kind of shape."""

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
