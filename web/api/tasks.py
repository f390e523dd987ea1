"""Tasks: what the caller can act on, claim, release and complete."""
from __future__ import annotations

from flask import g

from engine import claim_task, complete_task, get_task, queries, release_task

from .. import db
from . import errors, representations
from .base import ApiBlueprint
from .errors import responds
from .schemas import MAX_ID, CompleteTaskSchema, CompletionSchema, TaskFiltersSchema, TaskPageSchema, TaskSchema

blp = ApiBlueprint("api_tasks", __name__, url_prefix="/api/v1/tasks",
                   description="Human tasks: list, claim, release, complete with the form's data.")

ID = f"<int(max={MAX_ID}):task_id>"


@blp.route("", methods=["GET"])
@blp.arguments(TaskFiltersSchema, location="query")
@blp.response(200, TaskPageSchema)
@responds(*errors.COMMON)
def list_tasks(args):
    """Tasks by scope: `mine` (assigned to me), `claimable` (offered to me, unclaimed),
    `all_visible` (every task of the requests I may see, any status); by default what I can act on now."""
    session = db.session()
    found = queries.tasks(session, g.api_user, scope=args["scope"], process=args.get("process"),
                          instance_id=args.get("instance"), page=args["page"], page_size=args["page_size"])
    return representations.task_page(session, g.api_user, found)


@blp.route(f"/{ID}", methods=["GET"])
@blp.response(200, TaskSchema)
@responds(*errors.COMMON, 404)
def get_one(task_id):
    """One task with its form and what its step shows the caller of the request (`context`); 404 if
    the caller may not see it: a finished step is seen by who did it and by who may see its request."""
    session = db.session()
    task = get_task(session, task_id, g.api_user)
    return representations.task(g.api_user, task, queries.instance_tasks(session, task.instance_id))


@blp.route(f"/{ID}/claim", methods=["POST"])
@blp.response(200, TaskSchema)
@responds(*errors.COMMON, 403, 404, 409)
def claim(task_id):
    """Take a task offered to a group: it is the caller's until released. 409 if someone else holds it."""
    task = claim_task(db.session(), task_id, g.api_user)
    return representations.task(g.api_user, task)


@blp.route(f"/{ID}/release", methods=["POST"])
@blp.response(200, TaskSchema)
@responds(*errors.COMMON, 403, 404, 409)
def release(task_id):
    """Give a claimed task back to its candidates."""
    task = release_task(db.session(), task_id, g.api_user)
    return representations.task(g.api_user, task)


@blp.route(f"/{ID}/complete", methods=["POST"])
@blp.arguments(CompleteTaskSchema, example={"data": {"decision": "reject", "comment": "Not this year"}})
@blp.response(200, CompletionSchema)
@responds(*errors.COMMON, *errors.JSON_BODY, 403, 404, 409, 422)
def complete(body, task_id):
    """Submit the form: 422 with field errors (unknown fields included), 403 if not the caller's task,
    409 if it is no longer ready. The answer shows the request as it now stands."""
    session = db.session()
    task = complete_task(session, task_id, g.api_user, body["data"])
    return {"task": representations.task(g.api_user, task),
            "instance": representations.instance(session, g.api_user, task.instance)}
