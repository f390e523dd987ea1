"""Live workflows kept in memory between the steps of an instance, so a step need not rebuild its
workflow from the saved state (the largest cost of a step after SpiffWorkflow's own).

The saved state stays the truth; this cache only saves the work of reading it. A workflow goes in
once the transaction that saved it has *committed*, under its database, the instance's id, its process
version and the row version (`Instance.lock_version`) that transaction wrote. A step looks it up under the
row version it has just read while holding the instance's lock: any other writer — another
process, a migration, an administrator's fix — bumps the row version, so a workflow is used only
if nobody has changed the instance since this process saved it. A step *takes* the workflow out
(it will mutate it) and it comes back only with the step's commit: a step that fails or is rolled
back leaves nothing behind, and two threads can never share one.
"""
from __future__ import annotations

import uuid

from sqlalchemy import event
from sqlalchemy.orm import Session

from .lru import Lru
from .models import Instance

#: workflows kept per process; a pruned workflow weighs a few tens of kilobytes
DEFAULT_SIZE = 256
_PENDING = "passerelle.saved_workflows"


cache = Lru(DEFAULT_SIZE)


def configure(size: int) -> None:
    """Set how many workflows this process keeps (0 turns the cache off)."""
    cache.size = size
    if size <= 0:
        cache.clear()


def key_of(session: Session, instance: Instance) -> tuple:
    """Which database (engine), which instance, which process version, which saved row and text."""
    engine = getattr(session.get_bind(), "engine", None)
    token = getattr(engine, "_passerelle_cache_token", None)
    if token is None:  # several databases may live in one process (tests, tools): never mix them
        token = engine._passerelle_cache_token = uuid.uuid4().hex
    # the hash of the saved text (already read with the row) also catches a hand edit of the state
    # that forgot to bump the row version
    return token, instance.id, instance.version_id, instance.lock_version, hash(instance.state)


def take(session: Session, instance: Instance):
    """The live workflow of `instance` as last saved by this process, if the row is unchanged since."""
    return cache.take(key_of(session, instance))


def saved(session: Session, instance: Instance, workflow) -> None:
    """`workflow` has just been flushed as `instance`'s state: cache it when the session commits.
    (Call after the flush, so the key carries the row version the transaction writes.)"""
    session.info.setdefault(_PENDING, {})[instance.id] = (key_of(session, instance), workflow)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for key, workflow in session.info.pop(_PENDING, {}).values():
        cache.put(key, workflow)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)
