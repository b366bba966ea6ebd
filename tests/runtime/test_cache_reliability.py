"""Reliability of the data plane under concurrency and crashes (figures in
docs/reliability.md). These run real processes against a real Postgres."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from flytepath_airflow.ir import dump_spec
from flytepath_airflow.runtime.run import pointer_key, prepare_run
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobStore
from flytepath_airflow.stores.metadata import MetadataStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROCESSES = 32


def _env(metadata_url: str, calls: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(FIXTURES), "FLYTEPATH_METADATA_URL": metadata_url,
            "FLYTEPATH_TEST_CALLS": str(calls)}


@pytest.mark.postgres
@pytest.mark.slow
def test_32_concurrent_identical_executions_compute_once(
    tmp_path: Path, postgres_url: str
) -> None:
    spec = load_target(f"{FIXTURES}/light_flows.py:serialized")
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(dump_spec(spec))
    root = str(tmp_path / "store")
    calls = tmp_path / "calls.txt"
    runs = [prepare_run(spec, {"n": 12, "seconds": 3.0}, root, metadata_url=postgres_url)
            for _ in range(PROCESSES)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flytepath_airflow.runtime.entrypoint", "--spec",
             str(spec_path), "--node", "slow_square", "--run-id", run_id, "--root", root],
            env=_env(postgres_url, calls), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        for run_id in runs
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * PROCESSES, [r[1][-500:] for r in results]
    assert calls.read_text().count("slow_square") == 1
    meta = MetadataStore(postgres_url)
    assert len(meta.list_cache_entries(task=spec.tasks[next(iter(spec.tasks))].name)) == 1
    store = BlobStore(root)
    outputs = {json.dumps(store.read_json(pointer_key(r, "slow_square"))["outputs"],
                          sort_keys=True) for r in runs}
    inline = {"value": 144, "sha256": hashlib.sha256(b"144").hexdigest()}
    assert outputs == {json.dumps({"o0": inline}, sort_keys=True)}
    statuses = [store.read_json(pointer_key(r, "slow_square")).get("cache", {}).get("status")
                for r in runs]
    assert statuses.count("miss") == 1 and statuses.count("hit") == PROCESSES - 1


# Runs the entrypoint with the final rename of the File output blocked: the blob's bytes
# are written to their temporary key, then the process waits to be killed.
_KILL_DURING_PUBLISH = textwrap.dedent("""
    import os, sys, time
    import flytepath_airflow.stores.blob as blob
    real_replace = os.replace
    def replace(src, dst):
        if dst.endswith(".bin"):
            open(os.environ["FLYTEPATH_TEST_MARKER"], "w").write(src)
            time.sleep(600)
        return real_replace(src, dst)
    blob.os.replace = replace
    from flytepath_airflow.runtime.entrypoint import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.postgres
def test_sigkill_while_publishing_leaves_nothing_readable_and_retry_succeeds(
    tmp_path: Path, postgres_url: str
) -> None:
    spec = load_target(f"{FIXTURES}/light_flows.py:publishes_file")
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(dump_spec(spec))
    root = str(tmp_path / "store")
    marker = tmp_path / "marker"
    run_id = prepare_run(spec, {"megabytes": 8}, root, metadata_url=postgres_url)
    args = ["--spec", str(spec_path), "--node", "big_file", "--run-id", run_id, "--root", root]
    env = {**_env(postgres_url, tmp_path / "calls.txt"), "FLYTEPATH_TEST_MARKER": str(marker)}
    proc = subprocess.Popen([sys.executable, "-c", _KILL_DURING_PUBLISH, "--attempt", "1",
                             *args], env=env)
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the task never reached publishing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = BlobStore(root)
    meta = MetadataStore(postgres_url)
    assert not store.exists(pointer_key(run_id, "big_file"))
    assert meta.list_cache_entries(task="light_flows.big_file") == []
    attempt_dir = Path(store.path(f"runs/{run_id}/nodes/big_file/attempt-1"))
    assert not any(p.name == "o0.bin" for p in attempt_dir.rglob("*"))
    assert Path(marker.read_text()).exists()  # only the temporary key holds the bytes

    retry = subprocess.run([sys.executable, "-m", "flytepath_airflow.runtime.entrypoint",
                            "--attempt", "2", *args], env=env, capture_output=True, text=True)
    assert retry.returncode == 0, retry.stderr
    pointer = store.read_json(pointer_key(run_id, "big_file"))
    ref = pointer["outputs"]["o0"]["value"]
    assert len(store.read_uri(ref["uri"], ref["sha256"])) == 8 * 1024 * 1024
    assert len(meta.list_cache_entries(task="light_flows.big_file")) == 1


def test_version_is_identical_in_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    # What varies between two machines compiling the same code is the interpreter's
    # string-hash seed (set ordering) and the working directory: vary both.
    code = ("from flytepath_airflow.sdk.targets import load_target;"
            f"print(load_target({str(FIXTURES / 'light_flows.py')!r} + ':chain').version)")
    seeds = ["0", "1", "2", "42", "4242", "random"]
    procs = []
    for index, seed in enumerate(seeds):
        cwd = tmp_path / f"cwd-{index}"
        cwd.mkdir()
        procs.append(subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                      text=True, cwd=cwd,
                                      env={**os.environ, "PYTHONHASHSEED": seed}))
    versions = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert len(versions) == len(seeds) and len(set(versions)) == 1 and versions[0]


def test_a_sigkilled_reservation_holder_is_taken_over_without_waiting_for_expiry(
    tmp_path: Path,
) -> None:
    spec = load_target(f"{FIXTURES}/light_flows.py:held")
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(dump_spec(spec))
    root = str(tmp_path / "store")
    calls = tmp_path / "calls.txt"
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    first, second = (prepare_run(spec, {"n": 7}, root, metadata_url=url) for _ in range(2))

    def entrypoint(run_id: str) -> list[str]:
        return [sys.executable, "-m", "flytepath_airflow.runtime.entrypoint", "--spec",
                str(spec_path), "--node", "held_square", "--run-id", run_id, "--root", root]

    holder = subprocess.Popen(entrypoint(first), env={**_env(url, calls),
                                                     "FLYTEPATH_TEST_SLEEP": "600"})
    deadline = time.monotonic() + 120
    while "held_square" not in (calls.read_text() if calls.exists() else "") and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    meta = MetadataStore(url)
    reservations = [meta.get_reservation(e.payload["key"]) for e in meta.events(first)
                    if e.kind == "cache_miss"]
    assert reservations and reservations[0] is not None, "the holder never reserved"
    dead_owner = reservations[0].owner
    assert not reservations[0].expired()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()

    rerun = subprocess.run(entrypoint(second), env=_env(url, calls), capture_output=True,
                           text=True)
    assert rerun.returncode == 0, rerun.stderr
    taken = [e.payload for e in meta.events(second) if e.kind == "cache_reservation_taken_over"]
    assert taken == [{"key": reservations[0].key, "previous_owner": dead_owner}]
    assert BlobStore(root).read_json(pointer_key(second, "held_square"))["outputs"]["o0"][
        "value"] == 49
