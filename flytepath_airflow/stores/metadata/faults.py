"""Database failures of the metadata store, as FlytePath errors.

Owns `MetadataStoreError` and `translate_database_error`, which turns any SQLAlchemy error
into one line: the database (password masked), the server's or SQLite's own reason, and
what to do. A bad login, a missing database or missing rights are user errors (exit 2);
everything else is a `MetadataStoreError` (a system error, exit 1).

The message never holds SQL text or parameters: only the driver's primary message is
used (PostgreSQL's DETAIL and statement context, which quote row values and SQL, are
dropped), and the SQLAlchemy error is not chained, so no traceback prints it either.

Must not import: airflow, kubernetes, or the engine, tables and store.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError

from flytepath_airflow.errors import FlytePathError, FlytePathSystemError, FlytePathUserError
from flytepath_airflow.stores.metadata.deadline import DEADLINE_ENV, deadline_passed


class MetadataStoreError(FlytePathSystemError):
    """The metadata database could not be reached, stayed locked or failed; retrying may help."""


_URL_HINT = "Check the URL in FLYTEPATH_METADATA_URL (or --metadata-url)."
_USER_SQLSTATES = {
    "28": f"the server refused the login. {_URL_HINT}",
    "3D": f"the database does not exist. {_URL_HINT}",
}
_SQLITE_USER_ERRORS = ("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")
# A login refused while connecting reaches the client as text only (no SQLSTATE).
_CONNECT_REFUSALS = (
    (("password authentication failed",), "28P01"),
    (("no pg_hba.conf entry",), "28000"),
    (('role "', "does not exist"), "28000"),
    (('database "', "does not exist"), "3D000"),
)


def translate_database_error(exc: SQLAlchemyError, url: URL, where: str) -> FlytePathError:
    """The FlytePath error to raise (`from None`) for a failed database call.

    :param exc: what SQLAlchemy raised.
    :param url: the store's database (printed with its password masked).
    :param where: the database as printed (`redact_url(url)`).
    """
    reason, sqlstate, sqlite_name = _reason(exc)
    prefix = f"metadata store at {where} failed: {reason}"
    if deadline_passed(exc):
        return MetadataStoreError(
            f"metadata store at {where} failed: the server stopped answering and the call "
            "was cut off at the client-side deadline. Check that the server is up and not "
            f"overloaded, or raise {DEADLINE_ENV}=<seconds> if such slow calls are expected."
        )
    role = url.username or "the connecting role"
    if sqlstate[:2] in _USER_SQLSTATES:
        return FlytePathUserError(f"{prefix}. {_USER_SQLSTATES[sqlstate[:2]]}")
    if sqlstate in ("42501", "3F000"):
        return FlytePathUserError(
            f"{prefix}. The role '{role}' lacks rights on the store's schema or tables; "
            f"ask the database owner to run: GRANT USAGE, CREATE ON SCHEMA public TO "
            f"{role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "
            f"public TO {role}; (with the store's schema for public if the URL sets "
            "another search_path), or connect as the role that owns the tables."
        )
    if sqlite_name in _SQLITE_USER_ERRORS:
        return FlytePathUserError(
            f"{prefix}. FlytePath needs to write the database file and its folder; "
            "fix their permissions or point FLYTEPATH_METADATA_URL elsewhere."
        )
    if sqlite_name in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return MetadataStoreError(
            f"{prefix}. The file is damaged or is not a FlytePath metadata database: "
            "restore it from a backup, or move it aside to start a new, empty one."
        )
    if sqlstate == "57014":
        return MetadataStoreError(
            f"{prefix}. The statement ran past the statement timeout; raise it with "
            "options=-c statement_timeout=<ms> in the URL's query if this is expected."
        )
    if "timeout expired" in reason:
        return MetadataStoreError(
            f"{prefix}. The server did not answer in time; check that it is up, or "
            "raise connect_timeout=<seconds> in the URL's query."
        )
    return MetadataStoreError(prefix)


def _reason(exc: SQLAlchemyError) -> tuple[str, str, str]:
    """(reason without SQL or values, SQLSTATE or "", SQLite error name or "")."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        orig = exc.orig
        sqlstate = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
        diag = getattr(orig, "diag", None)
        primary = getattr(diag, "message_primary", None)
        if isinstance(orig, sqlite3.Error):
            name = str(getattr(orig, "sqlite_errorname", "") or "")
            return _first_line(str(orig)), sqlstate, name
        if primary:
            return str(primary), sqlstate, ""
        # A client-side failure (no server message): libpq's own text, first line.
        reason = _first_line(str(orig))
        if not sqlstate:
            sqlstate = next((code for texts, code in _CONNECT_REFUSALS
                             if all(text in reason for text in texts)), "")
        return reason, sqlstate, ""
    if isinstance(exc, StatementError):
        # str() of a StatementError holds the statement and its parameters.
        cause = exc.orig
        return (type(cause).__name__ if cause is not None else type(exc).__name__), "", ""
    return _first_line(str(exc.args[0]) if exc.args else type(exc).__name__), "", ""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
