"""Reading the audit, for auditors and administrators only: a search, the hash chain's check, and
the trail read whole for an export: every event matching the filters, oldest first, read
in batches through a server-side cursor (PostgreSQL; SQLite steps through its statement), so that
exporting the 800,000 events of a large database takes the memory of one batch, not of the trail.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Result
from sqlalchemy.orm import Session

from . import permissions
from .models import AuditEvent, User
from .audit import Verification, verify
from .errors import MAY_NOT_READ_AUDIT
from .messages import Message
from .queries import Page, audit_events, audit_query

#: events fetched from the database at a time
TRAIL_BATCH = 1_000
#: what an exported event carries (all of the event: its hash chain can be checked from the export)
TRAIL_COLUMNS = (AuditEvent.instance_id, AuditEvent.process_key, AuditEvent.seq, AuditEvent.at, AuditEvent.actor,
                 AuditEvent.type, AuditEvent.task_id, AuditEvent.task_name, AuditEvent.version, AuditEvent.data,
                 AuditEvent.prev_hash, AuditEvent.hash)


def audit_trail(session: Session, reader: User, *, process: str | None = None, actor: str | None = None,
                type: str | None = None, since: datetime | None = None, until: datetime | None = None,
                instance_id: int | None = None, batch: int = TRAIL_BATCH) -> Result:
    """The events matching the filters (as `engine.queries.audit_events`), oldest first — one
    request's in the order of its chain — as rows with the attributes of `TRAIL_COLUMNS`.

    The query runs at the call, so refusals come before the first event; the rows are fetched
    `batch` at a time as they are iterated. Close the result (`close()` or `with`) when done or
    abandoned, whether it was read or not: it holds a cursor (server-side on PostgreSQL).

    Raises PermissionDenied unless `reader` may read the audit (`auditor`, `admin`).
    """
    _may_read(reader)
    query = audit_query(process, actor, type, since, until, instance_id).with_only_columns(*TRAIL_COLUMNS)
    order = (AuditEvent.seq,) if instance_id is not None else (AuditEvent.at, AuditEvent.id)
    return session.execute(query.order_by(None).order_by(*order).execution_options(yield_per=batch))


def search_audit(session: Session, reader: User, *, process: str | None = None, actor: str | None = None,
                 type: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 instance_id: int | None = None, page: int = 1, page_size: int = 50) -> Page:
    """A page of the events matching the filters, newest first (`engine.queries.audit_events`).

    Raises PermissionDenied unless `reader` may read the audit.
    """
    _may_read(reader)
    return audit_events(session, process, actor, type, since, until, instance_id, page, page_size)


def check_audit_chain(session: Session, reader: User, instance_id: int | None = None) -> Verification:
    """The hash chains checked (all of them, or one request's): `engine.audit.verify`.

    Raises PermissionDenied unless `reader` may read the audit.
    """
    _may_read(reader)
    return verify(session, instance_id)


def _may_read(reader: User) -> None:
    permissions.require(permissions.can_read_audit(reader), Message(MAY_NOT_READ_AUDIT),
                        "only auditors and administrators read the audit")
