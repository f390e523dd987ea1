"""Run-time guards: attributes, items, loops, operators and methods checked against the budget,
and the builtins diagram code sees."""
from __future__ import annotations

import operator
import re
from datetime import date as _Date, datetime, timedelta
from typing import Any, Callable

from RestrictedPython import safe_builtins
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr

from .budget import (MAX_FORMAT_WIDTH, MAX_INT_BITS, MAX_ITEMS, build, count_built, formatted, refuse, text_size,
                     tick)
from .helpers import whole


def _counted(iterator):
    for item in iterator:
        tick()
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
        build(len(obj) + min(hits, count) * (len(new) - len(old)))
    elif name == "join" and args:
        args = (list(args[0]),)
        build(sum(len(i) for i in args[0] if isinstance(i, str)) + len(obj) * max(len(args[0]) - 1, 0))
    elif name in _GROWS_BY_ONE:
        build(1, len(obj) + 1)
    elif name in _GROWS_BY_ARGUMENT:
        if args and not isinstance(args[0], (str, list, tuple, dict, set, frozenset)):
            args = (list(args[0]),)
        added = (len(args[0]) if args else 0) + len(kwargs)
        build(added, len(obj) + added)
    return args


def _getattr(obj: Any, name: str) -> Any:
    if name not in _attributes_of(obj):
        kind = "a type" if isinstance(obj, type) else type(obj).__name__
        refuse(f"attribute '{name}' is not allowed on {kind}")
    value = safer_getattr(obj, name)
    if not callable(value):
        return value

    def method(*args, **kwargs):
        result = value(*_check_method(obj, name, args, kwargs), **kwargs)
        return result if name in ("replace", "join") else count_built(result)  # those two: counted already
    return method


def _getitem(obj: Any, key: Any) -> Any:
    if isinstance(obj, type):
        refuse("subscripting types is not allowed")
    return count_built(obj[key]) if isinstance(key, slice) else obj[key]


def _write(obj: Any) -> Any:
    if not isinstance(obj, (dict, list)):
        refuse(f"only dicts and lists can be changed, not a {type(obj).__name__}")
    if len(obj) >= MAX_ITEMS:
        refuse(f"result too large: more than {MAX_ITEMS} elements")
    return obj


_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_binop(op: str, left: Any, right: Any) -> None:
    ints = isinstance(left, int) and isinstance(right, int)
    if op == "**" and ints and right > 0 and abs(left) > 1:
        if left.bit_length() * right > MAX_INT_BITS:
            refuse("number too large")
    elif op == "<<" and ints and right > 0 and left != 0:
        if left.bit_length() + right > MAX_INT_BITS:
            refuse("number too large")
    elif op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                build(len(seq) * max(n, 0))
                return
        if ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            refuse("number too large")
    elif op == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
        build(len(left) + len(right))
    elif op == "%" and isinstance(left, str):
        padding = 0
        for width, precision in _FORMAT_SPEC.findall(left):
            if "*" in (width, precision):
                refuse("'*' widths in '%' formats are not allowed")
            if max(int(width or 0), int(precision or 0)) > MAX_FORMAT_WIDTH:
                refuse(f"format widths above {MAX_FORMAT_WIDTH} are not allowed")
            padding += int(width or 0) + int(precision or 0)
        build(len(left) + padding + text_size(right))


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
        tick()

    def __call__(self) -> str:
        return ""


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_ITEMS:
        refuse(f"range() too large: {len(numbers)} elements (the limit is {MAX_ITEMS})")
    return numbers


def _round(number, ndigits=None):
    if ndigits is not None and abs(whole(ndigits)) > 100:
        refuse("round() to more than 100 digits is not allowed")
    return round(number, ndigits)


def _sum(iterable, start=0):
    if isinstance(start, bool) or not isinstance(start, (int, float)):
        raise TypeError("sum() adds numbers only")
    return sum(iterable, start)


def _sorted(iterable, *, key=None, reverse=False):
    return count_built(sorted(iterable, key=key, reverse=reverse))


class _CountedType(type):
    """Stands in for str, list, tuple, dict and set in diagram code: isinstance() works as usual,
    and what they build counts against the budget (str(x) is checked before x is expanded)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls.wrapped)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls.wrapped)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.wrapped is str and args:
            formatted(args[0])
        return count_built(cls.wrapped(*args, **kwargs))


def _counted_type(kind: type) -> _CountedType:
    return _CountedType(kind.__name__, (), {"wrapped": kind})


BUILTINS: dict[str, Any] = {name: safe_builtins[name] for name in (
    "abs", "bool", "float", "int", "isinstance", "len", "zip", "divmod", "chr", "ord",
    "ArithmeticError", "Exception", "KeyError", "LookupError", "TypeError", "ValueError", "ZeroDivisionError")}
BUILTINS.update({kind.__name__: _counted_type(kind) for kind in (str, list, tuple, dict, set)})
BUILTINS.update(min=min, max=max, sum=_sum, any=any, all=all, enumerate=enumerate, range=_range,
                round=_round, sorted=_sorted)

GUARDS: dict[str, Any] = {
    "_getattr_": _getattr, "_getitem_": _getitem, "_getiter_": _getiter, "_write_": _write,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplacevar, "_apply_": _apply, "_print_": _DiscardedPrint, "_binop_": _binop,
    "_tick_": tick, "_fmt_": formatted,
}
