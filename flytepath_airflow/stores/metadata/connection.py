"""One metadata database, connected lazily: engines, migration on first use, transactions.

`MetadataSessions` is the base of `MetadataStore`: it parses the URL up front (so a bad
URL fails at construction), creates the engines on first use, brings the schema to head
once per database per process (queueing on a lock so many processes can start on a new
database at once), and hands the store's operations short read or write transactions
that turn any database failure into a FlytePath error (`faults`).

Must not import: airflow, kubernetes, the store's operations, or the runtime.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from flytepath_airflow.stores.metadata.engine import (
    create_metadata_engine,
    default_metadata_url,
    parse_metadata_url,
    redact_url,
)
from flytepath_airflow.stores.metadata.faults import (
    MetadataStoreError,
    translate_database_error,
)
from flytepath_airflow.stores.metadata.schema import (
    HEAD_REVISION,
    VERSION_TABLE,
    recorded_revisions,
    upgrade_to_head,
)
from flytepath_airflow.stores.metadata.tables import MetadataBase

_MIGRATED: set[str] = set()
_MIGRATED_LOCK = threading.Lock()


class MetadataSessions:
    """The connection half of `MetadataStore`: engines, migrations, transactions.

    :param url: a SQLAlchemy URL (`sqlite:///...` or `postgresql://...`); defaults to
        `default_metadata_url()`.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_metadata_url()
        self._url = parse_metadata_url(self.url)
        self.backend = self._url.get_backend_name()
        self._engine: Engine | None = None
        self._write_engine: Engine | None = None
        self._ready = False
        self._lock = threading.Lock()

    def _engines(self) -> tuple[Engine, Engine]:
        with self._lock:
            if self._engine is None:
                engine = create_metadata_engine(self._url)
                # A store dropped without close() still closes its connections: a driver
                # such as psycopg 3 warns about a connection collected while open.
                weakref.finalize(self, engine.dispose)
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
                    current = _current_revision(conn)
                    if current != HEAD_REVISION:
                        upgrade_to_head(conn, self._url, current)
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
        except SQLAlchemyError as exc:
            # Not chained: the SQLAlchemy error's text holds the SQL and its parameters.
            raise translate_database_error(exc, self._url, redact_url(self._url)) from None

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


def _current_revision(conn: Any) -> str | None:
    """The schema revision recorded in the database (None for an empty database)."""
    revisions = recorded_revisions(conn)
    if len(revisions) > 1:
        raise MetadataStoreError(f"{VERSION_TABLE} has several heads: {revisions}")
    return revisions[0] if revisions else None
