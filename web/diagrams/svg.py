"""SVG primitives: numbers, elements, and path data for circles and polylines."""
from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

SVG_NS = "http://www.w3.org/2000/svg"


def num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def add(parent: etree._Element, tag: str, text: str | None = None, **attrs: object) -> etree._Element:
    """Append an SVG element; `class_` -> class, `data_element_id` -> data-element-id."""
    el = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}", {
        key.rstrip("_").replace("_", "-"): num(value) if isinstance(value, float) else str(value)
        for key, value in attrs.items() if value is not None})
    if text is not None:
        el.text = text
    return el


def circle_path(cx: float, cy: float, r: float) -> str:
    arc = f"a{num(r)} {num(r)} 0 1 0"
    return f"M{num(cx - r)} {num(cy)}{arc} {num(2 * r)} 0{arc} {num(-2 * r)} 0z"


def polyline_path(points: Iterable[tuple[float, float]], close: bool = False) -> str:
    d = "M" + "L".join(f"{num(x)} {num(y)}" for x, y in points)
    return d + "z" if close else d
