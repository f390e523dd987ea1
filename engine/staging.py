"""Uploaded process files waiting for their owner's confirmation.

Between "check and compare" and "deploy", the files stay in the database under a random token
known only to the uploader's review page: the confirmation never trusts files sent back by the
browser (the deployment validates them again), and any server behind the load balancer can answer
it. A staged upload lasts `KEEP` (a day) from its upload; `purge_staged_uploads` deletes older ones
(each new upload does, and so does the worker's pass).
"""
from __future__ import annotations

import secrets
import string
from datetime import timedelta
from typing import Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import clock, permissions
from .errors import MAY_NOT_DEPLOY, NO_STAGED_UPLOAD, NotFound
from .messages import Message
from .models import StagedFile, StagedUpload, User

__all__ = ["KEEP", "discard_staged_upload", "get_staged_upload", "purge_staged_uploads", "stage_upload"]

#: how long staged files wait for their owner
KEEP = timedelta(days=1)
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-_")


def stage_upload(session: Session, actor: User, files: Mapping[str, bytes], comment: str = "", *,
                 keep: timedelta = KEEP) -> StagedUpload:
    """Keep `files` (checked by the caller) for `actor` to confirm; its `token` names it.

    Purges the staged uploads older than `keep` on the way. Raises PermissionDenied unless
    `actor` may deploy.
    """
    permissions.require(permissions.can_deploy(actor), Message(MAY_NOT_DEPLOY),
                        "only process owners may deploy processes")
    purge_staged_uploads(session, keep=keep)
    staged = StagedUpload(token=secrets.token_urlsafe(18), owner=actor.username, comment=comment or "",
                          created_at=clock.now(),
                          files=[StagedFile(filename=name, content=bytes(content)) for name, content in files.items()])
    session.add(staged)
    session.flush()
    return staged


def get_staged_upload(session: Session, token: str, actor: User, *, keep: timedelta = KEEP) -> StagedUpload:
    """The files `actor` staged under `token`. Raises NotFound if there are none, if they are
    older than `keep`, or if someone else staged them (whose token it is stays unsaid)."""
    staged = None
    if token and len(token) <= 64 and not set(token) - _TOKEN_CHARS:
        staged = session.scalar(select(StagedUpload).where(StagedUpload.token == token))
    if staged is None or staged.owner != actor.username or staged.created_at < clock.now() - keep:
        raise NotFound(Message(NO_STAGED_UPLOAD), "no such staged upload")
    return staged


def discard_staged_upload(session: Session, token: str, actor: User, *, keep: timedelta = KEEP) -> None:
    """Delete the files `actor` staged under `token` (confirmed or given up). Raises NotFound as
    `get_staged_upload` does."""
    session.delete(get_staged_upload(session, token, actor, keep=keep))
    session.flush()


def purge_staged_uploads(session: Session, *, keep: timedelta = KEEP) -> int:
    """Delete every staged upload older than `keep`, whoever staged it; returns how many."""
    cutoff = clock.now() - keep
    expired = select(StagedUpload.id).where(StagedUpload.created_at < cutoff)
    session.execute(delete(StagedFile).where(StagedFile.upload_id.in_(expired)))
    return session.execute(delete(StagedUpload).where(StagedUpload.created_at < cutoff)).rowcount
