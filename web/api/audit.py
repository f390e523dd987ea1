"""The audit trail across requests (`auditor`, `admin`): search, verify the hash chains, export."""
from __future__ import annotations

from flask import g

from engine import Message, check_audit_chain, permissions, search_audit

from .. import db
from ..audit_export import trail_download
from ..messages import api_text
from . import errors, representations
from .base import ApiBlueprint
from .errors import responds
from .schemas import (AuditEventPageSchema, AuditEventSchema, AuditExportArgsSchema, AuditPageArgsSchema,
                      VerificationSchema)

blp = ApiBlueprint("api_audit", __name__, url_prefix="/api/v1/audit",
                   description="The audit trail across requests, for auditors and administrators.")


@blp.before_request
def _auditors_only() -> None:
    # runs after the token check (registered later on the same blueprint)
    permissions.require(permissions.can_read_audit(g.api_user), Message("error.may_not_read_audit"),
                        "only auditors and administrators read the audit")


def _filters(args) -> dict:
    return {"process": args.get("process"), "actor": args.get("actor"), "type": args.get("type"),
            "since": args.get("since"), "until": args.get("until"), "instance_id": args.get("instance")}


@blp.route("/events", methods=["GET"])
@blp.arguments(AuditPageArgsSchema, location="query")
@blp.response(200, AuditEventPageSchema)
@responds(*errors.COMMON, 403)
def events(args):
    """Audit events across requests, newest first."""
    found = search_audit(db.session(), g.api_user, **_filters(args), page=args["page"], page_size=args["page_size"])
    return representations.page(found, representations.audit_event)


@blp.route("/verify", methods=["GET"])
@blp.response(200, VerificationSchema)
@responds(*errors.COMMON, 403)
def verify():
    """Recompute every hash chain; report the first broken link."""
    result = check_audit_chain(db.session(), g.api_user)
    broken = None
    if result.first_broken is not None:
        broken = {"instance_id": result.first_broken[0], "seq": result.first_broken[1]}
    return {"ok": result.ok, "events_checked": result.events_checked, "first_broken": broken,
            "reason": api_text(result.reason)}


@blp.route("/export", methods=["GET"])
@blp.arguments(AuditExportArgsSchema, location="query")
@blp.response(200, {"type": "string"}, content_type="text/csv", description="CSV, one event a line")
@blp.alt_response(200, schema=AuditEventSchema(many=True), content_type="application/json", success=True,
                  description="JSON, an array of events")
@responds(*errors.COMMON, 403)
def export(args):
    """The events matching the filters as a download, oldest first: `format=csv` (default) or `json`.
    Streamed: the whole trail downloads in bounded memory."""
    return trail_download(g.api_user, args["format"], "audit-events", **_filters(args))
