"""A client-side deadline on every PostgreSQL statement of the metadata store.

The statement timeout is enforced by the server, and keepalives are answered by its
kernel: a server that accepted the login and then froze (a stopped process, a proxy that
stops forwarding) answers neither, and a call would wait forever. Here one watchdog thread
holds the deadline of every statement in flight; a statement still running at its
deadline gets its connection's socket shut down, so the driver's blocked read returns at
once, the statement fails as a lost connection (the pool discards that connection), and
the store raises `MetadataStoreError` saying the deadline passed.

The deadline is `FLYTEPATH_METADATA_DEADLINE` seconds (default: twice the default
statement timeout, so the server's own timeout, with its clearer message, fires first).

Must not import: airflow, kubernetes, alembic, or the tables, records and store.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from typing import Any

from sqlalchemy import Engine, event

DEADLINE_ENV = "FLYTEPATH_METADATA_DEADLINE"
"""The environment variable that sets the deadline, in seconds."""

DEADLINE_PASSED = "_flytepath_deadline_passed"
"""Attribute set (True) on the SQLAlchemy error of a statement cut off by the deadline."""


def deadline_seconds(statement_timeout_s: float) -> float:
    """The client-side deadline: FLYTEPATH_METADATA_DEADLINE, else twice the statement
    timeout.

    :param statement_timeout_s: the default statement timeout.
    """
    text = os.environ.get(DEADLINE_ENV, "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            value = 0.0
        if value > 0:
            return value
    return 2 * statement_timeout_s


def _shut_down(dbapi_connection: Any) -> None:
    """Shut the connection's socket down (both ways); the driver then sees it closed."""
    try:
        fd = dbapi_connection.fileno()
    except Exception:  # already closed: nothing is waiting on it
        return
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


class _Watchdog:
    """One thread that shuts down connections whose statement ran past its deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, Any] = {}
        self._fired: set[int] = set()
        self._ids = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, dbapi_connection: Any, seconds: float) -> int:
        token = next(self._ids)
        with self._cond:
            self._armed[token] = dbapi_connection
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            if len(self._heap) > 1024 and len(self._heap) > 4 * len(self._armed):
                # Finished statements leave their entries behind: drop them in one pass.
                self._heap = [entry for entry in self._heap if entry[1] in self._armed]
                heapq.heapify(self._heap)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="flytepath-metadata-deadline")
                self._thread.start()
            self._cond.notify()
        return token

    def disarm(self, token: int) -> bool:
        """Forget a statement's deadline; True when it had already passed."""
        with self._cond:
            self._armed.pop(token, None)
            if token in self._fired:
                self._fired.discard(token)
                return True
            return False

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait(timeout=30)
                    if not self._heap:
                        self._thread = None
                        return
                    continue
                due, token = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(timeout=wait)
                    continue
                heapq.heappop(self._heap)
                connection = self._armed.pop(token)
                self._fired.add(token)
            _shut_down(connection)


_WATCHDOG = _Watchdog()


def install_deadline(engine: Engine, seconds: float) -> None:
    """Put every statement of `engine` (pre-pings included) under the deadline.

    :param engine: a PostgreSQL engine.
    :param seconds: how long one statement may take, as seen from the client.
    """

    def before(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any,
               executemany: bool) -> None:
        raw = conn.connection.dbapi_connection
        conn.info["flytepath_deadline"] = _WATCHDOG.arm(raw, seconds)

    def after(conn: Any, *args: Any) -> bool:
        token = conn.info.pop("flytepath_deadline", None)
        return token is not None and _WATCHDOG.disarm(token)

    def failed(context: Any) -> None:
        if context.connection is not None and after(context.connection):
            context.is_disconnect = True  # the pool must drop that connection
            setattr(context.sqlalchemy_exception, DEADLINE_PASSED, True)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)

    # A pooled connection's pre-ping runs outside the cursor events: give it the deadline.
    dialect = engine.dialect
    ping = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        token = _WATCHDOG.arm(dbapi_connection, seconds)
        try:
            return bool(ping(dbapi_connection))
        finally:
            _WATCHDOG.disarm(token)  # a cut-off ping fails: the pool reconnects

    dialect.do_ping = do_ping  # type: ignore[method-assign]


def deadline_passed(exc: BaseException) -> bool:
    """Whether a failed statement was cut off by the client-side deadline.

    :param exc: the SQLAlchemy error of the failed statement.
    """
    return bool(getattr(exc, DEADLINE_PASSED, False))


__all__ = ["DEADLINE_ENV", "deadline_passed", "deadline_seconds", "install_deadline"]
