"""What every API blueprint shares: token authentication, the error body, multipart parsing."""
from __future__ import annotations

import functools
import json
import math

import marshmallow as ma
from flask import g, request
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.datastructures import MultiDict
from werkzeug.routing import UnicodeConverter

from engine import token_row

from .. import db
from ..security import csrf
from . import errors
from .errors import NotAuthenticated

#: endpoints reachable without a token
PUBLIC_ENDPOINTS = {"api_auth.create_token"}


def strict_json(data: bytes):
    """Parse a JSON body as RFC 8259 has it: no NaN or Infinity, no number out of range, no lone
    surrogate, bounded nesting. Anything else raises JSONDecodeError (400): what a database or
    the engine could not store never gets past parsing."""
    text = data.decode("utf-8")
    try:
        value = json.loads(text, parse_constant=_not_a_number, parse_float=_finite)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as err:
        raise json.JSONDecodeError(str(err) or "invalid", text or " ", 0) from None
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise json.JSONDecodeError("a string holds a lone surrogate (invalid Unicode)", text, 0) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


def _not_a_number(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


class Parser(FlaskParser):
    """webargs' Flask parser with strict JSON, plus a `multipart` location (form fields and files)."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def _get_schema(self, argmap, req):
        # flask-smorest hands over the schema class: one instance each (schemas keep no state
        # between loads), rather than a new one built for every request.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return _schema_instance(argmap)
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return strict_json(req.get_data(cache=True))

    def load_multipart(self, req, schema):
        parts = MultiDict()
        for name, value in req.form.items(multi=True):
            parts.add(name, value)
        for name, value in req.files.items(multi=True):
            parts.add(name, value)
        return self._makeproxy(parts, schema)


@functools.cache
def _schema_instance(schema_class: type[ma.Schema]) -> ma.Schema:
    return schema_class()


class ProcessKeyConverter(UnicodeConverter):
    """A process key in a path: 1-128 characters, no slash, no NUL (the database refuses those)."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, minlength=1, maxlength=128)
        self.regex = "[^/\x00]{1,128}"


class ApiBlueprint(Blueprint):
    """A resource of the JSON API: token required (unless public), CSRF-exempt, JSON errors."""

    ARGUMENTS_PARSER = Parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        csrf.exempt(self)  # bearer tokens, never cookies: nothing for a forged request to ride on
        errors.install(self)
        self.before_request(require_token)


def require_token() -> None:
    """`Authorization: Bearer <token>` -> `g.api_user`, or 401."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not token.isascii():
        raise NotAuthenticated("send your API token in the header `Authorization: Bearer <token>`")
    row = token_row(db.session(), token)
    if row is None:
        raise NotAuthenticated("this token is unknown, expired or revoked; sign in again",
                               challenge='Bearer error="invalid_token"')
    g.api_token = row
    g.api_user = row.user
