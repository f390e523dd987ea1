"""Markers drawn inside shapes and at the ends of edges, as path data."""
from __future__ import annotations

import math

from lxml import etree

from .svg import add, circle_path, num, polyline_path

# Markers, as path data in small unit boxes: events 36x36, gateways 50x50, task icons and
# bottom markers 20x20 / 14x14. A role says how a part is painted; "shape" and "detail" parts
# of event markers are inverted (filled) on throwing events.

EVENT_MARKERS: dict[str, list[tuple[str, str]]] = {
    "message": [("M10 12h16v12h-16z", "shape"), ("M10 12l8 6 8-6", "detail")],
    "timer": [(circle_path(18, 18, 9), "shape"),
              ("M18 12v6l4 3M18 9v2M27 18h-2M18 27v-2M9 18h2", "line")],
    "error": [("M11 26l4-14 5 7 5-9-4 14-5-7z", "shape")],
    "signal": [("M18 9l8.5 14.5h-17z", "shape")],
    "escalation": [("M18 9l7 16-7-6-7 6z", "shape")],
    "conditional": [("M12 10h12v16h-12z", "shape"), ("M14 14h8M14 18h8M14 22h8", "line")],
    "terminate": [(circle_path(18, 18, 8), "solid")],
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
    return polyline_path(points, close=True)


TASK_ICONS: dict[str, list[tuple[str, str]]] = {
    "userTask": [(circle_path(10, 6, 4), "shape"), ("M2 19c0-6 3-8 8-8s8 2 8 8z", "shape")],
    "manualTask": [("M1 9l6-5h4l-3 3h9a1.5 1.5 0 0 1 0 3h-4h3a1.5 1.5 0 0 1 0 3h-3h2a1.5 1.5 0 "
                    "0 1 0 3h-2h1a1.5 1.5 0 0 1 0 3h-10l-3-2z", "shape")],
    "scriptTask": [("M6 2h11c-5 4 4 9-1 16h-11c5-7-4-12 1-16z", "shape"),
                   ("M7 6h7M8 10h7M7 14h7", "line")],
    "businessRuleTask": [("M1 3h18v14h-18z", "shape"), ("M1 3h18v4h-18z", "solid"),
                         ("M1 12h18M6 7v10", "line")],
    "serviceTask": [(_gear(10, 10, 9, 6.5), "shape"), (circle_path(10, 10, 3), "line")],
    "sendTask": [("M1 4h18v12h-18z", "solid"), ("M1 4l9 7 9-7", "inverse")],
    "receiveTask": [("M1 4h18v12h-18z", "shape"), ("M1 4l9 7 9-7", "line")],
}

BOTTOM_MARKERS: dict[str, list[tuple[str, str]]] = {
    "collapsed": [("M0 0h14v14h-14z", "shape"), ("M7 3v8M3 7h8", "line")],
    "loop": [("M3 11A5.5 5.5 0 1 1 11 11", "line"), ("M11 11l0.5-4M11 11l-4 0.5", "line")],
    "parallel": [("M3 1v12M7 1v12M11 1v12", "bar")],
    "sequential": [("M1 3h12M1 7h12M1 11h12", "bar")],
    "adhoc": [("M1 8c2-4 4-4 6 0s4 4 6 0", "line")],
    "compensation": [("M1 7l6-5v10zM7 7l6-5v10z", "shape")],
}

_ROLE_CLASS = {"shape": "mk", "solid": "mk-solid", "line": "mk-line", "detail": "mk-line",
               "inverse": "mk-inv", "bar": "mk-bar"}
THROWN_ROLE = {"shape": "solid", "detail": "inverse"}

GATEWAY_MARKERS: dict[str, list[tuple[str, str]]] = {
    "exclusiveGateway": [("M18 18l14 14M32 18l-14 14", "gw")],
    "parallelGateway": [("M25 13v24M13 25h24", "gw")],
    "complexGateway": [("M25 13v24M13 25h24M17 17l16 16M33 17l-16 16", "gw")],
    "inclusiveGateway": [(circle_path(25, 25, 11), "gw")],
    "eventBasedGateway": [(circle_path(25, 25, 13), "gw thin"), (circle_path(25, 25, 10.5), "gw thin"),
                          ("M25 18l7 5-2.7 8h-8.6l-2.7-8z", "gw thin")],
    "parallelEventBasedGateway": [(circle_path(25, 25, 13), "gw thin"),
                                  ("M23 16h4v7h7v4h-7v7h-4v-7h-7v-4h7z", "gw thin")],
}


def paint(parent: etree._Element, parts: list[tuple[str, str]], x: float, y: float,
          scale: float = 1.0, roles: dict[str, str] | None = None) -> None:
    transform = f"translate({num(x)} {num(y)})" + (f" scale({num(scale)})" if scale != 1 else "")
    group = add(parent, "g", transform=transform)
    for d, role in parts:
        role = (roles or {}).get(role, role)
        add(group, "path", d=d, class_=_ROLE_CLASS.get(role, role))


def arrowhead(points: list[tuple[float, float]], length: float = 11, half: float = 4,
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


def start_direction(points: list[tuple[float, float]]) -> tuple[float, float, float, float] | None:
    head = arrowhead(points, length=1, half=0, at_start=True)
    if head is None:
        return None
    (bx, by), (sx, sy) = head[0], head[1]
    return sx, sy, bx - sx, by - sy
