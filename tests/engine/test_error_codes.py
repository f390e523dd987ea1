"""The engine's errors say codes, not sentences: each one carries a Message (`.said`) whose code is
declared, for the web to word in the reader's language; its English (`.message`) is for logs.
Read off the engine's own source, so that a new `raise Conflict("a sentence")` fails here."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine import MESSAGE_CODES, Conflict, ForbiddenCode, InvalidData, Message, NotFound

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
ERRORS = {"PasserelleError", "NotFound", "PermissionDenied", "Conflict", "InvalidData", "ForbiddenCode",
          "SandboxCrashed"}
#: ForbiddenCode may quote the sandbox's own words (its policy, RestrictedPython) as `sandbox.refused`'s detail
QUOTES_ITS_REASON = {"ForbiddenCode"}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            yield name, node


def _is_text(node: ast.expr | None) -> bool:
    """A sentence written in place: a string, an f-string, or one joined with `+`."""
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    return isinstance(node, ast.JoinedStr) or isinstance(node, ast.Constant) and isinstance(node.value, str)


def _said(node: ast.Call, position: int) -> ast.expr | None:
    return node.args[position] if len(node.args) > position else None


def test_no_engine_error_is_raised_with_a_sentence_for_a_person():
    """Read in the engine, and in the web where it checks the engine's permissions itself."""
    sentences = []
    for path in sorted([*ENGINE.rglob("*.py"), *(ROOT / "web").rglob("*.py")]):
        if "migrations" in path.parts:
            continue
        for name, call in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            if name in ERRORS and name not in QUOTES_ITS_REASON and _is_text(_said(call, 0)):
                sentences.append(f"{path.relative_to(ROOT)}:{call.lineno} {name}")
            if name == "require" and _is_text(_said(call, 1)):  # permissions.require(allowed, said, log text)
                sentences.append(f"{path.relative_to(ROOT)}:{call.lineno} require")
    assert sentences == [], "give these errors a Message (engine/errors.py declares the codes)"


def test_an_error_needs_a_declared_code():
    with pytest.raises(TypeError):
        Conflict("this task was just claimed by someone else", "this task was just claimed by someone else")
    with pytest.raises(ValueError):
        NotFound(Message("error.no_such_code"), "no such thing")
    error = InvalidData(Message("error.reason_missing"), "give a reason", {"reason": [Message("data.reason_required")]})
    assert error.said.code in MESSAGE_CODES and str(error) == error.message == "give a reason"


def test_the_sandbox_s_own_words_are_a_detail_and_its_bounds_are_codes():
    refusal = ForbiddenCode("imports are not allowed", 1)
    assert refusal.said == Message("sandbox.refused", detail="imports are not allowed")
    assert refusal.message == "imports are not allowed" and refusal.line == 1
    error_codes = {code for code in MESSAGE_CODES if code.startswith(("error.", "org.", "sandbox."))}
    assert {"error.task_taken", "error.request_already", "org.unknown_roles", "sandbox.result_too_large",
            "sandbox.too_slow"} <= error_codes
