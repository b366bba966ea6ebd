"""The metadata store on SQLite and on a real PostgreSQL: schema, registry, executions,
events, cache entries and reservations, including races between many processes."""

from __future__ import annotations

import itertools
import multiprocessing
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.runtime.history import reconstruct_history
from flytepath_airflow.stores.metadata import (
    HEAD_REVISION,
    MIGRATIONS_DIR,
    VERSION_TABLE,
    EventRecord,
    MetadataBase,
    MetadataStore,
    MetadataStoreError,
    alembic_config,
    default_metadata_url,
)
from flytepath_airflow.stores.metadata.engine import (
    create_metadata_engine,
    parse_metadata_url,
)

TABLES = {
    "flytepath_workflow_versions", "flytepath_executions", "flytepath_node_executions",
    "flytepath_events", "flytepath_cache_entries", "flytepath_reservations",
}


# -- helpers ----------------------------------------------------------------------------


@contextmanager
def database(url: str) -> Iterator[Engine]:
    """An engine on the store's database, built the way the store builds its own, to look
    at (or backdate) rows from outside the store's API."""
    engine = create_metadata_engine(parse_metadata_url(url))
    try:
        yield engine
    finally:
        engine.dispose()


def _child(fn: Callable[..., Any], barrier: Any, queue: Any, index: int,
           args: Sequence[Any]) -> None:
    try:
        barrier.wait(timeout=60)
        queue.put((index, True, fn(*args)))
    except BaseException as exc:
        queue.put((index, False, f"{type(exc).__name__}: {exc}"))


def in_processes(fn: Callable[..., Any], calls: Sequence[Sequence[Any]]) -> list[Any]:
    """Run fn(*args) for each args in its own process, all released at the same instant."""
    # fork: a spawned child would re-import SQLAlchemy and Alembic, seconds each on a
    # small CI machine. Children open their own stores and touch nothing of the parent's.
    fork = "fork" in multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    barrier, queue = ctx.Barrier(len(calls)), ctx.Queue()
    procs = [ctx.Process(target=_child, args=(fn, barrier, queue, i, args))
             for i, args in enumerate(calls)]
    with warnings.catch_warnings():
        # Python 3.12+ warns on fork() while other threads exist (say, a heartbeat left by
        # an earlier test); the children never use those threads' locks.
        warnings.simplefilter("ignore", DeprecationWarning)
        for proc in procs:
            proc.start()
    results: dict[int, tuple[bool, Any]] = {}
    try:
        for _ in procs:
            index, ok, value = queue.get(timeout=120)
            results[index] = (ok, value)
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    failures = [value for ok, value in results.values() if not ok]
    assert not failures, failures
    return [results[i][1] for i in range(len(calls))]


def _acquire(url: str, key: str, owner: str, ttl: float) -> bool:
    with MetadataStore(url) as meta:
        return meta.acquire_reservation(key, owner, ttl)


def _put_entry(url: str, key: str, writer: int) -> bool:
    with MetadataStore(url) as meta:
        return meta.put_cache_entry(
            key=key, project="p", domain="d", task="pkg.train", cache_version="1",
            interface_hash="i", inputs_hash="h", outputs={"o0": {"value": writer}},
            run_id=f"run-{writer}", node_id="n0",
        )


def _first_use(url: str, writer: int) -> list[int]:
    with MetadataStore(url) as meta:
        seqs = [meta.append_event(run_id=f"run-{writer}", kind="running", node_id="n0",
                                  attempt=1, payload={"i": i}) for i in range(2)]
        meta.put_cache_entry(
            key=f"k{writer % 4}", project="p", domain="d", task="t", cache_version="1",
            interface_hash="i", inputs_hash="h", outputs={"o0": {"value": writer}},
            run_id=f"run-{writer}", node_id="n0",
        )
        return seqs


def put(meta: MetadataStore, key: str, *, project: str = "p", domain: str = "d",
        task: str = "pkg.train", cache_version: str = "1", value: Any = 1,
        overwrite: bool = False) -> bool:
    return meta.put_cache_entry(
        key=key, project=project, domain=domain, task=task, cache_version=cache_version,
        interface_hash="iface", inputs_hash=f"in-{key}", outputs={"o0": {"value": value}},
        run_id="run-1", node_id="n0", overwrite=overwrite,
    )


def backdate(meta: MetadataStore, table: str, column: str, key_column: str, key: str,
             when: datetime) -> None:
    """Move a row's timestamp into the past (tests only; the API never does this)."""
    stored: Any = when.replace(tzinfo=None) if meta.backend == "sqlite" else when
    with database(meta.url) as engine, engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET {column} = :when WHERE {key_column} = :key"),
                     {"when": stored, "key": key})


# -- schema -----------------------------------------------------------------------------


def test_migrate_creates_the_schema_from_an_empty_database(metadata_url: str) -> None:
    meta = MetadataStore(metadata_url)
    meta.migrate()
    meta.migrate()  # a second call is a no-op
    with database(metadata_url) as engine, engine.connect() as conn:
        assert TABLES | {VERSION_TABLE} <= set(inspect(conn).get_table_names())
        revisions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    assert [r[0] for r in revisions] == [HEAD_REVISION]
    meta.close()


def test_first_call_migrates_without_an_explicit_migrate(store: MetadataStore) -> None:
    assert store.get_cache_entry("nothing") is None
    assert store.events("nothing") == []


def test_migrated_schema_matches_the_orm_models(store: MetadataStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store.migrate()
    with database(store.url) as engine, engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
        assert compare_metadata(context, MetadataBase.metadata) == []


def test_head_revision_names_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD_REVISION]
    assert (MIGRATIONS_DIR / "env.py").is_file()


def test_many_processes_share_a_new_store(metadata_url: str) -> None:
    import alembic.command  # noqa: F401  (imported once here, so forked children share it)

    n = 32 if metadata_url.startswith("sqlite") else 16
    seqs = in_processes(_first_use, [(metadata_url, i) for i in range(n)])
    flat = [s for batch in seqs for s in batch]
    assert len(set(flat)) == 2 * n
    with MetadataStore(metadata_url) as meta:
        with database(metadata_url) as engine, engine.connect() as conn:
            revisions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
        assert [r[0] for r in revisions] == [HEAD_REVISION]
        assert len(meta.list_cache_entries()) == 4
        for i in range(n):
            assert [e.payload["i"] for e in meta.events(f"run-{i}")] == [0, 1]


def test_sqlite_runs_in_wal_mode(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    with MetadataStore(url) as meta:
        meta.migrate()
    # WAL mode is a property of the file (the store switched it); the busy timeout is
    # one of every connection the store's engine opens.
    plain = sqlite3.connect(tmp_path / "meta.db")
    try:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        plain.close()
    with database(url) as engine, engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_a_database_migrated_by_a_newer_flytepath_is_refused(tmp_path: Any) -> None:
    from alembic import command

    # Migrated and stamped outside any store, so this process has not seen it migrated
    # (the store remembers migrated databases per process).
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    command.upgrade(alembic_config(url), "head")
    with database(url) as engine, engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with MetadataStore(url) as meta, pytest.raises(FlytePathUserError, match="newer FlytePath"):
        meta.migrate()


# -- urls and errors --------------------------------------------------------------------


def test_default_url_is_a_sqlite_file_under_flytepath_home(
    flytepath_home: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLYTEPATH_METADATA_URL", raising=False)
    assert default_metadata_url() == f"sqlite:///{flytepath_home / 'metadata.db'}"
    monkeypatch.setenv("FLYTEPATH_METADATA_URL", "postgresql://u@db:5432/flytepath")
    assert default_metadata_url() == "postgresql://u@db:5432/flytepath"


def test_default_store_creates_its_folder(
    flytepath_home: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLYTEPATH_METADATA_URL", raising=False)
    with MetadataStore() as meta:
        assert meta.append_event(run_id="r", kind="queued") >= 1
    assert (flytepath_home / "metadata.db").is_file()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unsupported_urls_are_user_errors(url: str) -> None:
    with pytest.raises(FlytePathUserError, match="sqlite:///"):
        MetadataStore(url)


def test_an_unreachable_server_is_a_system_error() -> None:
    meta = MetadataStore("postgresql://postgres:secret@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(MetadataStoreError, match="failed") as info:
        meta.get_cache_entry("k")
    assert "secret" not in str(info.value)


# -- registry ---------------------------------------------------------------------------


def register(meta: MetadataStore, version: str, *, name: str = "train", project: str = "p",
             domain: str = "d", spec: str | None = None) -> bool:
    return meta.register_version(
        project=project, domain=domain, name=name, version=version,
        spec_uri=f"file:///specs/{name}/{version}.json",
        spec_json=spec or f'{{"name": "{name}", "version": "{version}"}}',
    )


def test_reregistering_the_same_version_is_a_no_op(store: MetadataStore) -> None:
    assert register(store, "v1") is True
    first = store.get_version("p", "d", "train", "v1")
    assert register(store, "v1") is False
    assert register(store, "v1", spec='{"version":"v1","name":"train"}') is False  # same JSON
    assert store.get_version("p", "d", "train", "v1") == first
    assert len(store.list_versions("train")) == 1


def test_same_version_with_another_spec_is_refused(store: MetadataStore) -> None:
    register(store, "v1")
    with pytest.raises(FlytePathUserError, match="already registered with a different spec"):
        register(store, "v1", spec='{"name": "train", "changed": true}')
    record = store.get_version("p", "d", "train", "v1")
    assert record is not None and "changed" not in record.spec_json


def test_latest_version_is_the_newest_registration(store: MetadataStore) -> None:
    for version in ("v-b", "v-a", "v-c"):  # registration order, not name order
        register(store, version)
    register(store, "other", project="q")
    latest = store.latest_version("p", "d", "train")
    assert latest is not None and latest.version == "v-c"
    assert [v.version for v in store.list_versions("train", project="p", domain="d")] == [
        "v-c", "v-a", "v-b"]
    assert store.list_versions("train")[0].version == "other"
    assert store.latest_version("p", "prod", "train") is None
    assert store.get_version("p", "d", "train", "nope") is None


# -- executions -------------------------------------------------------------------------


def create(meta: MetadataStore, run_id: str, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "run_id": run_id, "project": "p", "domain": "d", "workflow": "train", "version": "v1",
        "inputs": {"n": 3, "xs": [1.5, 2.0]}, "backend": "local", "image": None,
        "parent_run_id": None,
    }
    fields.update(overrides)
    meta.create_execution(**fields)


def test_an_execution_records_what_it_ran_and_how_it_ended(store: MetadataStore) -> None:
    create(store, "r1", image="registry/img:1", parent_run_id="r0")
    running = store.get_execution("r1")
    assert running is not None and running.status == "running"
    assert running.inputs == {"n": 3, "xs": [1.5, 2.0]} and running.finished_at is None
    store.finish_execution("r1", status="succeeded", outputs={"o0": 9})
    done = store.get_execution("r1")
    assert done is not None
    assert (done.status, done.outputs, done.image, done.parent_run_id) == (
        "succeeded", {"o0": 9}, "registry/img:1", "r0")
    assert done.finished_at is not None and done.finished_at >= done.created_at
    store.finish_execution("r1", status="failed", error="boom")
    failed = store.get_execution("r1")
    assert failed is not None and (failed.status, failed.outputs, failed.error) == (
        "failed", None, "boom")


def test_creating_an_execution_twice_is_idempotent_only_when_identical(
    store: MetadataStore,
) -> None:
    create(store, "r1")
    create(store, "r1", backend="airflow")  # a retried starter
    with pytest.raises(FlytePathUserError, match="other inputs"):
        create(store, "r1", inputs={"n": 4})
    record = store.get_execution("r1")
    assert record is not None and record.inputs["n"] == 3 and record.backend == "local"


def test_finishing_an_unknown_execution_is_an_error(store: MetadataStore) -> None:
    with pytest.raises(FlytePathUserError, match="no execution 'ghost'"):
        store.finish_execution("ghost", status="succeeded")


def test_list_executions_filters_and_orders_newest_first(store: MetadataStore) -> None:
    create(store, "r1")
    create(store, "r2", workflow="score")
    create(store, "r3", project="q")
    assert [r.run_id for r in store.list_executions()] == ["r3", "r2", "r1"]
    assert [r.run_id for r in store.list_executions(workflow="train")] == ["r3", "r1"]
    assert [r.run_id for r in store.list_executions(project="p", domain="d")] == ["r2", "r1"]
    assert [r.run_id for r in store.list_executions(limit=1)] == ["r3"]


def test_node_executions_upsert_per_attempt(store: MetadataStore) -> None:
    store.record_node_execution(run_id="r1", node_id="n0", attempt=1, status="running",
                                cache_status="miss")
    store.record_node_execution(run_id="r1", node_id="n0", attempt=1, status="failed",
                                error="oom")
    store.record_node_execution(run_id="r1", node_id="n0", attempt=2, status="succeeded",
                                outputs={"o0": {"value": 1}})
    first, second = store.node_executions("r1")
    assert (first.attempt, first.status, first.cache_status, first.error) == (
        1, "failed", "miss", "oom")
    assert (second.attempt, second.status, second.outputs) == (2, "succeeded",
                                                               {"o0": {"value": 1}})
    assert first.updated_at >= first.created_at


# -- event log ----------------------------------------------------------------------------


def test_events_come_back_in_append_order_per_run(store: MetadataStore) -> None:
    kinds = ["queued", "running", "cache_miss", "checkpoint_written", "retried", "running",
             "cache_write", "succeeded"]
    seqs = []
    for i, kind in enumerate(kinds):
        seqs.append(store.append_event(run_id="r1", kind=kind, node_id="n0", attempt=1 + i // 5,
                                       payload={"i": i, "nested": {"xs": [1, 2]}}))
        store.append_event(run_id="r2", kind="running")
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    events = store.events("r1")
    assert [e.kind for e in events] == kinds
    assert [e.seq for e in events] == seqs
    assert [e.payload["i"] for e in events] == list(range(len(kinds)))
    assert events[0].payload["nested"] == {"xs": [1, 2]}
    assert all(a.created_at <= b.created_at for a, b in itertools.pairwise(events))
    assert len(store.events("r2")) == len(kinds)
    assert store.events("none") == []


def test_bad_events_write_nothing(store: MetadataStore) -> None:
    with pytest.raises(TypeError, match="JSON"):
        store.append_event(run_id="r1", kind="succeeded", payload={"x": object()})
    with pytest.raises(ValueError, match="lower_snake_case"):
        store.append_event(run_id="r1", kind="Succeeded!")
    with pytest.raises(TypeError, match="JSON"):
        create(store, "r1", inputs={"x": {1, 2}})
    assert store.events("r1") == []
    assert store.get_execution("r1") is None


def test_threads_can_share_one_store(store: MetadataStore) -> None:
    def append(worker: int) -> None:
        for i in range(10):
            store.append_event(run_id="r1", kind="running", node_id=f"n{worker}",
                               payload={"i": i})

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = store.events("r1")
    assert len(events) == 40
    for w in range(4):
        assert [e.payload["i"] for e in events if e.node_id == f"n{w}"] == list(range(10))


def test_timestamps_are_timezone_aware_utc(store: MetadataStore) -> None:
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    put(store, "k1")
    seq = store.append_event(run_id="r1", kind="queued")
    entry = store.get_cache_entry("k1")
    (event,) = store.events("r1")
    assert entry is not None and event.seq == seq
    for stamp in (entry.created_at, event.created_at):
        assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
        assert before <= stamp <= datetime.now(timezone.utc) + timedelta(seconds=1)


# -- cache entries --------------------------------------------------------------------------


def test_the_first_cache_entry_wins_unless_overwritten(store: MetadataStore) -> None:
    assert put(store, "k1", value=1) is True
    assert put(store, "k1", value=2) is False
    entry = store.get_cache_entry("k1")
    assert entry is not None and entry.outputs == {"o0": {"value": 1}}
    assert put(store, "k1", value=3, overwrite=True) is True
    entry = store.get_cache_entry("k1")
    assert entry is not None and entry.outputs == {"o0": {"value": 3}}
    assert (entry.task, entry.cache_version, entry.interface_hash, entry.inputs_hash,
            entry.run_id, entry.node_id) == ("pkg.train", "1", "iface", "in-k1", "run-1", "n0")


def test_racing_writers_leave_exactly_one_cache_entry(metadata_url: str) -> None:
    with MetadataStore(metadata_url) as meta:
        meta.migrate()
    won = in_processes(_put_entry, [(metadata_url, "hot", i) for i in range(16)])
    assert won.count(True) == 1
    with MetadataStore(metadata_url) as meta:
        (entry,) = meta.list_cache_entries()
    assert entry.outputs == {"o0": {"value": won.index(True)}}
    assert entry.run_id == f"run-{won.index(True)}"


def test_tenants_never_list_each_others_entries(store: MetadataStore) -> None:
    put(store, "a-key", project="alpha", domain="development")
    put(store, "b-key", project="beta", domain="development")
    put(store, "b-prod", project="beta", domain="production")
    put(store, "g-key", project="*", domain="*")
    assert [e.key for e in store.list_cache_entries(project="alpha")] == ["a-key"]
    assert {e.key for e in store.list_cache_entries(project="beta")} == {"b-key", "b-prod"}
    assert [e.key for e in store.list_cache_entries(project="beta", domain="production")] == [
        "b-prod"]
    assert [e.key for e in store.list_cache_entries(project="*", domain="*")] == ["g-key"]
    assert store.evict_cache_entries(project="beta", domain="development") == 1
    assert {e.key for e in store.list_cache_entries()} == {"a-key", "b-prod", "g-key"}


def test_list_and_evict_by_task_version_age_prefix_and_limit(store: MetadataStore) -> None:
    put(store, "aa01", task="pkg.train", cache_version="1")
    put(store, "aa02", task="pkg.train", cache_version="2")
    put(store, "bb01", task="pkg.score", cache_version="1")
    backdate(store, "flytepath_cache_entries", "created_at", "cache_key", "aa01",
             datetime.now(timezone.utc) - timedelta(days=10))
    assert {e.key for e in store.list_cache_entries(task="pkg.train")} == {"aa01", "aa02"}
    assert [e.key for e in store.list_cache_entries(task="pkg.train", cache_version="2")] == [
        "aa02"]
    assert [e.key for e in store.list_cache_entries(older_than=timedelta(days=7))] == ["aa01"]
    assert {e.key for e in store.list_cache_entries(key_prefix="aa")} == {"aa01", "aa02"}
    assert len(store.list_cache_entries(limit=2)) == 2
    assert store.list_cache_entries()[-1].key == "aa01"  # newest first
    assert store.evict_cache_entries(older_than=timedelta(days=7)) == 1
    assert store.evict_cache_entries(task="pkg.train", limit=5) == 1
    assert store.evict_cache_entries(task="pkg.nothing") == 0
    assert [e.key for e in store.list_cache_entries()] == ["bb01"]
    assert store.evict_cache_entries() == 1
    assert store.list_cache_entries() == []


def test_key_prefixes_are_not_patterns(store: MetadataStore) -> None:
    put(store, "ab_1")
    put(store, "abx1")
    assert [e.key for e in store.list_cache_entries(key_prefix="ab_")] == ["ab_1"]
    with pytest.raises(FlytePathUserError):
        store.list_cache_entries(key_prefix="a%")


def test_delete_one_cache_entry(store: MetadataStore) -> None:
    put(store, "k1")
    assert store.delete_cache_entry("k1") is True
    assert store.delete_cache_entry("k1") is False
    assert store.get_cache_entry("k1") is None


# -- reservations ---------------------------------------------------------------------------


def test_one_of_many_racing_processes_gets_the_reservation(metadata_url: str) -> None:
    with MetadataStore(metadata_url) as meta:
        meta.migrate()
    won = in_processes(_acquire, [(metadata_url, "hot", f"a{i}", 60.0) for i in range(16)])
    assert won.count(True) == 1
    with MetadataStore(metadata_url) as meta:
        reservation = meta.get_reservation("hot")
    assert reservation is not None and reservation.owner == f"a{won.index(True)}"


def test_an_expired_reservation_is_taken_over_by_exactly_one_process(metadata_url: str) -> None:
    with MetadataStore(metadata_url) as meta:
        assert meta.acquire_reservation("hot", "crashed", 0.3) is True
        claim = meta.get_reservation("hot")
    assert claim is not None
    # The holder "crashed": no heartbeat, no release. Wait out its claim.
    time.sleep(max(0.0, (claim.expires_at - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    won = in_processes(_acquire, [(metadata_url, "hot", f"b{i}", 60.0) for i in range(16)])
    assert won.count(True) == 1
    with MetadataStore(metadata_url) as meta:
        reservation = meta.get_reservation("hot")
        assert reservation is not None and reservation.owner == f"b{won.index(True)}"
        assert meta.heartbeat_reservation("hot", "crashed", 30.0) is False
        meta.release_reservation("hot", "crashed")  # not the holder any more: no effect
        assert meta.get_reservation("hot") == reservation


def test_heartbeat_extends_and_release_frees(store: MetadataStore) -> None:
    assert store.acquire_reservation("k", "me", 0.5) is True
    assert store.acquire_reservation("k", "you", 30) is False
    assert store.acquire_reservation("k", "me", 0.5) is True  # re-entrant for its owner
    before = store.get_reservation("k")
    assert store.heartbeat_reservation("k", "me", 60) is True
    after = store.get_reservation("k")
    assert before is not None and after is not None
    assert after.expires_at > before.expires_at + timedelta(seconds=30)
    assert store.heartbeat_reservation("k", "you", 60) is False
    store.release_reservation("k", "me")
    assert store.get_reservation("k") is None
    assert store.heartbeat_reservation("k", "me", 60) is False
    assert store.acquire_reservation("k", "you", 30) is True
    with pytest.raises(ValueError):
        store.acquire_reservation("k", "you", 0)


# -- history ------------------------------------------------------------------------------


def test_history_is_rebuilt_from_events_alone(store: MetadataStore) -> None:
    run = "r2"
    store.append_event(run_id=run, kind="queued", payload={
        "workflow": "train", "version": "v1", "inputs": {"n": 3}, "project": "p",
        "domain": "d"})
    store.append_event(run_id=run, kind="running", payload={"image": "img:1"})
    store.append_event(run_id=run, kind="running", node_id="prep", attempt=1)
    store.append_event(run_id=run, kind="cache_hit", node_id="prep", attempt=1, payload={
        "key": "k1", "source_run_id": "r1", "source_node_id": "prep"})
    store.append_event(run_id=run, kind="succeeded", node_id="prep", attempt=1, payload={
        "outputs": {"o0": {"value": 4}}, "inputs_hash": "h1", "task": "pkg.prep",
        "version": "v1"})
    store.append_event(run_id=run, kind="running", node_id="fit", attempt=1)
    store.append_event(run_id=run, kind="failed", node_id="fit", attempt=1,
                       payload={"error": "lost pod"})
    store.append_event(run_id=run, kind="retried", node_id="fit", attempt=1)
    store.append_event(run_id=run, kind="cache_miss", node_id="fit", attempt=2,
                       payload={"key": "k2"})
    store.append_event(run_id=run, kind="succeeded", node_id="fit", attempt=2, payload={
        "outputs": {"model": {"uri": "file:///m", "sha256": "ab"}}, "inputs_hash": "h2",
        "task": "pkg.fit", "version": "v1"})
    store.append_event(run_id=run, kind="succeeded", payload={"outputs": {"model": "m"}})

    history = reconstruct_history(run, store.events(run))
    assert (history.workflow, history.version, history.project, history.domain) == (
        "train", "v1", "p", "d")
    assert history.inputs == {"n": 3} and history.image == "img:1"
    assert history.status == "succeeded" and history.outputs == {"model": "m"}
    prep, fit = history.nodes["prep"], history.nodes["fit"]
    assert (prep.cache_key, prep.source_run_id, prep.source_node_id) == ("k1", "r1", "prep")
    assert (prep.task, prep.inputs_hash, prep.outputs) == ("pkg.prep", "h1",
                                                           {"o0": {"value": 4}})
    assert (fit.attempt, fit.source_run_id, fit.inputs_hash) == (2, None, "h2")
    assert history.node_states == {"prep": "succeeded", "fit": "succeeded"}
    doc = history.to_json()
    assert doc["lineage"]["fit"]["outputs"]["model"]["uri"] == "file:///m"
    assert [e["kind"] for e in doc["events"]][:2] == ["queued", "running"]


def test_history_tolerates_unknown_kinds_and_missing_fields() -> None:
    now = datetime.now(timezone.utc)
    events = [
        EventRecord(1, "r", "queued", None, None, {}, now),
        EventRecord(2, "r", "something_new", "n", 1, {"x": 1}, now),
        EventRecord(3, "r", "succeeded", "n", 1, {}, now),
        EventRecord(4, "r", "running", "m", 1, {}, now),
        EventRecord(5, "r", "failed", "m", 1, {"kind": "user", "message": "bad"}, now),
        EventRecord(6, "r", "failed", None, None, {"message": "node m failed"}, now),
    ]
    history = reconstruct_history("r", events)
    assert history.status == "failed" and history.error == "node m failed"
    assert history.node_states == {"n": "succeeded", "m": "failed"}
    assert history.nodes["n"].outputs == {} and history.nodes["n"].task is None
