"""Four eyes on deploys: a version one process owner uploads waits until another approves it.

With four eyes on (`submit(..., four_eyes=True)`, the production default), an upload becomes a
*proposed* version: nothing runs on it until a second process owner or an administrator approves
it, and its author never can. The trail records the proposal, the decision and the deployment.
With four eyes off, `submit` deploys at once as before. `passerelle deploy` and the deployment
of processes/ at start-up call `registry.deploy` directly: the files on disk went through
whatever review the folder's owners keep.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock, permissions, registry
from .assignment import parse_expression, split_list
from .bundle import Bundle
from . import errors
from .errors import Conflict, NotFound
from .messages import Message
from .models import ProposedFile, ProposedVersion, User
from .xml import BPMN_NS, CAMUNDA_NS

__all__ = ["AuthorStep", "approve", "get_proposed", "pending_versions", "reject", "steps_assigned_to", "submit"]

_ASSIGNING = ("assignee", "candidateUsers")


@dataclass(frozen=True)
class AuthorStep:
    """A step a diagram gives to a person by name (its BPMN id and name)."""

    id: str
    name: str


def submit(session: Session, files: Mapping[str, bytes], actor: User, comment: str = "", *,
           four_eyes: bool) -> registry.Deployment | ProposedVersion:
    """Deploy `files` (four eyes off) or propose them for another process owner's approval.

    Files identical to the current version deploy and propose nothing (a Deployment with
    `created` False); files identical to a version already waiting return that proposal.
    Raises PermissionDenied unless `actor` may deploy, InvalidBundle if a file is at fault.
    """
    permissions.require(permissions.can_deploy(actor), Message(errors.MAY_NOT_DEPLOY),
                        "only process owners may deploy processes")
    files = Bundle.of(files)
    if not four_eyes:
        return registry.deploy(session, files, actor.username, comment)
    key, name, digest = registry.identify(files)
    current = registry.latest_version(session, key)
    if current is not None and current.checksum == digest:
        return registry.Deployment(current, False)
    waiting = session.scalar(select(ProposedVersion).where(
        ProposedVersion.process_key == key, ProposedVersion.status == "pending", ProposedVersion.checksum == digest))
    if waiting is not None:
        return waiting
    proposed = ProposedVersion(
        process_key=key, name=name, checksum=digest, author=actor.username, proposed_at=clock.now(),
        comment=comment or "", status="pending", review_comment="",
        files=[ProposedFile(filename=n, content=c) for n, c in files.stored_order()])
    session.add(proposed)
    session.flush()
    audit.record(session, audit.EventType.PROCESS_PROPOSED, actor.username, process_key=key, data={
        "proposed": proposed.id, "checksum": digest, "comment": proposed.comment, "files": sorted(files),
        "steps_assigned_to_author": [step.id for step in steps_assigned_to(files, actor.username)]})
    return proposed


def pending_versions(session: Session, key: str | None = None) -> list[ProposedVersion]:
    """The proposed versions waiting for a decision (of one process when `key` is given), oldest first."""
    query = select(ProposedVersion).where(ProposedVersion.status == "pending")
    if key is not None:
        query = query.where(ProposedVersion.process_key == key)
    return list(session.scalars(query.order_by(ProposedVersion.proposed_at, ProposedVersion.id)))


def get_proposed(session: Session, proposed_id: int, key: str | None = None) -> ProposedVersion:
    """A proposed version (of process `key` when given); NotFound otherwise."""
    found = session.get(ProposedVersion, proposed_id)
    if found is None or (key is not None and found.process_key != key):
        raise NotFound(Message(errors.NO_PROPOSED_VERSION, id=proposed_id), f"no proposed version {proposed_id}")
    return found


def approve(session: Session, proposed_id: int, reviewer: User, key: str | None = None) -> registry.Deployment:
    """Deploy a proposed version: it becomes the version new requests start on.

    Raises NotFound, PermissionDenied (the author, or someone who may not deploy), Conflict (already
    decided: two reviewers at once get one deployment), InvalidBundle (the files no longer pass
    today's checks: nothing is deployed, the proposal stays pending).
    """
    proposed = _locked(session, proposed_id, key)
    permissions.require(permissions.can_approve_version(reviewer, proposed), Message(errors.AUTHOR_CANNOT_APPROVE),
                        "the author of a version cannot approve it: another process owner must")
    _still_pending(proposed)
    files = bundle_of(proposed)
    deployment = registry.deploy(session, files, reviewer.username, proposed.comment, author=proposed.author)
    _decide(proposed, "approved", reviewer, "")
    proposed.version_id = deployment.version.id
    audit.record(session, audit.EventType.PROCESS_APPROVED, reviewer.username, process_key=proposed.process_key,
                 version=deployment.version.version, data={
                     "proposed": proposed.id, "author": proposed.author, "checksum": proposed.checksum,
                     "deployed": deployment.created})
    return deployment


def reject(session: Session, proposed_id: int, reviewer: User, comment: str = "", key: str | None = None) -> ProposedVersion:
    """Refuse a proposed version (its author withdraws it the same way); nothing is deployed.

    Raises NotFound, PermissionDenied (someone who may not deploy), Conflict (already decided).
    """
    proposed = _locked(session, proposed_id, key)
    permissions.require(permissions.can_deploy(reviewer), Message(errors.MAY_NOT_DECIDE_VERSION),
                        "only process owners may decide on a proposed version")
    _still_pending(proposed)
    _decide(proposed, "rejected", reviewer, comment)
    audit.record(session, audit.EventType.PROCESS_REJECTED, reviewer.username, process_key=proposed.process_key,
                 data={"proposed": proposed.id, "author": proposed.author, "checksum": proposed.checksum,
                       "comment": proposed.review_comment})
    return proposed


def bundle_of(proposed: ProposedVersion) -> Bundle:
    """The files of a proposed version, as a Bundle."""
    return Bundle.of_stored(proposed.files)


def steps_assigned_to(files: Mapping[str, bytes], username: str) -> list[AuthorStep]:
    """The steps of the bundle's diagram that name `username` as their assignee or a candidate user
    (written as is, not `${...}`): what a reviewer must see when `username` wrote the diagram."""
    root = Bundle.of(files).bpmn_root
    if root is None:
        return []
    found: list[AuthorStep] = []
    for element in root.iter(f"{{{BPMN_NS}}}*"):
        names = [item for attribute in _ASSIGNING
                 for item in split_list(element.get(f"{{{CAMUNDA_NS}}}{attribute}"))
                 if parse_expression(item) is None]
        if username in names:
            found.append(AuthorStep(element.get("id") or "", element.get("name") or element.get("id") or ""))
    return found


def _locked(session: Session, proposed_id: int, key: str | None) -> ProposedVersion:
    """The proposal, locked until the transaction ends (PostgreSQL: a second reviewer waits, then
    sees it decided)."""
    found = session.scalar(select(ProposedVersion).where(ProposedVersion.id == proposed_id).with_for_update()
                           .execution_options(populate_existing=True))
    if found is None or (key is not None and found.process_key != key):
        raise NotFound(Message(errors.NO_PROPOSED_VERSION, id=proposed_id), f"no proposed version {proposed_id}")
    return found


def _still_pending(proposed: ProposedVersion) -> None:
    if proposed.status != "pending":
        raise Conflict(Message(errors.VERSION_ALREADY, status=proposed.status),
                       f"this version was already {proposed.status}")


def _decide(proposed: ProposedVersion, status: str, reviewer: User, comment: str) -> None:
    proposed.status = status
    proposed.reviewed_by = reviewer.username
    proposed.reviewed_at = clock.now()
    proposed.review_comment = comment or ""
