"""Which expressions are provably cheap, so that they are evaluated in the server's own process.

Gateway conditions, DMN cells and timers are evaluated at every step, and nearly all of them are
like `decision == 'approve'`, `? > 40` or `months_between(start_date, end_date)`. An expression
is cheap when, besides being accepted by the policy, it

- has at most MAX_NODES syntax nodes;
- uses only names, constants, comparisons (`in` included), `and`/`or`/`not`, unary `-`/`+`, binary
  `+` and `-`, `x if c else y`, attributes, subscripts by an index (not a slice), and list or tuple
  displays;
- calls only, by name with positional arguments, `len`, `str`, `int`, `float`, `bool`, `abs` or a
  date helper.

None of these loops, recurses or builds anything larger than a fixed multiple of its operands (the
guards bound `+` and `str()` as everywhere), and what they read is task data, which came through
JSON (bounded in size and depth), so each costs at most a few passes over the data. Everything
else — scripts, comprehensions, lambdas, `*`, `**`, methods, other builtins — runs in a sandbox
process (see `isolation`).
"""
from __future__ import annotations

import ast
from functools import lru_cache

from .helpers import HELPERS

MAX_NODES = 64
CHEAP_CALLS = frozenset({"len", "str", "int", "float", "bool", "abs", *HELPERS})
_NODES = (ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.IfExp,
          ast.Attribute, ast.Subscript, ast.List, ast.Tuple, ast.BinOp, ast.Call,
          ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Add, ast.Sub,
          ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot)


@lru_cache(maxsize=4096)
def is_cheap(expression: str) -> bool:
    """Whether `expression` (already accepted by the policy) may be evaluated in-process."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    count = 0
    for node in ast.walk(tree):
        count += 1
        if count > MAX_NODES or not isinstance(node, _NODES):
            return False
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in CHEAP_CALLS
                                               and not node.keywords
                                               and not any(isinstance(a, ast.Starred) for a in node.args)):
            return False
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            return False
    return True
