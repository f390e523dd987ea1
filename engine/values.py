"""What a request's data may hold: JSON values only, and not too much of them.

Task data goes to a JSON column, to the audit trail and to API answers, so every value a step
stores (a script, a DMN output, a form) must be plain JSON: text without NUL characters or lone
surrogates (PostgreSQL and strict JSON parsers refuse them), finite numbers, lists, objects with
text keys. Dates become 'YYYY-MM-DD' strings here, where they are stored, so that the date helpers
can keep returning dates inside diagram code.

The size a request holds is counted per top-level field (each value serialized once, when it
changes), so a step costs what it changed, not the whole request.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from .messages import Message, declare

#: the serialized size, in bytes, the data of one request may reach
MAX_DATA_BYTES = 256 * 1024
#: instances one multi-instance task may create (loopCardinality, or the items of its collection)
MAX_INSTANCES = 200


@dataclass(frozen=True)
class Limits:
    """What one request may hold: its data (bytes, serialized) and the instances of one
    multi-instance task. The web sets them from its settings (`configure`); defaults otherwise."""

    data_bytes: int = MAX_DATA_BYTES
    instances: int = MAX_INSTANCES


limits = Limits()


def configure(new: Limits) -> None:
    """Set the limits of this process (the web's and the worker's settings)."""
    global limits
    limits = new

_SCALARS = (str, int, float, bool, type(None))

NUL_CHARACTER = declare("value.nul_character")
LONE_SURROGATE = declare("value.lone_surrogate")
KEY_NUL_CHARACTER = declare("value.key_nul_character")
KEY_LONE_SURROGATE = declare("value.key_lone_surrogate")
NOT_FINITE = declare("value.not_finite", "number")  # NaN, infinity
KEY_NOT_TEXT = declare("value.key_not_text", "type")
NOT_JSON = declare("value.not_json", "type")  # a set, a range, an object...
NOT_STORABLE = declare("value.not_storable", "field", "reason")  # reason: one of the above
TOO_LARGE = declare("value.too_large", "size_kb", "limit_kb")


class NotJson(ValueError):
    """A value that cannot be stored as it is; `.field` names the top-level field holding it."""

    def __init__(self, field: str, reason: Message):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason

    def as_message(self) -> Message:
        return Message(NOT_STORABLE, field=self.field, reason=self.reason)


class TooLarge(ValueError):
    def __init__(self, size: int, limit: int, field: str | None):
        super().__init__(f"the request would hold {size // 1024} KB of data, more than its {limit // 1024} KB")
        self.size, self.limit, self.field = size, limit, field

    def as_message(self) -> Message:
        return Message(TOO_LARGE, size_kb=self.size // 1024, limit_kb=self.limit // 1024)


def text_problem(text: str, key: bool = False) -> Message | None:
    """Why `text` (a value, or a `key`) cannot be stored (NUL character, lone surrogate), or None."""
    if "\x00" in text:
        return Message(KEY_NUL_CHARACTER if key else NUL_CHARACTER)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return Message(KEY_LONE_SURROGATE if key else LONE_SURROGATE)
    return None


def stored(field: str, value: Any, limit: int | None = None) -> Any:
    """`value` as it may be stored: itself, or a copy with dates as ISO strings (tuples as lists).

    Raises NotJson naming `field` for anything else (sets, ranges, objects, NaN, non-text keys...),
    TooLarge as soon as it holds more than about `limit` bytes (one string repeated a thousand
    times is counted a thousand times, before anything serializes it).
    """
    return _Walk(field, limits.data_bytes if limit is None else limit).value(value)


class _Walk:
    def __init__(self, field: str, limit: int):
        self.field, self.left, self.limit = field, limit, limit

    def _spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise TooLarge(self.limit - self.left, self.limit, self.field)

    def value(self, value: Any) -> Any:
        field = self.field
        if isinstance(value, str):
            self._spend(len(value) + 2)
            problem = text_problem(value)
            if problem:
                raise NotJson(field, problem)
            return value
        self._spend(1)
        if isinstance(value, float) and not math.isfinite(value):
            raise NotJson(field, Message(NOT_FINITE, number=str(value)))
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        if isinstance(value, (list, tuple)):
            items = [self.value(item) for item in value]
            return value if isinstance(value, list) and all(a is b for a, b in zip(items, value)) else items
        if isinstance(value, dict):
            result, same = {}, True
            for key, item in value.items():
                if not isinstance(key, str):
                    raise NotJson(field, Message(KEY_NOT_TEXT, type=type(key).__name__))
                problem = text_problem(key, key=True)
                if problem:
                    raise NotJson(field, problem)
                self._spend(len(key))
                result[key] = kept = self.value(item)
                same = same and kept is item
            return value if same else result
        raise NotJson(field, Message(NOT_JSON, type=type(value).__name__))


def size_of(value: Any) -> int:
    """Bytes of `value` serialized (a value `stored` accepted)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


class DataBudget:
    """The serialized size of a request's data, kept up to date field by field.

    Built once per step from the data as it stands (one serialization); `update` then costs only
    the fields that changed.
    """

    def __init__(self, data: Mapping[str, Any], limit: int | None = None):
        self.limit = limits.data_bytes if limit is None else limit
        self.sizes = {key: size_of(value) for key, value in data.items()}
        self.total = sum(self.sizes.values())

    def update(self, current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        """Check `changes` to `current` (JSON values, the size after them); return them as stored.

        Raises NotJson or TooLarge (naming the largest changed field); the budget is then unchanged.
        """
        cleaned: dict[str, Any] = {}
        sizes = dict(self.sizes)
        for key, value in changes.items():
            # the same text or number as stored: unchanged (a list or a dict may have been changed
            # in place, even deep inside, so it is checked again)
            if isinstance(value, _SCALARS) and current.get(key, _MISSING) is value and key in sizes:
                continue
            cleaned[key] = value = stored(key, value, self.limit)
            sizes[key] = size_of(value)
        total = sum(sizes.values())
        if total > self.limit and total > self.total:
            largest = max(cleaned, key=lambda k: sizes[k], default=None)
            raise TooLarge(total, self.limit, largest)
        self.sizes, self.total = sizes, total
        return cleaned

_MISSING = object()
