"""Compile time: the RestrictedPython node transformers, the compile cache and check_code."""
from __future__ import annotations

import ast
import re
import textwrap
import threading
import warnings
from functools import lru_cache
from types import CodeType
from typing import Literal, NamedTuple

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer

from ..errors import ForbiddenCode
from .budget import FILENAME, MAX_FORMAT_WIDTH
from .guards import ALLOWED_ATTRIBUTES, MUTATING_ATTRIBUTES

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


def compiled_code(source: str, mode: str) -> CodeType:
    compiled = _compile(source, mode)
    if compiled.code is not None:
        return compiled.code
    if compiled.syntax_error:
        raise SyntaxError(compiled.reason.removeprefix("syntax error: "), (FILENAME, compiled.line, None, None))
    raise ForbiddenCode(compiled.reason, compiled.line)
