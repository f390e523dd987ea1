"""Two people completing the same task at once: exactly one succeeds, the other gets Conflict."""
from __future__ import annotations

import threading

from engine import Conflict, complete_task, start_instance, unit_of_work, verify_audit
from engine.models import AuditEvent, HumanTask, Instance

from .helpers import REQUEST, as_user, deploy_approval, open_task


def submitted_request(sessions) -> int:
    """A request nadia has filled in: it waits for her manager's review."""
    deploy_approval(sessions)
    with unit_of_work(sessions) as s:
        instance_id = start_instance(s, "approval_test", as_user(s, "nadia")).id
    with unit_of_work(sessions) as s:
        complete_task(s, open_task(s, instance_id, "request").id, as_user(s, "nadia"), REQUEST)
    return instance_id


def test_concurrent_completion_of_one_task(org_sessions):
    instance_id = submitted_request(org_sessions)
    # Let the HR lane's task be offered to two people: fire the timer.
    from datetime import datetime
    from engine import frozen_at, run_due_timers
    with unit_of_work(org_sessions) as s:
        complete_task(s, open_task(s, instance_id, "manager_review").id, as_user(s, "julien"), {"decision": "approve"})
    with unit_of_work(org_sessions) as s, frozen_at(datetime(2026, 12, 2)):
        run_due_timers(s, s.get(Instance, instance_id))
    with unit_of_work(org_sessions) as s:
        task_id = open_task(s, instance_id, "hr_close").id

    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def attempt(username: str, note: str):
        with unit_of_work(org_sessions) as look:
            assert look.get(HumanTask, task_id).status == "ready"  # both see it waiting
        barrier.wait(timeout=10)
        session = org_sessions()
        try:
            complete_task(session, task_id, as_user(session, username), {"note": note})
            session.commit()
            outcomes[username] = "ok"
        except Conflict:
            session.rollback()
            outcomes[username] = "conflict"
        finally:
            session.close()

    threads = [threading.Thread(target=attempt, args=(u, f"by {u}")) for u in ("karim", "sophie")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["conflict", "ok"], outcomes
    winner = next(u for u, o in outcomes.items() if o == "ok")
    with unit_of_work(org_sessions) as s:
        task = s.get(HumanTask, task_id)
        assert (task.completed_by, task.data) == (winner, {"note": f"by {winner}"})
        completions = s.query(AuditEvent).filter_by(instance_id=instance_id, type="task_completed", task_id="hr_close").all()
        assert [e.actor for e in completions] == [winner]
        assert s.get(Instance, instance_id).status == "completed"
        assert verify_audit(s).ok


def test_a_release_waits_for_a_cancellation_in_progress_then_says_the_task_is_gone(org_sessions):
    # A release writes to the request's audit trail: it must queue behind whoever holds the
    # request (here hr cancelling it), then see what they committed — not fail on a duplicate.
    from engine import cancel_instance, claim_task, release_task
    instance_id = submitted_request(org_sessions)
    with unit_of_work(org_sessions) as s:
        task_id = open_task(s, instance_id, "manager_review").id
        claim_task(s, task_id, as_user(s, "julien"))

    holder = org_sessions()
    cancel_instance(holder, instance_id, as_user(holder, "sophie"), "Plus nécessaire")
    holder.flush()
    outcome: list[object] = []

    def release():
        with org_sessions() as session:
            try:
                release_task(session, task_id, as_user(session, "julien"))
                session.commit()
                outcome.append("released")
            except Exception as err:  # the outcome is asserted below
                session.rollback()
                outcome.append(err)

    thread = threading.Thread(target=release)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive(), f"the release did not wait for the cancellation: {outcome}"
    holder.commit()
    holder.close()
    thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    assert "no longer waiting" in str(outcome[0])
    with unit_of_work(org_sessions) as s:
        assert s.get(Instance, instance_id).end_state == "cancelled"
        assert [e.type for e in s.query(AuditEvent).filter_by(instance_id=instance_id).order_by(AuditEvent.seq)][-1] \
            == "instance_cancelled"
        assert verify_audit(s).ok
