"""Requests: start one, my requests, one request (its story and diagram), withdraw it."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine import (Conflict, InvalidData, cancel_instance, get_instance, incidents, list_processes, permissions,
                    queries, retry_incident, start_instance)

from .. import db
from ..diagrams import has_layout, render_svg
from ..i18n import current_language
from ..security import current_actor
from .context import RequestContext, history_names
from .errors import Refused
from .incidents import described, failure_words
from .labels import status_label, status_tone
from .paging import existing, page_number
from .people import next_steps, people, task_people
from .texts import HOW_LONG, NEXT, explained, localized, readme_for_people, simple_markdown

bp = Blueprint("requests", __name__)
PAGE_SIZE = 50
MAX_ID = 2**31 - 1  # ids are 32-bit in PostgreSQL: a larger one is no row, not a database error


@bp.before_request
@login_required
def _signed_in():
    pass


@bp.app_template_global()
def request_status(instance) -> tuple[str, str]:
    return status_label(instance), status_tone(instance)


@bp.get("/requests/new")
def new():
    session, user = db.session(), current_actor()
    language = current_language()
    offers = []
    for version in list_processes(session):
        if not permissions.can_start(user, version):
            continue
        text = readme_for_people(version.process_key, language) or localized(version.description, language)
        lead, sections = explained(text)
        offers.append({"key": version.process_key, "name": version.name, "lead": simple_markdown(lead) if lead else None,
                       "sections": sections})
    return render_template("requests/new.html", offers=offers, NEXT=NEXT, HOW_LONG=HOW_LONG)


@bp.post("/requests/new/<key>")
def start(key: str):
    session, user = db.session(), current_actor()
    instance = start_instance(session, key, user, {})
    for task in queries.open_tasks(session, instance.id):
        if permissions.can_act(user, task):
            return redirect(url_for("tasks.task", task_id=task.id), 303)
    db.after_commit(flash, _("Your request has been started."), "success")
    return redirect(url_for("requests.show", instance_id=instance.id), 303)


@bp.get("/requests")
def mine():
    session, user = db.session(), current_actor()
    page = existing(queries.instances(session, user, involved_me=True, page=page_number(), page_size=PAGE_SIZE))
    names = people(session, {i.started_by for i in page.items} | {i.agent for i in page.items})
    steps = next_steps(session, page.items, names)
    return render_template("requests/mine.html", page=page, names=names, steps=steps)


@bp.get("/requests/<int:instance_id>")
def show(instance_id: int):
    session, user = db.session(), current_actor()
    instance = get_instance(session, instance_id, user)
    tasks = queries.instance_tasks(session, instance.id)
    events = queries.history(session, instance.id)
    context = RequestContext(session, instance, tasks, people(session, ()))
    wanted = {instance.started_by, instance.agent} | context.usernames() | history_names(events)
    for task in tasks:
        wanted |= task_people(task)
    context.names.update(people(session, wanted))
    step = next_steps(session, [instance], context.names).get(instance.id)
    open_tasks = [t for t in tasks if t.status == "ready"]
    bpmn = instance.version.bpmn_file.content
    return render_template(
        "requests/show.html", instance=instance, context=context, names=context.names, step=step,
        story=context.story(events), facts=context.facts(), decisions=context.decisions(),
        my_tasks=[t for t in open_tasks if permissions.can_act(user, t)],
        done_steps=_unique(t.title for t in tasks if t.status == "completed"),
        waiting_steps=_unique(t.title for t in open_tasks),
        can_cancel=instance.status == "running" and permissions.can_cancel(user, instance),
        is_starter=user.username == instance.started_by, has_layout=has_layout(bpmn),
        incidents=described(instance, incidents(session, instance.id)), failure=failure_words(instance.failure),
        can_retry=permissions.can_retry_incidents(user),
    )


@bp.post(f"/requests/<int(max={MAX_ID}):instance_id>/incidents/<any(timer, message):kind>/"
         f"<int(max={MAX_ID}):incident_id>/retry")
def retry(instance_id: int, kind: str, incident_id: int):
    """An operator re-arms a background job of this request that kept failing."""
    session, user = db.session(), current_actor()
    instance = get_instance(session, instance_id, user)
    if not permissions.can_retry_incidents(user):
        raise Refused(_("Only HR and administrators can retry a technical problem."))
    try:
        with db.attempt():
            retry_incident(session, kind, incident_id, user, instance_id=instance.id)
    except Conflict:  # retried meanwhile (or sent twice): say where it stands rather than fail
        flash(_("This problem has already been retried, or no longer blocks the request."), "info")
    else:
        db.after_commit(flash, _("Retry requested: Passerelle will try again within a few minutes."), "success")
    return redirect(url_for("requests.show", instance_id=instance_id), 303)


def _unique(titles) -> list[str]:
    seen: list[str] = []
    for title in titles:
        if title not in seen:
            seen.append(title)
    return seen


@bp.get("/requests/<int:instance_id>/diagram.svg")
def diagram(instance_id: int):
    session, user = db.session(), current_actor()
    instance = get_instance(session, instance_id, user)
    state = queries.diagram_state(instance)
    svg = render_svg(instance.version.bpmn_file.content, process_id=instance.process_key,
                     completed=state.completed, waiting=state.waiting,
                     title=_("%(process)s: where the request “%(title)s” stands",
                             process=instance.version.name, title=instance.title))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})  # the request's title


@bp.route("/requests/<int:instance_id>/withdraw", methods=["GET", "POST"])
def withdraw(instance_id: int):
    session, user = db.session(), current_actor()
    instance = get_instance(session, instance_id, user)
    is_starter = user.username == instance.started_by
    if instance.status != "running":
        flash(_("This request has already ended."), "info")
        return redirect(url_for("requests.show", instance_id=instance.id), 303)
    if not permissions.can_cancel(user, instance):
        raise Refused(_("This request has been approved: it can no longer be withdrawn. Ask your HR team.")
                      if is_starter else _("Only the person who made this request, or HR, can stop it."))
    reason, error, status = "", None, 200
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()
        try:
            with db.attempt():
                cancel_instance(session, instance.id, user, reason)
        except InvalidData:
            error, status = _("Please say why, in a few words."), 422
        else:
            db.after_commit(flash, _("The request has been withdrawn.") if is_starter
                            else _("The request has been cancelled."), "success")
            return redirect(url_for("requests.show", instance_id=instance_id), 303)
    return render_template("requests/withdraw.html", instance=instance, reason=reason, error=error,
                           is_starter=is_starter), status
