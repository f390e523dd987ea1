"""Error pages people can read: what happened and where to go next, never a stack trace.

Engine errors are mapped to statuses by web/errors.py (the one place); here they become HTML.
Errors under /api/ are left to the API's own JSON handler.
"""
from __future__ import annotations

import logging

from flask import current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import Forbidden, HTTPException

from engine import PasserelleError

from .. import errors as error_map
from ..messages import readable, say

log = logging.getLogger(__name__)

PAGE_STATUSES = (400, 403, 404, 405, 409, 413, 422, 429, 500)


class Refused(Forbidden):
    """A 403 with a sentence for the person (already in their language)."""

    def __init__(self, detail: str):
        super().__init__()
        self.page_detail = detail


def _texts(code: int) -> tuple[str, str]:
    texts = {
        400: (_("This form could not be sent"),
              _("The page may have been open for a long time. Go back, reload the page and try again.")),
        403: (_("You do not have access to this page"),
              _("This page is for people with another role. If you think you need it, ask your HR team.")),
        404: (_("Page not found"),
              _("This page does not exist, or it is not one you can see. Check the address, or start again "
                "from your tasks.")),
        405: (_("This page cannot be used this way"), _("Start again from your tasks.")),
        409: (_("Someone else acted at the same moment"),
              _("This step or request changed while you were on it. Reload it to see where it stands now.")),
        413: (_("The file is too large"), _("Send a smaller file.")),
        422: (_("Some information is not valid"), _("Go back, correct it and send it again.")),
        429: (_("Too many attempts"), _("Wait a minute, then try again.")),
        500: (_("Something went wrong on our side"),
              _("Your last action was not saved. Try again in a moment; if it happens again, tell your HR "
                "team what you were doing.")),
    }
    return texts.get(code, texts[500] if code >= 500 else texts[400])


def render_error(code: int, detail: str | None = None, field_errors: dict | None = None, minimal: bool = False):
    title, text = _texts(code)
    return render_template("errors/error.html", code=code, title=title, text=text, detail=detail,
                           field_errors=field_errors, minimal=minimal), code


def engine_error(error: PasserelleError):
    code = error_map.status_of(error)
    return render_error(code, detail=say(error.said), field_errors=error_map.field_errors(error, words=readable))


def http_error(error: HTTPException):
    if request.path.startswith("/api/"):
        return _api_handler(error)
    code = error.code or 500
    if code == 500:
        return _server_error(error)
    return render_error(code, detail=getattr(error, "page_detail", None))


def _server_error(error):
    try:  # the request's writes are already rolled back (web.db): the page reads afresh
        return render_error(500, minimal=True)
    except Exception:  # the error page itself must not fail into a stack trace
        log.exception("the error page could not be drawn")
        return _("Something went wrong on our side"), 500, {"Content-Type": "text/plain; charset=utf-8"}


def _api_handler(error: HTTPException):
    handler = current_app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)
    if handler is not None:
        return handler(error)
    return {"code": error.code, "status": error.name}, error.code


def register_on_blueprint(blueprint) -> None:
    blueprint.register_error_handler(PasserelleError, engine_error)
    blueprint.register_error_handler(HTTPException, http_error)


def register_on_app(app) -> None:
    """Errors outside any page blueprint: unknown addresses, static files, crashes."""
    for code in (404, 405, 413, 500):
        app.register_error_handler(code, http_error)
