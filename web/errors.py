"""Engine errors -> HTTP statuses, in one place; the API answers JSON, pages answer HTML."""
from __future__ import annotations

from typing import Any, Callable

from engine import Conflict, ForbiddenCode, InvalidBundle, InvalidData, NotFound, PasserelleError, PermissionDenied

from .messages import api_text, problem_text

STATUS = {
    NotFound: 404,
    PermissionDenied: 403,
    Conflict: 409,
    InvalidData: 422,
    InvalidBundle: 422,
    ForbiddenCode: 422,
}


def status_of(error: PasserelleError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def field_errors(error: PasserelleError, words: Callable[[Any], str] = api_text) -> dict[str, list[str]] | None:
    """What is wrong with each field, in `words` (the API's English by default; pages pass theirs)."""
    if isinstance(error, InvalidData):
        return {field: [words(m) for m in messages] for field, messages in error.errors.items()} or None
    if isinstance(error, InvalidBundle):
        return {"files": [f"{p.file}{':' + str(p.line) if p.line else ''}: {problem_text(p)}" for p in error.problems]}
    return None
