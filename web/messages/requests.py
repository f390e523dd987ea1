"""The words of what the engine says about requests: forms, data, values, failures, incidents, the
audit chain. `PAGE` for people (Flask-Babel, the request's language), `API` the JSON API's English."""
from __future__ import annotations

from typing import Any, Callable

from flask_babel import gettext as _

from engine import Message

Params = dict[str, Any]


def _words(value: Any) -> str:
    """A parameter as people read it: a nested Message in words, anything else as text."""
    from . import say
    return say(value) if isinstance(value, Message) else str(value)


def _api(value: Any) -> Any:
    """A parameter as the API writes it: a nested Message in the API's words."""
    from . import api_text
    return api_text(value) if isinstance(value, Message) else value


def _where(p: Params, text: str) -> str:
    """A failure's sentence, then where it happened: the step of the diagram, the line of its script."""
    if p.get("bpmn_id"):
        text += " — " + _("step “%(step)s” (%(bpmn_id)s)", step=p.get("step"), bpmn_id=p["bpmn_id"])
        if p.get("line") and p.get("source"):
            text += ", " + _("line %(line)s of its script: %(code)s", line=p["line"], code=p["source"])
        elif p.get("line"):
            text += ", " + _("line %(line)s of its script", line=p["line"])
    return text


#: code -> its words for people, in the request's language
PAGE: dict[str, Callable[[Params], str]] = {
    # forms (engine.forms): said next to the field, for the person filling it in
    "form.not_object": lambda p: _("Send the answers of the form."),
    "form.unknown_field": lambda p: _("This form has no such field."),
    "form.read_only": lambda p: _("This value cannot be changed here."),
    "form.required": lambda p: _("Please fill in this field."),
    "form.required_when": lambda p: _("Please fill in this field: it is needed when “%(field)s” is “%(value)s”.",
                                      field=p["field"], value=p["value"]),
    "form.not_text": lambda p: _("Write some text here."),
    "form.not_whole_number": lambda p: _("Enter a whole number, such as 20."),
    "form.not_boolean": lambda p: _("Answer yes or no."),
    "form.not_date": lambda p: _("Enter a date, such as 2025-09-01."),
    "form.not_an_option": lambda p: _("Choose one of the answers offered."),
    "form.unsupported_type": lambda p: _("This field cannot be filled in here (type %(type)s).", type=p["type"]),
    "form.min": lambda p: _("Enter %(n)s or more.", n=p["min"]),
    "form.max": lambda p: _("Enter %(n)s or less.", n=p["max"]),
    "form.min_date": lambda p: _("Choose %(d)s or later.", d=p["min"]),
    "form.max_date": lambda p: _("Choose %(d)s or earlier.", d=p["max"]),
    "form.min_length": lambda p: _("Write at least %(n)s characters.", n=p["min"]),
    "form.max_length": lambda p: _("Write at most %(n)s characters.", n=p["max"]),
    "form.must_be_checked": lambda p: _("Tick this box to go on."),
    "form.unknown_user": lambda p: _("Nobody called “%(v)s” works here.", v=p["value"]),
    "form.missing_role": lambda p: _("This person cannot take on this role."),
    "form.unknown_organisation": lambda p: _("Choose an organisation from the list."),
    "form.organisation_kind": lambda p: _("This kind of organisation cannot host this mission."),
    # the data of a request (engine.runtime, engine.values)
    "data.keys_not_text": lambda p: _("The names of the fields must be text."),
    "data.set_by_engine": lambda p: _("Passerelle fills in this field itself."),
    "data.too_long": lambda p: _("Write at most %(n)s characters.", n=p["max"]),
    "data.reason_required": lambda p: _("Please fill in this field."),
    "data.too_much_data": lambda p: _("This text is too long: a request may hold at most %(n)s KB.",
                                      n=p["limit_kb"]),
    "value.nul_character": lambda p: _("Remove the invisible characters from this text."),
    "value.lone_surrogate": lambda p: _("Remove the invisible characters from this text."),
    "value.key_nul_character": lambda p: _("a field name holds invisible characters"),
    "value.key_lone_surrogate": lambda p: _("a field name holds invisible characters"),
    "value.not_finite": lambda p: _("%(number)s is not a number that can be stored", number=p["number"]),
    "value.key_not_text": lambda p: _("a field name is not text but a %(type)s", type=p["type"]),
    "value.not_json": lambda p: _("a %(type)s cannot be stored", type=p["type"]),
    "value.not_storable": lambda p: _("the value of %(field)s cannot be stored: %(reason)s", field=p["field"],
                                      reason=_words(p["reason"])),
    "value.too_large": lambda p: _("the request would hold %(size)s KB of data, more than its %(limit)s KB",
                                   size=p["size_kb"], limit=p["limit_kb"]),
    # why a request stopped (engine.failures)
    "failure.forbidden_code": lambda p: _where(p, _(
        "the process diagram holds code that is not allowed: %(detail)s", detail=_words(p.get("error", "")))),
    "failure.step_failed": lambda p: _where(p, _(
        "the process could not go on: %(detail)s", detail=_words(p.get("error", "")))),
    "failure.legacy": lambda p: _("the process stopped: %(text)s", text=p["text"]),
    # why a background job failed (engine.incidents)
    "incident.timer_not_fired": lambda p: _("the date was reached but the process did not move on"),
    "incident.timer_error": lambda p: _("Passerelle could not read or continue the request at that date"),
    "incident.mail_refused": lambda p: _("the mail server refused this address"),
    "incident.mail_unreachable": lambda p: _("the mail server could not be reached"),
    "incident.mail_rejected": lambda p: _("the mail server did not accept the message"),
    "incident.bad_ref": lambda p: _("Name an incident timer:<id> or message:<id>."),
    "incident.unknown_kind": lambda p: _("Choose a date (timer) or an e-mail (message)."),
    # why an audit chain is broken (engine.audit)
    "audit.event_missing": lambda p: _("event no. %(seq)s is missing", seq=p["seq"]),
    "audit.not_linked": lambda p: _("it does not link to the event before it"),
    "audit.hash_mismatch": lambda p: _("its content was changed after it was written"),
}


def _api_failure(prefix: str) -> Callable[[Params], str]:
    def words(p: Params) -> str:
        text = f"{prefix} {_api(p.get('error', ''))}"
        if p.get("bpmn_id"):
            text += f" — step «{p.get('step')}» ({p['bpmn_id']})"
            if p.get("line"):
                text += f", line {p['line']}" + (f": {p['source']}" if p.get("source") else "")
        return text
    return words


def _api_format(template: str) -> Callable[[Params], str]:
    def words(p: Params) -> str:
        return template.format(**{k: _api(v) if isinstance(v, Message) else
                                  ", ".join(map(str, v)) if isinstance(v, list) else v for k, v in p.items()})
    return words


#: code -> the API's English (not translated: clients read it)
API: dict[str, Callable[[Params], str]] = {
    **{code: _api_format(template) for code, template in {
        "form.not_object": "must be an object",
        "form.unknown_field": "unknown field",
        "form.read_only": "this field is read-only",
        "form.required": "this field is required",
        "form.required_when": "required when {field} is {value}",
        "form.not_text": "must be text",
        "form.not_whole_number": "must be a whole number",
        "form.not_boolean": "must be true or false",
        "form.not_date": "must be a date (YYYY-MM-DD)",
        "form.not_an_option": "must be one of: {options}",
        "form.unsupported_type": "unsupported field type {type}",
        "form.min": "must be at least {min}",
        "form.max": "must be at most {max}",
        "form.min_date": "must be on or after {min}",
        "form.max_date": "must be on or before {max}",
        "form.min_length": "must be at least {min} characters",
        "form.max_length": "must be at most {max} characters",
        "form.must_be_checked": "must be checked to go on",
        "form.unknown_user": "unknown user: {value}",
        "form.missing_role": "{value} does not have the role {role}",
        "form.unknown_organisation": "unknown organisation: {value}",
        "form.organisation_kind": "organisations of kind {kind} are not accepted here",
        "data.keys_not_text": "keys must be strings",
        "data.set_by_engine": "set by the engine",
        "data.too_long": "at most {max} characters",
        "data.reason_required": "required",
        "data.too_much_data": "too much data: at most {limit_kb} KB per request",
        "value.nul_character": "must not contain NUL characters",
        "value.lone_surrogate": "must not contain lone surrogates",
        "value.key_nul_character": "a key must not contain NUL characters",
        "value.key_lone_surrogate": "a key must not contain lone surrogates",
        "value.not_finite": "{number} is not a JSON number",
        "value.key_not_text": "keys must be text, not {type}",
        "value.not_json": "a {type} is not a JSON value",
        "value.not_storable": "the value of {field} cannot be stored: {reason}",
        "value.too_large": "the request would hold {size_kb} KB of data, more than its {limit_kb} KB",
        "failure.legacy": "{text}",
        "incident.timer_not_fired": "the timer was due but the workflow did not fire it",
        "incident.timer_error": "{error}",
        "incident.mail_refused": "{error}",
        "incident.mail_unreachable": "{error}",
        "incident.mail_rejected": "{error}",
        "incident.bad_ref": "timer:<id> or message:<id>",
        "incident.unknown_kind": "one of {kinds}",
        "audit.event_missing": "event {seq} is missing",
        "audit.not_linked": "does not link to the previous event",
        "audit.hash_mismatch": "its content does not match its hash",
    }.items()},
    "failure.forbidden_code": _api_failure("forbidden code in the diagram:"),
    "failure.step_failed": _api_failure("the process could not go on:"),
}

