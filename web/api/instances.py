"""Instances (requests): start, list, read, cancel; their history and their diagram."""
from __future__ import annotations

from flask import Response, g

from engine import Message, cancel_instance, get_instance, permissions, queries, retry_incident, start_instance

from .. import db
from ..diagrams import render_svg
from . import errors, representations
from .base import ApiBlueprint
from .errors import responds
from .schemas import (MAX_ID, AuditEventSchema, CancelSchema, InstanceFiltersSchema, InstancePageSchema,
                      InstanceSchema, PageArgs, StartInstanceSchema, page_of)

blp = ApiBlueprint("api_instances", __name__, url_prefix="/api/v1/instances",
                   description="Requests: start one, follow it, withdraw or cancel it, read its history.")

ID = f"<int(max={MAX_ID}):instance_id>"
HistorySchema = page_of(AuditEventSchema, "HistorySchema")


@blp.route("", methods=["POST"])
@blp.arguments(StartInstanceSchema, example={"process": "mission_exchange", "data": {}})
@blp.response(201, InstanceSchema)
@responds(*errors.COMMON, *errors.JSON_BODY, 403, 404, 422)
def start(body):
    """Start the latest version of a process; the answer shows the tasks now waiting."""
    session = db.session()
    instance = start_instance(session, body["process"], g.api_user, body["data"])
    return representations.instance(session, g.api_user, instance)


@blp.route("", methods=["GET"])
@blp.arguments(InstanceFiltersSchema, location="query")
@blp.response(200, InstancePageSchema)
@responds(*errors.COMMON)
def list_visible(args):
    """The requests the caller may see, newest first."""
    session = db.session()
    found = queries.instances(session, g.api_user, process=args.get("process"), status=args.get("status"),
                              started_by=args.get("started_by"), involved_me=args.get("involved") == "me",
                              page=args["page"], page_size=args["page_size"])
    return representations.instance_page(session, g.api_user, found)


@blp.route(f"/{ID}", methods=["GET"])
@blp.response(200, InstanceSchema)
@responds(*errors.COMMON, 404)
def get_one(instance_id):
    """One request; 404 if it does not exist or the caller may not see it."""
    session = db.session()
    return representations.instance(session, g.api_user, get_instance(session, instance_id, g.api_user))


@blp.route(f"/{ID}/cancel", methods=["POST"])
@blp.arguments(CancelSchema, example={"reason": "The project was postponed"})
@blp.response(200, InstanceSchema)
@responds(*errors.COMMON, *errors.JSON_BODY, 403, 404, 409, 422)
def cancel(body, instance_id):
    """Withdraw (the starter, until approved) or cancel (`hr`, `admin`) a running request."""
    session = db.session()
    instance = cancel_instance(session, instance_id, g.api_user, body["reason"])
    return representations.instance(session, g.api_user, instance)


@blp.route(f"/{ID}/incidents/<any(timer, message):kind>/<int(max={MAX_ID}):incident_id>/retry", methods=["POST"])
@blp.response(200, InstanceSchema)
@responds(*errors.COMMON, 403, 404, 409)
def retry(instance_id, kind, incident_id):
    """Re-arm an incident of this request (`hr`, `admin`): the worker tries the job again, attempts reset.

    404 if the request or the incident is unknown (or not this request's); 409 if it is not an
    incident any more (already retried, or its request has ended).
    """
    session = db.session()
    instance = get_instance(session, instance_id, g.api_user)
    permissions.require(permissions.can_retry_incidents(g.api_user), Message("error.may_not_retry"),
                        "only hr and admin may retry incidents")
    retry_incident(session, kind, incident_id, g.api_user, instance_id=instance.id)
    return representations.instance(session, g.api_user, instance)


@blp.route(f"/{ID}/history", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, HistorySchema)
@responds(*errors.COMMON, 404)
def history(args, instance_id):
    """The request's audit events in order (oldest first), with their hash chain."""
    session = db.session()
    get_instance(session, instance_id, g.api_user)
    events = queries.history(session, instance_id)
    start = (args["page"] - 1) * args["page_size"]
    return {"items": [representations.audit_event(e) for e in events[start:start + args["page_size"]]],
            "total": len(events), "page": args["page"], "page_size": args["page_size"]}


@blp.route(f"/{ID}/diagram.svg", methods=["GET"])
@blp.response(200, {"type": "string"}, content_type="image/svg+xml",
              description="The diagram with the path taken and the waiting tasks marked")
@responds(*errors.COMMON, 404)
def diagram(instance_id):
    """The request's diagram as SVG: completed steps and flows, and what it waits on now."""
    session = db.session()
    instance = get_instance(session, instance_id, g.api_user)
    state = queries.diagram_state(instance)
    svg = render_svg(instance.version.bpmn_file.content, process_id=instance.process_key,
                     completed=state.completed, waiting=state.waiting)
    return Response(svg, mimetype="image/svg+xml")
