"""The words for every code the engine says, in one catalogue with one entry point.

The engine says codes and parameters — a `Message` (forms, data, failures, incidents, the audit
chain, its errors' `.said`), a validation `Problem`, a diff `Change` — and the web words them here:

- `say(thing)`: for people — pages, the CLI, anything a person reads — in the reader's language
  through Flask-Babel; each entry is evaluated when rendered, so the locale is the request's.
- `api_text(message)`: the JSON API's wording, plain English, a contract clients match on (what
  the API has always answered, e.g. "this field is required", "no task 12"). The API's problems
  are `say`'s English (`problem_as_dict`).

`PAGE` is the one registry: code -> its words, for every family, one module each —
`requests` (engine.MESSAGE_CODES about requests), `errors` (the engine's errors), `uploads`
(engine.PROBLEM_CODES, engine.CHANGE_CODES). tests/web/test_messages.py fails if a code of any
family has no French or no English. A new code: declare it in the engine, add its words to its
family's module, its French to messages.po.
"""
from __future__ import annotations

from typing import Any, Callable

from engine import Change, Message, Problem, stored_failure

from . import errors, requests, uploads
from .uploads import change_text, problem_as_dict, problem_text

Params = dict[str, Any]

#: problems the web itself finds in an upload (names of files), before the engine sees it
WEB_PROBLEM_CODES = {"upload.unnamed": (), "upload.twice": ()}


def _problem(code: str) -> Callable[[Params], str]:
    return lambda p: problem_text(Problem("", None, None, code, p))


def _change(code: str) -> Callable[[Params], str]:
    return lambda p: change_text(Change("", "", "", code, p))


#: every code of every family -> its words for people, in the request's language
PAGE: dict[str, Callable[[Params], str]] = {
    **requests.PAGE,
    **errors.PAGE,
    **{code: _problem(code) for code in uploads.PROBLEM_TEXTS},
    **{code: _change(code) for code in uploads.CHANGE_TEXTS},
}

#: every Message code -> the API's English (not translated: clients read it)
API: dict[str, Callable[[Params], str]] = {**requests.API, **errors.API}


def say(message: Message | Problem | Change | None, **names: Any) -> str:
    """What the engine said, in words for the reader, in the request's language ("" for None).

    `names` replace parameters by what the reader knows them as (a field's label for its id).
    """
    if message is None:
        return ""
    if isinstance(message, Problem):
        return problem_text(message)
    if isinstance(message, Change):
        return change_text(message)
    return PAGE[message.code]({**message.params, **names})


def api_text(message: Message | str | None) -> str | None:
    """`message` in the API's English; text passes through (None stays None)."""
    if not isinstance(message, Message):
        return message
    return API[message.code](message.params)


def readable(message: Message | str) -> str:
    """A Message in the reader's words; text (already words) as it is."""
    return say(message) if isinstance(message, Message) else str(message)


def page_errors(errors: dict[str, list[Message | str]] | None) -> dict[str, list[str]]:
    """An InvalidData's field errors in the reader's words."""
    return {field: [readable(m) for m in messages] for field, messages in (errors or {}).items()}


def event_data(event_type: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """An audit event's data as the API and the downloads show it: the Messages it stores (why a
    request failed) in the API's English, as they were written before they had codes."""
    data = dict(data or {})
    if event_type == "instance_failed" and isinstance(data.get("message"), dict):
        data["message"] = api_text(stored_failure(data["message"]))
    return data


__all__ = ["API", "PAGE", "WEB_PROBLEM_CODES", "api_text", "change_text", "event_data", "page_errors",
           "problem_as_dict", "problem_text", "readable", "say"]
