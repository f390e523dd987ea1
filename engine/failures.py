"""Why a request stopped, in words a process owner can act on: what went wrong, at which step of
the diagram and, for a script, on which line.

The engine stores the sentence in English (`Instance.failure` and the `instance_failed` event);
`Failure.parse` splits it again so that a page can say it in its own language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .sandbox import find_forbidden

FORBIDDEN = "forbidden code in the diagram:"
STOPPED = "the process could not go on:"
_CODE_LIMIT = 200
_WHERE = re.compile(r" — step «(?P<step>.*)» \((?P<bpmn_id>[^()]*)\)(?:, line (?P<line>\d+)(?:: (?P<code>.*))?)?$",
                    re.DOTALL)


@dataclass(frozen=True)
class Failure:
    forbidden: bool  # diagram code the sandbox refused, else any other error
    detail: str  # what went wrong (the error's own words)
    step: str | None = None  # the name of the diagram element that failed
    bpmn_id: str | None = None
    line: int | None = None  # of the script, for a script task
    code: str | None = None  # that line

    @classmethod
    def of(cls, err: BaseException) -> Failure:
        forbidden = find_forbidden(err)
        if forbidden is not None:
            detail = forbidden.message
        else:
            text = str(err).strip()
            detail = text.splitlines()[0].strip() if text else type(err).__name__
        spec = getattr(err, "task_spec", None)
        bpmn_id = getattr(spec, "bpmn_id", None)
        line = getattr(err, "line_number", None) or (getattr(forbidden, "line", None) if forbidden else None)
        code = (getattr(err, "error_line", None) or "").strip()[:_CODE_LIMIT] or None
        return cls(forbidden is not None, detail, (getattr(spec, "bpmn_name", None) or bpmn_id) if bpmn_id else None,
                   bpmn_id, line or None, code if line else None)

    def __str__(self) -> str:
        text = f"{FORBIDDEN if self.forbidden else STOPPED} {self.detail}"
        if self.bpmn_id:
            text += f" — step «{self.step}» ({self.bpmn_id})"
            if self.line:
                text += f", line {self.line}" + (f": {self.code}" if self.code else "")
        return text

    @classmethod
    def parse(cls, text: str) -> Failure | None:
        """The parts of a sentence `str(Failure)` wrote; None for any other text."""
        forbidden = text.startswith(FORBIDDEN)
        if not forbidden and not text.startswith(STOPPED):
            return None
        rest = text[len(FORBIDDEN if forbidden else STOPPED):].strip()
        where = _WHERE.search(rest)
        if where is None:
            return cls(forbidden, rest)
        return cls(forbidden, rest[:where.start()].strip(), where["step"], where["bpmn_id"],
                   int(where["line"]) if where["line"] else None, where["code"])
