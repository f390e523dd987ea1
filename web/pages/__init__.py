"""Server-rendered pages for people: one blueprint per resource (auth, tasks, requests,
processes, audit), plain HTML forms with CSRF tokens, French by default."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import request
from flask_babel import format_date, format_datetime, format_timedelta, gettext as _

from engine import now, permissions

from .. import i18n
from ..security import current_actor
from . import audit, auth, errors, missions, processes, requests, tasks
from .labels import event_label, role_label

BLUEPRINTS = (auth.bp, tasks.bp, requests.bp, processes.bp, audit.bp, missions.bp)
for _blueprint in BLUEPRINTS:  # once per process: blueprints are shared by every app created
    errors.register_on_blueprint(_blueprint)


def init_app(app) -> None:
    i18n.init_app(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    errors.register_on_app(app)
    app.jinja_env.filters.update(when=_when, day=_day, ago=_ago, role=role_label)
    app.jinja_env.globals.update(is_overdue=_is_overdue, event_label=event_label)
    app.context_processor(_navigation)


def _navigation() -> dict:
    user = current_actor() if request else None
    if user is None:
        return {"nav": [], "actor": None, "section": None}
    nav = [("tasks.home", "tasks"), ("requests.mine", "requests"), ("requests.new", "new")]
    if permissions.can_see_register(user):
        nav.append(("missions.register_page", "missions"))
    if permissions.can_deploy(user):
        nav.append(("processes.index", "processes"))
    if permissions.can_read_audit(user):
        nav.append(("audit.search", "audit"))
    endpoint = request.endpoint or ""
    section = "new" if endpoint in ("requests.new", "requests.start") else endpoint.split(".")[0]
    return {"nav": nav, "actor": user, "section": section}


def _when(moment: datetime | None) -> str:
    return format_datetime(moment, "d MMM y, HH:mm") if moment else ""


def _day(moment) -> str:
    return format_date(moment, "long") if moment else ""


def _ago(moment: datetime | None) -> str:
    if not moment:
        return ""
    if abs((now() - moment).total_seconds()) < 60:
        return _("just now")
    return format_timedelta(moment - now(), add_direction=True, threshold=1.1)


def _is_overdue(moment: datetime | None) -> bool:
    return bool(moment and moment.astimezone(timezone.utc) < now())
