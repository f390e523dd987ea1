"""The engine's errors: one small hierarchy that the web layer maps to HTTP statuses in one place.

    PasserelleError
    ├── NotFound             the thing does not exist, or the actor may not see it      (404)
    ├── PermissionDenied     the actor may see it but not do this                        (403)
    ├── Conflict             the state changed under the actor: task no longer ready,
    │                        claimed by someone else, concurrent completion            (409)
    ├── InvalidData          submitted data breaks the form or a rule; `.errors` maps
    │                        field -> [Message] (engine.messages)                       (422)
    ├── InvalidBundle        a BPMN/DMN upload that cannot be deployed; `.problems`
    │                        lists Problem(file, line, element, code, params)           (422)
    └── ForbiddenCode        diagram code the sandbox refuses (import, dunder, ...)
        │                    or that exceeds its time/size bounds; at run time the
        │                    instance is marked failed with this message.
        └── SandboxCrashed   diagram code that crashed its sandbox process or ran past
                             its deadline (killed); in the timer worker, a failed
                             attempt (retried with backoff, then an incident).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
    """One thing wrong with an uploaded file, located for a person to fix it: `code` (one of
    PROBLEM_CODES) and its `params` say what, and the web words it in the reader's language."""

    file: str
    line: int | None
    element: str | None
    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "element": self.element, "code": self.code,
                "params": dict(self.params)}


#: Every Problem code the engine writes, with its parameters (texts: web/pages/deploy_texts.py).
PROBLEM_CODES: dict[str, tuple[str, ...]] = {
    # the upload and its files
    "upload.empty": (),
    "upload.no_bpmn": (),
    "upload.several_bpmn": ("count", "files"),
    "file.name_too_long": (),
    "file.wrong_kind": (),
    "file.empty": (),
    "file.not_bpmn": ("root", "[namespace]"),
    "file.not_dmn": ("root", "[namespace]"),
    "file.not_kind": ("kind", "root"),
    "xml.not_well_formed": ("detail",),
    "xml.too_large": ("limit",),
    "xml.dtd": (),
    # structure
    "id.duplicate": ("id", "first_line"),
    "process.none": (),
    "process.id_too_long": (),
    "process.name_too_long": (),
    "process.not_executable": ("id",),
    "process.none_executable": (),
    "flow.no_end": ("end",),
    "flow.unknown_end": ("end", "ref"),
    "start.no_outgoing": (),
    "end.no_incoming": (),
    "dmn.no_decision": (),
    "dmn.several_decisions": (),
    "decision.duplicate": ("id", "file"),
    "decision.unnamed": (),
    "decision.unknown": ("ref", "known"),
    "call.unnamed": (),
    "call.unknown": ("called",),
    # code
    "code.refused": ("what", "expression", "reason"),
    "code.timer": ("reason",),
    "script.empty": (),
    "assignment.refused": ("where", "expression"),
    "property.refused": ("property", "expression"),
    "dmn.entry_too_long": ("entry", "max_chars", "max_marks"),
    "dmn.entry_unreadable": ("entry",),
    # SpiffWorkflow's verdict, in its own words
    "spiff.invalid": ("detail",),
    "spiff.crashed": ("detail",),
    "spiff.cannot_store": ("detail",),
    # the phase a step declares (engine.phases)
    "phase.unknown": ("phase", "known"),
}


class InvalidBundle(PasserelleError):
    def __init__(self, problems: list[Problem]):
        first = problems[0].code if problems else "invalid files"
        super().__init__(f"{len(problems)} problem(s) in the uploaded files: {first}")
        self.problems = problems


class ForbiddenCode(PasserelleError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class SandboxCrashed(ForbiddenCode):
    pass
