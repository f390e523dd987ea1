"""`GET /healthz` for load balancers and orchestrators: 200 when this server process can reach
the database and the schema is at the newest migration, 503 (with the reason) otherwise.

Also hands the notification settings to the engine, which queues mail from inside requests, and
the renderer that words that mail (web/mail.py).
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from engine import notifications, reading_engine, schema_is_current

from .mail import MailTexts

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


def init_app(app) -> None:
    app.register_blueprint(blueprint)
    notifications.configure(skip_groups=app.config["NOTIFY_SKIP_GROUPS"],
                            timezone=app.config.get("BABEL_DEFAULT_TIMEZONE"),
                            renderer=MailTexts(app.config["MAIL_LANGUAGE"]))


@blueprint.get("/healthz")
def healthz():
    engine = reading_engine(current_app.extensions["passerelle.db"])  # never queues behind writers
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = schema_is_current(engine)
    except Exception as err:  # any failure to talk to the database is the answer, not a 500
        log.warning("health check: database unreachable: %s", err)
        return _answer(503, database="unreachable", migrations="unknown")
    if not current:
        return _answer(503, database="ok", migrations="outdated: run `passerelle db upgrade`")
    return _answer(200, database="ok", migrations="current")


def _answer(status: int, **checks: str):
    response = jsonify(status="ok" if status == 200 else "unavailable", **checks)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
