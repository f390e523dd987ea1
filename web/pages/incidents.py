"""Incidents and failures in words: what failed, since when, after how many attempts and why,
said for the people who follow the request rather than for the worker's log."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from lxml import etree

from engine import Failure, Incident, Instance
from engine.xml import parse_xml

# Errors that mean the mail server was never reached (engine.mailer: OSError or smtplib errors).
_UNREACHABLE = ("ConnectionRefusedError", "ConnectionResetError", "TimeoutError", "timed out", "gaierror",
                "SMTPConnectError", "SMTPServerDisconnected", "OSError", "unreachable")


@dataclass(frozen=True)
class IncidentView:
    kind: str
    id: int
    what: str  # a sentence: what could not be done
    cause: str  # why, in plain words
    attempts: int
    since: datetime | None
    detail: str | None  # the worker's own words, for operators


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
    error = incident.last_error or ""
    if incident.kind == "timer":
        if "did not fire" in error:
            return _("the date was reached but the process did not move on")
        return _("Passerelle could not read or continue the request at that date")
    if "SMTPRecipientsRefused" in error:
        return _("the mail server refused this address")
    if any(word in error for word in _UNREACHABLE):
        return _("the mail server could not be reached")
    return _("the mail server did not accept the message")


def _event_names(instance: Instance) -> dict[str, str]:
    """BPMN id -> name of the diagram's elements, to name a timer as the diagram does."""
    try:
        root = parse_xml(instance.version.bpmn_file.content, "diagram.bpmn")
    except Exception:  # a stored diagram always parsed once; if not, ids will do
        return {}
    return {el.get("id"): el.get("name") for el in root.iter(etree.Element)
            if el.get("id") and el.get("name")}


def failure_words(failure: str | None) -> str | None:
    """Why a request stopped (Instance.failure, written by the engine in English), in the page's
    language: what went wrong, then at which step of the diagram and which line of its script."""
    if not failure:
        return None
    parts = Failure.parse(failure)
    if parts is None:
        return failure
    if parts.forbidden:
        words = _("the process diagram holds code that is not allowed: %(detail)s", detail=parts.detail)
    else:
        words = _("the process could not go on: %(detail)s", detail=parts.detail)
    if parts.bpmn_id:
        words += " — " + _("step “%(step)s” (%(bpmn_id)s)", step=parts.step, bpmn_id=parts.bpmn_id)
    if parts.line and parts.code:
        words += ", " + _("line %(line)s of its script: %(code)s", line=parts.line, code=parts.code)
    elif parts.line:
        words += ", " + _("line %(line)s of its script", line=parts.line)
    return words
