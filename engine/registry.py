"""Process definitions: validate, deploy and version BPMN bundles (one BPMN file plus its DMN files)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from . import audit, clock, permissions, spiff
from .bundle import BPMN, DMN, Bundle, kind_of
from .errors import MAY_NOT_DEPLOY, NO_PROCESS, InvalidBundle, NotFound, Problem
from .messages import Message
from .lru import Lru
from .models import Instance, ProcessFile, ProcessVersion, User
from .validation import validate_bundle as _static_problems

PROCESSES_DIR = Path(__file__).resolve().parent.parent / "processes"


@dataclass(frozen=True)
class Deployment:
    version: ProcessVersion
    created: bool


def checksum(files: Mapping[str, bytes]) -> str:
    """SHA-256 over the bundle's file names and exact contents, independent of upload order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(Path(name).name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def validate(files: Mapping[str, bytes]) -> list[Problem]:
    """Every problem that would prevent deploying `files` (a Bundle or name -> content); empty
    when the bundle is deployable."""
    files = Bundle.of(files)
    problems = _static_problems(files)
    if problems:
        return problems
    try:
        _parse(files)
    except InvalidBundle as err:
        return err.problems
    return []


def _parse(files: Bundle):
    """Parse with SpiffWorkflow; returns (process key, spec, subprocess specs)."""
    parser = spiff.PasserelleParser()
    bpmn_name = files.bpmn_name
    try:
        for name in files.dmn_names:
            parser.add_dmn_xml(files.root(name), filename=name)
        parser.add_bpmn_xml(files.root(bpmn_name), filename=bpmn_name)
        key = files.key
        if key is None:
            raise InvalidBundle([Problem(bpmn_name, None, None, "process.none_executable")])
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as err:
        raise InvalidBundle([Problem(err.file_name or bpmn_name, err.line_number or None,
                                     getattr(err, "id", None) or None, "spiff.invalid",
                                     {"detail": str(err).split("\n")[0]})]) from None
    except InvalidBundle:
        raise
    except Exception as err:  # the library raises many kinds; none may escape as a 500
        raise InvalidBundle([Problem(bpmn_name, None, None, "spiff.crashed", {"detail": str(err)})]) from None
    try:  # what cannot be stored cannot be deployed (e.g. the message of a send task)
        spiff.dump_specs(spec, subprocess_specs)
    except Exception as err:
        raise InvalidBundle([Problem(bpmn_name, None, None, "spiff.cannot_store", {"detail": str(err)})]) from None
    return key, spec, subprocess_specs


def identify(files: Mapping[str, bytes]) -> tuple[str, str, str]:
    """The (process key, process name, checksum) of a deployable bundle.

    Raises InvalidBundle if any file is at fault (as `deploy` would).
    """
    files = _named(files)
    problems = _static_problems(files)
    if problems:
        raise InvalidBundle(problems)
    key, _spec, _subprocess_specs = _parse(files)
    return key, files.name, checksum(files)


def _named(files: Mapping[str, bytes]) -> Bundle:
    """The bundle with its files named without their folders (the same Bundle if they are)."""
    if all(Path(name).name == name for name in files):
        return Bundle.of(files)
    return Bundle({Path(name).name: content for name, content in files.items()})


def deploy(session: Session, files: Mapping[str, bytes], actor: User | str, comment: str = "",
           author: str | None = None) -> Deployment:
    """Validate and deploy a bundle: `actor` makes it the version new requests start on; `author`,
    who uploaded it, when that was someone else (a proposal `actor` approved: `engine.review`).
    Identical content to the latest version creates nothing.

    `actor` is a person (a User: checked) or the name an operator on the server deploys under
    (`passerelle deploy --actor`, processes/ at start-up: the files on disk went through whatever
    review the folder's owners keep). People of the web deploy through `engine.review.submit`.

    Raises PermissionDenied unless a User `actor` may deploy, InvalidBundle (nothing is written) if
    any file is at fault.
    """
    if isinstance(actor, User):
        permissions.require(permissions.can_deploy(actor), Message(MAY_NOT_DEPLOY),
                            "only process owners may deploy processes")
        actor = actor.username
    files = _named(files)
    digest = checksum(files)
    unchanged = _latest_with_checksum(session, digest)
    if unchanged is not None:  # these exact files were validated when they were deployed
        return Deployment(unchanged, False)
    problems = _static_problems(files)
    if problems:
        raise InvalidBundle(problems)
    key, spec, subprocess_specs = _parse(files)
    latest = latest_version(session, key)
    version = ProcessVersion(
        process_key=key, version=(latest.version + 1) if latest else 1, name=files.name,
        description=files.description, checksum=digest, author=author or actor, deployed_by=actor,
        deployed_at=clock.now(), comment=comment or "", starter_roles=files.starter_roles,
        spec_json=spiff.dump_specs(spec, subprocess_specs),
        files=[ProcessFile(filename=n, content=c) for n, c in files.stored_order()],
    )
    session.add(version)
    session.flush()
    audit.record(session, audit.EventType.PROCESS_DEPLOYED, actor, process_key=key, version=version.version,
                 data={"checksum": digest, "comment": version.comment, "files": sorted(files),
                       **({"author": version.author} if version.author != actor else {})})
    return Deployment(version, True)


def _latest_with_checksum(session: Session, digest: str) -> ProcessVersion | None:
    """The latest version of its process, if its files are exactly those of `digest`.

    Every app start deploys processes/ again; answering from the checksum spares parsing and
    validating bundles that have not changed (the same files always give the same key).
    """
    for version in session.scalars(select(ProcessVersion).where(ProcessVersion.checksum == digest)):
        if latest_version(session, version.process_key).id == version.id:
            return version
    return None


def bundles_in(folder: Path) -> dict[str, Bundle]:
    """The bundles of a processes/ folder by the path of their BPMN file: one per BPMN file, with
    the DMN files of its sub-folder (none at top level)."""
    found = sorted(path for path in folder.rglob("*") if path.is_file() and kind_of(path.name) is not None)
    bundles: dict[str, Bundle] = {}
    for bpmn in (path for path in found if kind_of(path.name) == BPMN):
        tables = [] if bpmn.parent == folder else [
            path for path in found if path.parent == bpmn.parent and kind_of(path.name) == DMN]
        bundles[str(bpmn.relative_to(folder))] = Bundle({p.name: p.read_bytes() for p in [bpmn, *tables]})
    return bundles


def deploy_folder(session: Session, folder: Path = PROCESSES_DIR, actor: str = "system",
                  comment: str = "deployed from processes/") -> list[Deployment]:
    """Deploy every bundle found under `folder` (idempotent by checksum)."""
    return [deploy(session, files, actor, comment) for files in bundles_in(Path(folder)).values()]


def latest_version(session: Session, key: str) -> ProcessVersion | None:
    return session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == key)
                          .order_by(ProcessVersion.version.desc()).limit(1))


def get_version(session: Session, key: str, version: int | None = None) -> ProcessVersion:
    """The given version of a process (latest when None); NotFound otherwise."""
    if version is None:
        found = latest_version(session, key)
    else:
        found = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == key,
                                                            ProcessVersion.version == version))
    if found is None:
        raise NotFound(Message(NO_PROCESS, key=key, version=version),
                       f"no process {key!r}" + (f" version {version}" if version is not None else ""))
    return found


def list_processes(session: Session) -> list[ProcessVersion]:
    """The latest version of every deployed process, by key."""
    newest = (select(ProcessVersion.process_key, func.max(ProcessVersion.version).label("v"))
              .group_by(ProcessVersion.process_key).subquery())
    return list(session.scalars(select(ProcessVersion).join(
        newest, (ProcessVersion.process_key == newest.c.process_key) & (ProcessVersion.version == newest.c.v))
        .order_by(ProcessVersion.process_key)))


def versions_of(session: Session, key: str) -> list[ProcessVersion]:
    versions = list(session.scalars(select(ProcessVersion).where(ProcessVersion.process_key == key)
                                    .order_by(ProcessVersion.version.desc())))
    if not versions:
        raise NotFound(Message(NO_PROCESS, key=key), f"no process {key!r}")
    return versions


def running_counts(session: Session, key: str) -> dict[int, int]:
    """Running instances per version number of a process."""
    rows = session.execute(select(ProcessVersion.version, func.count(Instance.id))
                           .join(Instance, Instance.version_id == ProcessVersion.id)
                           .where(ProcessVersion.process_key == key, Instance.status == "running")
                           .group_by(ProcessVersion.version))
    return {version: count for version, count in rows}


def current_specs(version: ProcessVersion) -> str:
    """The version's serialized specs, re-parsed from its stored files when they were written by an
    older SpiffWorkflow (a library upgrade must not strand deployed versions)."""
    if not spiff.specs_are_current(version.spec_json):
        _key, spec, subprocess_specs = _parse(bundle_of(version))
        version.spec_json = spiff.dump_specs(spec, subprocess_specs)
    return version.spec_json


#: parsed specs of deployed versions by checksum (the same files always parse to the same specs)
_parsed = Lru(128)


def parsed_specs(version: ProcessVersion) -> tuple:
    """The version's (spec, subprocess_specs), ready to run. Parsed once per process: only the first
    use reads the large `spec_json` column (deferred) or re-parses the files."""
    specs = _parsed.get(version.checksum)
    if specs is None:
        specs = spiff.load_specs(current_specs(version))
        _parsed.put(version.checksum, specs)
    return specs


def restore_workflow(instance: Instance, script_engine):
    """Rebuild an instance's workflow from its saved state (migrating a state an older SpiffWorkflow
    wrote, which needs the stored specs too)."""
    version, stored = instance.version, instance.serializer_version
    spec_json = current_specs(version) if stored != spiff.SERIALIZER_VERSION else None
    return spiff.load_state(instance.state, parsed_specs(version), stored, script_engine, spec_json)


def bundle_of(version: ProcessVersion) -> Bundle:
    """The files of a deployed version, as a Bundle."""
    return Bundle.of_stored(version.files)
