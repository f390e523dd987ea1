"""The engine's tables. Typed SQLAlchemy 2 models; times are timezone-aware UTC."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer,
                        LargeBinary, MetaData, String, Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from .bundle import Bundle, bpmn_name_of

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores UTC; always returns aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


# --- organisation -------------------------------------------------------------------------------

class Directorate(Base):
    __tablename__ = "directorate"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Organisation(Base):
    """An external host organisation (skills sponsorship)."""

    __tablename__ = "organisation"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    directorate_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    manager_username: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    roles: Mapped[list[str]] = mapped_column(default=list)
    employment_status: Mapped[str] = mapped_column(String(32), default="fonctionnaire")
    career_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    organisation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped at sign-out: every session cookie issued before (copies included) stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def has_role(self, *roles: str) -> bool:
        return any(role in self.all_roles for role in roles)

    @property
    def all_roles(self) -> list[str]:
        return roles_held(self.roles)


def roles_held(roles: list[str] | None) -> list[str]:
    """The roles someone with these stored `roles` holds: those, and `agent`, which everyone holds."""
    return sorted({"agent", *(roles or [])})


# --- process definitions ------------------------------------------------------------------------

def _bpmn_file(files: list):
    name = bpmn_name_of(f.filename for f in files)
    found = next((f for f in files if f.filename == name), None)
    if found is None:  # deploying and proposing check that there is one
        raise LookupError("these files have no single BPMN file")
    return found


class ProcessVersion(Base):
    """One deployed version of a process: the exact files, their checksum and who deployed them."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    checksum: Mapped[str] = mapped_column(String(64))
    # who uploaded the files; `deployed_by` made them current: someone else when a second process
    # owner approved them (four eyes, `engine.review`)
    author: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    starter_roles: Mapped[list[str]] = mapped_column(default=list)
    # serialized SpiffWorkflow specs; deferred: read once per process (registry.parsed_specs)
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    files: Mapped[list[ProcessFile]] = relationship(back_populates="version", order_by="ProcessFile.id",
                                                     cascade="all, delete-orphan")

    @property
    def bpmn_file(self) -> ProcessFile:
        """The BPMN file, whatever the case of its name (`engine.bundle` says which file it is)."""
        return _bpmn_file(self.files)


class ProcessFile(Base):
    __tablename__ = "process_file"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[ProcessVersion] = relationship(back_populates="files")


class ProposedVersion(Base):
    """Files a process owner proposed as the next version of a process, waiting until another
    process owner (or an administrator) approves them — then deployed as a ProcessVersion — or
    rejects them. Kept afterwards: who proposed what, and who decided."""

    __tablename__ = "proposed_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))
    checksum: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|approved|rejected
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    # the version the approval deployed
    version_id: Mapped[int | None] = mapped_column(ForeignKey("process_version.id"), nullable=True)
    files: Mapped[list[ProposedFile]] = relationship(back_populates="proposed", order_by="ProposedFile.id",
                                                      cascade="all, delete-orphan")
    version: Mapped[ProcessVersion | None] = relationship()

    @property
    def bpmn_file(self) -> ProposedFile:
        """The BPMN file, whatever the case of its name (`engine.bundle` says which file it is)."""
        return _bpmn_file(self.files)


class ProposedFile(Base):
    __tablename__ = "proposed_file"
    id: Mapped[int] = mapped_column(primary_key=True)
    proposed_id: Mapped[int] = mapped_column(ForeignKey("proposed_version.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    proposed: Mapped[ProposedVersion] = relationship(back_populates="files")


class StagedUpload(Base):
    """Files a process owner uploaded and checked, waiting (a day at most) for that owner to
    confirm or discard them. In the database rather than on a server's disk, so that every server
    behind a load balancer can answer the confirmation. `token` is the random name the owner's
    review page carries; only `owner` may read them."""

    __tablename__ = "staged_upload"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    files: Mapped[list[StagedFile]] = relationship(back_populates="upload", order_by="StagedFile.filename",
                                                   cascade="all, delete-orphan")

    @property
    def bundle(self) -> Bundle:
        """The files by name, in name order."""
        return Bundle.of_stored(self.files)


class StagedFile(Base):
    __tablename__ = "staged_file"
    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("staged_upload.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    upload: Mapped[StagedUpload] = relationship(back_populates="files")


# --- instances and their human tasks ----------------------------------------------------------

class Instance(Base):
    __tablename__ = "instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    end_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_by: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # What the mission register lists, filters and sorts by, kept in step with `data` and the
    # workflow at every step (`engine.phases`): a phase a person understands, and the mission's facts.
    phase: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    time_share: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(300), nullable=True)
    host_organisation: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    host_directorate: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)
    serializer_version: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(Text)  # serialized workflow, without its specs
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    version: Mapped[ProcessVersion] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """A user task waiting for (or done by) a person: task lists are answered from this table."""

    __tablename__ = "human_task"
    __table_args__ = (Index("ix_human_task_status_assignee", "status", "assignee"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(128), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    default_assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed: Mapped[bool] = mapped_column(Boolean, default=False)
    excluded_users: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="ready")
    form: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    instance: Mapped[Instance] = relationship()
    # The one record of who the task is offered to, read with the task (the queries that read tasks
    # join them in); `engine.mirror` writes the rows, each step's in one statement.
    candidates: Mapped[list[TaskCandidate]] = relationship(lazy="selectin", order_by="TaskCandidate.id",
                                                           viewonly=True)

    @property
    def candidate_users(self) -> list[str]:
        """The candidate users the diagram names, in its order."""
        return self._named("user")

    @candidate_users.setter
    def candidate_users(self, names: list[str]) -> None:
        self._rename("user", names)

    @property
    def candidate_groups(self) -> list[str]:
        """The candidate groups (roles) the diagram names, in its order."""
        return self._named("group")

    @candidate_groups.setter
    def candidate_groups(self, names: list[str]) -> None:
        self._rename("group", names)

    def _named(self, kind: str) -> list[str]:
        return [c.name for c in self.candidates if c.kind == kind]

    def _rename(self, kind: str, names: list[str]) -> None:  # in memory only: `engine.mirror` stores them
        set_committed_value(self, "candidates", [c for c in self.candidates if c.kind != kind]
                            + [TaskCandidate(kind=kind, name=n) for n in names])


class TaskCandidate(Base):
    """Who a task is offered to, one row per name, so that task lists are one indexed query.

    `kind` says what the name is: "user" and "group", the candidates the diagram names (in its
    order: rows are read by id); "assignee", the task's default assignee; "fallback", the role that
    gets a task nobody is named for ("admin"); "exclude", a user who may not act on it. Rows stay
    when the task is done or cancelled (they say who it was offered to), no longer `ready`: task
    lists look up ready rows only.
    """

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_lookup", "kind", "name", "ready"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))
    ready: Mapped[bool] = mapped_column(Boolean, default=True)


# --- audit --------------------------------------------------------------------------------------

class AuditEvent(Base):
    """Append-only, hash-chained. Instance events chain per instance; others (deployments, sign-ins)
    chain in the global stream where instance_id is NULL."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("instance_id", "seq"), Index("ix_audit_event_actor_at", "actor", "at"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), nullable=True, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32), index=True)
    process_key: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    task_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# --- background work ----------------------------------------------------------------------------

class Timer(Base):
    """A timer event waiting in some instance; the worker fires it when due."""

    __tablename__ = "timer"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(128))
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="waiting", index=True)  # waiting|fired|cancelled|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class OutboxMessage(Base):
    """An e-mail to send once the transaction that caused it has committed."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column()
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), nullable=True, index=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    user: Mapped[User] = relationship()
