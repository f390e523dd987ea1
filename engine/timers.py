"""Background work: fire due timers, send queued mail, queue reminders — the `passerelle worker`.

Each job is one short transaction, so several workers can run at once:

- A due timer is claimed by locking its *instance* row with `FOR UPDATE SKIP LOCKED` (PostgreSQL;
  SQLite has a single writer, which serialises workers just as well). Locking the instance rather
  than the timer row takes locks in the same order as web requests do, so the two never deadlock;
  a worker that finds the instance locked (by a request or another worker) moves on. The timers
  are fired by `runtime.run_due_timers` and everything commits together: a worker killed mid-job
  leaves nothing behind, and the job is found again on the next pass. Firing twice has no double
  effect: the second worker sees a workflow whose timer already fired.
- A queued message is claimed the same way, its attempt counted and a retry time set *before*
  it is sent, in its own transaction, so a worker that dies while sending leaves the message to be
  retried later (at least once — see `engine.mailer`), never lost and never held forever.
- Failures are retried with exponential backoff; after `max_attempts` the timer or message is
  `failed`: an incident, listed by `engine.incidents`, that an operator can retry.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from . import clock, notifications, staging
from .incidents import cause_of_mail, cause_of_timer
from .mailer import Mailer, Outgoing, SmtpSettings, is_permanent
from .messages import Message
from .models import Instance, OutboxMessage, Timer
from .runtime import run_due_timers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    #: attempts before a timer or message becomes an incident
    max_attempts: int = 5
    #: wait before the first retry; doubles with each attempt, up to `backoff_max_seconds`
    backoff_seconds: float = 300.0
    backoff_max_seconds: float = 6 * 3600.0
    #: queue a reminder when a ready task is due within this many hours (0: no reminders)
    reminder_hours: float = 24.0
    #: seconds to sleep when a pass found nothing to do
    poll_seconds: float = 5.0
    #: most jobs of each kind in one pass, so that one kind cannot starve the others
    batch: int = 200
    #: staged uploads older than this are deleted (`engine.staging`)
    staged_upload_hours: float = 24.0


@dataclass
class PassReport:
    timers_fired: int = 0
    timers_failed: int = 0
    messages_sent: int = 0
    messages_failed: int = 0
    reminders_queued: int = 0
    staged_uploads_purged: int = 0

    @property
    def busy(self) -> bool:
        return any((self.timers_fired, self.timers_failed, self.messages_sent, self.messages_failed,
                    self.reminders_queued, self.staged_uploads_purged))

    def __str__(self) -> str:
        return (f"{self.timers_fired} timer job(s) done, {self.timers_failed} failed; "
                f"{self.messages_sent} message(s) sent, {self.messages_failed} failed; "
                f"{self.reminders_queued} reminder(s) queued; "
                f"{self.staged_uploads_purged} expired staged upload(s) deleted")


def backoff(attempts: int, settings: WorkerSettings) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    seconds = settings.backoff_seconds * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(seconds, settings.backoff_max_seconds))


def run_worker(sessions: sessionmaker[Session], settings: WorkerSettings, once: bool = False,
               now: datetime | None = None, stop: threading.Event | None = None) -> PassReport:
    """Do background work until `stop` is set (or one pass with `once`); returns the last pass's report.

    `now` freezes the engine clock for the pass (tests, `passerelle worker --once --now ...`).
    In a loop, a pass that fails as a whole (database unreachable) is logged and retried.
    """
    stop = stop or threading.Event()
    while True:
        try:
            with clock.frozen_at(now):
                report = run_pass(sessions, settings)
        except Exception:
            if once:
                raise
            log.exception("worker pass failed; retrying in %ss", settings.poll_seconds)
            report = PassReport()
        else:
            if report.busy:
                log.info("worker pass: %s", report)
        if once or stop.is_set():
            return report
        if not report.busy:
            stop.wait(settings.poll_seconds)
            if stop.is_set():
                return report


def run_pass(sessions: sessionmaker[Session], settings: WorkerSettings) -> PassReport:
    """One pass at the engine clock: fire due timers, queue reminders, send queued mail, delete
    expired staged uploads."""
    report = PassReport()
    for _ in range(settings.batch):
        outcome = fire_next_timer(sessions, settings)
        if outcome is None:
            break
        if outcome:
            report.timers_fired += 1
        else:
            report.timers_failed += 1
    if settings.reminder_hours > 0:
        with sessions.begin() as session:
            report.reminders_queued = notifications.reminders_due(session, timedelta(hours=settings.reminder_hours))
    with Mailer(settings.smtp) as mailer:
        for _ in range(settings.batch):
            outcome = send_next_message(sessions, settings, mailer)
            if outcome is None:
                break
            if outcome:
                report.messages_sent += 1
            else:
                report.messages_failed += 1
                if mailer.unreachable:
                    break
    with sessions.begin() as session:
        report.staged_uploads_purged = staging.purge_staged_uploads(
            session, keep=timedelta(hours=settings.staged_upload_hours))
    return report


# --- timers -------------------------------------------------------------------------------------

def _due_timers(now: datetime):
    return (Timer.status == "waiting", Timer.due_at <= now,
            or_(Timer.next_attempt_at.is_(None), Timer.next_attempt_at <= now))


def fire_next_timer(sessions: sessionmaker[Session], settings: WorkerSettings) -> bool | None:
    """Claim one instance with due timers and fire them. None: nothing to do (or all taken);
    True: done; False: it failed and will be retried later (or became an incident)."""
    now = clock.now()
    while True:
        with sessions() as session:
            instance_id = session.scalar(_CLAIM, {"now": now})
            if instance_id is None:
                return None
            # The claim saw the timers as they were when its statement began: a worker holding the
            # lock then may have fired them and committed before the lock became ours. Read again
            # now that it is ours; nothing due any more means the claim was stale: look again.
            if session.scalar(_ANY_DUE_OF_INSTANCE, {"now": now, "instance_id": instance_id}) is None:
                session.rollback()
                continue
            try:
                return _fire(session, instance_id, now, settings)
            except Exception as err:
                session.rollback()
                log.warning("timers of instance %s failed: %s", instance_id, err, exc_info=True)
                cause = cause_of_timer(err)
        with sessions.begin() as session:
            for timer in _due_of(session, instance_id, now):
                _count_failure(timer, cause, now, settings)
        return False


_CLAIM = (select(Instance.id).join(Timer, Timer.instance_id == Instance.id).where(*_due_timers(bindparam("now")))
          .order_by(Timer.due_at, Timer.id).limit(1).with_for_update(skip_locked=True, of=Instance))
_DUE_OF_INSTANCE = select(Timer).where(Timer.instance_id == bindparam("instance_id"), *_due_timers(bindparam("now")))
_ANY_DUE_OF_INSTANCE = _DUE_OF_INSTANCE.with_only_columns(Timer.id).limit(1)


def _due_of(session: Session, instance_id: int, now: datetime) -> list[Timer]:
    return list(session.scalars(_DUE_OF_INSTANCE, {"instance_id": instance_id, "now": now}))


def _fire(session: Session, instance_id: int, now: datetime, settings: WorkerSettings) -> bool:
    """Fire the due timers of the instance whose lock `session` holds, and commit."""
    instance = session.get(Instance, instance_id, populate_existing=True)
    if instance.status == "running":
        run_due_timers(session, instance)
    else:  # ended meanwhile: its timers will never fire
        session.execute(update(Timer).where(Timer.instance_id == instance_id, Timer.status == "waiting")
                        .values(status="cancelled").execution_options(synchronize_session=False))
    stuck = _due_of(session, instance_id, now)
    for timer in stuck:  # due for us, yet the workflow did not fire it: do not spin on it
        _count_failure(timer, cause_of_timer(None), now, settings)
    session.commit()
    return not stuck


def _count_failure(timer: Timer, cause: Message, now: datetime, settings: WorkerSettings) -> None:
    timer.attempts = (timer.attempts or 0) + 1
    timer.last_error = cause.dumps()
    timer.next_attempt_at = now + backoff(timer.attempts, settings)
    if timer.attempts >= settings.max_attempts:
        # No next attempt: keep when the last one was made, which is when the incident began.
        timer.status, timer.next_attempt_at = "failed", now
        log.error("timer %s (%s) of instance %s is now an incident after %s attempts: %s",
                  timer.id, timer.bpmn_id, timer.instance_id, timer.attempts, cause)


# --- outbox -------------------------------------------------------------------------------------

def send_next_message(sessions: sessionmaker[Session], settings: WorkerSettings, mailer: Mailer) -> bool | None:
    """Claim one queued message, send it, record the outcome. None: nothing to send; True: sent;
    False: failed (to be retried later, or an incident)."""
    now = clock.now()
    with sessions.begin() as session:
        message = session.scalar(
            select(OutboxMessage).where(OutboxMessage.status == "pending",
                                        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
            .order_by(OutboxMessage.id).limit(1).with_for_update(skip_locked=True))
        if message is None:
            return None
        # Counted and pushed back before sending: a worker that dies now leaves it for a retry.
        message.attempts = (message.attempts or 0) + 1
        message.next_attempt_at = now + backoff(message.attempts, settings)
        outgoing = Outgoing(message.id, message.recipient, message.subject, message.body, message.dedup_key)
        attempts = message.attempts
    try:
        mailer.send(outgoing)
    except Exception as err:
        mailer.close()
        permanent = is_permanent(err)
        log.warning("message %s to %s not sent (attempt %s): %s", outgoing.id, outgoing.recipient, attempts, err)
        with sessions.begin() as session:
            message = session.get(OutboxMessage, outgoing.id)
            message.last_error = cause_of_mail(err).dumps()
            if permanent or attempts >= settings.max_attempts:
                message.status, message.next_attempt_at = "failed", now  # when the incident began
                log.error("message %s to %s is now an incident: %s", outgoing.id, outgoing.recipient, err)
        return False
    with sessions.begin() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == outgoing.id, OutboxMessage.status == "pending")
                        .values(status="sent", sent_at=clock.now(), next_attempt_at=None, last_error=None)
                        .execution_options(synchronize_session=False))
    return True
