"""A task's form (the engine's field specs) as widgets people know, and back.

Each field becomes one widget: a text line or a text box, a number, a date picker, Yes/No
buttons (a question) or a check box (a statement to agree with), radio buttons or a list for a
choice, a list of people or of host organisations. Errors from the engine's validation (Messages)
are put in plain words next to their field (web.messages), and the values typed are kept.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from engine import Message, queries

from ..messages import readable, say

LONG_TEXT = 200  # strings allowed to be longer than this get a text box
MAX_LIST = 300  # more choices than this: a text input with suggestions instead of a list
RADIO_MAX = 5  # choices shown as radio buttons up to this many, as a list beyond


@dataclass
class FieldView:
    id: str
    label: str
    widget: str  # text | textarea | number | date | yesno | checkbox | radios | select | suggest
    required: bool
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    min: str | None = None
    max: str | None = None
    maxlength: int | None = None
    errors: list[str] = field(default_factory=list)
    hint: str = ""

    @property
    def described_by(self) -> str:
        ids = [f"{self.id}-hint"] if self.hint else []
        return " ".join(ids + ([f"{self.id}-error"] if self.errors else []))


def editable_fields(form: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in form.get("fields", []) if "readonly" not in (f.get("constraints") or {})]


def readonly_fields(form: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in form.get("fields", []) if "readonly" in (f.get("constraints") or {})]


def _widget(spec: dict[str, Any], choices: dict[str, list[tuple[str, str]]]) -> str:
    kind, constraints = spec["type"], spec.get("constraints") or {}
    if "username" in constraints or "organisation" in constraints:
        options = choices.get(spec["id"], [])
        return "select" if len(options) <= MAX_LIST else "suggest"
    if kind == "long":
        return "number"
    if kind == "date":
        return "date"
    if kind == "boolean":
        statement = "must_be_true" in constraints or not spec["label"].rstrip().endswith("?")
        return "checkbox" if statement else "yesno"
    if kind == "enum":
        return "radios" if len(spec.get("options") or []) <= RADIO_MAX else "select"
    multiline = (spec.get("properties") or {}).get("multiline")
    if multiline is not None:
        return "textarea" if str(multiline).lower() == "true" else "text"
    maxlength = constraints.get("maxlength")
    return "text" if maxlength and int(maxlength) <= LONG_TEXT else "textarea"


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hint(spec: dict[str, Any], widget: str, form: dict[str, Any]) -> str:
    c = spec.get("constraints") or {}
    if spec["type"] == "long" and "min" in c and "max" in c:
        return _("A whole number from %(min)s to %(max)s.", min=c["min"], max=c["max"])
    if spec["type"] == "long" and "min" in c:
        return _("A whole number, at least %(min)s.", min=c["min"])
    if spec["type"] == "long":
        return _("A whole number.")
    if spec["type"] == "string" and c.get("minlength") and widget in ("text", "textarea"):
        return _("At least %(n)s characters.", n=c["minlength"])
    if c.get("required_if") and not spec.get("required"):
        other, _sep, values = str(c["required_if"]).partition("=")
        answers = [_option_label(form, other.strip(), v.strip()) for v in values.split("|") if v.strip()]
        return _("Required if you answer %(answers)s to “%(field)s”.",
                 answers=_(" or ").join(_("“%(text)s”", text=a) for a in answers), field=_label_of(form, other.strip()))
    return ""


def build(form: dict[str, Any], values: dict[str, Any], errors: dict[str, list[Message]] | None,
          choices: dict[str, list[tuple[str, str]]]) -> list[FieldView]:
    """Widgets for the editable fields of `form`, filled with `values` and `errors`."""
    views = []
    for spec in editable_fields(form):
        c = spec.get("constraints") or {}
        widget = _widget(spec, choices)
        options = choices.get(spec["id"]) or [(o["id"], o["label"]) for o in spec.get("options") or []]
        maxlength = int(c["maxlength"]) if c.get("maxlength") else None
        views.append(FieldView(
            id=spec["id"], label=spec["label"], widget=widget, required=bool(spec.get("required")),
            value=_display(values.get(spec["id"])), options=options,
            min=str(c["min"]) if c.get("min") is not None else None,
            max=str(c["max"]) if c.get("max") is not None else None,
            maxlength=maxlength, hint=_hint(spec, widget, form),
            errors=[plain_error(m, form) for m in (errors or {}).get(spec["id"], [])],
        ))
    return views


def submitted_values(form: dict[str, Any], posted: MultiDict) -> dict[str, Any]:
    """What the person sent for each editable field (unchecked boxes mean "no")."""
    data: dict[str, Any] = {}
    for spec in editable_fields(form):
        name = spec["id"]
        if spec["type"] == "boolean":
            sent = posted.getlist(name)
            data[name] = "true" if "true" in sent else "false"
        else:
            data[name] = posted.get(name, "")
    return data


def choices_for(session: Session, form: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Lists of people and organisations for the fields that name one (a query only if needed)."""
    result: dict[str, list[tuple[str, str]]] = {}
    people_fields = [f for f in editable_fields(form) if "username" in (f.get("constraints") or {})]
    org_fields = [f for f in editable_fields(form) if "organisation" in (f.get("constraints") or {})]
    if people_fields:
        users = sorted(queries.users_by_name(session, active_only=True), key=lambda u: sort_key(u.name))
        for spec in people_fields:
            role = (spec.get("constraints") or {}).get("username")
            result[spec["id"]] = [
                (u.username, f"{u.name} ({u.directorate_code or u.organisation_id or u.username})")
                for u in users if not role or role in u.all_roles]
    if org_fields:
        organisations = queries.organisations(session)
        for spec in org_fields:
            kinds = [k.strip() for k in ((spec.get("constraints") or {}).get("organisation") or "").split(",") if k.strip()]
            result[spec["id"]] = [(o.id, o.name) for o in organisations if not kinds or o.kind in kinds]
    return result


def sort_key(text: str) -> str:
    """Alphabetical order as people expect it: É with E, case ignored."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def _label_of(form: dict[str, Any], field_id: str) -> str:
    for spec in form.get("fields", []):
        if spec["id"] == field_id:
            return spec["label"]
    return field_id


def _option_label(form: dict[str, Any], field_id: str, value: str) -> str:
    for spec in form.get("fields", []):
        if spec["id"] == field_id:
            for option in spec.get("options") or []:
                if option["id"] == value:
                    return option["label"]
    return value


def plain_error(message: Message | str, form: dict[str, Any]) -> str:
    """An engine validation message, said for the person filling in the form (the fields it
    names by their labels, the answers by theirs)."""
    if isinstance(message, Message) and message.code == "form.required_when":
        field_id, value = message.params["field"], message.params["value"]
        return say(message, field=_label_of(form, field_id), value=_option_label(form, field_id, value))
    return readable(message)
