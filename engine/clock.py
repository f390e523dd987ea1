"""The engine's notion of "now", injectable so that tests and `passerelle worker --now` can fire
timers at a chosen moment.

SpiffWorkflow's timer events call `datetime.now(timezone.utc)` from inside their own module and
offer no clock parameter; `install()` points that module's `datetime` name at a subclass whose
`now()` reads this module's clock. This is the only place the library is patched.
"""
from __future__ import annotations

import contextlib
import contextvars
import time
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

_frozen: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("passerelle_now", default=None)
# (moment, time.monotonic() when it was set): set by `start_at`, read by every thread.
_origin: tuple[datetime, float] | None = None


def now() -> datetime:
    """The current UTC time: the time frozen by `frozen_at` in this context, else the process clock
    set by `start_at`, else the machine's."""
    value = _frozen.get()
    if value is not None:
        return value
    origin = _origin
    if origin is not None:
        return origin[0] + timedelta(seconds=time.monotonic() - origin[1])
    return datetime.now(timezone.utc)


def today() -> date:
    return now().date()


@contextlib.contextmanager
def frozen_at(moment: datetime | None) -> Iterator[None]:
    """Run the enclosed code as if it were `moment` (UTC if naive); None means the real time."""
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    token = _frozen.set(moment)
    try:
        yield
    finally:
        _frozen.reset(token)


def start_at(moment: datetime | None) -> None:
    """From now on, in every thread of this process, the clock reads `moment` (UTC if naive) and
    runs on from it, seconds as long as the machine's; None goes back to the machine's time.

    The test suite starts its clock on a fixed day, so that the dates in its data keep their
    meaning whatever day it runs; `frozen_at` still wins inside its block.
    """
    global _origin
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    _origin = None if moment is None else (moment, time.monotonic())


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same contract as datetime.now
        current = now()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


def install() -> None:
    """Make SpiffWorkflow's timers read this clock (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockedDatetime
