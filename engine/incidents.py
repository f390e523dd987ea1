"""Incidents: background jobs that kept failing — a timer that would not fire, a message that
could not be sent — shown on their request until an operator retries them.

The worker (`engine.timers`) marks a job `failed` after its last attempt instead of dropping it;
`retry_incident` re-arms it, and the retry is recorded in the request's audit trail.

Why the last attempt failed is stored as a Message in the job's `last_error` (JSON text): its code
says the cause for people (`cause_of_timer`, `cause_of_mail`), its `error` the worker's own words
for operators.
"""
from __future__ import annotations

import smtplib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from . import audit, permissions
from .audit import EventType
from . import errors
from .errors import Conflict, InvalidData, NotFound
from .messages import Message, declare
from .models import Instance, OutboxMessage, Timer, User

KINDS = ("timer", "message")

# Why a job failed (its last attempt)
TIMER_NOT_FIRED = declare("incident.timer_not_fired")  # due, yet the workflow did not fire it
TIMER_ERROR = declare("incident.timer_error", "error")  # the request could not be read or continued
MAIL_REFUSED = declare("incident.mail_refused", "error")  # the server refused the address
MAIL_UNREACHABLE = declare("incident.mail_unreachable", "error")  # the server could not be reached
MAIL_REJECTED = declare("incident.mail_rejected", "error")  # any other refusal of the message
# What is wrong with the name of an incident
BAD_REF = declare("incident.bad_ref")  # an incident is named timer:<id> or message:<id>
UNKNOWN_KIND = declare("incident.unknown_kind", "kinds")
_LEGACY_NOT_FIRED = "the timer was due but the workflow did not fire it"  # as stored before codes
_LIMIT = 2000  # characters of the error's words kept


def _words(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:_LIMIT]


def cause_of_timer(err: BaseException | None) -> Message:
    """Why firing a timer failed: `err`, or None when the workflow did not fire a due timer."""
    return Message(TIMER_NOT_FIRED) if err is None else Message(TIMER_ERROR, error=_words(err))


def cause_of_mail(err: BaseException) -> Message:
    """Why sending a message failed, from the mailer's error (an SMTP error or OSError)."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return Message(MAIL_REFUSED, error=_words(err))
    never_reached = isinstance(err, (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected)) or (
        isinstance(err, OSError) and not isinstance(err, smtplib.SMTPException))
    return Message(MAIL_UNREACHABLE if never_reached else MAIL_REJECTED, error=_words(err))


def _stored_cause(kind: str, text: str | None) -> Message | None:
    """The cause stored in a job's `last_error`; a sentence stored before codes reads as the
    error's words (the one the worker itself wrote, as the timer not fired)."""
    if not text:
        return None
    if text == _LEGACY_NOT_FIRED:
        return Message(TIMER_NOT_FIRED)
    try:
        return Message.loads(text)
    except ValueError:
        return Message(TIMER_ERROR if kind == "timer" else MAIL_REJECTED, error=text)


@dataclass(frozen=True)
class Incident:
    kind: str  # "timer" | "message"
    id: int
    instance_id: int | None
    what: str  # the timer's BPMN id, or the message's subject and recipient
    attempts: int
    cause: Message | None  # why the last attempt failed
    since: datetime | None  # when the last attempt was made (approximately)

    @property
    def last_error(self) -> str | None:
        """The worker's own words about the last attempt, for operators (None if it has none)."""
        return self.cause.params.get("error") if self.cause else None

    @property
    def ref(self) -> str:
        """How operators name it: `timer:12`, `message:7`."""
        return f"{self.kind}:{self.id}"


def incidents(session: Session, instance_id: int | Collection[int] | None = None) -> list[Incident]:
    """Open incidents, oldest first; only those of `instance_id` if given (one id, or several:
    a page of requests costs the same two queries as one request).

    A failed timer of a request that has since ended is no incident any more: it can never fire.
    Both kinds are read in one query: every answer that shows a request asks this.
    """
    if isinstance(instance_id, int):
        rows = session.execute(_FOR_ONE_INSTANCE, {"instance_id": instance_id})
    elif instance_id is None:
        rows = session.execute(_query(None))
    else:
        ids = list(instance_id)
        if not ids:
            return []
        rows = session.execute(_query(lambda column: column.in_(ids)))
    return [Incident(r.kind, r.id, r.instance_id, r.what if r.kind == "timer" else _message(r.what, r.recipient),
                     r.attempts, _stored_cause(r.kind, r.last_error), r.since) for r in rows]


def _query(which: Callable[[Any], Any] | None) -> Select:
    """Failed timers of running requests, then failed messages; `which(instance_id column)` filters."""
    # A failed job keeps the time of its last attempt in next_attempt_at (engine.timers).
    timers = (select(literal("timer").label("kind"), Timer.id, Timer.instance_id, Timer.bpmn_id.label("what"),
                     null().label("recipient"), Timer.attempts, Timer.last_error, Timer.next_attempt_at.label("since"))
              .join(Instance, Instance.id == Timer.instance_id)
              .where(Timer.status == "failed", Instance.status == "running"))
    messages = (select(literal("message"), OutboxMessage.id, OutboxMessage.instance_id, OutboxMessage.subject,
                       OutboxMessage.recipient, OutboxMessage.attempts, OutboxMessage.last_error,
                       func.coalesce(OutboxMessage.next_attempt_at, OutboxMessage.created_at))
                .where(OutboxMessage.status == "failed"))
    if which is not None:
        timers = timers.where(which(Timer.instance_id))
        messages = messages.where(which(OutboxMessage.instance_id))
    both = union_all(timers, messages).subquery()
    return select(both).order_by(both.c.kind.desc(), both.c.id)  # timers first, then messages


# Built once: every answer that shows one request asks it.
_FOR_ONE_INSTANCE = _query(lambda column: column == bindparam("instance_id"))


def _message(subject: str, recipient: str) -> str:
    return f"{subject} → {recipient}"


def _incident(kind: str, row: Timer | OutboxMessage) -> Incident:
    if kind == "timer":
        return Incident(kind, row.id, row.instance_id, row.bpmn_id, row.attempts,
                        _stored_cause(kind, row.last_error), row.next_attempt_at)
    return Incident(kind, row.id, row.instance_id, _message(row.subject, row.recipient), row.attempts,
                    _stored_cause(kind, row.last_error), row.next_attempt_at or row.created_at)


def parse_ref(ref: str) -> tuple[str, int]:
    """`timer:12` -> ("timer", 12); InvalidData naming the problem otherwise."""
    kind, _, number = str(ref).partition(":")
    if kind not in KINDS or not number.isdigit():
        raise InvalidData(Message(errors.BAD_INCIDENT_REF, ref=str(ref)),
                          f"an incident is named timer:<id> or message:<id>, not {ref!r}",
                          {"incident": [Message(BAD_REF)]})
    return kind, int(number)


def retry_incident(session: Session, kind: str, id: int, actor: User, instance_id: int | None = None) -> Incident:
    """Re-arm a failed timer or message so that the next worker pass tries it again, attempts reset.

    Only `hr` and `admin` may. `instance_id`: only a job of that request (a page or an endpoint
    of one request must not reach another's). Raises InvalidData (unknown kind), NotFound (no
    such incident), PermissionDenied, Conflict (it is not failed, e.g. already retried, or it is
    the timer of a request that has ended and can never fire).
    """
    if kind not in KINDS:
        raise InvalidData(Message(errors.UNKNOWN_INCIDENT_KIND, kind=str(kind)),
                          f"unknown incident kind {kind!r}", {"kind": [Message(UNKNOWN_KIND, kinds=list(KINDS))]})
    permissions.require(permissions.can_retry_incidents(actor), Message(errors.MAY_NOT_RETRY),
                        "only hr and admin may retry incidents")
    model = Timer if kind == "timer" else OutboxMessage
    row = session.get(model, id)
    if row is None or (instance_id is not None and row.instance_id != instance_id):
        raise NotFound(Message(errors.NO_INCIDENT, kind=kind, id=id, request=instance_id),
                       f"no {kind} {id}" + (f" in request {instance_id}" if instance_id is not None else ""))
    # Writers of a request's audit chain hold its row lock (as the runtime does), then the job's.
    instance = session.get(Instance, row.instance_id, with_for_update=True) if row.instance_id else None
    row = session.get(model, id, with_for_update=True, populate_existing=True)
    if row.status != "failed":
        raise Conflict(Message(errors.INCIDENT_NOT_FAILED, kind=kind, id=id, status=row.status),
                       f"{kind} {id} is {row.status}, not failed")
    if kind == "timer" and instance.status != "running":
        raise Conflict(Message(errors.INCIDENT_REQUEST_ENDED, id=id),
                       f"timer {id} belongs to a request that has ended: it can never fire")
    incident = _incident(kind, row)
    row.status = "waiting" if kind == "timer" else "pending"
    row.attempts, row.next_attempt_at = 0, None
    audit.record(session, EventType.INCIDENT_RETRIED, actor.username, instance_id=row.instance_id,
                 process_key=instance.process_key if instance else None,
                 version=instance.version.version if instance else None,
                 task_id=incident.what if kind == "timer" else None,
                 data={"incident": incident.ref, "attempts": incident.attempts, "last_error": incident.last_error})
    session.flush()
    return incident
