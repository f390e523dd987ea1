"""The engine's errors: one small hierarchy that the web layer maps to HTTP statuses in one place.

    PasserelleError      `.said`: what it tells a person, a Message (code + params) the web
    │                    puts into words; `.message` / str(): the same in English, for logs
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

from .messages import Message, declare


class PasserelleError(Exception):
    """Base of every error the engine raises on purpose: `said` (a Message of ERROR_CODES) is
    what a person is told, in their language; `message` is its English, for logs only."""

    def __init__(self, said: Message, message: str):
        if not isinstance(said, Message):
            raise TypeError(f"an engine error says a Message, not {said!r}")
        super().__init__(message)
        self.said = said
        self.message = message


class NotFound(PasserelleError):
    pass


class PermissionDenied(PasserelleError):
    pass


class Conflict(PasserelleError):
    pass


class InvalidData(PasserelleError):
    def __init__(self, said: Message, message: str, errors: dict[str, list[Any]] | None = None):
        super().__init__(said, message)
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


#: Every Problem code the engine writes, with its parameters (texts: web/messages/uploads.py).
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
        super().__init__(Message(BUNDLE_INVALID, count=len(problems)),
                         f"{len(problems)} problem(s) in the uploaded files: {first}")
        self.problems = problems


class ForbiddenCode(PasserelleError):
    """`reason` is a Message of ours, or the sandbox's own words about the code it refused (its
    policy, RestrictedPython's checks), kept as the `detail` of `sandbox.refused`."""

    def __init__(self, reason: Message | str, line: int | None = None, message: str | None = None):
        said = reason if isinstance(reason, Message) else Message(SANDBOX_REFUSED, detail=reason)
        super().__init__(said, message if message is not None else str(reason))
        self.line = line


class SandboxCrashed(ForbiddenCode):
    pass


# --- what the errors say (their words: web/messages/errors.py) ----------------------------------------------
# NotFound
NO_REQUEST = declare("error.no_request", "id")
NO_TASK = declare("error.no_task", "id")
NO_PROCESS = declare("error.no_process", "key", "version")
NO_PROPOSED_VERSION = declare("error.no_proposed_version", "id")
NO_STAGED_UPLOAD = declare("error.no_staged_upload")
NO_INCIDENT = declare("error.no_incident", "kind", "id", "request")
# PermissionDenied
MAY_NOT_DEPLOY = declare("error.may_not_deploy")
MAY_NOT_DECIDE_VERSION = declare("error.may_not_decide_version")
MAY_NOT_APPROVE_VERSION = declare("error.may_not_approve_version")
MAY_NOT_SEE_PROPOSALS = declare("error.may_not_see_proposals")
MAY_NOT_CHECK_FILES = declare("error.may_not_check_files")
AUTHOR_CANNOT_APPROVE = declare("error.author_cannot_approve")
MAY_NOT_READ_AUDIT = declare("error.may_not_read_audit")
MAY_NOT_START = declare("error.may_not_start")
MAY_NOT_RELEASE = declare("error.may_not_release")
MAY_NOT_CANCEL = declare("error.may_not_cancel")
MAY_NOT_CANCEL_APPROVED = declare("error.may_not_cancel_approved")
NOT_YOUR_TASK = declare("error.not_your_task")
OWN_REQUEST = declare("error.own_request")
MAY_NOT_RETRY = declare("error.may_not_retry")
# Conflict
TASK_TAKEN = declare("error.task_taken")
TASK_NOT_WAITING = declare("error.task_not_waiting")
TASK_NOT_CLAIMED = declare("error.task_not_claimed")
TASK_ALREADY = declare("error.task_already", "status")
TASK_CLAIMED_BY = declare("error.task_claimed_by", "user")
REQUEST_ALREADY = declare("error.request_already", "status")
CHANGED_MEANWHILE = declare("error.changed_meanwhile")
VERSION_ALREADY = declare("error.version_already", "status")
INCIDENT_NOT_FAILED = declare("error.incident_not_failed", "kind", "id", "status")
INCIDENT_REQUEST_ENDED = declare("error.incident_request_ended", "id")
# InvalidData
FIELDS_NOT_VALID = declare("error.fields_not_valid")
DATA_NOT_OBJECT = declare("error.data_not_object")
DATA_KEYS_NOT_TEXT = declare("error.data_keys_not_text")
FIELDS_SET_BY_ENGINE = declare("error.fields_set_by_engine")
VALUES_TOO_LONG = declare("error.values_too_long")
REASON_MISSING = declare("error.reason_missing")
DATA_TOO_LARGE = declare("error.data_too_large", "size_kb", "limit_kb")
VALUE_NOT_STORABLE = declare("error.value_not_storable", "field")
BAD_INCIDENT_REF = declare("error.bad_incident_ref", "ref")
UNKNOWN_INCIDENT_KIND = declare("error.unknown_incident_kind", "kind")
# InvalidData: the organisation file (engine.org)
ORG_NOT_YAML = declare("org.not_yaml", "path", "detail")
ORG_NOT_MAPPING = declare("org.not_mapping")
ORG_ENTRY_NOT_MAPPING = declare("org.entry_not_mapping", "section", "entry")
ORG_ENTRY_INCOMPLETE = declare("org.entry_incomplete", "section", "entry", "missing")
ORG_UNKNOWN_KIND = declare("org.unknown_kind", "organisation", "kind")
ORG_UNKNOWN_ROLES = declare("org.unknown_roles", "user", "roles")
ORG_UNKNOWN_STATUS = declare("org.unknown_status", "user", "status")
ORG_ONE_OF = declare("org.one_of", "options")  # a field's error
ORG_REQUIRED = declare("org.required")  # a field's error
ORG_NOT_A_ROLE = declare("org.not_a_role", "roles")  # a field's error
# InvalidBundle, ForbiddenCode
BUNDLE_INVALID = declare("error.bundle_invalid", "count")
SANDBOX_REFUSED = declare("sandbox.refused", "detail")  # the sandbox's own words, not translated
SANDBOX_RESULT_TOO_LARGE = declare("sandbox.result_too_large", "limit")  # the answer of its process
SANDBOX_DATA_TOO_LARGE = declare("sandbox.data_too_large", "limit")  # the data a script leaves
SANDBOX_TOO_SLOW = declare("sandbox.too_slow", "seconds")
SANDBOX_CRASHED = declare("sandbox.crashed", "detail")
SANDBOX_TOO_MUCH_MEMORY = declare("sandbox.too_much_memory", "mib")
