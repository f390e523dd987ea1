"""The only place diagram code is evaluated: gateway conditions, script tasks, timers and DMN cells.

SpiffWorkflow evaluates all of them as Python over the task data; `make_script_engine()` gives it a
script engine whose environment runs them here instead, under three layers of defence:

1. At compile time (RestrictedPython plus our own rules, see `check_code`): no imports, no name or
   attribute starting with '_', attributes from an allow-list only, no try/with/class/global/yield,
   no calls to open/eval/exec/getattr/type/...; expressions may not call mutating methods.
2. At run time, guards bound to a per-evaluation budget: every attribute, item, loop turn and
   function call, and the operators that can build huge values (`**`, `*`, `+`, `<<`, `%`, f-string
   fields, builtins and methods that build strings and containers) are checked: at most MAX_ITEMS
   elements in one value and MAX_BUILT in all, MAX_INT_BITS bits in one integer, MAX_STEPS loop
   turns and calls, and the wall-clock time limit. The clock is read at every loop
   turn and call instead of by a signal, so the limit holds in any thread (Flask's dev server,
   gunicorn threads); one builtin call between two checks is bounded by the size limits instead.
3. A namespace holding only allow-listed builtins, the date helpers and the engine's functions.

Every refusal raises ForbiddenCode. Through SpiffWorkflow it reaches the caller of
`workflow.do_engine_steps()` as a WorkflowTaskException whose `__cause__` is the ForbiddenCode (the
library's own wrappers may add notes or wrap it again); `find_forbidden(exc)` digs it out.
"""
from __future__ import annotations

import ast
import calendar
import contextvars
import operator
import re
import sys
import textwrap
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import date as _Date, datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any, Callable, Literal, Mapping, NamedTuple

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import clock
from .errors import ForbiddenCode

__all__ = ["SandboxedEnvironment", "make_script_engine", "find_forbidden", "check_code", "HELPERS",
           "date", "today", "months_between", "days_between", "add_days", "add_months", "midpoint"]

TIME_LIMIT = 1.0          # seconds of wall-clock time per evaluation
MAX_ITEMS = 100_000       # elements (characters, items) in one value built by diagram code
MAX_BUILT = 1_000_000     # elements built in all by the operations above in one evaluation
MAX_STEPS = 250_000       # loop turns and function calls per evaluation
MAX_INT_BITS = 10_000     # about 3,000 decimal digits
MAX_FORMAT_WIDTH = 999    # widths and precisions in '%' and f-string formats
FILENAME = "<diagram>"    # how compiled diagram code names itself in tracebacks


# --- date helpers (plain functions: the engine and facts use them too) ----------------------------

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


def _whole(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"expected a whole number, not {type(n).__name__}")
    return n


def _shift_months(day: _Date, n: int) -> _Date:
    year, month0 = divmod(day.year * 12 + day.month - 1 + _whole(n), 12)
    return _Date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def add_months(d: Any, n: int) -> str:
    """`d` plus `n` months, the day clamped to the end of a shorter month (01-31 + 1 → 02-28)."""
    return _shift_months(date(d), n).isoformat()


def add_days(d: Any, n: int) -> str:
    """`d` plus `n` days (n may be negative) as 'YYYY-MM-DD'."""
    return (date(d) + timedelta(days=_whole(n))).isoformat()


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


class _Today(str):
    """In diagram code `today` is both the fact the engine adds to task data ('YYYY-MM-DD') and
    the helper `today()`: the two always agree, so the name serves both uses."""

    def __call__(self) -> str:
        return str(self)


# --- the budget of one evaluation ---------------------------------------------------------------

@dataclass
class _Budget:
    time_limit: float
    deadline: float
    steps: int = 0
    built: int = 0
    refusal: ForbiddenCode | None = None


_budget: contextvars.ContextVar[_Budget] = contextvars.ContextVar("passerelle_sandbox_budget")


def _diagram_line() -> int | None:
    """The line of diagram code running now (our own frames are trusted, so we may look)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == FILENAME:
            return frame.f_lineno
        frame = frame.f_back
    return None


def _refuse(message: str) -> None:
    error = ForbiddenCode(message, _diagram_line())
    budget = _budget.get(None)
    if budget is not None and budget.refusal is None:
        budget.refusal = error  # sticky: re-raised after the run even if something swallowed it
    raise error


def _current() -> _Budget:
    budget = _budget.get(None)
    if budget is None:
        _refuse("diagram code can only run inside an evaluation")
    if budget.refusal is not None:
        raise budget.refusal
    return budget


def _tick() -> None:
    budget = _current()
    budget.steps += 1
    if budget.steps > MAX_STEPS:
        _refuse(f"evaluation exceeded {MAX_STEPS} loop turns or calls")
    if time.monotonic() > budget.deadline:
        _refuse(f"evaluation exceeded {budget.time_limit:g} s")


def _build(n: int, total: int | None = None) -> None:
    """Account for `n` elements about to be built (or just built) into a value of `total`."""
    total = n if total is None else total
    if total > MAX_ITEMS:
        _refuse(f"result too large: {total} elements (the limit is {MAX_ITEMS})")
    budget = _current()
    budget.built += n
    if budget.built > MAX_BUILT:
        _refuse(f"evaluation built more than {MAX_BUILT} elements")


def _built(value: Any) -> Any:
    if isinstance(value, (str, list, tuple, dict, set, frozenset)):
        _build(len(value))
    return value


def _text_size(value: Any) -> int:
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


def _formatted(value: Any) -> Any:
    """Before str(value), f'{value}' or '%s' % value: the text must stay within bounds."""
    _build(_text_size(value))
    return value


# --- run-time guards ----------------------------------------------------------------------------

def _counted(iterator):
    for item in iterator:
        _tick()
        yield item


def _getiter(obj: Any):
    return _counted(iter(obj))


_SAFE_METHODS = {
    str: {"lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
          "endswith", "find", "rfind", "index", "rindex", "count", "replace", "join", "title",
          "capitalize", "casefold", "isdigit", "isalpha", "isalnum", "isspace", "isnumeric", "isdecimal",
          "islower", "isupper", "partition", "rpartition", "removeprefix", "removesuffix"},
    list: {"index", "count", "copy"},
    tuple: {"index", "count"},
    dict: {"get", "keys", "values", "items", "copy"},
    (set, frozenset): {"union", "intersection", "difference", "symmetric_difference", "issubset",
                       "issuperset", "isdisjoint", "copy"},
    datetime: {"year", "month", "day", "hour", "minute", "second", "date", "isoformat", "weekday",
               "isoweekday"},
    _Date: {"year", "month", "day", "isoformat", "weekday", "isoweekday", "toordinal"},
    timedelta: {"days"},
}
# methods that change their object: scripts only, never in expressions
_MUTATING_METHODS = {
    list: {"append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear"},
    dict: {"pop", "setdefault", "update", "clear"},
    set: {"add", "discard", "remove", "update", "clear"},
}
MUTATING_ATTRIBUTES = frozenset().union(*_MUTATING_METHODS.values())
ALLOWED_ATTRIBUTES = frozenset().union(*_SAFE_METHODS.values(), MUTATING_ATTRIBUTES)
_GROWS_BY_ONE = {"append", "insert", "add", "setdefault"}
_GROWS_BY_ARGUMENT = {"extend", "update"}


def _attributes_of(obj: Any) -> set[str]:
    allowed: set[str] = set()
    for table in (_SAFE_METHODS, _MUTATING_METHODS):
        for kind, names in table.items():
            if isinstance(obj, kind) and not isinstance(obj, type):
                allowed |= names
    return allowed


def _check_method(obj: Any, name: str, args: tuple, kwargs: dict) -> tuple:
    """Account for what a method that can grow beyond its inputs is about to build; returns the
    arguments to call it with (an iterator argument is read once, here)."""
    if name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        old, new = args[:2]
        hits = obj.count(old) if old else len(obj) + 1
        count = args[2] if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0 else hits
        _build(len(obj) + min(hits, count) * (len(new) - len(old)))
    elif name == "join" and args:
        args = (list(args[0]),)
        _build(sum(len(i) for i in args[0] if isinstance(i, str)) + len(obj) * max(len(args[0]) - 1, 0))
    elif name in _GROWS_BY_ONE:
        _build(1, len(obj) + 1)
    elif name in _GROWS_BY_ARGUMENT:
        if args and not isinstance(args[0], (str, list, tuple, dict, set, frozenset)):
            args = (list(args[0]),)
        added = (len(args[0]) if args else 0) + len(kwargs)
        _build(added, len(obj) + added)
    return args


def _getattr(obj: Any, name: str) -> Any:
    if name not in _attributes_of(obj):
        kind = "a type" if isinstance(obj, type) else type(obj).__name__
        _refuse(f"attribute '{name}' is not allowed on {kind}")
    value = safer_getattr(obj, name)
    if not callable(value):
        return value

    def method(*args, **kwargs):
        result = value(*_check_method(obj, name, args, kwargs), **kwargs)
        return result if name in ("replace", "join") else _built(result)  # those two: counted already
    return method


def _getitem(obj: Any, key: Any) -> Any:
    if isinstance(obj, type):
        _refuse("subscripting types is not allowed")
    return _built(obj[key]) if isinstance(key, slice) else obj[key]


def _write(obj: Any) -> Any:
    if not isinstance(obj, (dict, list)):
        _refuse(f"only dicts and lists can be changed, not a {type(obj).__name__}")
    if len(obj) >= MAX_ITEMS:
        _refuse(f"result too large: more than {MAX_ITEMS} elements")
    return obj


_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_binop(op: str, left: Any, right: Any) -> None:
    ints = isinstance(left, int) and isinstance(right, int)
    if op == "**" and ints and right > 0 and abs(left) > 1:
        if left.bit_length() * right > MAX_INT_BITS:
            _refuse("number too large")
    elif op == "<<" and ints and right > 0 and left != 0:
        if left.bit_length() + right > MAX_INT_BITS:
            _refuse("number too large")
    elif op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                _build(len(seq) * max(n, 0))
                return
        if ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            _refuse("number too large")
    elif op == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
        _build(len(left) + len(right))
    elif op == "%" and isinstance(left, str):
        padding = 0
        for width, precision in _FORMAT_SPEC.findall(left):
            if "*" in (width, precision):
                _refuse("'*' widths in '%' formats are not allowed")
            if max(int(width or 0), int(precision or 0)) > MAX_FORMAT_WIDTH:
                _refuse(f"format widths above {MAX_FORMAT_WIDTH} are not allowed")
            padding += int(width or 0) + int(precision or 0)
        _build(len(left) + padding + _text_size(right))


_OPERATORS = {"+": operator.add, "*": operator.mul, "**": operator.pow, "<<": operator.lshift,
              "%": operator.mod}
_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
            ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
            "@=": operator.imatmul}


def _binop(op: str, left: Any, right: Any) -> Any:
    _check_binop(op, left, right)
    return _OPERATORS[op](left, right)


def _inplacevar(op: str, left: Any, right: Any) -> Any:
    _check_binop(op[:-1], left, right)
    return _INPLACE[op](left, right)


def _apply(function: Callable, *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


class _DiscardedPrint:
    """`print` in a script is accepted and ignored (the diagram has nowhere to print to)."""

    def __init__(self, _getattr_=None):
        pass

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        _tick()

    def __call__(self) -> str:
        return ""


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_ITEMS:
        _refuse(f"range() too large: {len(numbers)} elements (the limit is {MAX_ITEMS})")
    return numbers


def _round(number, ndigits=None):
    if ndigits is not None and abs(_whole(ndigits)) > 100:
        _refuse("round() to more than 100 digits is not allowed")
    return round(number, ndigits)


def _sum(iterable, start=0):
    if isinstance(start, bool) or not isinstance(start, (int, float)):
        raise TypeError("sum() adds numbers only")
    return sum(iterable, start)


def _sorted(iterable, *, key=None, reverse=False):
    return _built(sorted(iterable, key=key, reverse=reverse))


class _CountedType(type):
    """Stands in for str, list, tuple, dict and set in diagram code: isinstance() works as usual,
    and what they build counts against the budget (str(x) is checked before x is expanded)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls.wrapped)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls.wrapped)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.wrapped is str and args:
            _formatted(args[0])
        return _built(cls.wrapped(*args, **kwargs))


def _counted_type(kind: type) -> _CountedType:
    return _CountedType(kind.__name__, (), {"wrapped": kind})


_BUILTINS: dict[str, Any] = {name: safe_builtins[name] for name in (
    "abs", "bool", "float", "int", "isinstance", "len", "zip", "divmod", "chr", "ord",
    "ArithmeticError", "Exception", "KeyError", "LookupError", "TypeError", "ValueError", "ZeroDivisionError")}
_BUILTINS.update({kind.__name__: _counted_type(kind) for kind in (str, list, tuple, dict, set)})
_BUILTINS.update(min=min, max=max, sum=_sum, any=any, all=all, enumerate=enumerate, range=_range,
                 round=_round, sorted=_sorted)

_GUARDS: dict[str, Any] = {
    "_getattr_": _getattr, "_getitem_": _getitem, "_getiter_": _getiter, "_write_": _write,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplacevar, "_apply_": _apply, "_print_": _DiscardedPrint, "_binop_": _binop,
    "_tick_": _tick, "_fmt_": _formatted,
}


# --- compile time ---------------------------------------------------------------------------------

_FORBIDDEN_CALLS = frozenset({
    "open", "eval", "exec", "compile", "getattr", "setattr", "delattr", "hasattr", "globals", "locals",
    "vars", "type", "dir", "input", "breakpoint", "help", "memoryview", "object", "super", "classmethod",
    "staticmethod", "property", "id", "exit", "quit", "format", "iter", "next", "reload"})
_GUARDED_OPERATORS = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}


def _call(name: str, where: ast.AST, *args: ast.expr) -> ast.Call:
    func = ast.copy_location(ast.Name(name, ast.Load()), where)
    return ast.copy_location(ast.Call(func=func, args=list(args), keywords=[]), where)


class _ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's rules, clearer messages, a few more refusals, and the hooks that let the
    budget see loops, calls and the operators that build large values."""

    expression_only = False

    def check_name(self, node, name, allow_magic_methods=False):
        if name is not None and name.startswith("_") and name != "_":
            self.error(node, f"names starting with '_' are not allowed: {name}")
        else:
            super().check_name(node, name)

    def _not_allowed(self, node: ast.AST, message: str) -> ast.AST:
        self.error(node, message)
        return node

    def visit_Import(self, node):
        return self._not_allowed(node, "imports are not allowed")

    visit_ImportFrom = visit_Import

    def visit_Try(self, node):
        return self._not_allowed(node, "try/except is not allowed (it could hide the sandbox's refusals)")

    visit_TryStar = visit_Try

    def visit_With(self, node):
        return self._not_allowed(node, "with statements are not allowed")

    def visit_ClassDef(self, node):
        return self._not_allowed(node, "class definitions are not allowed")

    def visit_Global(self, node):
        return self._not_allowed(node, "global statements are not allowed")

    def visit_Yield(self, node):
        return self._not_allowed(node, "yield is not allowed")

    visit_YieldFrom = visit_Yield

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_CALLS:
            self.error(node, f"{node.func.id}() is not allowed")
        return super().visit_Call(node)

    def visit_Attribute(self, node):
        name = node.attr
        if name.startswith("_"):
            self.error(node, f"names starting with '_' are not allowed: {name}")
        elif not isinstance(node.ctx, ast.Load):
            self.error(node, f"changing attributes is not allowed: {name}")
        elif name not in ALLOWED_ATTRIBUTES:
            self.error(node, f"attribute '{name}' is not allowed")
        elif self.expression_only and name in MUTATING_ATTRIBUTES:
            self.error(node, f"expressions may not change data: '{name}' is only allowed in script tasks")
        return super().visit_Attribute(node)

    def visit_FormattedValue(self, node):
        parts = getattr(node.format_spec, "values", [])
        if not all(isinstance(part, ast.Constant) for part in parts):
            self.error(node, "format specifications must be written out, not computed")
        elif any(int(width) > MAX_FORMAT_WIDTH
                 for width in re.findall(r"\d+", "".join(str(part.value) for part in parts))):
            self.error(node, f"format widths above {MAX_FORMAT_WIDTH} are not allowed")
        node = super().visit_FormattedValue(node)
        node.value = _call("_fmt_", node.value, node.value)
        return node

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        symbol = _GUARDED_OPERATORS.get(type(node.op))
        if symbol is None:
            return node
        return _call("_binop_", node, ast.copy_location(ast.Constant(symbol), node), node.left, node.right)

    # every loop turn and every call of a function the code defines counts against the budget
    def _tick_statement(self, where: ast.AST) -> ast.stmt:
        return ast.copy_location(ast.Expr(_call("_tick_", where)), where)

    def visit_While(self, node):
        node = super().visit_While(node)
        node.body.insert(0, self._tick_statement(node))
        return node

    def visit_FunctionDef(self, node):
        if node.decorator_list:
            self.error(node, "decorators are not allowed")
        node = super().visit_FunctionDef(node)
        node.body.insert(0, self._tick_statement(node))
        return node

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        node.body = ast.copy_location(ast.BoolOp(op=ast.Or(), values=[_call("_tick_", node), node.body]), node)
        return node


class _ExpressionPolicy(_ScriptPolicy):
    expression_only = True


class _Compiled(NamedTuple):
    code: CodeType | None
    reason: str | None
    line: int | None
    syntax_error: bool


_ERROR = re.compile(r"Line (\d+|None): (.*)", re.S)
_SYNTAX = re.compile(r"(?:SyntaxError|IndentationError|TabError): (.*?)(?: at statement: .*)?", re.S)
_compile_lock = threading.Lock()


def _severity(error: str) -> int:
    """Report the worst refusal first: `__import__('os').system` is about `__import__`."""
    if "imports are not allowed" in error or "names starting with '_'" in error:
        return 0
    return 1 if "() is not allowed" in error else 2


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> _Compiled:
    if mode == "eval":
        text, policy, compiler = source.strip(), _ExpressionPolicy, compile_restricted_eval
    else:
        text, policy, compiler = textwrap.dedent(source), _ScriptPolicy, compile_restricted_exec
    try:
        # warnings (e.g. an invalid escape in a string) are the author's business, not the log's
        with _compile_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = compiler(text, filename=FILENAME, policy=policy)
    except (RecursionError, MemoryError):
        return _Compiled(None, "the code is nested too deeply", None, False)
    if not result.errors:
        return _Compiled(result.code, None, None, False)
    chosen = min(result.errors, key=_severity)
    located = _ERROR.fullmatch(chosen)
    message = located.group(2) if located else chosen
    line = int(located.group(1)) if located and located.group(1) != "None" else None
    syntax = _SYNTAX.fullmatch(message)
    if syntax or not located:
        return _Compiled(None, f"syntax error: {syntax.group(1) if syntax else message}", line, True)
    return _Compiled(None, message, line, False)


def check_code(source: str, mode: Literal["eval", "exec"]) -> str | None:
    """Why the sandbox would refuse to compile `source` (syntax errors included), or None.

    `mode` is "eval" for expressions (conditions, timers, DMN cells), "exec" for scripts.
    """
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    compiled = _compile(source, mode)
    if compiled.reason is None or compiled.line is None or mode == "eval":
        return compiled.reason
    return f"{compiled.reason} (line {compiled.line})"


def _code(source: str, mode: str) -> CodeType:
    compiled = _compile(source, mode)
    if compiled.code is not None:
        return compiled.code
    if compiled.syntax_error:
        raise SyntaxError(compiled.reason.removeprefix("syntax error: "), (FILENAME, compiled.line, None, None))
    raise ForbiddenCode(compiled.reason, compiled.line)


# --- the environment SpiffWorkflow calls ---------------------------------------------------------

_MISSING = object()


def _check_data(name: str | None, value: Any) -> None:
    """Refuse values that would carry diagram code out of the sandbox (functions, generators)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (str, int, float, _Date, timedelta)) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif callable(item) or hasattr(type(item), "__next__"):
            where = f"'{name}' holds" if name else "the expression gave"
            _refuse(f"{where} a {type(item).__name__}; only data (numbers, strings, dates, lists, dicts) "
                    "can leave diagram code")


class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment, every evaluation sandboxed (see the module docstring).

    `functions` (e.g. `manager_of`) are callable from diagram code next to HELPERS. Task data
    shadows them as Python globals shadow builtins, except `today`, which is both (see _Today).
    Raises ForbiddenCode for refused code, SyntaxError for code that does not parse, and whatever
    the diagram code itself raises.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None, *,
                 time_limit: float = TIME_LIMIT):
        merged = {**HELPERS, **(functions or {})}
        bad = [name for name in merged if not name.isidentifier() or name.startswith("_")]
        if bad:
            raise ValueError(f"function names must be identifiers not starting with '_': {bad}")
        super().__init__(merged)
        self.time_limit = time_limit

    def evaluate(self, expression: str, context: dict, external_context: Mapping | None = None) -> Any:
        """The value of `expression` over the task data `context`."""
        code = _code(expression, "eval")
        result = self._run(code, self._namespace(context, external_context), evaluate=True)
        if isinstance(result, _Today):
            return str(result)
        _check_data(None, result)
        return result

    def execute(self, script: str, context: dict, external_context: Mapping | None = None) -> bool:
        """Run `script`, then update `context` with the variables it assigned (and drop those it
        deleted); functions, helpers, builtins and guards never reach the data."""
        code = _code(script, "exec")
        namespace = self._namespace(context, external_context)
        provided = dict(namespace)
        self._run(code, namespace, evaluate=False)
        external = external_context or {}
        changes = {}
        for name, value in namespace.items():
            if name.startswith("_") or provided.get(name, _MISSING) is value:
                continue
            if name in external and name not in context:
                continue
            if isinstance(value, _Today):
                value = str(value)
            elif callable(value):
                continue  # a function the script defined: as in SpiffWorkflow, not data
            _check_data(name, value)
            changes[name] = value
        for name in [n for n in context if isinstance(n, str) and not n.startswith("_") and n not in namespace]:
            del context[name]
        context.update(changes)
        return True

    def _namespace(self, context: Mapping, external_context: Mapping | None) -> dict[str, Any]:
        namespace = dict(self.globals)
        for source in (external_context or {}, context):
            namespace.update((k, v) for k, v in source.items() if isinstance(k, str) and not k.startswith("_"))
        namespace["today"] = _Today(today())
        namespace.update(_GUARDS)  # last, so that no data can replace a guard
        namespace["__builtins__"] = _BUILTINS
        return namespace

    def _run(self, code: CodeType, namespace: dict, evaluate: bool) -> Any:
        budget = _Budget(self.time_limit, time.monotonic() + self.time_limit)
        token = _budget.set(budget)
        try:
            result = eval(code, namespace) if evaluate else exec(code, namespace)
        except BaseException as err:
            if budget.refusal is not None and err is not budget.refusal:
                raise budget.refusal from None
            raise
        finally:
            _budget.reset(token)
        if budget.refusal is not None:
            raise budget.refusal
        return result


def _source_line(source: str, line: int | None) -> str:
    lines = source.splitlines()
    return lines[line - 1] if line and 0 < line <= len(lines) else ""


def _shorten(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


class SandboxedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine over a SandboxedEnvironment that keeps a ForbiddenCode recognisable:
    it becomes the `__cause__` of the WorkflowTaskException SpiffWorkflow expects."""

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ForbiddenCode as err:
            raise WorkflowTaskException(f"forbidden code in expression {_shorten(expression)}: {err.message}",
                                        task=task, exception=err, line_number=err.line) from err
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression {_shorten(expression)}")
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Error evaluating expression {_shorten(expression)}",
                                        task=task, exception=err) from err

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except ForbiddenCode as err:
            raise WorkflowTaskException(f"forbidden code: {err.message}", task=task, exception=err,
                                        line_number=err.line, error_line=_source_line(script, err.line)) from err
        except Exception as err:
            wrapped = self.create_task_exec_exception(task, script, err)
            if wrapped is err:
                raise
            raise wrapped from err

    def get_error_line_number_and_content(self, script, err):
        line = err.lineno if isinstance(err, SyntaxError) else None
        tb = err.__traceback__
        while line is None and tb is not None:
            if tb.tb_frame.f_code.co_filename == FILENAME:
                line = tb.tb_lineno
            tb = tb.tb_next
        return line or 0, _source_line(script, line)


def make_script_engine(functions: Mapping[str, Callable[..., Any]] | None = None, *,
                       time_limit: float = TIME_LIMIT) -> PythonScriptEngine:
    """The script engine to give every BpmnWorkflow: all diagram code runs in the sandbox."""
    return SandboxedScriptEngine(environment=SandboxedEnvironment(functions, time_limit=time_limit))


def find_forbidden(exc: BaseException | None) -> ForbiddenCode | None:
    """The ForbiddenCode behind `exc`, however SpiffWorkflow wrapped it (`__cause__`,
    `__context__`, or an `.exception` attribute), else None."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        error = stack.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        if isinstance(error, ForbiddenCode):
            return error
        seen.add(id(error))
        stack.extend((error.__cause__, error.__context__, getattr(error, "exception", None)))
    return None
