"""The run-lifecycle listener in a real Airflow: runs close however they were started.

Each run goes through the embedded Airflow (`dag.test()` in a child process, where the
FlytePath plugin's listener is loaded from the `airflow.plugins` entry point like in any
Airflow process). "Triggered like the UI" means a DAG run that `flytepath run` did not
start: no `flytepath_run_id` in its conf, only the params, so nothing but the listener can
close it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from flytepath_airflow.cli.airflow_commands import EmbeddedAirflow, run_with_airflow
from flytepath_airflow.platform.naming import dag_id_for, flytepath_run_id
from flytepath_airflow.runtime.history import reconstruct_history
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.metadata import MetadataStore, default_metadata_url

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

TESTS = Path(__file__).resolve().parents[1]
WORKFLOWS = TESTS / "backends" / "airflow" / "af_workflows.py"
CACHED = TESTS / "fixtures" / "cached_flows.py"


def _trigger_like_the_ui(home: str, root: str, dag_id: str, params: dict) -> dict:
    """Run a DAG run created by Airflow alone (no FlytePath run id), like a UI trigger.

    dag.test() writes the task logs to its own output, kept in `<home>/<dag_id>.log`.
    """
    embedded = EmbeddedAirflow(home, root)
    read_fd, write_fd = os.pipe()
    env = embedded.env()
    env["PYTHONPATH"] = os.pathsep.join(
        [str(WORKFLOWS.parent), str(TESTS / "fixtures"), env.get("PYTHONPATH", "")])
    with open(Path(home) / f"{dag_id}.log", "w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "flytepath_airflow.backends.airflow.embedded",
             "--dag-id", dag_id, "--progress-fd", str(write_fd), "--conf", json.dumps(params)],
            env=env, pass_fds=(write_fd,), stdout=out, stderr=subprocess.STDOUT)
        os.close(write_fd)
        with os.fdopen(read_fd) as stream:
            events = [json.loads(line) for line in stream if line.startswith("{")]
        child.wait()
    return next(e for e in reversed(events) if e.get("event") == "done")


def _cli(home: str, *args: str) -> str:
    env = {**os.environ, "FLYTEPATH_HOME": home,
           "FLYTEPATH_METADATA_URL": default_metadata_url(home)}
    proc = subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, env=env, check=True)
    return proc.stdout


def test_runs_triggered_without_flytepath_run_close_like_cli_runs(tmp_path: Path) -> None:
    home, root = str(tmp_path / "home"), str(tmp_path / "store")
    spec = load_target(f"{WORKFLOWS}:pipeline")
    failing = load_target(f"{WORKFLOWS}:failing")
    cli_run = run_with_airflow(spec, {"x": 5}, root=root, home=home)
    run_with_airflow(failing, {"x": 1}, root=root, home=home)  # publishes its DAG
    done = [_trigger_like_the_ui(home, root, dag_id_for(spec), {"x": x}) for x in (5, 6)]
    bad = _trigger_like_the_ui(home, root, dag_id_for(failing), {"x": 2})
    assert [d["state"] for d in done] == ["success", "success"] and bad["state"] == "failed"

    meta = MetadataStore(default_metadata_url(home))
    cli = meta.get_execution(cli_run.run_id)
    ui = [meta.get_execution(flytepath_run_id(d["dag_id"], d["airflow_run_id"])) for d in done]
    failed = meta.get_execution(flytepath_run_id(bad["dag_id"], bad["airflow_run_id"]))
    assert cli is not None and failed is not None and None not in ui
    assert cli.status == "succeeded" and cli.outputs is not None
    assert cli.outputs["o0"]["value"] == 13  # a pointer entry: small values inline
    assert [(r.status, r.outputs["o0"]["value"]) for r in ui] == [  # type: ignore[union-attr, index]
        ("succeeded", 13), ("succeeded", 15)]
    assert all(r.finished_at is not None for r in [cli, *ui])  # type: ignore[union-attr]
    assert failed.status == "failed" and failed.finished_at is not None
    assert failed.error is not None and "cannot handle 4" in failed.error

    for record in [cli, *ui, failed]:
        history = reconstruct_history(record.run_id, meta.events(record.run_id))  # type: ignore[union-attr]
        assert history.status == record.status  # type: ignore[union-attr]
        ends = [e for e in history.events if e.node_id is None and e.kind == record.status]  # type: ignore[union-attr]
        assert len(ends) == 1 and ends[0].payload["duration_seconds"] > 0
    assert history.error is not None and "cannot handle 4" in history.error
    listing = {r["run_id"]: r for r in json.loads(_cli(home, "executions", "--json"))}
    assert [listing[r.run_id]["status"] for r in [cli, *ui, failed]] == [  # type: ignore[union-attr]
        "succeeded", "succeeded", "succeeded", "failed"]
    assert "running" not in {r["status"] for r in listing.values()}
    shown = _cli(home, "history", ui[1].run_id)  # type: ignore[union-attr]
    assert "succeeded" in shown and "15" in shown

    # The failing task's log: the user's frame once, none of FlytePath's internals.
    text = (Path(home) / f"{bad['dag_id']}.log").read_text()
    frame = re.findall(r"af_workflows\.py\\?\"?, line \d+", text)
    assert len(frame) == 1, text
    assert "flytepath_airflow/runtime" not in text
    assert "ValueError: cannot handle 4" in text
    assert "ValueError: ValueError" not in text
    assert "error.json" in text


def test_every_attempt_has_its_node_row(tmp_path: Path) -> None:
    home, root = str(tmp_path / "home"), str(tmp_path / "store")
    spec = load_target(f"{WORKFLOWS}:retrying")
    spec = spec.model_copy(update={"tasks": {k: t.model_copy(update={"retry_delay": 0.0})
                                             for k, t in spec.tasks.items()}})
    from flytepath_airflow.ir.spec_io import with_version

    result = run_with_airflow(with_version(spec), {"x": 1}, root=root, home=home)
    assert result.succeeded, result.error
    rows = MetadataStore(default_metadata_url(home)).node_executions(result.run_id)
    assert [(r.attempt, r.status) for r in rows] == [(1, "failed"), (2, "succeeded")]
    assert "transient" in (rows[0].error or "")


def test_a_cache_hit_is_noted_on_its_task_instance(tmp_path: Path) -> None:
    home, root = str(tmp_path / "home"), str(tmp_path / "store")
    spec = load_target(f"{CACHED}:squares")
    first = run_with_airflow(spec, {"n": 6}, root=root, home=home)
    second = run_with_airflow(spec, {"n": 6}, root=root, home=home)
    assert first.succeeded and second.succeeded
    rows = MetadataStore(default_metadata_url(home)).node_executions(second.run_id)
    assert [r.cache_status for r in rows if r.node_id == "square"] == ["hit"]
    with sqlite3.connect(Path(home) / "airflow" / "airflow.db") as db:
        notes = db.execute(
            "SELECT ti.task_id, ti.run_id, n.content FROM task_instance_note n "
            "JOIN task_instance ti ON ti.id = n.ti_id").fetchall()
    assert len(notes) == 1
    task_id, _, content = notes[0]
    assert task_id == "square"
    assert content == f"cache hit: outputs of run {first.run_id} node square"
