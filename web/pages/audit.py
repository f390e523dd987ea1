"""The audit (auditors, administrators): search requests and events, a request's full trace with
its hash-chain check, CSV/JSON exports and a printable trace."""
from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request
from flask_babel import get_timezone, gettext as _
from flask_login import login_required

from engine import EVENT_TYPES, check_audit_chain, get_instance, list_processes, permissions, queries, search_audit

from .. import db
from ..audit_export import event_row, trail_download
from ..downloads import content_disposition
from ..messages import api_text, event_data, say
from ..security import current_actor
from .errors import Refused
from .labels import EVENT_LABELS, status_label, status_tone
from .paging import existing, page_number
from .people import people

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 50
FIRST_YEAR, LAST_YEAR = 1900, 9999


@bp.before_request
@login_required
def _auditors_only():
    if not permissions.can_read_audit(current_actor()):
        raise Refused(_("The audit is for auditors and administrators."))


def _filters() -> tuple[dict, dict[str, str]]:
    """The search filters from the query string, and a message per field that is not valid."""
    args, errors = request.args, {}
    filters = {"process": args.get("process") or None, "actor": args.get("person") or None,
               "type": args.get("type") or None, "since": None, "until": None}
    if filters["type"] and filters["type"] not in EVENT_TYPES:
        errors["type"] = _("Choose an event type from the list.")
    for field, end in (("since", False), ("until", True)):
        raw = (args.get(field) or "").strip()
        if not raw:
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors[field] = _("Enter a date, such as 2025-09-01.")
            continue
        if not FIRST_YEAR <= day.year <= LAST_YEAR:  # as the API: 0001-01-01 in Paris is before year 1 in UTC
            errors[field] = _("Enter a date between the years %(first)s and %(last)s.", first=FIRST_YEAR,
                              last=LAST_YEAR)
            continue
        # the first or last moment of that day where the reader lives (zoneinfo: a pytz zone given
        # as tzinfo would be its 1891 local mean time, nine minutes off Paris time)
        filters[field] = datetime.combine(day, time.max if end else time.min, tzinfo=ZoneInfo(str(get_timezone())))
    return filters, errors


@bp.get("")
def search():
    session, user = db.session(), current_actor()
    filters, errors = _filters()
    processes = list_processes(session)
    users = queries.users_by_name(session)
    if errors:
        return render_template("audit/search.html", errors=errors, events=None, requests=None, processes=processes,
                               users=users, event_labels=EVENT_LABELS, names=people(session, ())), 422
    events = existing(search_audit(session, user, **filters, page=page_number(), page_size=PAGE_SIZE))
    found = queries.instances(session, user, process=filters["process"], started_by=filters["actor"], page_size=20)
    names = people(session, {e.actor for e in events.items} | {i.started_by for i in found.items})
    titles = queries.instance_titles(session, {e.instance_id for e in events.items if e.instance_id})
    return render_template("audit/search.html", errors={}, events=events, requests=found, processes=processes,
                           users=users, event_labels=EVENT_LABELS, names=names, titles=titles,
                           export_args=_export_args())


def _export_args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k in ("process", "person", "type", "since", "until") and v}


@bp.get("/events.<any(csv, json):fmt>")
def export_events(fmt: str):
    filters, errors = _filters()
    if errors:
        return Response("\n".join(f"{k}: {v}" for k, v in errors.items()), status=422, mimetype="text/plain")
    return trail_download(current_actor(), fmt, "audit-events", bom=True, **filters)


@bp.get("/requests/<int:instance_id>")
def trace(instance_id: int):
    session, user = db.session(), current_actor()
    instance = get_instance(session, instance_id, user)
    events = queries.history(session, instance.id)
    check = check_audit_chain(session, user, instance.id)
    names = people(session, {e.actor for e in events} | {instance.started_by})
    return render_template("audit/trace.html", instance=instance, events=events, check=check,
                           check_text=chain_status(check), names=names, status=status_label(instance),
                           tone=status_tone(instance), pretty=_pretty, data_of=event_data)


@bp.get("/requests/<int:instance_id>/trace.<any(csv, json):fmt>")
def export_trace(instance_id: int, fmt: str):
    session, user = db.session(), current_actor()
    instance = get_instance(session, instance_id, user)
    if fmt == "csv":
        return trail_download(user, "csv", f"request-{instance.id}-trace", bom=True, instance_id=instance.id)
    events = queries.history(session, instance.id)
    check = check_audit_chain(session, user, instance.id)
    document = {
        "request": {"id": instance.id, "title": instance.title, "process_key": instance.process_key,
                    "version": instance.version.version, "status": instance.status,
                    "end_state": instance.end_state, "started_by": instance.started_by,
                    "started_at": instance.started_at.isoformat()},
        "chain": {"ok": check.ok, "events_checked": check.events_checked,
                  "first_broken_seq": check.first_broken[1] if check.first_broken else None,
                  "reason": api_text(check.reason)},
        "events": [event_row(e) for e in events],
    }
    return _download(json.dumps(document, ensure_ascii=False, indent=2), "application/json",
                     f"request-{instance.id}-trace.json")


def chain_status(check) -> str:
    if check.ok:
        return _("Verified: %(n)s events, chain intact.", n=check.events_checked)
    seq = check.first_broken[1] if check.first_broken else "?"
    return _("Chain broken at event no. %(seq)s: %(reason)s (%(n)s events checked).", seq=seq,
             reason=say(check.reason), n=check.events_checked)


def _pretty(value) -> str:
    if isinstance(value, str):
        return value
    compact = json.dumps(value, ensure_ascii=False, default=str)
    return compact if len(compact) <= 60 else json.dumps(value, ensure_ascii=False, indent=1, default=str)


def _download(body: str, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": content_disposition(filename)})
