"""The audit trail: append-only events, SHA-256 hash-chained per instance.

Events are written by `record` only, inside the transaction of the change they describe; nothing
updates or deletes them. Events that belong to no instance (deployments, sign-ins) form one
global chain.
"""
from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session

from . import clock
from .db import refuse_if_read_only
from .errors import CHANGED_MEANWHILE, Conflict
from .messages import Message, declare
from .models import AuditEvent

GENESIS = "0" * 64
GLOBAL_CHAIN_LOCK = 0x5041535345  # "PASSE"
_HEADS = "passerelle.audit_heads"  # key of the chain heads in Session.info


class EventType(str, enum.Enum):
    INSTANCE_STARTED = "instance_started"
    TASK_CREATED = "task_created"
    TASK_CLAIMED = "task_claimed"
    TASK_RELEASED = "task_released"
    TASK_COMPLETED = "task_completed"
    DECISION_EVALUATED = "decision_evaluated"
    TIMER_FIRED = "timer_fired"
    INSTANCE_COMPLETED = "instance_completed"
    INSTANCE_CANCELLED = "instance_cancelled"
    INSTANCE_FAILED = "instance_failed"
    INCIDENT_RETRIED = "incident_retried"
    PROCESS_PROPOSED = "process_proposed"
    PROCESS_APPROVED = "process_approved"
    PROCESS_REJECTED = "process_rejected"
    PROCESS_DEPLOYED = "process_deployed"
    USER_SIGNED_IN = "user_signed_in"
    SIGN_IN_FAILED = "sign_in_failed"


EVENT_TYPES = tuple(e.value for e in EventType)


def _digest(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_FIELDS = ("instance_id", "seq", "at", "actor", "type", "process_key", "version", "task_id", "task_name", "data",
           "prev_hash")


def _fields(event: AuditEvent | dict[str, Any]) -> dict[str, Any]:
    """What an event's hash covers, from a stored event or the values of one being written."""
    values = event if isinstance(event, dict) else {name: getattr(event, name) for name in _FIELDS}
    at = values["at"]
    return {**{name: values[name] for name in _FIELDS},
            "at": at.astimezone(timezone.utc).isoformat() if at else None}


_INSERT = AuditEvent.__table__.insert()


def record(session: Session, type: EventType, actor: str, *, instance_id: int | None = None,
           process_key: str | None = None, version: int | None = None, task_id: str | None = None,
           task_name: str | None = None, data: dict[str, Any] | None = None,
           at: datetime | None = None) -> None:
    """Append one event to its chain (the instance's, or the global one), at once: a plain INSERT
    on the session's connection, which neither waits for nor triggers a flush of other changes.

    Writers of an instance's chain hold that instance's row lock; writers of the global chain
    take a transaction-scoped advisory lock on PostgreSQL (SQLite has one writer at a time).
    Either lock lasts until the transaction ends, so the chain's head is read once per transaction
    and then kept in the session (see `_heads`): a completion that writes four events reads it once.
    """
    refuse_if_read_only(session)
    heads = _heads(session)
    if instance_id not in heads:
        if instance_id is None and session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GLOBAL_CHAIN_LOCK})
        # No autoflush: every event of this transaction is already in the database (see above),
        # and other pending changes can wait for the step's own flush.
        with session.no_autoflush:
            chain = AuditEvent.instance_id.is_(None) if instance_id is None else AuditEvent.instance_id == instance_id
            last = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(chain)
                                   .order_by(AuditEvent.seq.desc()).limit(1)).first()
        heads[instance_id] = (last.seq, last.hash) if last else (0, GENESIS)
    seq, prev_hash = heads[instance_id]
    values = dict(instance_id=instance_id, seq=seq + 1, at=(at or clock.now()).astimezone(timezone.utc),
                  actor=actor, type=EventType(type).value, process_key=process_key, version=version,
                  task_id=task_id, task_name=task_name, data=json.loads(json.dumps(data or {}, default=str)),
                  prev_hash=prev_hash)
    values["hash"] = _digest(_fields(values))
    try:
        session.execute(_INSERT, values)
    except IntegrityError:  # (instance_id, seq) is unique: a writer that did not hold the lock
        raise Conflict(Message(CHANGED_MEANWHILE),
                       "this request was changed by someone else at the same moment; reload and try again") from None
    heads[instance_id] = (values["seq"], values["hash"])


def chain_head(instance_id: Any) -> tuple[Any, Any]:
    """The seq and hash of the last event of an instance's chain, as two scalar subqueries over
    `instance_id` (a column): a caller that reads the instance row under its lock reads these with
    it, then hands them to `remember_head`, and `record` needs no query of its own."""
    last = select(AuditEvent.seq).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq.desc()).limit(1)
    return (last.scalar_subquery().label("chain_seq"),
            last.with_only_columns(AuditEvent.hash).scalar_subquery().label("chain_hash"))


def remember_head(session: Session, instance_id: int, seq: int | None, hash: str | None) -> None:
    """Note the head of an instance's chain, read by this transaction under the instance's lock."""
    _heads(session).setdefault(instance_id, (seq, hash) if seq is not None else (0, GENESIS))


def _heads(session: Session) -> dict[int | None, tuple[int, str]]:
    """(seq, hash) of the last event of each chain this transaction has written to or read."""
    return session.info.setdefault(_HEADS, {})


@listens_for(Session, "after_transaction_end")
def _forget_heads(session: Session, transaction) -> None:
    # The locks that made the heads true end with the transaction; a savepoint that ends (rolled
    # back or released) may take events with it: either way, read the heads again. (A flush's own
    # inner transaction ends too: it changes nothing.)
    if transaction.parent is None or transaction.nested:
        session.info.pop(_HEADS, None)


# Why a chain is broken, at its first broken event
EVENT_MISSING = declare("audit.event_missing", "seq")  # the event expected there is not
NOT_LINKED = declare("audit.not_linked")  # it does not link to the previous event
HASH_MISMATCH = declare("audit.hash_mismatch")  # its content does not match its hash


@dataclass(frozen=True)
class Verification:
    ok: bool
    events_checked: int
    first_broken: tuple[int | None, int] | None  # (instance_id, seq)
    reason: Message | None = None


def verify(session: Session, instance_id: int | None = None, *, all_chains: bool = True) -> Verification:
    """Recompute every hash and link; report the first broken one.

    With `instance_id`, only that instance's chain is checked.
    """
    query = select(AuditEvent)
    if instance_id is not None:
        query = query.where(AuditEvent.instance_id == instance_id)
    query = query.order_by(AuditEvent.instance_id.is_not(None), AuditEvent.instance_id, AuditEvent.seq)
    checked = 0
    current_chain: object = object()
    expected_prev, expected_seq = GENESIS, 1
    result = session.scalars(query.execution_options(yield_per=1000))
    try:
        for event in result:
            if event.instance_id != current_chain:
                current_chain, expected_prev, expected_seq = event.instance_id, GENESIS, 1
            checked += 1
            broken = None
            if event.seq != expected_seq:
                broken = Message(EVENT_MISSING, seq=expected_seq)
            elif event.prev_hash != expected_prev:
                broken = Message(NOT_LINKED)
            elif _digest(_fields(event)) != event.hash:
                broken = Message(HASH_MISMATCH)
            if broken:
                return Verification(False, checked, (event.instance_id, event.seq), broken)
            expected_prev, expected_seq = event.hash, event.seq + 1
    finally:
        result.close()  # a server-side cursor must not outlive an early return
    return Verification(True, checked, None)
