"""The budget of one evaluation: its limits, its counters, and how a refusal is raised."""
from __future__ import annotations

import contextvars
import sys
import time
from dataclasses import dataclass
from typing import Any

from ..errors import ForbiddenCode

TIME_LIMIT = 1.0          # seconds of wall-clock time per evaluation
MAX_ITEMS = 100_000       # elements (characters, items) in one value built by diagram code
MAX_BUILT = 1_000_000     # elements built in all by the operations above in one evaluation
MAX_STEPS = 250_000       # loop turns and function calls per evaluation
MAX_INT_BITS = 10_000     # about 3,000 decimal digits
MAX_FORMAT_WIDTH = 999    # widths and precisions in '%' and f-string formats
FILENAME = "<diagram>"    # how compiled diagram code names itself in tracebacks

# Isolation (see engine/sandbox/isolation.py): what one evaluation in a sandbox process may use.
MAX_RESULT_BYTES = 1_000_000        # the JSON text of what one evaluation hands back (aliases counted)
MAX_DEPTH = 100                     # nesting of lists and dicts in what crosses the process boundary
MEMORY_LIMIT = 512 * 2**20          # RLIMIT_AS of a sandbox process, in bytes
PROCESSES = 2                       # sandbox processes kept ready in each server or worker process
GRACE = 0.5                         # seconds the parent waits past the time limit before killing
TIMER_HORIZON_DAYS = 3653           # timers may not lie further ahead than about ten years
MIN_CYCLE_SECONDS = 60              # the shortest interval of a repeating timer


@dataclass(frozen=True)
class Limits:
    """The configurable bounds of diagram code (the engine's defaults; the web passes settings)."""
    time_limit: float = TIME_LIMIT
    result_bytes: int = MAX_RESULT_BYTES
    memory_bytes: int = MEMORY_LIMIT
    processes: int = PROCESSES
    timer_horizon_days: int = TIMER_HORIZON_DAYS


_configured = Limits()


def configure(limits: Limits) -> None:
    """Set the limits of every SandboxedEnvironment built without its own (the web's settings)."""
    global _configured
    if limits.processes < 1 or limits.time_limit <= 0 or limits.result_bytes < 1:
        raise ValueError(f"sandbox limits out of range: {limits}")
    _configured = limits


def configured() -> Limits:
    return _configured


@dataclass
class Budget:
    time_limit: float
    deadline: float
    steps: int = 0
    built: int = 0
    refusal: ForbiddenCode | None = None


active_budget: contextvars.ContextVar[Budget] = contextvars.ContextVar("passerelle_sandbox_budget")


def _diagram_line() -> int | None:
    """The line of diagram code running now (our own frames are trusted, so we may look)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == FILENAME:
            return frame.f_lineno
        frame = frame.f_back
    return None


def refuse(message: str) -> None:
    error = ForbiddenCode(message, _diagram_line())
    budget = active_budget.get(None)
    if budget is not None and budget.refusal is None:
        budget.refusal = error  # sticky: re-raised after the run even if something swallowed it
    raise error


def _current() -> Budget:
    budget = active_budget.get(None)
    if budget is None:
        refuse("diagram code can only run inside an evaluation")
    if budget.refusal is not None:
        raise budget.refusal
    return budget


def tick() -> None:
    budget = _current()
    budget.steps += 1
    if budget.steps > MAX_STEPS:
        refuse(f"evaluation exceeded {MAX_STEPS} loop turns or calls")
    if time.monotonic() > budget.deadline:
        refuse(f"evaluation exceeded {budget.time_limit:g} s")


def build(n: int, total: int | None = None) -> None:
    """Account for `n` elements about to be built (or just built) into a value of `total`."""
    total = n if total is None else total
    if total > MAX_ITEMS:
        refuse(f"result too large: {total} elements (the limit is {MAX_ITEMS})")
    budget = _current()
    budget.built += n
    if budget.built > MAX_BUILT:
        refuse(f"evaluation built more than {MAX_BUILT} elements")


def count_built(value: Any) -> Any:
    if isinstance(value, (str, list, tuple, dict, set, frozenset)):
        build(len(value))
    return value


def text_size(value: Any) -> int:
    """An upper estimate of len(str(value)), walked no further than MAX_ITEMS."""
    if isinstance(value, str):
        return len(value)
    total, stack = 0, [value]
    while stack and total <= MAX_ITEMS:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        else:
            total += 40
    return total


def formatted(value: Any) -> Any:
    """Before str(value), f'{value}' or '%s' % value: the text must stay within bounds."""
    build(text_size(value))
    return value
