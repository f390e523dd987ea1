"""The JSON API under /api/v1 (flask-smorest), documented at /api/openapi.json.

One blueprint per resource; each requires `Authorization: Bearer <token>` (but signing in),
answers errors with one JSON body (see `errors`) and is exempt from CSRF (no cookies involved).
"""
from __future__ import annotations

from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

from . import audit, auth, instances, me, missions, processes, tasks
from .base import ProcessKeyConverter
from .errors import handle_http, unrouted_api_request
from .schemas import ErrorSchema

BLUEPRINTS = (auth.blp, me.blp, processes.blp, instances.blp, tasks.blp, audit.blp, missions.blp)


class Api(SmorestApi):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # Errors are handled per API blueprint (errors.install) and, for /api/ paths that match no
        # route, by `unrouted_api_request`: pages keep their own HTML error handlers.
        self._app.register_error_handler(HTTPException, _api_or_default)


def _api_or_default(error: HTTPException):
    from flask import request
    return handle_http(error) if request.path.startswith("/api/") else error


def init_app(app) -> None:
    app.url_map.converters["process_key"] = ProcessKeyConverter
    api = Api(app, spec_kwargs={
        "security": [{"bearerAuth": []}],
        "info": {"description": "Passerelle's JSON API. Sign in with POST /api/v1/auth/token, then send "
                                "`Authorization: Bearer <token>` with every request. Times are ISO 8601 UTC, "
                                "dates YYYY-MM-DD. Every error has the body {code, status, message, errors}."},
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_converter(ProcessKeyConverter, _process_key_schema)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.before_request(unrouted_api_request)
    app.extensions["passerelle.api"] = api


def _process_key_schema(converter) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[^/\\u0000]+$"}
