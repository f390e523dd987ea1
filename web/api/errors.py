"""Every API error has one body: `{"code", "status", "message", "errors"}`.

Engine errors get their status from `web.errors` (the one mapping); request parsing errors,
HTTP errors and anything unexpected are turned into the same body here, so that no client input
ever produces an HTML page, a traceback or a bare 500.
"""
from __future__ import annotations

import logging
from copy import deepcopy
from http import HTTPStatus
from typing import Any

from flask import current_app, jsonify, request
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from engine import InvalidBundle, PasserelleError

from ..errors import field_errors, status_of
from ..messages import api_text, problem_as_dict, problem_text

log = logging.getLogger(__name__)

#: the error statuses any authenticated endpoint may answer
COMMON = (401,)
#: ... and any endpoint that reads a JSON body: malformed, too large
JSON_BODY = (400, 413)


def error_response(status: int, message: str, errors: dict[str, list[str]] | None = None,
                   headers: dict[str, str] | None = None, **extra: Any):
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class NotAuthenticated(HTTPException):
    """401 with the challenge a token client expects."""

    code = 401

    def __init__(self, message: str, challenge: str = "Bearer"):
        super().__init__(message)
        self.challenge = challenge


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages -> {"field.sub": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "body" if key == "_schema" and not prefix else (
                prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key))
            for field, texts in flatten(value, name).items():
                out.setdefault(field, []).extend(texts)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            for field, texts in flatten(item, prefix).items():
                out.setdefault(field, []).extend(texts)
    else:
        out.setdefault(prefix or "body", []).append(str(messages))
    return out


def _parsing_errors(data: dict) -> dict[str, list[str]]:
    # webargs groups messages by location: {"json": {...}, "query": {...}}
    messages = data.get("messages") or {}
    merged: dict[str, list[str]] = {}
    for value in (messages.values() if isinstance(messages, dict) else [messages]):
        for field, texts in flatten(value).items():
            merged.setdefault(field, []).extend(texts)
    return merged


def handle_http(error: HTTPException):
    if isinstance(error, RequestRedirect):
        return error
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    if code == 422 and "messages" in data:
        errors = _parsing_errors(data)
        return error_response(422, "some fields are not valid: " + ", ".join(sorted(errors)), errors)
    if code == 400 and "messages" in data:
        cause = getattr(error, "exc", None)
        reason = "it is not UTF-8" if isinstance(cause, UnicodeDecodeError) else getattr(cause, "msg", None)
        return error_response(400, "the request body is not valid JSON" + (f": {reason}" if reason else ""))
    if code == 401:
        return error_response(401, error.description or "sign in first",
                              headers={"WWW-Authenticate": getattr(error, "challenge", "Bearer")})
    if code == 404 and request.url_rule is None:
        return error_response(404, f"there is no {request.path} in this API")
    if code == 405:
        return error_response(405, f"{request.method} is not allowed here",
                              headers={"Allow": ", ".join(getattr(error, "valid_methods", None) or [])})
    if code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return error_response(413, f"the request is too large (at most {limit} bytes)" if limit
                              else "the request is too large")
    if code == 429:
        return error_response(429, "too many attempts; wait a minute and try again")
    message = error.description if isinstance(error.description, str) else HTTPStatus(code).phrase
    if code >= 500:
        log.error("HTTP %s on %s %s: %s", code, request.method, request.path, message)
        message = "the server could not answer this request; the incident has been logged"
    return error_response(code, message)


def handle_engine(error: PasserelleError):
    if isinstance(error, InvalidBundle):
        with force_locale("en"):  # the API speaks English
            first = problem_text(error.problems[0]) if error.problems else "invalid files"
            return error_response(status_of(error), f"{len(error.problems)} problem(s) in the uploaded files: {first}",
                                  field_errors(error), problems=[problem_as_dict(p) for p in error.problems])
    return error_response(status_of(error), api_text(error.said), field_errors(error))


def handle_concurrent(error: Exception):
    log.info("concurrent change on %s %s: %s", request.method, request.path, type(error).__name__)
    return error_response(409, "this was changed by someone else at the same moment; reload and try again")


def handle_unexpected(error: Exception):
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(500, "the server could not answer this request; the incident has been logged")


def install(blueprint) -> None:
    """Answer every error raised in `blueprint` (views, hooks, argument parsing) with the body."""
    blueprint.register_error_handler(HTTPException, handle_http)
    blueprint.register_error_handler(PasserelleError, handle_engine)
    blueprint.register_error_handler(StaleDataError, handle_concurrent)
    blueprint.register_error_handler(IntegrityError, handle_concurrent)
    blueprint.register_error_handler(Exception, handle_unexpected)


def unrouted_api_request():
    """before_request: an unknown /api/ path or method gets the JSON body, not an HTML page."""
    exc = request.routing_exception
    if exc is not None and request.path.startswith("/api/") and not isinstance(exc, RequestRedirect):
        return handle_http(exc)
    return None


def responds(*statuses: int):
    """Document error responses (the error body) on a view, next to its success response."""
    def decorator(func):
        apidoc = deepcopy(getattr(func, "_apidoc", {}))
        responses = apidoc.setdefault("response", {}).setdefault("responses", {})
        for status in statuses:
            responses.setdefault(status, []).append(HTTPStatus(status).name)
        func._apidoc = apidoc
        return func
    return decorator
