"""The mission register: every mission the caller may see, filtered, sorted, paginated; and its CSV export."""
from __future__ import annotations

from flask import g

from engine import register

from .. import db
from ..mission_export import missions_download
from . import errors, representations
from .base import ApiBlueprint
from .errors import responds
from .schemas import MissionExportArgsSchema, MissionPageArgsSchema, MissionPageSchema

blp = ApiBlueprint("api_missions", __name__, url_prefix="/api/v1/missions",
                   description="The mission register: missions in every phase, for whoever may see them.")


def filters_of(args) -> register.Filters:
    return register.Filters(process=args.get("process"), phase=tuple(args.get("phase") or ()),
                            agent=args.get("agent"), directorate=args.get("directorate"),
                            overlaps=args.get("overlaps"), q=args.get("q"))


@blp.route("", methods=["GET"])
@blp.arguments(MissionPageArgsSchema, location="query")
@blp.response(200, MissionPageSchema)
@responds(*errors.COMMON)
def list_missions(args):
    """The missions the caller may see (HR, the coordination, auditors and administrators: all; a
    manager: their reports'; everyone: their own; a host referent: their organisation's)."""
    found = register.missions(db.session(), g.api_user, filters_of(args), args["sort"], args["page"],
                              args["page_size"])
    return representations.page(found, representations.mission)


@blp.route("/export", methods=["GET"])
@blp.arguments(MissionExportArgsSchema, location="query")
@blp.response(200, {"type": "string"}, content_type="text/csv", description="CSV, one mission a line")
@responds(*errors.COMMON)
def export(args):
    """The missions matching the filters as a CSV download with a header row, streamed."""
    roles = representations.role_words()  # now: the rows are written once the request is gone
    return missions_download(g.api_user, filters_of(args), args["sort"],
                             lambda item: representations.mission(item, roles))
