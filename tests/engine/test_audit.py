"""The audit trail is hash-chained: verification passes on honest history and finds tampering."""
from __future__ import annotations

from sqlalchemy import text

from engine import Message, complete_task, start_instance, unit_of_work, verify_audit
from engine.audit import EventType, record
from engine.models import AuditEvent

from .helpers import REQUEST, as_user, deploy_approval, open_task


def _history(sessions) -> int:
    deploy_approval(sessions)
    with unit_of_work(sessions) as s:
        instance = start_instance(s, "approval_test", as_user(s, "nadia"))
    with unit_of_work(sessions) as s:
        complete_task(s, open_task(s, instance.id, "request").id, as_user(s, "nadia"), REQUEST)
    return instance.id


def test_honest_history_verifies(org_sessions):
    instance_id = _history(org_sessions)
    with unit_of_work(org_sessions) as s:
        result = verify_audit(s)
        events = s.query(AuditEvent).filter_by(instance_id=instance_id).order_by(AuditEvent.seq).all()
    assert result.ok and result.first_broken is None
    assert result.events_checked == len(events) + 1  # plus the deployment in the global chain
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))


def test_a_tampered_row_is_detected_at_its_sequence_number(org_sessions):
    instance_id = _history(org_sessions)
    with unit_of_work(org_sessions) as s:
        target = s.query(AuditEvent).filter_by(instance_id=instance_id, type="task_completed").one()
        seq = target.seq
        # An attacker with database access rewrites who completed the task.
        s.execute(text("UPDATE audit_event SET actor = 'claire' WHERE id = :id"), {"id": target.id})
    with unit_of_work(org_sessions) as s:
        result = verify_audit(s)
        assert not result.ok
        assert result.first_broken == (instance_id, seq)
        assert result.reason == Message("audit.hash_mismatch")


def test_a_deleted_row_is_detected(org_sessions):
    instance_id = _history(org_sessions)
    with unit_of_work(org_sessions) as s:
        s.execute(text("DELETE FROM audit_event WHERE instance_id = :i AND seq = 2"), {"i": instance_id})
    with unit_of_work(org_sessions) as s:
        result = verify_audit(s, instance_id)
    assert not result.ok and result.first_broken == (instance_id, 3) and result.reason == Message("audit.event_missing", seq=2)


def test_recomputing_one_hash_breaks_the_next_link(org_sessions):
    instance_id = _history(org_sessions)
    with unit_of_work(org_sessions) as s:
        s.execute(text("UPDATE audit_event SET hash = :h WHERE instance_id = :i AND seq = 1"),
                  {"h": "f" * 64, "i": instance_id})
    with unit_of_work(org_sessions) as s:
        result = verify_audit(s, instance_id)
    assert not result.ok and result.first_broken == (instance_id, 1) and result.reason == Message("audit.hash_mismatch")


def test_events_after_a_rolled_back_savepoint_still_chain(org_sessions):
    """A chain's head is read once per transaction; a savepoint rolled back takes its events with
    it, and the next event must link to the last one that remains."""
    instance_id = _history(org_sessions)
    with unit_of_work(org_sessions) as s:
        record(s, EventType.TASK_CLAIMED, "nadia", instance_id=instance_id, data={"kept": 1})
        with s.begin_nested() as savepoint:
            record(s, EventType.TASK_RELEASED, "nadia", instance_id=instance_id, data={"kept": 0})
            record(s, EventType.USER_SIGNED_IN, "nadia", data={"kept": 0})
            savepoint.rollback()
        record(s, EventType.TASK_CLAIMED, "nadia", instance_id=instance_id, data={"kept": 2})
        record(s, EventType.USER_SIGNED_IN, "nadia", data={"kept": 2})
    with unit_of_work(org_sessions) as s:
        result = verify_audit(s)
        kept = [e.data["kept"] for e in s.query(AuditEvent).filter(AuditEvent.data.is_not(None))
                .order_by(AuditEvent.id) if "kept" in e.data]
    assert result.ok, result
    assert kept == [1, 2, 2]
