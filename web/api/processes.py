"""Processes: what may be started, their versions and files; validating and deploying bundles."""
from __future__ import annotations

import io
from pathlib import Path

from flask import g, send_file

from engine import InvalidBundle, Problem, deploy, get_version, list_processes, permissions, validate, versions_of

from .. import db
from . import errors, representations
from .base import ApiBlueprint
from .errors import responds
from .schemas import (MAX_ID, DeployUploadSchema, PageArgs, ProcessDetailSchema, ProcessPageSchema,
                      ValidateUploadSchema, ValidationResultSchema)

blp = ApiBlueprint("api_processes", __name__, url_prefix="/api/v1/processes",
                   description="Deployed processes and their versions; validate and deploy BPMN bundles.")


@blp.route("", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, ProcessPageSchema)
@responds(*errors.COMMON)
def list_all(args):
    """Every deployed process (its latest version), and whether the caller may start it."""
    actor = g.api_user
    latest = list_processes(db.session())
    start = (args["page"] - 1) * args["page_size"]
    return {"items": [representations.process(actor, v) for v in latest[start:start + args["page_size"]]],
            "total": len(latest), "page": args["page"], "page_size": args["page_size"]}


@blp.route("/<process_key:key>", methods=["GET"])
@blp.response(200, ProcessDetailSchema)
@responds(*errors.COMMON, 404)
def get_one(key):
    """A process with all its versions, newest first."""
    versions = versions_of(db.session(), key)
    return representations.process(g.api_user, versions[0], versions)


@blp.route(f"/<process_key:key>/versions/<int(max={MAX_ID}):version>/bpmn", methods=["GET"])
@blp.response(200, {"type": "string"}, content_type="application/xml",
              description="The BPMN file exactly as deployed")
@responds(*errors.COMMON, 404)
def get_bpmn(key, version):
    """The BPMN XML of one deployed version, byte for byte."""
    found = get_version(db.session(), key, version)
    bpmn = found.bpmn_file
    return send_file(io.BytesIO(bpmn.content), mimetype="application/xml", download_name=bpmn.filename,
                     as_attachment=False, conditional=False, etag=False)


def _uploaded(files) -> tuple[dict[str, bytes], list[Problem]]:
    """The uploaded bundle by file name, and what is wrong with the names themselves (the engine
    judges the rest: kinds of files, their number, their content)."""
    bundle: dict[str, bytes] = {}
    problems: list[Problem] = []
    for index, upload in enumerate(files, start=1):
        name = Path(upload.filename or "").name
        if not name or "\x00" in name:
            problems.append(Problem(f"file {index}", None, None, "this file has no usable name"))
        elif name in bundle:
            problems.append(Problem(name, None, None, "this file was uploaded twice"))
        else:
            bundle[name] = upload.read()
    return bundle, problems


@blp.route("/validate", methods=["POST"])
@blp.arguments(ValidateUploadSchema, location="multipart")
@blp.response(200, ValidationResultSchema)
@responds(*errors.COMMON, 413)
def validate_bundle(upload):
    """Check a BPMN file and its DMN files without deploying them: every problem, located."""
    bundle, problems = _uploaded(upload["files"])
    if not problems:
        problems = validate(bundle)
    return {"valid": not problems, "problems": [p.as_dict() for p in problems]}


@blp.route("/deploy", methods=["POST"])
@blp.arguments(DeployUploadSchema, location="multipart")
@blp.response(201, ProcessDetailSchema, description="A new version was deployed")
@blp.alt_response(200, schema=ProcessDetailSchema, success=True,
                  description="The same files are already the latest version: nothing was deployed")
@responds(*errors.COMMON, 403, 413, 422)
def deploy_bundle(upload):
    """Deploy a BPMN file and its DMN files as the next version of their process (`process_owner`)."""
    actor = g.api_user
    permissions.require(permissions.can_deploy(actor), "only process owners may deploy processes")
    bundle, problems = _uploaded(upload["files"])
    if problems:
        raise InvalidBundle(problems)
    session = db.session()
    deployment = deploy(session, bundle, actor.username, upload["comment"])
    db.commit()
    versions = versions_of(session, deployment.version.process_key)
    body = representations.process(actor, versions[0], versions)
    return body, 201 if deployment.created else 200
