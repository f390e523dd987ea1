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

from .render import DONE_TEXT, NO_LAYOUT_TEXT, WAITING_TEXT, has_layout, render_svg

__all__ = ["render_svg", "has_layout", "NO_LAYOUT_TEXT", "WAITING_TEXT", "DONE_TEXT"]
