"""Text in the drawing: width estimates, wrapping, and lines of text placed in a box."""
from __future__ import annotations

from lxml import etree

from .model import Box
from .svg import add

FONT = 11.0
LINE = 13.0  # line height; modelers size label bounds for 11px text on ~13px lines

_NARROW = set("fijlrtI.,;:!'|()[] ")
_WIDE = set("mwMW@%")


def text_width(text: str) -> float:
    """Estimate Arial width at 11px: the server has no font metrics, and a close guess wraps
    labels the way modelers sized their bounds."""
    units = sum(0.28 if ch in _NARROW else 0.86 if ch in _WIDE
                else 0.66 if ch.isupper() else 0.52 for ch in text)
    return units * FONT


def wrap(text: str, width: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split():
            while text_width(word) > width and len(word) > 1:  # break words longer than a line
                if line:
                    lines.append(line)
                    line = ""
                cut = max(1, int(len(word) * width / text_width(word)))
                lines.append(word[:cut])
                word = word[cut:]
            candidate = f"{line} {word}" if line else word
            if line and text_width(candidate) > width:
                lines.append(line)
                candidate = word
            line = candidate
        if line:
            lines.append(line)
    return lines


def draw_text(parent: etree._Element, lines: list[str], x: float, top: float, anchor: str = "middle",
              transform: str | None = None) -> None:
    if not lines:
        return
    node = add(parent, "text", text_anchor=anchor, transform=transform)
    for i, line in enumerate(lines):
        add(node, "tspan", line, x=x, y=top + LINE * (i + 1) - 3.5)


def draw_centred_text(parent: etree._Element, text: str, box: Box, pad: float = 5.0) -> None:
    lines = wrap(text, max(box.w - 2 * pad, 10))
    draw_text(parent, lines, box.cx, box.cy - len(lines) * LINE / 2)
