"""Processes (for process owners): versions, diagrams, downloads, and deploying a new version
after checking it and reading what changes."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine import (Bundle, InvalidBundle, NotFound, ProposedVersion, StagedUpload, approve, bundle_of, checksum,
                    discard_staged_upload, get_proposed, get_staged_upload, get_version, kind_of, list_processes,
                    pending_versions, permissions, reject, running_counts, stage_upload, steps_assigned_to, submit,
                    validate, versions_of)
from engine import diff_bundles, proposed_bundle

from .. import db
from ..diagrams import has_layout, render_svg
from ..downloads import content_disposition
from ..security import current_actor
from ..messages import change_text, problem_text
from .errors import Refused
from .labels import CHANGE_CATEGORY_LABELS, CHANGE_KIND_LABELS
from .people import people

bp = Blueprint("processes", __name__, url_prefix="/processes")
bp.add_app_template_filter(problem_text, "problem")
bp.add_app_template_filter(change_text, "change")


@bp.before_request
@login_required
def _owners_only():
    if not permissions.can_deploy(current_actor()):
        raise Refused(_("Processes are managed by process owners."))


@bp.get("")
def index():
    session = db.session()
    latest = list_processes(session)
    counts = {v.process_key: sum(running_counts(session, v.process_key).values()) for v in latest}
    pending = pending_versions(session)
    names = people(session, {v.deployed_by for v in latest} | {p.author for p in pending})
    return render_template("processes/index.html", latest=latest, counts=counts, names=names, pending=pending)


@bp.get("/<key>")
def show(key: str):
    session = db.session()
    versions = versions_of(session, key)
    pending = pending_versions(session, key)
    names = people(session, {v.deployed_by for v in versions} | {v.author for v in versions}
                   | {p.author for p in pending})
    return render_template("processes/show.html", key=key, versions=versions, latest=versions[0],
                           counts=running_counts(session, key), names=names, pending=pending)


@bp.get("/<key>/versions/<int:number>")
def version(key: str, number: int):
    session = db.session()
    found = get_version(session, key, number)
    names = people(session, {found.deployed_by, found.author})
    return render_template("processes/version.html", version=found, names=names,
                           running=running_counts(session, key).get(number, 0),
                           has_layout=has_layout(found.bpmn_file.content))


@bp.get("/<key>/versions/<int:number>/diagram.svg")
def diagram(key: str, number: int):
    found = get_version(db.session(), key, number)
    svg = render_svg(found.bpmn_file.content, process_id=key,
                     title=_("%(process)s, version %(version)s", process=found.name, version=number))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/<key>/versions/<int:number>/files/<filename>")
def download(key: str, number: int, filename: str):
    found = get_version(db.session(), key, number)
    files = bundle_of(found)
    if filename not in files:
        abort(404)
    return Response(files[filename], mimetype="application/xml",
                    headers={"Content-Disposition": content_disposition(filename)})


# --- a new version: upload, check, compare, confirm ----------------------------------------------

@bp.route("/upload", methods=["GET", "POST"])
def upload():
    if request.method == "GET":
        return render_template("processes/upload.html", errors=[], problems=[], comment="")
    user = current_actor()
    comment = request.form.get("comment", "").strip()
    files, errors = _received_files()
    if errors:
        return render_template("processes/upload.html", errors=errors, problems=[], comment=comment), 422
    problems = validate(files)
    if problems:
        return render_template("processes/upload.html", errors=[], problems=problems, comment=comment), 422
    key = files.key
    try:
        current = get_version(db.session(), key)
    except NotFound:
        current = None
    if current is not None and current.checksum == checksum(files):
        return render_template("processes/upload.html", errors=[_(
            "These files are exactly version %(version)s of “%(process)s”: there is nothing new to deploy.",
            version=current.version, process=current.name)], problems=[], comment=comment), 422
    staged = stage_upload(db.session(), user, files, comment, keep=_keep())
    return redirect(url_for("processes.review", token=staged.token), 303)


def _received_files() -> tuple[Bundle, list[str]]:
    files: dict[str, bytes] = {}
    errors: list[str] = []
    for upload in request.files.getlist("files"):
        name = Path(upload.filename or "").name
        if not name or not name.isprintable():  # no browser sends a NUL or a newline in a file name
            continue
        if kind_of(name) is None:
            errors.append(_("“%(name)s” is not a .bpmn or .dmn file.", name=name))
            continue
        files[name] = upload.read()
    bundle = Bundle(files)
    if not errors and len(bundle.bpmn_names) != 1:
        errors.append(_("Choose one .bpmn file (and the .dmn files it uses).") if not bundle.bpmn_names
                      else _("Send one .bpmn file at a time."))
    return bundle, errors


def _review(staged: StagedUpload, problems=None, comment: str | None = None, status: int = 200):
    """The review page of staged files: their `problems` (those of a failed deployment; None:
    validate them here). The files are parsed once for the whole page."""
    session = db.session()
    files = staged.bundle
    if problems is None:
        problems = validate(files)
    key = files.key
    try:
        current = get_version(session, key)
    except NotFound:
        current = None
    changes = diff_bundles(bundle_of(current), files) if current is not None else []
    groups: dict[str, list] = {}
    for change in changes:
        groups.setdefault(change.category, []).append(change)
    return render_template(
        "processes/review.html", staged=staged, key=key, current=current, groups=groups, changes=changes,
        four_eyes=current_app.config["FOUR_EYES_DEPLOY"],
        own_steps=steps_assigned_to(files, current_actor().username), own_steps_author=current_actor().name,
        category_labels=CHANGE_CATEGORY_LABELS, kind_labels=CHANGE_KIND_LABELS, problems=list(problems),
        running=sum(running_counts(session, key).values()) if current else 0,
        comment=staged.comment if comment is None else comment,
        has_layout=has_layout(files[files.bpmn_name]),
    ), status


def _keep() -> timedelta:
    return timedelta(hours=float(current_app.config["STAGED_UPLOAD_HOURS"]))


def _staged(token: str) -> StagedUpload:
    """The current user's staged upload `token`: 404 (NotFound) if absent, expired or someone else's."""
    return get_staged_upload(db.session(), token, current_actor(), keep=_keep())


@bp.get("/upload/<token>")
def review(token: str):
    staged = _staged(token)
    return _review(staged)


@bp.get("/upload/<token>/diagram.svg")
def staged_diagram(token: str):
    files = _staged(token).bundle
    svg = render_svg(files[files.bpmn_name], process_id=files.key, title=_("The new version"))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@bp.post("/upload/<token>")
def confirm(token: str):
    staged = _staged(token)
    comment = request.form.get("comment", "").strip()
    try:
        with db.attempt():
            result = submit(db.session(), staged.bundle, current_actor(), comment,
                            four_eyes=current_app.config["FOUR_EYES_DEPLOY"])
    except InvalidBundle as err:
        return _review(staged, problems=err.problems, comment=comment, status=422)
    # used: gone with the deployment (or proposal), in the same transaction
    discard_staged_upload(db.session(), token, current_actor(), keep=_keep())
    if isinstance(result, ProposedVersion):
        db.after_commit(flash, _("The new version of “%(process)s” is proposed. Another process owner must "
                                 "approve it before new requests follow it.", process=result.name), "success")
        return redirect(url_for("processes.pending", key=result.process_key, proposed_id=result.id), 303)
    version = result.version
    db.after_commit(flash, _("Version %(version)s of “%(process)s” is deployed: new requests follow it; requests "
                             "already running stay on their version.", version=version.version,
                             process=version.name), "success")
    return redirect(url_for("processes.show", key=version.process_key), 303)


@bp.post("/upload/<token>/discard")
def discard(token: str):
    discard_staged_upload(db.session(), token, current_actor(), keep=_keep())
    db.after_commit(flash, _("The uploaded files have been discarded. Nothing was deployed."), "info")
    return redirect(url_for("processes.index"), 303)


# --- four eyes: a proposed version, read and decided by another process owner --------------------

def _proposed(key: str, proposed_id: int) -> ProposedVersion:
    return get_proposed(db.session(), proposed_id, key)


def _pending_page(proposed: ProposedVersion, problems=(), status: int = 200):
    session = db.session()
    actor = current_actor()
    files = proposed_bundle(proposed)
    try:
        current = get_version(session, proposed.process_key)
    except NotFound:
        current = None
    changes = diff_bundles(bundle_of(current), files) if current is not None and proposed.status == "pending" else []
    groups: dict[str, list] = {}
    for change in changes:
        groups.setdefault(change.category, []).append(change)
    names = people(session, {proposed.author, proposed.reviewed_by or proposed.author})
    return render_template(
        "processes/pending.html", proposed=proposed, current=current, groups=groups, changes=changes,
        category_labels=CHANGE_CATEGORY_LABELS, kind_labels=CHANGE_KIND_LABELS, problems=list(problems),
        names=names, own_steps=steps_assigned_to(files, proposed.author),
        can_approve=proposed.status == "pending" and permissions.can_approve_version(actor, proposed),
        is_author=actor.username == proposed.author,
        running=sum(running_counts(session, proposed.process_key).values()) if current else 0,
        has_layout=has_layout(proposed.bpmn_file.content),
    ), status


@bp.get("/<key>/pending/<int:proposed_id>")
def pending(key: str, proposed_id: int):
    return _pending_page(_proposed(key, proposed_id))


@bp.get("/<key>/pending/<int:proposed_id>/diagram.svg")
def pending_diagram(key: str, proposed_id: int):
    proposed = _proposed(key, proposed_id)
    svg = render_svg(proposed.bpmn_file.content, process_id=key, title=_("The proposed version"))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@bp.get("/<key>/pending/<int:proposed_id>/files/<filename>")
def pending_download(key: str, proposed_id: int, filename: str):
    files = proposed_bundle(_proposed(key, proposed_id))
    if filename not in files:
        abort(404)
    return Response(files[filename], mimetype="application/xml",
                    headers={"Content-Disposition": content_disposition(filename)})


@bp.post("/<key>/pending/<int:proposed_id>/approve")
def approve_pending(key: str, proposed_id: int):
    session = db.session()
    try:
        with db.attempt():
            result = approve(session, proposed_id, current_actor(), key)  # never its author (engine.permissions)
    except InvalidBundle as err:
        return _pending_page(_proposed(key, proposed_id), problems=err.problems, status=422)
    db.after_commit(flash, _("Version %(version)s of “%(process)s” is approved and deployed: new requests follow "
                             "it; requests already running stay on their version.",
                             version=result.version.version, process=result.version.name), "success")
    return redirect(url_for("processes.show", key=key), 303)


@bp.post("/<key>/pending/<int:proposed_id>/reject")
def reject_pending(key: str, proposed_id: int):
    actor = current_actor()
    rejected = reject(db.session(), proposed_id, actor, request.form.get("comment", "").strip()[:2000], key)
    db.after_commit(flash, _("You withdrew the proposed version. Nothing was deployed.")
                    if rejected.author == actor.username
                    else _("The proposed version is rejected. Nothing was deployed."), "info")
    try:
        versions_of(db.session(), key)
    except NotFound:
        return redirect(url_for("processes.index"), 303)
    return redirect(url_for("processes.show", key=key), 303)
