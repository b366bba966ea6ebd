"""The metadata tables: the declarative base, one row class per table, and UTCDateTime.

This is the ORM mirror of the hand-written Alembic migrations in `stores/migrations/`
(`tests/stores/test_sql.py` checks that the two agree); the migration environment reads
`MetadataBase.metadata` from here. Rows never leave the store: it hands out the frozen
records of `records.py` instead.

Must not import: airflow, kubernetes, alembic, or the other metadata modules (everything
else in the package builds on these tables).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
    owner: Mapped[str | None] = mapped_column(String(255))
    """The local runner's owner id (`utils.processes.owner_id`); None for Airflow runs."""


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

