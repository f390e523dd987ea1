"""The date helpers diagram code may call (plain functions: the engine and facts use them too)."""
from __future__ import annotations

import calendar
from datetime import date as _Date, datetime, timedelta
from typing import Any, Callable, Mapping

from .. import clock


def date(value: Any) -> _Date:
    """`value` ('YYYY-MM-DD', an ISO datetime string, or a date) as a datetime.date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, _Date):
        return value
    if isinstance(value, str):
        try:
            return _Date.fromisoformat(value.strip())
        except ValueError:
            return datetime.fromisoformat(value.strip()).date()
    raise TypeError(f"expected a 'YYYY-MM-DD' string or a date, not {type(value).__name__}")


def today() -> str:
    """Today's date (from the injectable clock) as 'YYYY-MM-DD'."""
    return clock.today().isoformat()


def whole(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"expected a whole number, not {type(n).__name__}")
    return n


def _shift_months(day: _Date, n: int) -> _Date:
    year, month0 = divmod(day.year * 12 + day.month - 1 + whole(n), 12)
    return _Date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def add_months(d: Any, n: int) -> str:
    """`d` plus `n` months, the day clamped to the end of a shorter month (01-31 + 1 → 02-28)."""
    return _shift_months(date(d), n).isoformat()


def add_days(d: Any, n: int) -> str:
    """`d` plus `n` days (n may be negative) as 'YYYY-MM-DD'."""
    return (date(d) + timedelta(days=whole(n))).isoformat()


def days_between(start: Any, end: Any) -> int:
    """Days from `start` to `end`: negative when `end` comes first."""
    return (date(end) - date(start)).days


def months_between(start: Any, end: Any) -> int:
    """The smallest n such that end < add_months(start, n): the number of months a mission from
    `start` to `end` (both days included) runs into, e.g. 2026-01-01..2027-12-31 → 24.
    0 when `end` is the day before `start`, negative further back."""
    first, last = date(start), date(end)
    n = (last.year - first.year) * 12 + last.month - first.month
    return n + 1 if last >= _shift_months(first, n) else n


def midpoint(start: Any, end: Any) -> str:
    """The middle day of start..end (the earlier one when the span has an even number of days)."""
    first = date(start)
    return (first + timedelta(days=(date(end) - first).days // 2)).isoformat()


HELPERS: Mapping[str, Callable[..., Any]] = {
    "date": date, "today": today, "months_between": months_between, "days_between": days_between,
    "add_days": add_days, "add_months": add_months, "midpoint": midpoint,
}


class Today(str):
    """In diagram code `today` is both the fact the engine adds to task data ('YYYY-MM-DD') and
    the helper `today()`: the two always agree, so the name serves both uses."""

    def __call__(self) -> str:
        return str(self)
