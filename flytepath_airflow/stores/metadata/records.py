"""What the metadata store hands out: plain frozen records, detached from any session.

One record class per table (`VersionRecord`, `ExecutionRecord`, `NodeExecutionRecord`,
`EventRecord`, `CacheEntryRecord`, `ReservationRecord`) and one function per table that
copies a row into its record, so no caller ever holds a live ORM object. Also `utcnow()`,
the one clock every metadata timestamp comes from, and `GLOBAL_SCOPE`.

Must not import: airflow, kubernetes, alembic, the engine or the store (records are
values; they know nothing of connections).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flytepath_airflow.stores.metadata.tables import (
    CacheEntryRow,
    EventRow,
    ExecutionRow,
    NodeExecutionRow,
    ReservationRow,
    WorkflowVersionRow,
)

GLOBAL_SCOPE = "*"
"""The project and domain of cache entries shared by every tenant."""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class VersionRecord:
    """A registered workflow version.

    :param project: the tenant's project it was registered in.
    :param domain: the tenant's domain it was registered in.
    :param name: the workflow name.
    :param version: the spec's content hash.
    :param spec_uri: where the spec JSON lives in the blob store.
    :param spec_json: the spec JSON itself.
    :param created_at: when it was first registered (UTC).
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
    """A workflow run: what it ran with, and how it ended (status, outputs, error).

    `owner` is the local runner process running it (`host:pid:start`), None for runs
    Airflow runs.
    """

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
    owner: str | None = None


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
    """A cache entry; project and domain are "*" for global-scope entries.

    `problem` says why a damaged row's outputs could not be read (not JSON, or not a JSON
    object); `outputs` is then empty and the entry must be treated as a miss.
    """

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
    problem: str | None = None


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


def version_record(row: WorkflowVersionRow) -> VersionRecord:
    """The record of a registered version, copied out of its row.

    :param row: a row loaded by an open session.
    """
    return VersionRecord(row.project, row.domain, row.name, row.version, row.spec_uri,
                         row.spec_json, row.created_at)


def execution_record(row: ExecutionRow) -> ExecutionRecord:
    """The record of a run, copied out of its row.

    :param row: a row loaded by an open session.
    """
    return ExecutionRecord(row.run_id, row.project, row.domain, row.workflow, row.version,
                           dict(row.inputs or {}), row.backend, row.image, row.parent_run_id,
                           row.status, row.outputs, row.error, row.created_at, row.finished_at,
                           row.owner)


def node_record(row: NodeExecutionRow) -> NodeExecutionRecord:
    """The record of a node attempt, copied out of its row.

    :param row: a row loaded by an open session.
    """
    return NodeExecutionRecord(row.run_id, row.node_id, row.attempt, row.status,
                               row.cache_status, row.outputs, row.error, row.created_at,
                               row.updated_at)


def event_record(row: EventRow) -> EventRecord:
    """The record of an event (its row id becomes `seq`), copied out of its row.

    :param row: a row loaded by an open session.
    """
    return EventRecord(row.id, row.run_id, row.kind, row.node_id, row.attempt,
                       dict(row.payload or {}), row.created_at)


def cache_record(row: CacheEntryRow) -> CacheEntryRecord:
    """The record of a cache entry, copied out of its row.

    :param row: a row loaded by an open session.
    """
    outputs: Any = row.outputs
    problem = None
    if not isinstance(outputs, dict):
        # A damaged row (the engine reads text that is not JSON as a str).
        problem = f"its outputs are not a JSON object (found {str(outputs)[:60]!r})"
        outputs = {}
    return CacheEntryRecord(row.key, row.project, row.domain, row.task, row.cache_version,
                            row.interface_hash, row.inputs_hash, dict(outputs),
                            row.run_id, row.node_id, row.created_at, problem)


def reservation_record(row: ReservationRow) -> ReservationRecord:
    """The record of a reservation, copied out of its row.

    :param row: a row loaded by an open session.
    """
    return ReservationRecord(row.key, row.owner, row.acquired_at, row.expires_at)
