"""A sick metadata database gives one clean FlytePath error, never a hang or a traceback.

Each fault is real: a socket that accepts and never answers, a server that refuses the
password (a few lines of the PostgreSQL wire protocol, because the test server trusts
every login), a role without rights on a real PostgreSQL database, a table held locked
past the statement timeout, and a SQLite file full of garbage. Every message must name the
database with its password masked and must not show SQL text or parameters.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.stores.metadata import MetadataStore, MetadataStoreError
from flytepath_airflow.stores.metadata import engine as metadata_engine

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-pw"


# -- a fake PostgreSQL server on loopback --------------------------------------------------


@contextmanager
def fake_postgres(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that hands each accepted connection to `answer`.

    Proves how the store reacts to what a server sends (or does not send) while connecting;
    it does not speak the protocol beyond the startup message.
    """
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)
            answer(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def never_answer(conn: socket.socket) -> None:
    """Keep the connection open and say nothing (a server that hangs)."""


def refuse_password(conn: socket.socket) -> None:
    """Answer the startup message as PostgreSQL does for a wrong password (SQLSTATE 28P01)."""
    while True:
        length, code = struct.unpack("!ii", _read(conn, 8))
        if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: not offered
            conn.sendall(b"N")
            continue
        _read(conn, length - 8)  # the startup message's parameters
        break
    fields = b"".join(key + value.encode() + b"\0" for key, value in (
        (b"S", "FATAL"), (b"V", "FATAL"), (b"C", "28P01"),
        (b"M", 'password authentication failed for user "fp"'),
    )) + b"\0"
    conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)
    conn.close()


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


@contextmanager
def freezing_proxy(target_port: int, freeze_on: bytes) -> Iterator[tuple[int, threading.Event]]:
    """A TCP proxy on 127.0.0.1 to a real PostgreSQL that stops forwarding mid-call.

    Bytes flow both ways until the client sends `freeze_on` after the returned event is
    set; from then on that connection hears nothing (the server seems frozen) until the
    client gives up, or for at most 60 s, after which the proxy closes it. Logins and other
    connections keep working. Proves what a client does when the server stops answering
    in the middle of a statement; it does not freeze the server itself.
    """
    server = socket.create_server(("127.0.0.1", 0))
    armed, stop = threading.Event(), threading.Event()
    held: list[socket.socket] = []

    def pump(src: socket.socket, dst: socket.socket, frozen: threading.Event,
             watch: bool) -> None:
        try:
            while not frozen.is_set():
                data = src.recv(65536)
                if not data:
                    break
                if watch and armed.is_set() and freeze_on in data:
                    frozen.set()
                    break
                dst.sendall(data)
        except OSError:
            pass
        if frozen.is_set():
            frozen.wait(0)  # say nothing: wait for the client to hang up
            src.settimeout(60)
            try:
                while src.recv(65536):
                    pass
            except OSError:
                pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(("127.0.0.1", target_port))
            held.extend((client, upstream))
            frozen = threading.Event()
            threading.Thread(target=pump, args=(client, upstream, frozen, True),
                             daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, frozen, False),
                             daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], armed
    finally:
        stop.set()
        thread.join()
        for sock in held:
            sock.close()
        server.close()


def assert_clean(message: str, *, names: str) -> None:
    """The message names the database, masks the password, and shows no SQL."""
    assert names in message, message
    assert SECRET not in message
    for sql in ("SELECT ", "INSERT INTO", "CREATE TABLE", "LINE 1", "[SQL", "[parameters"):
        assert sql not in message, message


# -- bounded access ------------------------------------------------------------------------


def test_a_server_that_accepts_and_never_answers_fails_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The default connect timeout applies to a URL that sets none (shortened for the test).
    monkeypatch.setattr(metadata_engine, "POSTGRES_CONNECT_TIMEOUT_S", 2)
    with fake_postgres(never_answer) as port:
        meta = MetadataStore(f"postgresql://fp:{SECRET}@127.0.0.1:{port}/runs")
        with pytest.raises(MetadataStoreError) as info:
            meta.list_executions()
    assert_clean(str(info.value), names=f"postgresql+psycopg://fp:***@127.0.0.1:{port}/runs")
    assert "connect_timeout" in str(info.value)  # how to change it


@pytest.mark.postgres
def test_a_server_that_freezes_mid_call_is_cut_off_at_the_client_deadline(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The deadline is shortened for the test (default: twice the statement timeout).
    monkeypatch.setenv("FLYTEPATH_METADATA_DEADLINE", "1")
    real = make_url(postgres_url)
    with freezing_proxy(real.port or 5432, b"FROM flytepath_executions") as (port, freeze):
        url = real.set(host="127.0.0.1", port=port, password=SECRET)
        meta = MetadataStore(url.render_as_string(hide_password=False))
        meta.migrate()  # the login and the first statements go through
        assert meta.list_executions() == []
        freeze.set()
        with pytest.raises(MetadataStoreError) as info:
            meta.list_executions()
        freeze.clear()
        assert meta.list_executions() == []  # a frozen connection is not reused
        meta.close()
    assert_clean(str(info.value), names=f"127.0.0.1:{port}")
    assert "client-side deadline" in str(info.value)
    assert "FLYTEPATH_METADATA_DEADLINE" in str(info.value)  # how to change it


@pytest.mark.postgres
def test_connections_carry_timeouts_and_keepalives_that_the_url_can_change(
    postgres_url: str,
) -> None:
    def settings(url: str) -> tuple[str, dict[str, str]]:
        engine = metadata_engine.create_metadata_engine(metadata_engine.parse_metadata_url(url))
        try:
            with engine.connect() as conn:
                timeout = str(conn.execute(text("SHOW statement_timeout")).scalar())
                params = conn.connection.driver_connection.info.get_parameters()
            return timeout, params
        finally:
            engine.dispose()

    timeout, params = settings(postgres_url)
    assert timeout == "1min"
    assert params["connect_timeout"] == "10" and params["keepalives"] == "1"
    tuned = make_url(postgres_url).update_query_dict(
        {"connect_timeout": "3", "options": "-c statement_timeout=5s"})
    timeout, params = settings(tuned.render_as_string(hide_password=False))
    assert timeout == "5s" and params["connect_timeout"] == "3"


@pytest.mark.postgres
def test_a_statement_past_the_statement_timeout_is_a_metadata_store_error(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    MetadataStore(postgres_url).migrate()
    # The default statement timeout applies to a URL that sets none (shortened for the test).
    monkeypatch.setattr(metadata_engine, "POSTGRES_STATEMENT_TIMEOUT_S", 0.3)
    meta = MetadataStore(postgres_url)
    blocker = create_engine(make_url(postgres_url).set(drivername="postgresql+psycopg"))
    try:
        with blocker.connect() as conn:
            conn.execute(text("LOCK TABLE flytepath_cache_entries IN ACCESS EXCLUSIVE MODE"))
            with pytest.raises(MetadataStoreError) as info:
                meta.get_cache_entry("key-that-must-not-be-printed")
            conn.rollback()
    finally:
        meta.close()
        blocker.dispose()
    assert_clean(str(info.value), names=make_url(postgres_url).database or "")
    assert "statement timeout" in str(info.value)
    assert "key-that-must-not-be-printed" not in str(info.value)


# -- every database error is a FlytePath error ---------------------------------------------


def test_a_wrong_password_is_a_user_error_naming_the_database() -> None:
    with fake_postgres(refuse_password) as port:
        meta = MetadataStore(f"postgresql://fp:{SECRET}@127.0.0.1:{port}/runs")
        with pytest.raises(FlytePathUserError) as info:
            meta.list_executions()
    assert_clean(str(info.value), names=f"fp:***@127.0.0.1:{port}/runs")
    assert "password authentication failed" in str(info.value)


def test_a_damaged_sqlite_file_is_a_metadata_store_error(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    path.write_bytes(b"not a database, just garbage " * 200)
    meta = MetadataStore(f"sqlite:///{path}")
    with pytest.raises(MetadataStoreError) as info:
        meta.list_executions()
    assert_clean(str(info.value), names=str(path))
    assert "not a database" in str(info.value)


@pytest.mark.postgres
@pytest.mark.parametrize("migrated", [False, True], ids=["new-database", "migrated-database"])
def test_a_role_without_rights_is_a_user_error_naming_the_role(
    postgres_url: str, migrated: bool,
) -> None:
    admin_url = make_url(postgres_url).set(drivername="postgresql+psycopg")
    role = f"fp_norights_{uuid.uuid4().hex[:8]}"
    if migrated:
        MetadataStore(postgres_url).migrate()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'"))
            if not migrated:  # no schema to create the tables in
                conn.execute(text("REVOKE ALL ON SCHEMA public FROM PUBLIC"))
            # else: the role sees the tables but has no right on them
        url = admin_url.set(username=role, password=SECRET)
        meta = MetadataStore(url.render_as_string(hide_password=False))
        with pytest.raises(FlytePathUserError) as info:
            meta.list_executions()
        meta.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()
    assert_clean(str(info.value), names=f"{role}:***@")
    expected = "permission denied for table" if migrated else "no schema has been selected"
    assert expected in str(info.value) and f"TO {role}" in str(info.value)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)


def test_flytepath_executions_on_a_damaged_file_prints_one_line_and_exits_1(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    path.write_bytes(b"garbage " * 1000)
    result = run_cli("executions", "--metadata-url", f"sqlite:///{path}")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ") and str(path) in result.stderr


def test_flytepath_executions_with_a_wrong_password_prints_one_line_and_exits_2() -> None:
    with fake_postgres(refuse_password) as port:
        result = run_cli("executions", "--metadata-url",
                         f"postgresql://fp:{SECRET}@127.0.0.1:{port}/runs")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert_clean(result.stderr, names=f"fp:***@127.0.0.1:{port}/runs")
