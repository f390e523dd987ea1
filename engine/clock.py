"""The engine's notion of "now", injectable so that tests and `passerelle worker --now` can fire
timers at a chosen moment.

SpiffWorkflow's timer events call `datetime.now(timezone.utc)` from inside their own module and
offer no clock parameter; `install()` points that module's `datetime` name at a subclass whose
`now()` reads this module's clock. This is the only place the library is patched.
"""
from __future__ import annotations

import contextlib
import contextvars
from datetime import date, datetime, timezone
from typing import Iterator

_frozen: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("passerelle_now", default=None)


def now() -> datetime:
    """The current UTC time, or the time frozen by `frozen_at`."""
    value = _frozen.get()
    return value if value is not None else datetime.now(timezone.utc)


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


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same contract as datetime.now
        current = now()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


def install() -> None:
    """Make SpiffWorkflow's timers read this clock (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockedDatetime
