"""Processes: what may be started, their versions and files; validating and deploying bundles."""
from __future__ import annotations

import io
from pathlib import Path

from flask import current_app, g, jsonify, send_file

from engine import (InvalidBundle, Message, Problem, ProposedVersion, approve, get_proposed, get_version,
                    list_processes, pending_versions, permissions, reject, submit, validate, versions_of)

from .. import db
from ..messages import problem_as_dict
from ..downloads import content_disposition
from . import errors, representations
from .base import ApiBlueprint
from .errors import responds
from .schemas import (MAX_ID, DeployUploadSchema, PageArgs, ProcessDetailSchema, ProcessPageSchema,
                      ProposedVersionSchema, ReviewSchema, ValidateUploadSchema, ValidationResultSchema)

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
    """A process with all its versions, newest first (and, for process owners, the versions waiting
    for approval)."""
    return _detail(key)


def _detail(key: str) -> dict:
    session, actor = db.session(), g.api_user
    versions = versions_of(session, key)
    body = representations.process(actor, versions[0], versions)
    if permissions.can_deploy(actor):
        body["pending"] = [representations.proposed_version(actor, p) for p in pending_versions(session, key)]
    return body


@blp.route(f"/<process_key:key>/versions/<int(max={MAX_ID}):version>/bpmn", methods=["GET"])
@blp.response(200, {"type": "string"}, content_type="application/xml",
              description="The BPMN file exactly as deployed")
@responds(*errors.COMMON, 404)
def get_bpmn(key, version):
    """The BPMN XML of one deployed version, byte for byte."""
    found = get_version(db.session(), key, version)
    bpmn = found.bpmn_file
    response = send_file(io.BytesIO(bpmn.content), mimetype="application/xml", conditional=False, etag=False)
    response.headers["Content-Disposition"] = content_disposition(bpmn.filename, "inline")
    return response


def _uploaded(files) -> tuple[dict[str, bytes], list[Problem]]:
    """The uploaded bundle by file name, and what is wrong with the names themselves (the engine
    judges the rest: kinds of files, their number, their content)."""
    bundle: dict[str, bytes] = {}
    problems: list[Problem] = []
    for index, upload in enumerate(files, start=1):
        name = Path(upload.filename or "").name
        if not name or "\x00" in name:
            problems.append(Problem(f"file {index}", None, None, "upload.unnamed"))
        elif name in bundle:
            problems.append(Problem(name, None, None, "upload.twice"))
        else:
            bundle[name] = upload.read()
    return bundle, problems


@blp.route("/validate", methods=["POST"])
@blp.arguments(ValidateUploadSchema, location="multipart")
@blp.response(200, ValidationResultSchema)
@responds(*errors.COMMON, 403, 413)
def validate_bundle(upload):
    """Check a BPMN file and its DMN files without deploying them: every problem, located (`process_owner`)."""
    permissions.require(permissions.can_deploy(g.api_user), Message("error.may_not_check_files"),
                        "only process owners may check process files")
    bundle, problems = _uploaded(upload["files"])
    if not problems:
        problems = validate(bundle)
    return {"valid": not problems, "problems": [problem_as_dict(p) for p in problems]}


@blp.route("/deploy", methods=["POST"])
@blp.arguments(DeployUploadSchema, location="multipart")
@blp.response(201, ProcessDetailSchema, description="A new version was deployed")
@blp.alt_response(200, schema=ProcessDetailSchema, success=True,
                  description="The same files are already the latest version: nothing was deployed")
@blp.alt_response(202, schema=ProposedVersionSchema, success=True,
                  description="Four eyes on: the version waits until another process owner approves it")
@responds(*errors.COMMON, 403, 413, 422)
def deploy_bundle(upload):
    """Deploy a BPMN file and its DMN files as the next version of their process (`process_owner`);
    with four eyes on deploys, propose it for another process owner's approval instead."""
    actor = g.api_user
    permissions.require(permissions.can_deploy(actor), Message("error.may_not_deploy"),
                        "only process owners may deploy processes")
    bundle, problems = _uploaded(upload["files"])
    if problems:
        raise InvalidBundle(problems)
    session = db.session()
    result = submit(session, bundle, actor, upload["comment"], four_eyes=current_app.config["FOUR_EYES_DEPLOY"])
    if isinstance(result, ProposedVersion):
        response = jsonify(ProposedVersionSchema().dump(representations.proposed_version(actor, result)))
        response.status_code = 202
        return response
    return _detail(result.version.process_key), 201 if result.created else 200


# --- four eyes: versions waiting for another process owner --------------------------------------

@blp.route("/<process_key:key>/pending", methods=["GET"])
@blp.response(200, ProposedVersionSchema(many=True))
@responds(*errors.COMMON, 403)
def list_pending(key):
    """The versions of a process proposed and waiting for approval, oldest first (`process_owner`)."""
    actor = g.api_user
    permissions.require(permissions.can_deploy(actor), Message("error.may_not_see_proposals"),
                        "only process owners may see proposed versions")
    return [representations.proposed_version(actor, p) for p in pending_versions(db.session(), key)]


@blp.route(f"/<process_key:key>/pending/<int(max={MAX_ID}):proposed_id>", methods=["GET"])
@blp.response(200, ProposedVersionSchema)
@responds(*errors.COMMON, 403, 404)
def get_pending(key, proposed_id):
    """One proposed version, waiting or decided (`process_owner`)."""
    actor = g.api_user
    permissions.require(permissions.can_deploy(actor), Message("error.may_not_see_proposals"),
                        "only process owners may see proposed versions")
    return representations.proposed_version(actor, get_proposed(db.session(), proposed_id, key))


@blp.route(f"/<process_key:key>/pending/<int(max={MAX_ID}):proposed_id>/bpmn", methods=["GET"])
@blp.response(200, {"type": "string"}, content_type="application/xml", description="The proposed BPMN file")
@responds(*errors.COMMON, 403, 404)
def get_pending_bpmn(key, proposed_id):
    """The BPMN XML of a proposed version, byte for byte (`process_owner`)."""
    permissions.require(permissions.can_deploy(g.api_user), Message("error.may_not_see_proposals"),
                        "only process owners may see proposed versions")
    bpmn = get_proposed(db.session(), proposed_id, key).bpmn_file
    response = send_file(io.BytesIO(bpmn.content), mimetype="application/xml", conditional=False, etag=False)
    response.headers["Content-Disposition"] = content_disposition(bpmn.filename, "inline")
    return response


@blp.route(f"/<process_key:key>/pending/<int(max={MAX_ID}):proposed_id>/approve", methods=["POST"])
@blp.response(201, ProcessDetailSchema, description="The version is deployed: new requests start on it")
@responds(*errors.COMMON, 403, 404, 409, 422)
def approve_pending(key, proposed_id):
    """Approve a proposed version, which deploys it: another process owner than its author, or an admin."""
    permissions.require(permissions.can_deploy(g.api_user), Message("error.may_not_approve_version"),
                        "only process owners may approve a version")
    session = db.session()
    approve(session, proposed_id, g.api_user, key)  # never its author's (engine.permissions)
    return _detail(key)


@blp.route(f"/<process_key:key>/pending/<int(max={MAX_ID}):proposed_id>/reject", methods=["POST"])
@blp.arguments(ReviewSchema, location="json")
@blp.response(200, ProposedVersionSchema, description="Rejected (or withdrawn by its author): nothing is deployed")
@responds(*errors.COMMON, 400, 403, 404, 409, 413, 422)
def reject_pending(args, key, proposed_id):
    """Reject a proposed version, saying why (`process_owner`; its author withdraws it the same way)."""
    actor = g.api_user
    permissions.require(permissions.can_deploy(actor), Message("error.may_not_decide_version"),
                        "only process owners may decide on a proposed version")
    rejected = reject(db.session(), proposed_id, actor, args["comment"], key)
    return representations.proposed_version(actor, rejected)
