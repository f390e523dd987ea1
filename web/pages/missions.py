"""Missions: the register of every mission the reader may see — filters (a GET form), sortable
columns, pages, and the filtered list as a CSV download."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from engine import PHASES, list_processes, queries, register

from .. import db
from ..api.representations import mission as mission_row, role_words
from ..mission_export import missions_download
from ..security import current_actor
from .labels import PHASE_LABELS, phase_label, role_label
from .paging import existing, page_number

bp = Blueprint("missions", __name__)
PAGE_SIZE = 50
#: the columns a person may sort by, in the table's order
SORTABLE = ("title", "process", "phase", "agent", "host", "time_share", "start_date", "end_date")


@bp.before_request
@login_required
def _signed_in():
    pass


def _filters() -> tuple[register.Filters, str, dict[str, str]]:
    """The register's filters and sort from the query string, and what is wrong with them."""
    args, errors = request.args, {}
    dates = {}
    for name in ("from", "to"):
        raw = (args.get(name) or "").strip()
        try:
            dates[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
    first, last = dates.get("from"), dates.get("to")
    if first and last and last < first:
        errors["to"] = _("The end of the period comes before its start.")
    overlaps = None if errors or not (first or last) else (first or date.min, last or date.max)
    sort = args.get("sort") or register.DEFAULT_SORT
    if sort.lstrip("-") not in register.SORTS:
        sort = register.DEFAULT_SORT
    filters = register.Filters(
        process=(args.get("process") or None), phase=tuple(p for p in args.getlist("phase") if p in PHASES),
        agent=(args.get("agent") or "").strip()[:64] or None,
        directorate=(args.get("directorate") or "").strip()[:64] or None,
        overlaps=overlaps, q=(args.get("q") or "").strip()[:200] or None)
    return filters, sort, errors


def _represent_in_words():
    """A Mission -> a CSV row in the reader's words, resolved now: the download is written after
    the request (and its language) is gone."""
    phases = {key: str(label) for key, label in PHASE_LABELS.items()}
    roles = role_words()

    def represent(item) -> dict:
        row = mission_row(item, roles)
        return {**row, "phase": phases.get(item.phase or "", item.phase)}
    return represent


@bp.get("/missions")
def register_page():
    session, user = db.session(), current_actor()
    filters, sort, errors = _filters()
    found = existing(register.missions(session, user, filters, sort, page_number(), PAGE_SIZE))
    query = {k: v for k, v in request.args.items(multi=True) if k not in ("page", "sort")}
    processes = list_processes(session)
    return render_template("missions/register.html", page=found, errors=errors, sort=sort, SORTABLE=SORTABLE,
                           processes=processes, process_names={p.process_key: p.name for p in processes},
                           phase_labels=PHASE_LABELS, directorates=queries.directorates(session),
                           phase_label=phase_label, role_label=role_label,
                           chosen_phases=set(filters.phase), query=query)


@bp.get("/missions/export.csv")
def export():
    filters, sort, _errors = _filters()
    return missions_download(current_actor(), filters, sort, _represent_in_words(), bom=True)
