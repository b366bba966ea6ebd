"""The metadata store: versions, executions, the event log, cache entries and reservations.

SQLAlchemy 2 typed ORM over SQLite (one file under FLYTEPATH_HOME, the embedded default)
or PostgreSQL (production). The schema is created and upgraded by the Alembic migrations
in `stores/migrations/`, applied automatically the first time a process uses a database;
concurrent first use by many processes is serialized (an advisory lock on Postgres, a
write lock on SQLite).

Every write is one transaction, so nothing is ever half-written. Operations that must be
race-free across processes (cache entries, reservations, version registration) are single
`INSERT ... ON CONFLICT` statements, which both backends execute atomically.

Timestamps are timezone-aware UTC on the way in and out, on both backends.

Connecting and migrating are `connection.py`; this module is the operations on top.
A `MetadataStore` is safe to use from several threads. Do not carry one across `fork()`:
create a new one in the child.

Must not import: airflow, kubernetes, or the runtime (rebuilding a run's history from its
events is `runtime.history`). Imports alembic only when a schema must be migrated.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, inspect, or_, select, update

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.stores.metadata.connection import MetadataSessions
from flytepath_airflow.stores.metadata.engine import json_dumps, redact_url
from flytepath_airflow.stores.metadata.records import (
    CacheEntryRecord,
    EventRecord,
    ExecutionRecord,
    NodeExecutionRecord,
    ReservationRecord,
    VersionRecord,
    cache_record,
    event_record,
    execution_record,
    node_record,
    reservation_record,
    utcnow,
    version_record,
)
from flytepath_airflow.stores.metadata.tables import (
    CacheEntryRow,
    EventRow,
    ExecutionRow,
    MetadataBase,
    NodeExecutionRow,
    ReservationRow,
    WorkflowVersionRow,
)

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
    "decks_published",
)
"""The event kinds the runtime appends. Others are accepted (lower_snake_case) so the log
can grow without a migration."""

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _json_value(value: Any, what: str) -> Any:
    """Round-trip through JSON now, so a bad value fails before anything is written."""
    try:
        return json.loads(json_dumps(value))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serializable: {exc}") from None


class MetadataStore(MetadataSessions):
    """Versions, executions, events, cache entries and reservations in one database.

    Connecting, migrating on first use and transactions are `MetadataSessions`; this class
    is the operations.

    :param url: a SQLAlchemy URL (`sqlite:///...` or `postgresql://...`); defaults to
        `default_metadata_url()`. No connection is made until the first call, which
        also applies pending migrations.
    """

    def __repr__(self) -> str:
        return f"MetadataStore({redact_url(self._url)!r})"

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
            return version_record(row) if row else None

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
            return [version_record(r) for r in session.scalars(query)]

    def list_workflows(self, project: str | None = None,
                       domain: str | None = None) -> list[tuple[str, str, str]]:
        """Every registered (project, domain, workflow name), sorted, optionally of one
        project or domain."""
        query = select(WorkflowVersionRow.project, WorkflowVersionRow.domain,
                       WorkflowVersionRow.name).distinct()
        if project is not None:
            query = query.where(WorkflowVersionRow.project == project)
        if domain is not None:
            query = query.where(WorkflowVersionRow.domain == domain)
        query = query.order_by(WorkflowVersionRow.project, WorkflowVersionRow.domain,
                               WorkflowVersionRow.name)
        with self._reading() as session:
            return [(str(p), str(d), str(n)) for p, d, n in session.execute(query)]

    # -- executions ---------------------------------------------------------------------------
    def create_execution(
        self, *, run_id: str, project: str, domain: str, workflow: str, version: str,
        inputs: dict[str, Any], backend: str, image: str | None = None,
        parent_run_id: str | None = None, status: str = "running", owner: str | None = None,
    ) -> None:
        """Record a new run (status `running` unless given).

        `owner` is the local runner process that runs it (`utils.processes.owner_id`);
        `open_owned_executions` finds it again when that process died.

        Idempotent for a retried starter: creating an existing run with the same workflow,
        version, tenant and inputs changes nothing; anything else is a FlytePathUserError.
        """
        values = _json_value(inputs, "execution inputs")
        stmt = (
            self._insert(ExecutionRow)
            .values(run_id=run_id, project=project, domain=domain, workflow=workflow,
                    version=version, inputs=values, backend=backend, image=image,
                    parent_run_id=parent_run_id, status=status, outputs=None, error=None,
                    created_at=utcnow(), finished_at=None, owner=owner)
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

    def close_execution(
        self, run_id: str, *, status: str, outputs: dict[str, Any] | None = None,
        error: str | None = None, event: dict[str, Any] | None = None,
    ) -> bool:
        """Record how a run ended, once: True when this call closed it.

        One conditional UPDATE (only a run that is not `succeeded` or `failed` yet), so of
        several processes closing the same run at once (the Airflow listener, `flytepath
        run`) exactly one wins and writes the run's end event; the others change nothing.

        :param run_id: the run.
        :param status: `succeeded` or `failed`.
        :param outputs: the run's outputs (JSON).
        :param error: the run's error message.
        :param event: payload of the run-level end event (kind = status), appended in the
            same transaction as the status, so a run is never closed without its event.
        :raises FlytePathUserError: for an unknown run id.
        """
        values = None if outputs is None else _json_value(outputs, "execution outputs")
        body = None if event is None else _json_value(event, f"payload of event '{status}'")
        with self._writing() as session:
            result = session.execute(self._plain(
                update(ExecutionRow)
                .where(ExecutionRow.run_id == run_id,
                       ExecutionRow.status.not_in(("succeeded", "failed")))
                .values(status=status, outputs=values, error=error, finished_at=utcnow())
            ))
            if _rowcount(result) > 0:
                if body is not None:
                    session.add(EventRow(run_id=run_id, kind=status, node_id=None,
                                         attempt=None, payload=body, created_at=utcnow()))
                return True
            if session.get(ExecutionRow, run_id) is None:
                raise FlytePathUserError(
                    f"there is no execution '{run_id}' to close; create_execution first."
                )
            return False

    def open_owned_executions(self) -> list[ExecutionRecord]:
        """Runs not closed yet that a local runner owns (their owner is recorded)."""
        query = (select(ExecutionRow)
                 .where(ExecutionRow.owner.is_not(None),
                        ExecutionRow.status.not_in(("succeeded", "failed")))
                 .order_by(ExecutionRow.created_at))
        with self._reading() as session:
            return [execution_record(r) for r in session.scalars(query)]

    def get_execution(self, run_id: str) -> ExecutionRecord | None:
        """One run, or None."""
        with self._reading() as session:
            row = session.get(ExecutionRow, run_id)
            return execution_record(row) if row else None

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
            return [execution_record(r) for r in session.scalars(query)]

    def executed_workflows(self, project: str | None = None,
                           domain: str | None = None) -> list[str]:
        """The names of the workflows that have runs, sorted, optionally in one project or
        domain (a run needs no registered version, so these may not be registered)."""
        query = select(ExecutionRow.workflow).distinct()
        if project is not None:
            query = query.where(ExecutionRow.project == project)
        if domain is not None:
            query = query.where(ExecutionRow.domain == domain)
        with self._reading() as session:
            return sorted(str(name) for name in session.scalars(query))

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
            return [node_record(r) for r in session.scalars(query)]

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
            return [event_record(r) for r in session.scalars(query)]

    # -- cache entries ------------------------------------------------------------------------
    def get_cache_entry(self, key: str) -> CacheEntryRecord | None:
        """The entry for a cache key, or None."""
        with self._reading() as session:
            row = session.get(CacheEntryRow, key)
            return cache_record(row) if row else None

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

        :param task: the task name.
        :param cache_version: the task's cache version.
        :param project: the tenant's project ("*" selects global-scope entries).
        :param domain: the tenant's domain ("*" selects global-scope entries).
        :param older_than: only entries created longer ago than this.
        :param limit: at most this many.
        :param key_prefix: only keys starting with this.
        """
        query = select(CacheEntryRow).where(*self._cache_filters(
            task, cache_version, project, domain, older_than, key_prefix))
        query = query.order_by(CacheEntryRow.created_at.desc(), CacheEntryRow.key)
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as session:
            return [cache_record(r) for r in session.scalars(query)]

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

    def take_over_reservation(self, key: str, previous: str, owner: str,
                              ttl_seconds: float) -> bool:
        """Replace `previous`'s claim on `key` by `owner`'s, whatever its expiry.

        For a holder known to be dead (`utils.processes.owner_gone`): one conditional
        UPDATE, so of several processes taking over the same dead claim exactly one wins.
        False when `previous` no longer holds the key.
        """
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        now = utcnow()
        with self._writing() as session:
            result = session.execute(self._plain(
                update(ReservationRow)
                .where(ReservationRow.key == key, ReservationRow.owner == previous)
                .values(owner=owner, acquired_at=now,
                        expires_at=now + timedelta(seconds=ttl_seconds))
            ))
            return _rowcount(result) > 0

    def get_reservation(self, key: str) -> ReservationRecord | None:
        """The current claim on `key` (possibly expired), or None."""
        with self._reading() as session:
            row = session.get(ReservationRow, key)
            return reservation_record(row) if row else None


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


