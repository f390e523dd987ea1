"""The engine's errors: one small hierarchy that the web layer maps to HTTP statuses in one place.

    PasserelleError
    ├── NotFound             the thing does not exist, or the actor may not see it      (404)
    ├── PermissionDenied     the actor may see it but not do this                        (403)
    ├── Conflict             the state changed under the actor: task no longer ready,
    │                        claimed by someone else, concurrent completion            (409)
    ├── InvalidData          submitted data breaks the form or a rule; `.errors` maps
    │                        field -> [Message] (engine.messages)                       (422)
    ├── InvalidBundle        a BPMN/DMN upload that cannot be deployed; `.problems`
    │                        lists Problem(file, line, element, message)                (422)
    └── ForbiddenCode        diagram code the sandbox refuses (import, dunder, ...)
        │                    or that exceeds its time/size bounds; at run time the
        │                    instance is marked failed with this message.
        └── SandboxCrashed   diagram code that crashed its sandbox process or ran past
                             its deadline (killed); in the timer worker, a failed
                             attempt (retried with backoff, then an incident).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class PasserelleError(Exception):
    """Base of every error the engine raises on purpose."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(PasserelleError):
    pass


class PermissionDenied(PasserelleError):
    pass


class Conflict(PasserelleError):
    pass


class InvalidData(PasserelleError):
    def __init__(self, message: str, errors: dict[str, list[Any]] | None = None):
        super().__init__(message)
        self.errors = errors or {}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an uploaded file, located for a person to fix it."""

    file: str
    line: int | None
    element: str | None
    message: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "element": self.element, "message": self.message}


class InvalidBundle(PasserelleError):
    def __init__(self, problems: list[Problem]):
        first = problems[0].message if problems else "invalid files"
        super().__init__(f"{len(problems)} problem(s) in the uploaded files: {first}")
        self.problems = problems


class ForbiddenCode(PasserelleError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class SandboxCrashed(ForbiddenCode):
    pass
