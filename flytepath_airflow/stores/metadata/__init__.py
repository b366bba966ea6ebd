"""The metadata store (SQL): registered versions, executions, the event log, cache entries
and reservations. Import from here: `from flytepath_airflow.stores.metadata import
MetadataStore`.

Layout, lowest first (each module imports only those above it):

- `tables`: the declarative base, the row classes and the UTCDateTime column type;
- `records`: the frozen records the store hands out, and the row-to-record copies;
- `engine`: URLs (default, parsing, redaction, driver choice) and engine creation,
  with SQLite's WAL mode and busy timeout, PostgreSQL's timeouts and keepalives;
- `faults`: `MetadataStoreError` and the translation of every SQLAlchemy error into a
  FlytePath error without SQL text or parameters;
- `schema`: the Alembic glue (migrations folder, recorded revision, upgrading);
- `connection`: engines on first use, migration once per database, transactions;
- `store`: `MetadataStore`, the operations.

Rebuilding a run's history from its events is `runtime.history`, not here.

Must not import: airflow, kubernetes, or the runtime.
"""

from flytepath_airflow.stores.metadata.engine import default_metadata_url, redact_url
from flytepath_airflow.stores.metadata.faults import MetadataStoreError
from flytepath_airflow.stores.metadata.records import (
    GLOBAL_SCOPE,
    CacheEntryRecord,
    EventRecord,
    ExecutionRecord,
    NodeExecutionRecord,
    ReservationRecord,
    VersionRecord,
    utcnow,
)
from flytepath_airflow.stores.metadata.schema import (
    HEAD_REVISION,
    MIGRATIONS_DIR,
    VERSION_TABLE,
    alembic_config,
)
from flytepath_airflow.stores.metadata.store import EVENT_KINDS, MetadataStore
from flytepath_airflow.stores.metadata.tables import MetadataBase

__all__ = [
    "EVENT_KINDS",
    "GLOBAL_SCOPE",
    "HEAD_REVISION",
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "CacheEntryRecord",
    "EventRecord",
    "ExecutionRecord",
    "MetadataBase",
    "MetadataStore",
    "MetadataStoreError",
    "NodeExecutionRecord",
    "ReservationRecord",
    "VersionRecord",
    "alembic_config",
    "default_metadata_url",
    "redact_url",
    "utcnow",
]
