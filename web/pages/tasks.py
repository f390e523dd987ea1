"""My tasks (the home page) and one task: its context, its form, claim and release."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine import InvalidData, claim_task, complete_task, get_task, permissions, queries, release_task, visibility

from .. import db
from ..i18n import current_language
from ..security import current_actor
from . import formview
from .context import RequestContext
from .errors import Refused
from .people import people, task_people, waiting_for
from .texts import step_instructions

bp = Blueprint("tasks", __name__)
LIST_SIZE = 100


@bp.before_request
@login_required
def _signed_in():
    pass


@bp.get("/")
def home():
    session, user = db.session(), current_actor()
    mine = queries.tasks(session, user, "mine", page_size=LIST_SIZE)
    claimable = queries.tasks(session, user, "claimable", page_size=LIST_SIZE)
    instances = queries.instances_by_id(session, {t.instance_id for t in [*mine.items, *claimable.items]})
    names = people(session, {i.started_by for i in instances.values()})
    return render_template("tasks/home.html", mine=mine, claimable=claimable, names=names)


def _context(session, task):
    instance = task.instance
    tasks = queries.instance_tasks(session, instance.id)
    context = RequestContext(session, instance, tasks, people(session, ()))
    wanted = {instance.started_by} | context.usernames()
    for other in tasks:
        wanted |= task_people(other)
    context.names.update(people(session, wanted))
    return context


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
def task(task_id: int):
    session, user = db.session(), current_actor()
    task = get_task(session, task_id, user)
    context = _context(session, task)
    if task.status != "ready":
        if request.method == "GET":
            return render_template("tasks/closed.html", task=task, names=context.names,
                                   show_who=visibility.answers_visible(task, user, context.tasks))
        if task.completed_by == user.username:  # sent twice (double click, back button): nothing to redo
            flash(_("You had already answered “%(step)s”.", step=task.title), "info")
            return redirect(url_for("requests.show", instance_id=task.instance_id), 303)
    candidate = permissions.is_candidate(user, task)
    if not candidate and not permissions.can_act(user, task):
        raise Refused(_("This step is for %(who)s.", who=waiting_for(task, context.names)))
    shown = visibility.task_data(task, user, context.tasks)  # all this page shows of the request
    values = {f["id"]: f.get("default") for f in formview.editable_fields(task.form)}
    values.update({k: v for k, v in shown.items() if k in values})
    errors, status = None, 200
    if request.method == "POST":
        submitted = formview.submitted_values(task.form, request.form)
        try:
            with db.attempt():
                complete_task(session, task.id, user, submitted)
        except InvalidData as err:
            errors, values, status = err.errors, submitted, 422
        else:
            db.after_commit(flash, _("Thank you: “%(step)s” is done.", step=task.title), "success")
            return redirect(_after_completion(session, user, task.instance_id), 303)
    return render_template(
        "tasks/task.html", task=task, instance=task.instance, context=context, names=context.names,
        fields=formview.build(task.form, values, errors, formview.choices_for(session, task.form)),
        errors=errors, other_errors=_other_errors(task.form, errors),
        can_act=permissions.can_act(user, task),
        can_release=permissions.can_release(user, task),
        can_claim=(not task.claimed and candidate and _is_shared(task)),
        facts=context.shown(shown, [f["id"] for f in formview.readonly_fields(task.form)]
                            + visibility.declared(task)),
        problems=context.eligibility_problems(shown),
        earlier=_earlier_steps(session, user, task, context),
        came_back=_came_back(context, task, user),
        instructions=step_instructions(task.instance.version, task.bpmn_id, current_language()),
        waiting_for=waiting_for(task, context.names),
    ), status


def _is_shared(task) -> bool:
    """Offered to a group or several people, so that taking it on tells the others."""
    return bool(task.candidate_groups) or len(task.candidate_users) > 1 or not task.assignee


def _came_back(context: RequestContext, task, user):
    """When this person did this step before and it comes back to them (rework, rules not met): the
    answers that sent it back. A step someone else did before (a need reopened to the next
    volunteer) has not come back to this reader, and what was said then is not theirs to read."""
    earlier = [t for t in context.tasks if t.bpmn_id == task.bpmn_id and t.status == "completed"
               and t.completed_by == user.username]
    if not earlier:
        return None
    after = [t for t in context.tasks if t.status == "completed" and t.id > earlier[-1].id
             and visibility.answers_visible(t, user, context.tasks)]
    return after[-1] if after else None


def _earlier_steps(session, user, task, context: RequestContext):
    """The steps already done, for those who may see the request (who did what when; their answers
    are on the request's page), except those a later candidate may not know of."""
    if not permissions.can_see_instance(session, user, task.instance):
        return []
    return context.steps_done(lambda done: visibility.answers_visible(done, user, context.tasks))


def _other_errors(form, errors):
    known = {f["id"] for f in formview.editable_fields(form)}
    return {k: [formview.plain_error(m, form) for m in v] for k, v in (errors or {}).items() if k not in known}


def _after_completion(session, user, instance_id: int) -> str:
    """The next step if it is this person's too (one flow), else the request's page."""
    for task in queries.open_tasks(session, instance_id):
        if task.assignee == user.username and permissions.can_act(user, task):
            return url_for("tasks.task", task_id=task.id)
    return url_for("requests.show", instance_id=instance_id)


@bp.post("/tasks/<int:task_id>/claim")
def claim(task_id: int):
    session, user = db.session(), current_actor()
    task = claim_task(session, task_id, user)
    db.after_commit(flash, _("You have taken on “%(step)s”: the others no longer see it in their list.",
                             step=task.title), "success")
    return redirect(url_for("tasks.task", task_id=task_id), 303)


@bp.post("/tasks/<int:task_id>/release")
def release(task_id: int):
    session, user = db.session(), current_actor()
    task = release_task(session, task_id, user)
    db.after_commit(flash, _("“%(step)s” is back in the shared list.", step=task.title), "success")
    return redirect(url_for("tasks.home"), 303)
