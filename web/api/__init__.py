"""The JSON API under /api/v1 (flask-smorest), documented at /api/openapi.json.

One blueprint per resource; each requires `Authorization: Bearer <token>` (but signing in),
answers errors with one JSON body (see `errors`) and is exempt from CSRF (no cookies involved).
"""
from __future__ import annotations

import threading

from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

from . import audit, auth, instances, me, missions, processes, tasks
from .base import ProcessKeyConverter
from .errors import handle_http, unrouted_api_request
from .schemas import ErrorSchema

BLUEPRINTS = (auth.blp, me.blp, processes.blp, instances.blp, tasks.blp, audit.blp, missions.blp)


class Api(SmorestApi):
    """flask-smorest's Api, with the OpenAPI document written when it is first asked for.

    flask-smorest documents each blueprint as it registers it, which is half the cost of creating
    an app (the test suite creates one per test, each gunicorn worker one at start); the routes are
    registered at once, as before, and the document is the same, only written later.
    """

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app, **kwargs):
        self._undocumented: list[tuple] = []
        self._documenting = threading.Lock()
        super().__init__(app, **kwargs)

    def register_blueprint(self, blp, *, parameters=None, **options):
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def document(self):
        """Add the blueprints registered so far to the OpenAPI document (`self.spec`)."""
        with self._documenting:
            while self._undocumented:
                blp, name, parameters = self._undocumented.pop(0)
                blp.register_views_in_doc(self, self._app, self.spec, name=name, parameters=parameters)
                self.spec.tag({"name": name, "description": blp.description})

    def _openapi_json(self):  # flask-smorest's view of /api/openapi.json
        self.document()
        return super()._openapi_json()

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
