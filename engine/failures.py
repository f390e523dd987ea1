"""Why a request stopped, as data a process owner can act on: what went wrong, at which step of
the diagram and, for a script, on which line.

`failure_of(err)` is a Message; the engine stores it as JSON (`Instance.failure`, the
`instance_failed` event's `message`), and the web says it in the reader's language:

    {"code": "failure.step_failed", "error": "ZeroDivisionError: division by zero",
     "step": "Divide", "bpmn_id": "divide", "line": 1, "source": "share = time_share / 0"}

`error` is the error's own words (a Python exception, the sandbox's reason), or a Message when the
engine itself knows why (a value that cannot be stored). A row written before failures had codes
reads as `failure.legacy` with its sentence as `text`.
"""
from __future__ import annotations

import json

from .messages import Message, declare
from .sandbox import find_forbidden

_WHERE = ("error", "step", "bpmn_id", "line", "source")
#: diagram code the sandbox refused (forbidden, too long, too large)
FORBIDDEN_CODE = declare("failure.forbidden_code", *_WHERE)
#: any other error of a step: a script, a condition, a decision table, a value not storable
STEP_FAILED = declare("failure.step_failed", *_WHERE)
#: a failure stored as a sentence, before failures had codes
LEGACY = declare("failure.legacy", "text")
CODES = (FORBIDDEN_CODE, STEP_FAILED, LEGACY)
_SOURCE_LIMIT = 200


def failure_of(err: BaseException) -> Message:
    """What `err`, which stopped a request, says: its code, its words, where it happened."""
    forbidden = find_forbidden(err)
    error: str | Message
    if forbidden is not None:
        error = forbidden.said
    elif isinstance(getattr(err, "passerelle_message", None), Message):
        error = err.passerelle_message
    else:
        text = str(err).strip()
        error = text.splitlines()[0].strip() if text else type(err).__name__
    spec = getattr(err, "task_spec", None)
    bpmn_id = getattr(spec, "bpmn_id", None)
    line = getattr(err, "line_number", None) or (getattr(forbidden, "line", None) if forbidden else None)
    source = (getattr(err, "error_line", None) or "").strip()[:_SOURCE_LIMIT] or None
    return Message(FORBIDDEN_CODE if forbidden is not None else STEP_FAILED, error=error,
                   step=(getattr(spec, "bpmn_name", None) or bpmn_id) if bpmn_id else None, bpmn_id=bpmn_id,
                   line=line or None, source=source if line else None)


def stored_failure(stored: str | dict | None) -> Message | None:
    """The failure stored in `Instance.failure` (JSON text) or in an `instance_failed` event's
    `message` (a dict; a sentence in older events); None if there is none."""
    if isinstance(stored, dict):
        stored = json.dumps(stored, ensure_ascii=False)
    return Message.loads(stored, legacy=LEGACY)
