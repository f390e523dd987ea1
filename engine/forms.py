"""Forms from `camunda:formData`: field specs for clients, and server-side validation.

A field spec is a plain dict — the wire format of the API and what the pages render:
`{"id", "label", "type", "required", "default", "options": [{"id", "label"}], "constraints": {...}}`.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Callable

from .errors import DATA_NOT_OBJECT, FIELDS_NOT_VALID, InvalidData
from .messages import Message, declare
from .values import text_problem

TYPES = ("string", "long", "boolean", "date", "enum")
_TRUE = {"true", "on", "1", "yes", "oui"}
_FALSE = {"false", "off", "0", "no", "non", ""}

# What validation says about a field (`InvalidData.errors` maps each field to a list of these).
NOT_OBJECT = declare("form.not_object")  # the data sent is not an object of field values
UNKNOWN_FIELD = declare("form.unknown_field")
READ_ONLY = declare("form.read_only")
REQUIRED = declare("form.required")
REQUIRED_WHEN = declare("form.required_when", "field", "value")  # needed when `field` has `value`
NOT_TEXT = declare("form.not_text")
NOT_WHOLE_NUMBER = declare("form.not_whole_number")
NOT_BOOLEAN = declare("form.not_boolean")
NOT_DATE = declare("form.not_date")
NOT_AN_OPTION = declare("form.not_an_option", "options")
UNSUPPORTED_TYPE = declare("form.unsupported_type", "type")
MIN = declare("form.min", "min")  # a number
MAX = declare("form.max", "max")
MIN_DATE = declare("form.min_date", "min")
MAX_DATE = declare("form.max_date", "max")
MIN_LENGTH = declare("form.min_length", "min")  # of a text
MAX_LENGTH = declare("form.max_length", "max")
MUST_BE_CHECKED = declare("form.must_be_checked")
UNKNOWN_USER = declare("form.unknown_user", "value")
MISSING_ROLE = declare("form.missing_role", "value", "role")
UNKNOWN_ORGANISATION = declare("form.unknown_organisation", "value")
ORGANISATION_KIND = declare("form.organisation_kind", "kind")  # an organisation of a kind not accepted


class _Invalid(ValueError):
    def __init__(self, message: Message):
        super().__init__(message.code)
        self.message = message


def form_spec(spiff_form) -> dict[str, Any]:
    """Turn a SpiffWorkflow camunda Form into our field specs."""
    fields = []
    for field in getattr(spiff_form, "fields", []) or []:
        constraints = {v.name: v.config for v in field.validation}
        fields.append({
            "id": field.id,
            "label": field.label or field.id,
            "type": field.type if field.type in TYPES else "string",
            "required": "required" in constraints,
            "default": field.default_value or None,
            "options": [{"id": o.id, "label": o.name} for o in getattr(field, "options", [])],
            "constraints": {k: v for k, v in constraints.items() if k != "required"},
            "properties": {p.id: p.value for p in field.properties},
        })
    return {"fields": fields}


class Lookups:
    """What validation needs to know about the organisation (injected, so forms stay pure)."""

    def __init__(self, user_roles: Callable[[str], list[str] | None],
                 organisation_kind: Callable[[str], str | None]):
        self.user_roles = user_roles
        self.organisation_kind = organisation_kind


def validate_submission(form: dict[str, Any], submitted: dict[str, Any], lookups: Lookups,
                        current: dict[str, Any] | None = None, partial: bool = False) -> dict[str, Any]:
    """Validate `submitted` against a field spec; return the cleaned, typed values.

    Raises InvalidData whose `.errors` maps each faulty field (or an unknown one) to Messages.
    Read-only fields keep their current value; submitting a different one is an error.
    `partial`: only the fields submitted are checked (data that pre-fills a form filled later).
    """
    if not isinstance(submitted, dict):
        raise InvalidData(Message(DATA_NOT_OBJECT),
                          "the data must be an object of field values", {"data": [Message(NOT_OBJECT)]})
    fields = {f["id"]: f for f in form.get("fields", [])}
    errors: dict[str, list[Message]] = {}
    for name in submitted:
        if name not in fields:
            errors.setdefault(str(name), []).append(Message(UNKNOWN_FIELD))
    if partial:
        fields = {name: field for name, field in fields.items() if name in submitted}
    cleaned: dict[str, Any] = {}
    current = current or {}
    for name, field in fields.items():
        constraints = field.get("constraints") or {}
        if "readonly" in constraints:
            if name in submitted and submitted[name] not in (None, "", current.get(name)):
                errors.setdefault(name, []).append(Message(READ_ONLY))
            continue
        try:
            value = _coerce(field, submitted.get(name))
        except _Invalid as err:
            errors.setdefault(name, []).append(err.message)
            continue
        if value is None:
            if field.get("required"):
                errors.setdefault(name, []).append(Message(REQUIRED))
            continue
        message = _check_constraints(field, value, lookups)
        if message:
            errors.setdefault(name, []).append(message)
        cleaned[name] = value
    for name, field in fields.items():
        rule = (field.get("constraints") or {}).get("required_if")
        if rule and not partial and name not in errors and cleaned.get(name) in (None, ""):
            other, _, values = rule.partition("=")
            if str(cleaned.get(other.strip())) in {v.strip() for v in values.split("|")}:
                errors.setdefault(name, []).append(
                    Message(REQUIRED_WHEN, field=other.strip(), value=str(cleaned.get(other.strip()))))
    if errors:
        raise InvalidData(Message(FIELDS_NOT_VALID), "some fields are not valid", errors)
    return cleaned


def takes_decision(form: dict[str, Any]) -> bool:
    """Whether the form asks for a `decision` (approve, sign, accept or refuse...): such a task
    decides on the request for the organisation (see permissions.decides_own_request)."""
    return any(field.get("id") == "decision" for field in form.get("fields", []))


def negative_decisions(form: dict[str, Any]) -> set[str]:
    """The `decision` values that refuse or send back: those for which the form demands a
    `comment` (`required_if` with config `decision=reject|rework`). The diagram says it; no list in code."""
    values: set[str] = set()
    for field in form.get("fields", []):
        if field.get("id") != "comment":
            continue
        other, _, listed = ((field.get("constraints") or {}).get("required_if") or "").partition("=")
        if other.strip() == "decision":
            values |= {v.strip() for v in listed.split("|") if v.strip()}
    return values


def _coerce(field: dict[str, Any], raw: Any) -> Any:
    kind = field["type"]
    if kind == "boolean" and raw is None:
        return False  # an unticked box is a "no", as a form sends nothing for it
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and kind != "boolean"):
        return None
    if kind == "string":
        if not isinstance(raw, str):
            raise _Invalid(Message(NOT_TEXT))
        problem = text_problem(raw)
        if problem:
            raise _Invalid(problem)
        return raw.strip()
    if kind == "long":
        if isinstance(raw, bool):
            raise _Invalid(Message(NOT_WHOLE_NUMBER))
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,15}\s*", raw):
            return int(raw)
        raise _Invalid(Message(NOT_WHOLE_NUMBER))
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise _Invalid(Message(NOT_BOOLEAN))
    if kind == "date":
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw.strip()).isoformat()
            except ValueError:
                pass
        raise _Invalid(Message(NOT_DATE))
    if kind == "enum":
        allowed = [o["id"] for o in field.get("options", [])]
        if not isinstance(raw, str) or raw not in allowed:
            raise _Invalid(Message(NOT_AN_OPTION, options=allowed))
        return raw
    raise _Invalid(Message(UNSUPPORTED_TYPE, type=kind))


def _check_constraints(field: dict[str, Any], value: Any, lookups: Lookups) -> Message | None:
    c = field.get("constraints") or {}
    kind = field["type"]
    if kind == "long":
        if "min" in c and value < int(c["min"]):
            return Message(MIN, min=c["min"])
        if "max" in c and value > int(c["max"]):
            return Message(MAX, max=c["max"])
    if kind == "date":
        if c.get("min") and value < str(c["min"]):
            return Message(MIN_DATE, min=str(c["min"]))
        if c.get("max") and value > str(c["max"]):
            return Message(MAX_DATE, max=str(c["max"]))
    if kind == "string":
        if "minlength" in c and len(value) < int(c["minlength"]):
            return Message(MIN_LENGTH, min=c["minlength"])
        if "maxlength" in c and len(value) > int(c["maxlength"]):
            return Message(MAX_LENGTH, max=c["maxlength"])
    if "must_be_true" in c and value is not True:
        return Message(MUST_BE_CHECKED)
    if "username" in c:
        roles = lookups.user_roles(str(value))
        if roles is None:
            return Message(UNKNOWN_USER, value=str(value))
        needed = c.get("username")
        if needed and needed not in roles:
            return Message(MISSING_ROLE, value=str(value), role=needed)
    if "organisation" in c:
        kind_found = lookups.organisation_kind(str(value))
        if kind_found is None:
            return Message(UNKNOWN_ORGANISATION, value=str(value))
        allowed = [k.strip() for k in (c.get("organisation") or "").split(",") if k.strip()]
        if allowed and kind_found not in allowed:
            return Message(ORGANISATION_KIND, kind=kind_found)
    return None
