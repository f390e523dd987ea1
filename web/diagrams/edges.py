"""How a _Drawing draws edges: sequence and message flows, associations, their heads and markers."""
from __future__ import annotations

from lxml import etree

from engine import BPMN_NS

from .markers import arrowhead, start_direction
from .model import GATEWAYS, Box, local_name, name_of, waypoints
from .svg import add, circle_path, polyline_path


class Edges:
    """The edges part of _Drawing (see render.py)."""

    def _edge(self, di: etree._Element) -> None:
        el = self.model.get(di.get("bpmnElement") or "")
        kind = local_name(el)
        points = waypoints(di)
        for x, y in points:
            self._grow(Box(x, y, 0, 0))
        layer = "overlay" if kind == "messageFlow" else "flows"
        group = self._group(layer, di, el, kind or "edge", "edge")
        style = {"messageFlow": "line dashed", "association": "line dotted",
                 "dataInputAssociation": "line dotted", "dataOutputAssociation": "line dotted"}
        path = add(group, "path", class_=style.get(kind, "line"))
        if not points:
            return
        path.set("d", polyline_path(points))
        if el is None:
            return  # an edge for nothing in the model: a bare line, no claim about its meaning
        if kind not in style:  # sequence flows, and edges of kinds drawn like them
            self._head(group, points, "head")
            self._flow_source_marker(group, el, points)
        elif kind == "messageFlow":
            start = start_direction(points)
            if start:
                sx, sy, ux, uy = start
                add(group, "path", class_="head open", d=circle_path(sx + ux * 4, sy + uy * 4, 4))
            self._head(group, points, "head open")
        elif kind in ("dataInputAssociation", "dataOutputAssociation"):
            self._head(group, points, "head lines", closed=False)
        elif kind == "association" and el.get("associationDirection") in ("One", "Both"):
            self._head(group, points, "head lines", closed=False)
            if el.get("associationDirection") == "Both":
                self._head(group, points, "head lines", closed=False, at_start=True)
        if el is not None and name_of(el):
            middle = points[len(points) // 2 - 1:len(points) // 2 + 1] if len(points) > 1 else points
            mx = sum(p[0] for p in middle) / len(middle)
            my = sum(p[1] for p in middle) / len(middle)
            self._external_label(di, el, None, anchor_point=(mx, my))

    def _head(self, group: etree._Element, points: list[tuple[float, float]], cls: str,
              closed: bool = True, at_start: bool = False) -> None:
        head = arrowhead(points, at_start=at_start)
        if head:
            add(group, "path", class_=cls, d=polyline_path(head, close=closed))

    def _flow_source_marker(self, group: etree._Element, el: etree._Element | None,
                            points: list[tuple[float, float]]) -> None:
        """Default flows get a slash at their source; conditional flows leaving an activity a
        diamond (from a gateway the condition is implied)."""
        start = start_direction(points)
        if el is None or start is None:
            return
        sx, sy, ux, uy = start
        source = self.model.get(el.get("sourceRef") or "")
        if source is not None and source.get("default") == el.get("id"):
            px, py = sx + ux * 10, sy + uy * 10
            dx, dy = (ux - uy) * 5, (uy + ux) * 5  # 45 degrees across the line
            add(group, "path", class_="line", d=polyline_path([(px - dx, py - dy), (px + dx, py + dy)]))
        elif (el.find(f"{{{BPMN_NS}}}conditionExpression") is not None
              and local_name(source) not in GATEWAYS):
            diamond = [(sx, sy), (sx + ux * 7 - uy * 4, sy + uy * 7 + ux * 4),
                       (sx + ux * 14, sy + uy * 14), (sx + ux * 7 + uy * 4, sy + uy * 7 - ux * 4)]
            add(group, "path", class_="head open", d=polyline_path(diamond, close=True))
