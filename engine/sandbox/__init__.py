"""The only place diagram code is evaluated: gateway conditions, script tasks, timers and DMN cells.

SpiffWorkflow evaluates all of them as Python over the task data; `make_script_engine()` gives it a
script engine whose environment runs them here instead, under four layers of defence:

1. At compile time (RestrictedPython plus our own rules, see `check_code`): no imports, no name or
   attribute starting with '_', attributes from an allow-list only, no try/with/class/global/yield,
   no calls to open/eval/exec/getattr/type/...; expressions may not call mutating methods.
2. At run time, guards bound to a per-evaluation budget: every attribute, item, loop turn and
   function call, and the operators that can build huge values (`**`, `*`, `+`, `<<`, `%`, f-string
   fields, builtins and methods that build strings and containers) are checked: at most MAX_ITEMS
   elements in one value and MAX_BUILT in all, MAX_INT_BITS bits in one integer, MAX_STEPS loop
   turns and calls, and the wall-clock time limit. The clock is read at every loop
   turn and call instead of by a signal, so the limit holds in any thread (Flask's dev server,
   gunicorn threads); one builtin call between two checks is bounded by layer 4.
3. A namespace holding only allow-listed builtins, the date helpers and the engine's functions.
4. A process of its own (`isolation`, `child`): scripts, and expressions that are not provably
   cheap (`cheap` states the rule), run in a sandbox process with memory and CPU limits, killed
   and replaced when it overruns its deadline or crashes; what comes back is JSON measured at its
   real size (`wire`). The server's own process keeps the cheap expressions — most conditions and
   DMN cells — so that a task completion stays fast. Timer values are bounded by `timer_bounds`.

Every refusal raises ForbiddenCode. Through SpiffWorkflow it reaches the caller of
`workflow.do_engine_steps()` as a WorkflowTaskException whose `__cause__` is the ForbiddenCode (the
library's own wrappers may add notes or wrap it again); `find_forbidden(exc)` digs it out.
"""
from __future__ import annotations

from .budget import Limits, configure
from .environment import SandboxedEnvironment, find_forbidden, make_script_engine
from .helpers import add_days, add_months, date, days_between, midpoint, months_between, today
from .policy import check_code
from .timer_bounds import KINDS as TIMER_KINDS, constant_problem as timer_constant_problem

__all__ = [
    # running diagram code, and finding why it was refused
    "make_script_engine", "SandboxedEnvironment", "find_forbidden",
    # checking it at deployment: code, and timers written as constants
    "check_code", "TIMER_KINDS", "timer_constant_problem",
    # the limits, set once at start-up
    "Limits", "configure",
    # the date helpers diagram code calls, also used by the engine's own facts
    "date", "today", "months_between", "days_between", "add_days", "add_months", "midpoint",
]
