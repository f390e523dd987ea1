"""What every API blueprint shares: token authentication, the error body, multipart parsing."""
from __future__ import annotations

from flask import g, request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict
from werkzeug.routing import UnicodeConverter

from engine import token_row

from .. import db
from ..security import csrf
from . import errors
from .errors import NotAuthenticated

#: endpoints reachable without a token
PUBLIC_ENDPOINTS = {"api_auth.create_token"}


class Parser(FlaskParser):
    """webargs' Flask parser plus a `multipart` location: form fields and files together."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req, schema):
        parts = MultiDict()
        for name, value in req.form.items(multi=True):
            parts.add(name, value)
        for name, value in req.files.items(multi=True):
            parts.add(name, value)
        return self._makeproxy(parts, schema)


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
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("send your API token in the header `Authorization: Bearer <token>`")
    row = token_row(db.session(), token)
    if row is None:
        raise NotAuthenticated("this token is unknown, expired or revoked; sign in again",
                               challenge='Bearer error="invalid_token"')
    g.api_token = row
    g.api_user = row.user
