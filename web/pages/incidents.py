"""Incidents and failures in words: what failed, since when, after how many attempts and why,
said for the people who follow the request rather than for the worker's log."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from lxml import etree

from engine import Incident, Instance, Message, parse_xml, stored_failure

from ..messages import say


@dataclass(frozen=True)
class IncidentView:
    kind: str
    id: int
    what: str  # a sentence: what could not be done
    cause: str  # why, in plain words
    attempts: int
    since: datetime | None
    detail: str | None  # the worker's own words, for operators (engine.Incident.last_error)


def described(instance: Instance, found: list[Incident]) -> list[IncidentView]:
    names = _event_names(instance) if any(i.kind == "timer" for i in found) else {}
    return [IncidentView(i.kind, i.id, _what(i, names), _cause(i), i.attempts, i.since, i.last_error)
            for i in found]


def _what(incident: Incident, names: dict[str, str]) -> str:
    if incident.kind == "timer":
        return _("the date “%(event)s” could not move the request on",
                 event=names.get(incident.what) or incident.what)
    subject, _arrow, recipient = incident.what.rpartition(" → ")
    return _("the e-mail “%(subject)s” to %(recipient)s could not be sent", subject=subject or incident.what,
             recipient=recipient)


def _cause(incident: Incident) -> str:
    if incident.cause is not None:
        return say(incident.cause)
    # no error kept: say what failed in general
    return say(Message("incident.timer_error" if incident.kind == "timer" else "incident.mail_rejected"))


def _event_names(instance: Instance) -> dict[str, str]:
    """BPMN id -> name of the diagram's elements, to name a timer as the diagram does."""
    try:
        root = parse_xml(instance.version.bpmn_file.content, "diagram.bpmn")
    except Exception:  # a stored diagram always parsed once; if not, ids will do
        return {}
    return {el.get("id"): el.get("name") for el in root.iter(etree.Element)
            if el.get("id") and el.get("name")}


def failure_words(failure: str | dict | None) -> str | None:
    """Why a request stopped (`Instance.failure`, or an `instance_failed` event's `message`), in the
    page's language: what went wrong, then at which step of the diagram and which line of its script."""
    message = stored_failure(failure)
    return say(message) if message is not None else None
