"""The metadata store: versions, executions, the event log, cache entries and reservations.

SQLAlchemy 2 typed ORM over SQLite (one file under FLYTEPATH_HOME, the embedded default)
or PostgreSQL (production). The schema is created and upgraded by the Alembic migrations
in `stores/migrations/`, applied automatically the first time a process uses a database;
concurrent first use by many processes is serialized (an advisory lock on Postgres, a
write lock on SQLite).

Every write is one transaction, so nothing is ever half-written. Operations that must be
race-free across processes (cache entries, reservations, version registration) are single
`INSERT ... ON CONFLICT` statements, which both backends execute atomically.

SQLite runs in WAL mode with a busy timeout, and write transactions start with
`BEGIN IMMEDIATE`, so dozens of local processes can share one file without
"database is locked" errors from lock upgrades.

Timestamps are timezone-aware UTC on the way in and out, on both backends.

A `MetadataStore` is safe to use from several threads. Do not carry one across `fork()`:
create a new one in the child.

Must not import: airflow, kubernetes. Imports alembic only when a schema must be migrated.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

from flytepath_airflow.errors import FlytePathSystemError, FlytePathUserError

logger = logging.getLogger(__name__)

HEAD_REVISION = "0001"
"""The newest migration in `stores/migrations/versions` (a test keeps the two in step)."""

VERSION_TABLE = "flytepath_alembic_version"
"""Alembic's bookkeeping table; not `alembic_version`, so the store can share a database
(and a schema) with Airflow's own metadata, which uses that name."""

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_BUSY_TIMEOUT_S = 60.0
"""How long a SQLite writer waits for the write lock before giving up."""

EVENT_KINDS = (
    "queued",
    "running",
    "cache_hit",
    "cache_miss",
    "cache_write",
    "succeeded",
    "failed",
    "retried",
    "checkpoint_written",
)
"""The event kinds the runtime appends. Others are accepted (lower_snake_case) so the log
can grow without a migration."""

GLOBAL_SCOPE = "*"
"""The project and domain of cache entries shared by every tenant."""

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SUPPORTED_BACKENDS = ("sqlite", "postgresql")


class MetadataStoreError(FlytePathSystemError):
    """The metadata database could not be reached or stayed locked; retrying may help."""


def default_metadata_url(home: str | Path | None = None) -> str:
    """FLYTEPATH_METADATA_URL, else `sqlite:///<home>/metadata.db`.

    Args:
        home: the FlytePath home; defaults to $FLYTEPATH_HOME (~/.flytepath).
    """
    url = os.environ.get("FLYTEPATH_METADATA_URL")
    if url:
        return url
    from flytepath_airflow.stores.blob import default_home

    return f"sqlite:///{Path(home) if home else default_home()}/metadata.db"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------------------
# Schema (the ORM mirror of the migrations; tests/stores/test_sql.py checks they agree)
# --------------------------------------------------------------------------------------


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zones: values are stored as naive UTC in SQLAlchemy's fixed-width
    text format, so they still compare correctly as strings. Naive input is refused rather
    than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: metadata timestamps must be aware")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: a rowid alias, so it counts up
_JSON = JSON(none_as_null=True)


class MetadataBase(DeclarativeBase):
    """Declarative base of the metadata tables."""


class WorkflowVersionRow(MetadataBase):
    """One registered, immutable version of a workflow spec."""

    __tablename__ = "flytepath_workflow_versions"
    __table_args__ = (
        UniqueConstraint("project", "domain", "name", "version",
                         name="uq_flytepath_workflow_versions"),
        Index("ix_flytepath_workflow_versions_name", "name", "created_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(128))
    spec_uri: Mapped[str] = mapped_column(Text)
    spec_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExecutionRow(MetadataBase):
    """One run of a workflow."""

    __tablename__ = "flytepath_executions"
    __table_args__ = (
        Index("ix_flytepath_executions_workflow", "workflow", "created_at"),
        Index("ix_flytepath_executions_tenant", "project", "domain", "created_at"),
    )

    run_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    project: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    workflow: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(128))
    inputs: Mapped[dict[str, Any]] = mapped_column(_JSON)
    backend: Mapped[str] = mapped_column(String(64))
    image: Mapped[str | None] = mapped_column(Text)
    parent_run_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    outputs: Mapped[dict[str, Any] | None] = mapped_column(_JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NodeExecutionRow(MetadataBase):
    """One attempt of one node within a run."""

    __tablename__ = "flytepath_node_executions"

    run_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    cache_status: Mapped[str | None] = mapped_column(String(32))
    outputs: Mapped[dict[str, Any] | None] = mapped_column(_JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventRow(MetadataBase):
    """One entry of the append-only event log."""

    __tablename__ = "flytepath_events"
    __table_args__ = (
        Index("ix_flytepath_events_run", "run_id", "id"),
        {"sqlite_autoincrement": True},  # never reuse a sequence id
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64))
    node_id: Mapped[str | None] = mapped_column(String(255))
    attempt: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(_JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CacheEntryRow(MetadataBase):
    """A memoized task result: the outputs pointer of the node that computed it."""

    __tablename__ = "flytepath_cache_entries"
    __table_args__ = (
        Index("ix_flytepath_cache_entries_task", "task", "cache_version"),
        Index("ix_flytepath_cache_entries_tenant", "project", "domain"),
        Index("ix_flytepath_cache_entries_created", "created_at"),
    )

    key: Mapped[str] = mapped_column("cache_key", String(128), primary_key=True)
    project: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    task: Mapped[str] = mapped_column(String(255))
    cache_version: Mapped[str] = mapped_column(String(255))
    interface_hash: Mapped[str] = mapped_column(String(128))
    inputs_hash: Mapped[str] = mapped_column(String(128))
    outputs: Mapped[dict[str, Any]] = mapped_column(_JSON)
    run_id: Mapped[str] = mapped_column(String(255))
    node_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReservationRow(MetadataBase):
    """Who is computing a cache key right now, and until when that claim holds."""

    __tablename__ = "flytepath_reservations"

    key: Mapped[str] = mapped_column("cache_key", String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --------------------------------------------------------------------------------------
# Records: what the store hands out (plain frozen values, detached from any session)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRecord:
    """A registered workflow version.

    Attributes:
        project, domain: the tenant it was registered in.
        name: the workflow name.
        version: the spec's content hash.
        spec_uri: where the spec JSON lives in the blob store.
        spec_json: the spec JSON itself.
        created_at: when it was first registered (UTC).
    """

    project: str
    domain: str
    name: str
    version: str
    spec_uri: str
    spec_json: str
    created_at: datetime


@dataclass(frozen=True)
class ExecutionRecord:
    """A workflow run: what it ran with, and how it ended (status, outputs, error)."""

    run_id: str
    project: str
    domain: str
    workflow: str
    version: str
    inputs: dict[str, Any]
    backend: str
    image: str | None
    parent_run_id: str | None
    status: str
    outputs: dict[str, Any] | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class NodeExecutionRecord:
    """One attempt of one node: its status, cache status, outputs pointer and error."""

    run_id: str
    node_id: str
    attempt: int
    status: str
    cache_status: str | None
    outputs: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EventRecord:
    """One event: `seq` orders the log; node_id and attempt are None for run-level events."""

    seq: int
    run_id: str
    kind: str
    node_id: str | None
    attempt: int | None
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class CacheEntryRecord:
    """A cache entry; project and domain are "*" for global-scope entries."""

    key: str
    project: str
    domain: str
    task: str
    cache_version: str
    interface_hash: str
    inputs_hash: str
    outputs: dict[str, Any]
    run_id: str
    node_id: str
    created_at: datetime


@dataclass(frozen=True)
class ReservationRecord:
    """A claim on computing a cache key; it lapses at `expires_at` unless heartbeated."""

    key: str
    owner: str
    acquired_at: datetime
    expires_at: datetime

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the claim has lapsed (anyone may take it over)."""
        return self.expires_at <= (now or utcnow())


def _version_record(row: WorkflowVersionRow) -> VersionRecord:
    return VersionRecord(row.project, row.domain, row.name, row.version, row.spec_uri,
                         row.spec_json, row.created_at)


def _execution_record(row: ExecutionRow) -> ExecutionRecord:
    return ExecutionRecord(row.run_id, row.project, row.domain, row.workflow, row.version,
                           dict(row.inputs or {}), row.backend, row.image, row.parent_run_id,
                           row.status, row.outputs, row.error, row.created_at, row.finished_at)


def _node_record(row: NodeExecutionRow) -> NodeExecutionRecord:
    return NodeExecutionRecord(row.run_id, row.node_id, row.attempt, row.status,
                               row.cache_status, row.outputs, row.error, row.created_at,
                               row.updated_at)


def _event_record(row: EventRow) -> EventRecord:
    return EventRecord(row.id, row.run_id, row.kind, row.node_id, row.attempt,
                       dict(row.payload or {}), row.created_at)


def _cache_record(row: CacheEntryRow) -> CacheEntryRecord:
    return CacheEntryRecord(row.key, row.project, row.domain, row.task, row.cache_version,
                            row.interface_hash, row.inputs_hash, dict(row.outputs),
                            row.run_id, row.node_id, row.created_at)


def _reservation_record(row: ReservationRow) -> ReservationRecord:
    return ReservationRecord(row.key, row.owner, row.acquired_at, row.expires_at)


# --------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _json_value(value: Any, what: str) -> Any:
    """Round-trip through JSON now, so a bad value fails before anything is written."""
    try:
        return json.loads(_dumps(value))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serializable: {exc}") from None


def redact_url(url: str | URL) -> str:
    """A database URL safe to print (password hidden)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise FlytePathUserError(
            f"metadata URL {url!r} is not a database URL. Set FLYTEPATH_METADATA_URL (or "
            "--metadata-url) to e.g. sqlite:////path/metadata.db or "
            "postgresql://user@host:5432/db."
        ) from None
    backend = parsed.get_backend_name()
    if backend not in _SUPPORTED_BACKENDS:
        raise FlytePathUserError(
            f"metadata URL {redact_url(parsed)} uses '{backend}', which the metadata store "
            "does not support. Use a sqlite:/// or postgresql:// URL."
        )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername=_postgres_driver())
    return parsed


def _postgres_driver() -> str:
    """The installed PostgreSQL driver for a bare postgresql:// URL.

    SQLAlchemy 2.0 defaults to psycopg2 and 2.1 to psycopg (3); use whichever is here.
    """
    import importlib.util

    for module, drivername in (("psycopg", "postgresql+psycopg"),
                               ("psycopg2", "postgresql+psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return drivername
    return "postgresql"


def _create_engine(url: URL) -> Engine:
    try:
        if url.get_backend_name() == "sqlite":
            return _create_sqlite_engine(url)
        return create_engine(url, pool_pre_ping=True, json_serializer=_dumps)
    except (NoSuchModuleError, ImportError) as exc:
        raise FlytePathUserError(
            f"the metadata store at {redact_url(url)} needs a database driver that is not "
            f"installed ({exc}). For PostgreSQL install it with: pip install psycopg2-binary"
        ) from None


def _create_sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_S,
                                    "check_same_thread": False}
    if in_memory:
        engine = create_engine(url, connect_args=connect_args, poolclass=StaticPool,
                               json_serializer=_dumps)
    else:
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args=connect_args, json_serializer=_dumps)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module: `_on_begin` issues BEGIN.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            if not in_memory:
                _enable_wal(cursor)
                # NORMAL is crash-safe in WAL mode (a power cut may lose the last commits,
                # never corrupt the file).
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes cannot wait for the lock
        # (SQLite answers "database is locked" at once); writers start IMMEDIATE instead.
        mode = conn.get_execution_options().get("flytepath_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _enable_wal(cursor: Any) -> None:
    """Put the database file in WAL mode (readers never block the writer); it persists.

    Switching needs an exclusive lock and SQLite does not wait for it through the busy
    handler, so when many processes open a new file at once the switch is retried here.
    """
    import random
    import sqlite3
    import time

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


_MIGRATED: set[str] = set()
_MIGRATED_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------


class MetadataStore:
    """Versions, executions, events, cache entries and reservations in one database.

    Args:
        url: a SQLAlchemy URL (`sqlite:///...` or `postgresql://...`); defaults to
            `default_metadata_url()`. No connection is made until the first call, which
            also applies pending migrations.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_metadata_url()
        self._url = _parse_url(self.url)
        self.backend = self._url.get_backend_name()
        self._engine: Engine | None = None
        self._write_engine: Engine | None = None
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MetadataStore({redact_url(self._url)!r})"

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lifecycle ----------------------------------------------------------------------
    def _engines(self) -> tuple[Engine, Engine]:
        with self._lock:
            if self._engine is None:
                engine = _create_engine(self._url)
                self._engine = engine
                self._write_engine = engine.execution_options(flytepath_begin="IMMEDIATE")
            assert self._write_engine is not None
            return self._engine, self._write_engine

    def _ensure_ready(self) -> tuple[Engine, Engine]:
        engines = self._engines()
        if not self._ready:
            self.migrate()
        return engines

    def migrate(self) -> None:
        """Bring the schema up to date (a no-op when it already is).

        Safe when many processes call it at once on a new database: on PostgreSQL they
        queue on an advisory lock, on SQLite on the write lock, and only the first one
        to get it runs the migrations.
        """
        engine, write_engine = self._engines()
        # Known-migrated databases, per process (inherited by forked children, correctly).
        marker = self._url.render_as_string(hide_password=False)
        with _MIGRATED_LOCK:
            if marker in _MIGRATED:
                self._ready = True
                return
        with self._translate_errors():
            with engine.connect() as conn:
                current = _current_revision(conn)
                conn.rollback()
            if current != HEAD_REVISION:
                with write_engine.connect() as conn:
                    if self.backend == "postgresql":
                        # Keyed by schema, so stores in different schemas do not queue.
                        conn.execute(text(
                            "SELECT pg_advisory_xact_lock(hashtext('flytepath_migrations'), "
                            "hashtext(coalesce(current_schema(), '')))"
                        ))
                    else:  # SQLite: BEGIN IMMEDIATE holds the write lock from here on
                        conn.execute(text("SELECT 1"))
                    if _current_revision(conn) != HEAD_REVISION:
                        _run_migrations(conn, self._url)
                    conn.commit()
        with _MIGRATED_LOCK:
            _MIGRATED.add(marker)
        self._ready = True

    def close(self) -> None:
        """Release every pooled connection. The store reconnects if used again."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = self._write_engine = None

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            raise MetadataStoreError(
                f"metadata store at {redact_url(self._url)} failed: {exc.orig or exc}"
            ) from exc

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        engine, _ = self._ensure_ready()
        with self._translate_errors(), Session(engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        _, write_engine = self._ensure_ready()
        with self._translate_errors(), Session(write_engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    @staticmethod
    def _plain(stmt: Any) -> Any:
        """A bulk UPDATE/DELETE: no ORM identity-map bookkeeping (sessions are short)."""
        return stmt.execution_options(synchronize_session=False)

    def _insert(self, model: type[MetadataBase]) -> Any:
        """The dialect's INSERT, which has ON CONFLICT on both supported backends."""
        if self.backend == "postgresql":
            return pg_dialect.insert(model)
        return sqlite_dialect.insert(model)

    # -- registry ---------------------------------------------------------------------------
    def register_version(
        self, *, project: str, domain: str, name: str, version: str, spec_uri: str,
        spec_json: str,
    ) -> bool:
        """Record an immutable workflow version.

        Returns True when the version is new, False when the identical version was already
        registered (nothing changes). Raises FlytePathUserError when the version exists with
        a different spec: a version is a content hash, so that means tampering or a bug.
        """
        stmt = (
            self._insert(WorkflowVersionRow)
            .values(project=project, domain=domain, name=name, version=version,
                    spec_uri=spec_uri, spec_json=spec_json, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["project", "domain", "name", "version"])
            .returning(WorkflowVersionRow.id)
        )
        with self._writing() as session:
            if session.execute(stmt).first() is not None:
                return True
            existing = session.scalars(
                select(WorkflowVersionRow.spec_json).where(
                    WorkflowVersionRow.project == project, WorkflowVersionRow.domain == domain,
                    WorkflowVersionRow.name == name, WorkflowVersionRow.version == version,
                )
            ).one()
        if not _same_json(existing, spec_json):
            raise FlytePathUserError(
                f"version {version} of workflow '{name}' in {project}/{domain} is already "
                "registered with a different spec. Versions are content hashes and never "
                "change; recompile the workflow so it gets its own version."
            )
        return False

    def get_version(
        self, project: str, domain: str, name: str, version: str
    ) -> VersionRecord | None:
        """One registered version, or None."""
        with self._reading() as session:
            row = session.scalars(
                select(WorkflowVersionRow).where(
                    WorkflowVersionRow.project == project, WorkflowVersionRow.domain == domain,
                    WorkflowVersionRow.name == name, WorkflowVersionRow.version == version,
                )
            ).first()
            return _version_record(row) if row else None

    def latest_version(self, project: str, domain: str, name: str) -> VersionRecord | None:
        """The most recently registered version of a workflow in a tenant, or None."""
        found = self.list_versions(name, project=project, domain=domain, limit=1)
        return found[0] if found else None

    def list_versions(
        self, name: str, project: str | None = None, domain: str | None = None,
        limit: int | None = None,
    ) -> list[VersionRecord]:
        """Registered versions of a workflow, newest first, optionally within a tenant."""
        query = select(WorkflowVersionRow).where(WorkflowVersionRow.name == name)
        if project is not None:
            query = query.where(WorkflowVersionRow.project == project)
        if domain is not None:
            query = query.where(WorkflowVersionRow.domain == domain)
        query = query.order_by(WorkflowVersionRow.created_at.desc(),
                               WorkflowVersionRow.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as session:
            return [_version_record(r) for r in session.scalars(query)]

    # -- executions ---------------------------------------------------------------------------
    def create_execution(
        self, *, run_id: str, project: str, domain: str, workflow: str, version: str,
        inputs: dict[str, Any], backend: str, image: str | None = None,
        parent_run_id: str | None = None, status: str = "running",
    ) -> None:
        """Record a new run (status `running` unless given).

        Idempotent for a retried starter: creating an existing run with the same workflow,
        version, tenant and inputs changes nothing; anything else is a FlytePathUserError.
        """
        values = _json_value(inputs, "execution inputs")
        stmt = (
            self._insert(ExecutionRow)
            .values(run_id=run_id, project=project, domain=domain, workflow=workflow,
                    version=version, inputs=values, backend=backend, image=image,
                    parent_run_id=parent_run_id, status=status, outputs=None, error=None,
                    created_at=utcnow(), finished_at=None)
            .on_conflict_do_nothing(index_elements=["run_id"])
            .returning(ExecutionRow.run_id)
        )
        with self._writing() as session:
            if session.execute(stmt).first() is not None:
                return
            row = session.get(ExecutionRow, run_id)
            assert row is not None
            same = (row.project, row.domain, row.workflow, row.version, row.inputs) == (
                project, domain, workflow, version, values)
        if not same:
            raise FlytePathUserError(
                f"run '{run_id}' already exists for {row.workflow}@{row.version} in "
                f"{row.project}/{row.domain} with other inputs; use a new run id."
            )

    def finish_execution(
        self, run_id: str, *, status: str, outputs: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Record how a run ended. Raises FlytePathUserError for an unknown run id."""
        values = None if outputs is None else _json_value(outputs, "execution outputs")
        with self._writing() as session:
            result = session.execute(self._plain(
                update(ExecutionRow).where(ExecutionRow.run_id == run_id)
                .values(status=status, outputs=values, error=error, finished_at=utcnow())
            ))
            if _rowcount(result) == 0:
                raise FlytePathUserError(
                    f"there is no execution '{run_id}' to finish; create_execution first."
                )

    def get_execution(self, run_id: str) -> ExecutionRecord | None:
        """One run, or None."""
        with self._reading() as session:
            row = session.get(ExecutionRow, run_id)
            return _execution_record(row) if row else None

    def list_executions(
        self, workflow: str | None = None, project: str | None = None,
        domain: str | None = None, limit: int | None = 50,
    ) -> list[ExecutionRecord]:
        """Runs, newest first, optionally of one workflow or tenant."""
        query = select(ExecutionRow)
        if workflow is not None:
            query = query.where(ExecutionRow.workflow == workflow)
        if project is not None:
            query = query.where(ExecutionRow.project == project)
        if domain is not None:
            query = query.where(ExecutionRow.domain == domain)
        query = query.order_by(ExecutionRow.created_at.desc(), ExecutionRow.run_id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as session:
            return [_execution_record(r) for r in session.scalars(query)]

    def record_node_execution(
        self, *, run_id: str, node_id: str, attempt: int, status: str,
        cache_status: str | None = None, outputs: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Insert or update one node attempt (keyed by run_id, node_id, attempt).

        On update, `cache_status`, `outputs` and `error` keep their earlier values when
        passed as None, so a later status change does not erase them.
        """
        values = None if outputs is None else _json_value(outputs, "node outputs")
        now = utcnow()
        stmt = self._insert(NodeExecutionRow).values(
            run_id=run_id, node_id=node_id, attempt=attempt, status=status,
            cache_status=cache_status, outputs=values, error=error, created_at=now,
            updated_at=now,
        )
        table = NodeExecutionRow.__table__
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id", "node_id", "attempt"],
            set_={
                "status": stmt.excluded.status,
                "cache_status": func.coalesce(stmt.excluded.cache_status,
                                              table.c.cache_status),
                "outputs": func.coalesce(stmt.excluded.outputs, table.c.outputs),
                "error": func.coalesce(stmt.excluded.error, table.c.error),
                "updated_at": stmt.excluded.updated_at,
            },
        )
        with self._writing() as session:
            session.execute(stmt)

    def node_executions(self, run_id: str) -> list[NodeExecutionRecord]:
        """Every recorded node attempt of a run, by node then attempt."""
        query = (select(NodeExecutionRow).where(NodeExecutionRow.run_id == run_id)
                 .order_by(NodeExecutionRow.created_at, NodeExecutionRow.node_id,
                           NodeExecutionRow.attempt))
        with self._reading() as session:
            return [_node_record(r) for r in session.scalars(query)]

    # -- event log ----------------------------------------------------------------------------
    def append_event(
        self, *, run_id: str, kind: str, node_id: str | None = None,
        attempt: int | None = None, payload: dict[str, Any] | None = None,
    ) -> int:
        """Append one event and return its sequence id (increasing across the whole log)."""
        if not _KIND.match(kind):
            raise ValueError(f"event kind {kind!r} is not lower_snake_case")
        body = _json_value(payload or {}, f"payload of event '{kind}'")
        if not isinstance(body, dict):
            raise TypeError(f"payload of event '{kind}' must be a JSON object")
        row = EventRow(run_id=run_id, kind=kind, node_id=node_id, attempt=attempt,
                       payload=body, created_at=utcnow())
        with self._writing() as session:
            session.add(row)
            session.flush()
            return int(row.id)

    def append_events(self, events: list[dict[str, Any]]) -> None:
        """Append several events in one transaction (each a dict of append_event's arguments).

        All or none are written, in the order given.
        """
        rows = []
        now = utcnow()
        for ev in events:
            kind = ev["kind"]
            if not _KIND.match(kind):
                raise ValueError(f"event kind {kind!r} is not lower_snake_case")
            body = _json_value(ev.get("payload") or {}, f"payload of event '{kind}'")
            if not isinstance(body, dict):
                raise TypeError(f"payload of event '{kind}' must be a JSON object")
            rows.append(EventRow(run_id=ev["run_id"], kind=kind, node_id=ev.get("node_id"),
                                 attempt=ev.get("attempt"), payload=body, created_at=now))
        if not rows:
            return
        with self._writing() as session:
            session.add_all(rows)

    def events(self, run_id: str) -> list[EventRecord]:
        """A run's events in the order they were appended."""
        query = select(EventRow).where(EventRow.run_id == run_id).order_by(EventRow.id)
        with self._reading() as session:
            return [_event_record(r) for r in session.scalars(query)]

    # -- cache entries ------------------------------------------------------------------------
    def get_cache_entry(self, key: str) -> CacheEntryRecord | None:
        """The entry for a cache key, or None."""
        with self._reading() as session:
            row = session.get(CacheEntryRow, key)
            return _cache_record(row) if row else None

    def put_cache_entry(
        self, *, key: str, project: str, domain: str, task: str, cache_version: str,
        interface_hash: str, inputs_hash: str, outputs: dict[str, Any], run_id: str,
        node_id: str, overwrite: bool = False,
    ) -> bool:
        """Store a cache entry atomically.

        Returns True when this call wrote the entry. When the key already exists the
        existing entry wins and False is returned, unless `overwrite` replaces it.
        """
        values = {
            "key": key, "project": project, "domain": domain, "task": task,
            "cache_version": cache_version, "interface_hash": interface_hash,
            "inputs_hash": inputs_hash, "outputs": _json_value(outputs, "cache outputs"),
            "run_id": run_id, "node_id": node_id, "created_at": utcnow(),
        }
        stmt = self._insert(CacheEntryRow).values(**values)
        if overwrite:
            stmt = stmt.on_conflict_do_update(
                index_elements=["cache_key"],
                set_={name: getattr(stmt.excluded, _column(CacheEntryRow, name))
                      for name in values if name != "key"},
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=["cache_key"])
        stmt = stmt.returning(CacheEntryRow.key)
        with self._writing() as session:
            return session.execute(stmt).first() is not None

    def delete_cache_entry(self, key: str) -> bool:
        """Remove one entry; True when it existed. The blobs it points to stay with
        the run that wrote them."""
        with self._writing() as session:
            return _rowcount(session.execute(self._plain(
                delete(CacheEntryRow).where(CacheEntryRow.key == key)))) > 0

    def _cache_filters(
        self, task: str | None, cache_version: str | None, project: str | None,
        domain: str | None, older_than: timedelta | None, key_prefix: str | None,
    ) -> list[Any]:
        clauses: list[Any] = []
        if task is not None:
            clauses.append(CacheEntryRow.task == task)
        if cache_version is not None:
            clauses.append(CacheEntryRow.cache_version == cache_version)
        if project is not None:
            clauses.append(CacheEntryRow.project == project)
        if domain is not None:
            clauses.append(CacheEntryRow.domain == domain)
        if older_than is not None:
            clauses.append(CacheEntryRow.created_at < utcnow() - older_than)
        if key_prefix is not None:
            if not re.fullmatch(r"[0-9A-Za-z_-]+", key_prefix):
                raise FlytePathUserError(
                    f"cache key prefix {key_prefix!r} may hold only letters, digits, - and _."
                )
            clauses.append(CacheEntryRow.key.startswith(key_prefix, autoescape=True))
        return clauses

    def list_cache_entries(
        self, *, task: str | None = None, cache_version: str | None = None,
        project: str | None = None, domain: str | None = None,
        older_than: timedelta | None = None, limit: int | None = None,
        key_prefix: str | None = None,
    ) -> list[CacheEntryRecord]:
        """Cache entries matching every given filter, newest first.

        Args:
            task: the task name.
            cache_version: the task's cache version.
            project, domain: the tenant ("*" selects global-scope entries).
            older_than: only entries created longer ago than this.
            limit: at most this many.
            key_prefix: only keys starting with this.
        """
        query = select(CacheEntryRow).where(*self._cache_filters(
            task, cache_version, project, domain, older_than, key_prefix))
        query = query.order_by(CacheEntryRow.created_at.desc(), CacheEntryRow.key)
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as session:
            return [_cache_record(r) for r in session.scalars(query)]

    def evict_cache_entries(
        self, *, task: str | None = None, cache_version: str | None = None,
        project: str | None = None, domain: str | None = None,
        older_than: timedelta | None = None, limit: int | None = None,
        key_prefix: str | None = None,
    ) -> int:
        """Delete the entries `list_cache_entries` would return with the same filters.

        With no filter at all this evicts every entry. Returns how many were deleted.
        """
        clauses = self._cache_filters(task, cache_version, project, domain, older_than,
                                      key_prefix)
        with self._writing() as session:
            if limit is None:
                return _rowcount(session.execute(self._plain(
                    delete(CacheEntryRow).where(*clauses))))
            keys = select(CacheEntryRow.key).where(*clauses).order_by(
                CacheEntryRow.created_at.desc(), CacheEntryRow.key).limit(limit)
            doomed = list(session.scalars(keys))
            if not doomed:
                return 0
            return _rowcount(session.execute(self._plain(
                delete(CacheEntryRow).where(CacheEntryRow.key.in_(doomed)))))

    # -- reservations -------------------------------------------------------------------------
    def acquire_reservation(self, key: str, owner: str, ttl_seconds: float) -> bool:
        """Claim the right to compute `key` for `ttl_seconds`.

        Succeeds (True) when nobody holds the key, when the holder's claim has expired
        (a crashed holder is taken over), or when `owner` already holds it (its expiry is
        extended). One atomic statement, so exactly one of many racing processes wins.
        """
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        now = utcnow()
        stmt = self._insert(ReservationRow).values(
            key=key, owner=owner, acquired_at=now, expires_at=now + timedelta(seconds=ttl_seconds),
        )
        table = ReservationRow.__table__
        stmt = stmt.on_conflict_do_update(
            index_elements=["cache_key"],
            set_={"owner": stmt.excluded.owner, "acquired_at": stmt.excluded.acquired_at,
                  "expires_at": stmt.excluded.expires_at},
            where=or_(table.c.expires_at <= now, table.c.owner == owner),
        ).returning(ReservationRow.owner)
        with self._writing() as session:
            return session.execute(stmt).first() is not None

    def heartbeat_reservation(self, key: str, owner: str, ttl_seconds: float) -> bool:
        """Extend `owner`'s claim to now + `ttl_seconds`; False when it is no longer theirs."""
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        expires = utcnow() + timedelta(seconds=ttl_seconds)
        with self._writing() as session:
            result = session.execute(self._plain(
                update(ReservationRow)
                .where(ReservationRow.key == key, ReservationRow.owner == owner)
                .values(expires_at=expires)
            ))
            return _rowcount(result) > 0

    def release_reservation(self, key: str, owner: str) -> None:
        """Give up `owner`'s claim (a no-op when someone else holds it now)."""
        with self._writing() as session:
            session.execute(self._plain(delete(ReservationRow).where(
                ReservationRow.key == key, ReservationRow.owner == owner)))

    def get_reservation(self, key: str) -> ReservationRecord | None:
        """The current claim on `key` (possibly expired), or None."""
        with self._reading() as session:
            row = session.get(ReservationRow, key)
            return _reservation_record(row) if row else None


def _column(model: type[MetadataBase], attribute: str) -> str:
    """The database column name behind an ORM attribute (`key` is `cache_key`)."""
    return str(inspect(model).mapper.columns[attribute].name)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _same_json(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


# --------------------------------------------------------------------------------------
# Migrations
# --------------------------------------------------------------------------------------


def _current_revision(conn: Any) -> str | None:
    """The schema revision recorded in the database (None for an empty database)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    revisions = list(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    if len(revisions) > 1:
        raise MetadataStoreError(f"{VERSION_TABLE} has several heads: {revisions}")
    return revisions[0] if revisions else None


def alembic_config(url: URL | str | None = None) -> Any:
    """An Alembic Config for the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        rendered = make_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def _run_migrations(conn: Any, url: URL) -> None:
    """Upgrade to head on `conn`, inside the caller's transaction (and lock)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config()
    config.attributes["connection"] = conn
    script = ScriptDirectory.from_config(config)
    current = _current_revision(conn)
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise FlytePathUserError(
            f"the metadata database at {redact_url(url)} is at schema revision {current}, "
            "which this FlytePath does not know: a newer FlytePath migrated it. Upgrade "
            "FlytePath (pip install -U airflow-provider-flytepath)."
        )
    logger.info("migrating the metadata store at %s from %s to %s", redact_url(url),
                current or "an empty database", HEAD_REVISION)
    command.upgrade(config, "head")


@dataclass
class NodeLineage:
    """How one node's outputs came to be, as the event log tells it.

    Attributes:
        node_id: the node.
        attempt: the attempt that succeeded.
        task: the task it ran.
        version: the workflow (or task) version recorded with the outputs.
        inputs_hash: the hash of the input values.
        outputs: the pointer outputs {name: entry}.
        cache_key: set when the outputs were restored from the cache.
        source_run_id, source_node_id: the run and node that originally computed them.
        succeeded_at: when the node succeeded.
    """

    node_id: str
    attempt: int | None
    task: str | None
    version: str | None
    inputs_hash: str | None
    outputs: dict[str, Any]
    cache_key: str | None = None
    source_run_id: str | None = None
    source_node_id: str | None = None
    succeeded_at: datetime | None = None


@dataclass
class RunHistory:
    """A run reconstructed from its events alone.

    `nodes` holds the lineage of every node that succeeded; `node_states` the kind of each
    node's latest event (so a failed or still-running node shows too).
    """

    run_id: str
    workflow: str | None = None
    version: str | None = None
    project: str | None = None
    domain: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    image: str | None = None
    status: str = "unknown"
    outputs: dict[str, Any] | None = None
    error: str | None = None
    queued_at: datetime | None = None
    finished_at: datetime | None = None
    events: list[EventRecord] = field(default_factory=list)
    nodes: dict[str, NodeLineage] = field(default_factory=dict)
    node_states: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view (timestamps as ISO 8601)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "run_id": self.run_id, "workflow": self.workflow, "version": self.version,
            "project": self.project, "domain": self.domain, "inputs": self.inputs,
            "image": self.image, "status": self.status, "outputs": self.outputs,
            "error": self.error, "queued_at": iso(self.queued_at),
            "finished_at": iso(self.finished_at), "node_states": self.node_states,
            "events": [
                {"seq": e.seq, "time": iso(e.created_at), "kind": e.kind, "node_id": e.node_id,
                 "attempt": e.attempt, "payload": e.payload}
                for e in self.events
            ],
            "lineage": {
                n.node_id: {
                    "attempt": n.attempt, "task": n.task, "version": n.version,
                    "inputs_hash": n.inputs_hash, "outputs": n.outputs,
                    "cache_key": n.cache_key, "source_run_id": n.source_run_id,
                    "source_node_id": n.source_node_id, "succeeded_at": iso(n.succeeded_at),
                }
                for n in self.nodes.values()
            },
        }


_TERMINAL_RUN_KINDS = {"succeeded": "succeeded", "failed": "failed"}


def reconstruct_history(run_id: str, events: list[EventRecord]) -> RunHistory:
    """Rebuild a run (what it ran, how it ended, where each output came from) from events.

    Reads the payloads the runtime writes: `queued` (run level) carries workflow, version,
    inputs, project, domain (and image when known); a node's `succeeded` carries outputs,
    inputs_hash, task and version; `cache_hit` carries key, source_run_id and
    source_node_id. Unknown kinds and missing fields are tolerated.
    """
    history = RunHistory(run_id=run_id, events=list(events))
    hits: dict[tuple[str, int | None], dict[str, Any]] = {}
    for ev in events:
        p = ev.payload
        if ev.node_id is None:
            if ev.kind == "queued":
                history.workflow = p.get("workflow", history.workflow)
                history.version = p.get("version", history.version)
                history.project = p.get("project", history.project)
                history.domain = p.get("domain", history.domain)
                history.inputs = dict(p.get("inputs") or {})
                history.image = p.get("image", history.image)
                history.queued_at = ev.created_at
                history.status = "queued"
            elif ev.kind == "running":
                history.status = "running"
                history.image = p.get("image", history.image)
            elif ev.kind in _TERMINAL_RUN_KINDS:
                history.status = _TERMINAL_RUN_KINDS[ev.kind]
                history.finished_at = ev.created_at
                if "outputs" in p:
                    history.outputs = p["outputs"]
                history.error = p.get("error") or p.get("message") or history.error
            continue
        history.node_states[ev.node_id] = ev.kind
        if ev.kind == "cache_hit":
            hits[(ev.node_id, ev.attempt)] = p
        elif ev.kind == "succeeded":
            hit = hits.get((ev.node_id, ev.attempt), {})
            history.nodes[ev.node_id] = NodeLineage(
                node_id=ev.node_id, attempt=ev.attempt, task=p.get("task"),
                version=p.get("version"), inputs_hash=p.get("inputs_hash"),
                outputs=dict(p.get("outputs") or {}), cache_key=hit.get("key"),
                source_run_id=hit.get("source_run_id"),
                source_node_id=hit.get("source_node_id"), succeeded_at=ev.created_at,
            )
    return history


__all__ = [
    "EVENT_KINDS",
    "GLOBAL_SCOPE",
    "HEAD_REVISION",
    "VERSION_TABLE",
    "CacheEntryRecord",
    "EventRecord",
    "ExecutionRecord",
    "MetadataStore",
    "MetadataStoreError",
    "NodeExecutionRecord",
    "NodeLineage",
    "ReservationRecord",
    "RunHistory",
    "VersionRecord",
    "alembic_config",
    "default_metadata_url",
    "reconstruct_history",
    "redact_url",
    "utcnow",
]
