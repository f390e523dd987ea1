"""What the engine tells a person: a code and its parameters, never a sentence.

    Message("form.min_length", min=3)     -> rendered by the web as "Write at least 3 characters."
                                             or "Écrivez au moins 3 caractères."

The web layer (`web/messages/`, one catalogue) holds the words for every code, in each language, and renders a
Message late, in the reader's language; the engine only declares which codes exist. A Message is
plain data: it compares by value and round-trips through JSON (`as_dict` / `from_dict`, `dumps` /
`loads`), so it can be stored in a column or an audit event and rendered years later.

Every code is declared once, with the names of the parameters it may carry, by the module that
produces it (`declare("form.min_length", "min")`, next to the code that raises it); `CODES` then
holds them all once `engine` is imported, and a web test fails if one has no text in French or
English. To add messages elsewhere in the engine (diff changes, validation problems, mail): declare
the codes in your module, return `Message(code, **params)`, add the words to its family in `web/messages/`.

A parameter is JSON (text, number, boolean, None, lists of them) or another Message — a failure's
`error` may be the code saying why a value could not be stored.
"""
from __future__ import annotations

import json
from typing import Any

#: every code the engine can produce -> the names of the parameters it may carry
CODES: dict[str, tuple[str, ...]] = {}


def declare(code: str, *params: str) -> str:
    """Declare `code` (namespaced: `form.required`) and the parameters it may carry; returns it.

    Declaring the same code twice with other parameters is a programming error (ValueError).
    """
    if CODES.get(code, params) != params:
        raise ValueError(f"message code {code!r} is declared twice with different parameters")
    CODES[code] = params
    return code


class Message:
    """A code and its parameters: what the engine says, for the web to put into words."""

    __slots__ = ("code", "params")

    def __init__(self, code: str, **params: Any):
        allowed = CODES.get(code)
        if allowed is None:
            raise ValueError(f"undeclared message code {code!r}")
        unknown = set(params) - set(allowed)
        if unknown:
            raise ValueError(f"message {code!r} takes no parameter {', '.join(sorted(unknown))}")
        self.code = code
        self.params = {k: v for k, v in params.items() if v is not None}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.code, self.params) == (other.code, other.params)

    __hash__ = None  # type: ignore[assignment]  # parameters may be lists

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"Message({self.code!r}{params})"

    __str__ = __repr__  # for logs and tracebacks only: people get the web's words

    def as_dict(self) -> dict[str, Any]:
        """`{"code": ..., **params}`, nested Messages as dicts too: what is stored."""
        return {"code": self.code,
                **{k: v.as_dict() if isinstance(v, Message) else v for k, v in self.params.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """The Message `as_dict` wrote (ValueError if its code or a parameter is unknown)."""
        params = {k: cls.from_dict(v) if isinstance(v, dict) and "code" in v else v
                  for k, v in data.items() if k != "code"}
        return cls(str(data.get("code")), **params)

    def dumps(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str | None, legacy: str | None = None) -> Message | None:
        """The Message stored in a text column by `dumps`; None for no text.

        A row written before messages had codes holds a plain sentence: it becomes
        `Message(legacy, text=...)` (ValueError without `legacy`).
        """
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if is_stored_message(data):
            try:
                return cls.from_dict(data)
            except ValueError:  # a parameter this version does not know: read it as text
                pass
        if legacy is None:
            raise ValueError(f"not a stored message: {text[:80]!r}")
        return cls(legacy, text=text)


def is_stored_message(value: Any) -> bool:
    """Whether `value` (read from JSON) is a Message's `as_dict`."""
    return isinstance(value, dict) and isinstance(value.get("code"), str) and value["code"] in CODES
