"""What crosses the boundary of a sandbox process: JSON text, measured before it is written.

A value is walked once, without recursion, before `json.dumps` sees it: every occurrence of an
aliased object counts again (a list holding one 100 KB string a thousand times is 100 MB of JSON),
the walk stops as soon as the limit is passed, and nesting deeper than MAX_DEPTH is refused — so
neither the encoder nor the decoder on the other side can be made to recurse or allocate without
bound. Only JSON data passes: dicts with string keys, lists (tuples become lists), strings, finite
numbers, booleans and None; dates, which the helpers return, become ISO strings (as they are stored,
see `engine.values`).
"""
from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

from .budget import MAX_DEPTH, refuse

def check(value: Any, limit: int, name: str | None = None) -> None:
    """Refuse `value` (ForbiddenCode) unless it is JSON data of at most about `limit` characters
    and MAX_DEPTH levels; `name` says which variable holds it, for the message."""
    where = f"'{name}'" if name else "the result"
    size, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            size += len(item) + 2
        elif item is None or isinstance(item, bool):
            size += 5
        elif isinstance(item, int):
            size += item.bit_length() // 3 + 2
        elif isinstance(item, date):
            size += 34
        elif isinstance(item, float):
            if not math.isfinite(item):
                refuse(f"{where} holds {item!r}, which is not a JSON number")
            size += 24
        elif isinstance(item, (list, tuple, dict)):
            if depth >= MAX_DEPTH:
                refuse(f"{where} is nested deeper than {MAX_DEPTH} levels")
            size += 2 + len(item)
            if isinstance(item, dict):
                for key, element in item.items():
                    if not isinstance(key, str):
                        refuse(f"{where} has a {type(key).__name__} key; JSON keys are strings")
                    size += len(key) + 3
                    stack.append((element, depth + 1))
            else:
                stack.extend((element, depth + 1) for element in item)
        else:
            refuse(f"{where} holds a {type(item).__name__}; only JSON data (numbers, strings, lists, "
                   "dicts, true/false, null) can leave diagram code")
        if size > limit:
            refuse(f"result too large: {where} is more than {limit} bytes of data")


def dumps(value: Any, limit: int, name: str | None = None) -> str:
    """`value` as JSON text (ASCII, so that any string survives the pipe), checked by `check`."""
    check(value, limit, name)
    encoded = text(value)
    if len(encoded) > limit:  # escapes can make the text longer than the walk's estimate
        where = f"'{name}'" if name else "the result"
        refuse(f"result too large: {where} is {len(encoded)} bytes of data (the limit is {limit})")
    return encoded


def text(value: Any) -> str:
    """JSON text of a value `check` accepted."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"), default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, date):  # and datetime
        return value.isoformat()
    raise TypeError(type(value).__name__)  # not reached: `check` refused it


def loads(encoded: str | bytes) -> Any:
    """The value of JSON text written by `dumps` (the other side's limits apply to its length)."""
    return json.loads(encoded)
