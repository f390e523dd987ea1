"""Timer expressions (ISO 8601) parsed with bounds, before SpiffWorkflow sees them.

SpiffWorkflow walks a duration month by month (`P99999999Y` takes minutes) and fires a cycle
whose interval is zero forever (`R/PT0S`). A timer value is refused, with its reason, when it

- is not a short ISO 8601 date (`timeDate`), duration (`timeDuration`) or repeating interval
  (`timeCycle`, `R[n]/duration`, `R[n]/start/duration`, `R[n]/duration/end`);
- lies beyond the horizon (a date, a duration, a cycle's start, end or interval);
- yields nothing: a cycle of zero repetitions or a zero interval; or spins: a cycle faster than
  MIN_CYCLE_SECONDS that repeats without end or more than MAX_QUICK_REPETITIONS times.

`problem` is called at deployment on timers written as constants (`engine.validation`) and at run
time on every value an expression computes (`SandboxedScriptEngine`). Parsing is linear: the value
is at most MAX_LENGTH characters and the pattern does not backtrack.
"""
from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta, timezone

from .. import clock
from .budget import MIN_CYCLE_SECONDS, TIMER_HORIZON_DAYS, configured

MAX_LENGTH = 100
MAX_QUICK_REPETITIONS = 100  # a cycle faster than MIN_CYCLE_SECONDS may repeat at most this often
KINDS = ("timeDate", "timeDuration", "timeCycle")
_DURATION = re.compile(r"P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?", re.IGNORECASE)
# the longest each designator can be, in days: a year of 366 days, a month of 31
_DAYS = (366, 31, 7, 1, 1 / 24, 1 / 1440, 1 / 86400)


def duration_days(text: str) -> float | None:
    """The longest the ISO 8601 duration `text` can last, in days; None if it is not one."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    return sum(float(value.replace(",", ".")) * days for value, days in zip(match.groups(), _DAYS) if value)


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def problem(kind: str, value: object, now: datetime, horizon_days: int = TIMER_HORIZON_DAYS) -> str | None:
    """Why the timer value `value` of `kind` (one of KINDS) is refused at `now`, or None."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LENGTH:
        return f"a timer needs an ISO 8601 text of at most {MAX_LENGTH} characters"
    if kind == "timeCycle":
        return _cycle_problem(value.strip(), now, horizon_days)
    if kind == "timeDuration":
        days = duration_days(value)
        if days is None:
            return "not an ISO 8601 duration such as P5D or PT12H"
        return _beyond(days, horizon_days)
    moment = _moment(value)
    if moment is None:
        return "not an ISO 8601 date such as 2027-06-30 or 2027-06-30T09:00:00+02:00"
    return _beyond((moment - now) / timedelta(days=1), horizon_days)


def constant_problem(kind: str, source: str, horizon_days: int | None = None) -> str | None:
    """`problem` at the engine clock's now for a timer expression that is a constant (such as
    `"P5D"`); None for one computed from data, which is checked when it is computed."""
    if len(source) > 4 * MAX_LENGTH:
        return None
    try:
        value = ast.literal_eval(source.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    reason = problem(kind, value, clock.now(), horizon_days or configured().timer_horizon_days)
    return None if reason is None else f"timer {value!r} refused: {reason}"


def _beyond(days: float, horizon_days: int) -> str | None:
    return f"it lies beyond the horizon of {horizon_days} days" if days > horizon_days else None


def _cycle_problem(text: str, now: datetime, horizon_days: int) -> str | None:
    parts = text.upper().split("/")
    count = parts[0][1:]
    if not parts[0].startswith("R") or not (count == "" or count.isdigit()) or len(parts) not in (2, 3):
        return "not an ISO 8601 repeating interval such as R3/P1D or R/2027-06-01T09:00:00Z/P1W"
    if count and int(count) == 0:
        return "it repeats zero times: it would never fire"
    durations = [p for p in parts[1:] if p.startswith("P")]
    moments = [p for p in parts[1:] if not p.startswith("P")]
    if len(durations) != 1:
        return "a repeating interval needs exactly one duration, such as P1D"
    days = duration_days(durations[0])
    if days is None:
        return "not an ISO 8601 duration such as P5D or PT12H"
    if days == 0:
        return "its interval is zero: it would fire again at once, without end"
    if days * 86400 < MIN_CYCLE_SECONDS and (not count or int(count) > MAX_QUICK_REPETITIONS):
        return (f"it repeats {'without end' if not count else f'{int(count)} times'} more often than "
                f"every {MIN_CYCLE_SECONDS} seconds")
    for part in moments:
        moment = _moment(part)
        if moment is None:
            return "not an ISO 8601 date such as 2027-06-30 or 2027-06-30T09:00:00+02:00"
        if (beyond := _beyond((moment - now) / timedelta(days=1), horizon_days)) is not None:
            return beyond
    return _beyond(days, horizon_days)
