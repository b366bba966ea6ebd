"""Database URLs and engines of the metadata store.

Owns which URLs the store accepts (SQLite and PostgreSQL only, with the installed
PostgreSQL driver picked for a bare `postgresql://`), how a URL is printed without its
password, the default URL, and how an engine is created: on SQLite, WAL mode, a busy
timeout and `BEGIN IMMEDIATE` for writers, so dozens of local processes can share one
file without "database is locked" errors from lock upgrades; on PostgreSQL, a connect
timeout, a statement timeout and TCP keepalives, so a sick server fails a call instead of
stalling a run, and a client-side deadline on every statement (`deadline.py`) for a
server that stops answering altogether. Each PostgreSQL default yields to the same libpq
key in the URL's query (`?connect_timeout=5&options=-c statement_timeout=120s`).

Must not import: airflow, kubernetes, alembic, or the tables, records and store (an
engine knows nothing of the schema).
"""

from __future__ import annotations

import importlib.util
import json
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from flytepath_airflow.config import load_settings
from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.stores.metadata.deadline import deadline_seconds, install_deadline

SQLITE_BUSY_TIMEOUT_S = 60.0
"""How long a SQLite writer waits for the write lock before giving up."""

POSTGRES_CONNECT_TIMEOUT_S = 10
"""How long connecting to PostgreSQL may take (libpq `connect_timeout`), unless the URL says."""

POSTGRES_STATEMENT_TIMEOUT_S = 60.0
"""How long one PostgreSQL statement may run, lock waits included (`statement_timeout`),
unless the URL's `options` set it."""

POSTGRES_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                       "keepalives_count": 3}
"""TCP keepalives: a silently dropped connection is noticed after about 60 s idle."""

_SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def default_metadata_url(home: str | Path | None = None) -> str:
    """The configured metadata database (`config.load_settings`), else SQLite under `home`.

    :param home: the FlytePath home to put the SQLite file in when no URL is configured;
        default: the configured home.
    """
    if home is None:
        return load_settings().metadata_url
    return load_settings(home=str(home)).metadata_url


def json_dumps(value: Any) -> str:
    """The JSON the store writes: sorted keys, no spaces.

    :param value: a JSON-serializable value.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class UnreadableJSON(str):
    """What a JSON column reads as when its stored text is not JSON (a damaged row).

    The text itself, marked, so one bad row is reported by whoever reads it (a cache
    entry becomes a miss) instead of failing the query that loaded it.
    """


def json_loads(text: Any) -> Any:
    """The JSON the store reads: a value, or `UnreadableJSON` when the text is not JSON.

    :param text: a JSON column's stored text.
    """
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return UnreadableJSON(text)


def redact_url(url: str | URL) -> str:
    """A database URL safe to print (password hidden).

    :param url: the URL, parsed or not.
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def parse_metadata_url(url: str) -> URL:
    """Parse a metadata URL, refusing what the store does not support.

    A bare `postgresql://` gets the installed driver.

    :param url: a `sqlite:///...` or `postgresql://...` URL.
    :raises FlytePathUserError: for anything else, naming the URLs that work.
    """
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
    for module, drivername in (("psycopg", "postgresql+psycopg"),
                               ("psycopg2", "postgresql+psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return drivername
    return "postgresql"


def create_metadata_engine(url: URL) -> Engine:
    """An engine on the metadata database, set up for many concurrent processes.

    :param url: a URL from `parse_metadata_url`.
    :raises FlytePathUserError: when the database driver is not installed.
    """
    try:
        if url.get_backend_name() == "sqlite":
            return _create_sqlite_engine(url)
        engine = create_engine(url, pool_pre_ping=True, json_serializer=json_dumps,
                               json_deserializer=json_loads,
                               connect_args=postgres_connect_args(url), hide_parameters=True)
        install_deadline(engine, deadline_seconds(POSTGRES_STATEMENT_TIMEOUT_S))
        return engine
    except (NoSuchModuleError, ImportError) as exc:
        raise FlytePathUserError(
            f"the metadata store at {redact_url(url)} needs a database driver that is not "
            f"installed ({exc}). For PostgreSQL install it with: pip install psycopg2-binary"
        ) from None


def postgres_connect_args(url: URL) -> dict[str, Any]:
    """The connect timeout, statement timeout and keepalives the URL's query leaves unset.

    :param url: a PostgreSQL URL; a libpq key in its query wins over the default here.
    """
    query = url.query
    args: dict[str, Any] = {
        key: value for key, value in
        {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S, **POSTGRES_KEEPALIVES}.items()
        if key not in query
    }
    options = query.get("options", "")
    options = " ".join(options) if isinstance(options, tuple) else options
    if "statement_timeout" not in options:
        timeout_ms = int(POSTGRES_STATEMENT_TIMEOUT_S * 1000)
        args["options"] = f"{options} -c statement_timeout={timeout_ms}".strip()
    return args


def _create_sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_S,
                                    "check_same_thread": False}
    if in_memory:
        engine = create_engine(url, connect_args=connect_args, poolclass=StaticPool,
                               json_serializer=json_dumps, json_deserializer=json_loads,
                               hide_parameters=True)
    else:
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args=connect_args, json_serializer=json_dumps,
                               json_deserializer=json_loads, hide_parameters=True)

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

