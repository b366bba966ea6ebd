"""`flytepath recover` as a user runs it: a failed run is finished without redoing the work
that succeeded, and runs that cannot be recovered are refused with a way out.

Each task of the workflows below appends a line to calls.txt when it runs, so "did not run
again" is counted, not inferred from timings.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FLOW = textwrap.dedent('''
    from pathlib import Path

    from flytepath_airflow import map_task, task, workflow

    HERE = Path(PROJECT)  # absolute: Airflow runs a copy of this file from elsewhere
    CALLS = HERE / "calls.txt"
    FIXED = HERE / "fixed.txt"


    def _called(name: str) -> None:
        with open(CALLS, "a", encoding="utf-8") as fh:
            fh.write(name + "\\n")


    @task
    def load(n: int) -> list[int]:
        _called("load")
        return list(range(n))


    @task
    def check(xs: list[int]) -> int:
        _called("check")
        if not FIXED.exists():
            raise ValueError(f"{FIXED.name} is missing: the data is not fixed yet")
        return sum(xs) * int(FIXED.read_text())


    @task
    def report(total: int) -> str:
        _called("report")
        return f"total={total}"


    @workflow
    def pipeline(n: int) -> str:
        return report(total=check(xs=load(n=n)))


    @task
    def tenfold(x: int) -> int:
        _called(f"tenfold {x}")
        if x == 2 and not FIXED.exists():
            raise ValueError("element 2 needs the fixed data")
        return x * 10


    @workflow
    def tenfolds(n: int) -> list[int]:
        return map_task(tenfold)(x=load(n=n))
''')


def flytepath(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, env=dict(os.environ))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flow.py").write_text(f"PROJECT = {str(tmp_path)!r}\n" + FLOW)
    return tmp_path


def calls(project: Path) -> list[str]:
    path = project / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []


def failed_run(project: Path, *args: str) -> str:
    """Run a workflow that fails (fixed.txt is missing); returns its run id."""
    proc = flytepath("run", *args, "--json", cwd=project)
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert document["status"] == "failed"
    run_id: str = document["run_id"]
    return run_id


def test_recover_runs_only_the_failed_task_and_what_follows(project: Path) -> None:
    source = failed_run(project, "flow.py:pipeline", "-i", "n=4", "--local")
    assert calls(project) == ["load", "check"]
    (project / "fixed.txt").write_text("2")  # the user fixes the data

    proc = flytepath("recover", source, "--json", cwd=project)

    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["status"] == "succeeded"
    assert document["outputs"] == {"o0": "total=12"}
    assert document["recovered_from"] == source
    assert document["backend"] == "local"  # the backend the failed run used
    assert document["run_id"] != source
    # load ran once, in the failed run; check and report ran in the recovery.
    assert calls(project) == ["load", "check", "check", "report"]
    assert f"recovered from {source}" in proc.stderr


def test_history_links_the_two_runs_and_names_the_reused_node(project: Path) -> None:
    source = failed_run(project, "flow.py:pipeline", "-i", "n=3", "--local")
    (project / "fixed.txt").write_text("1")
    recovered = json.loads(flytepath("recover", source, "--json", cwd=project).stdout)["run_id"]

    new = json.loads(flytepath("history", recovered, "--json", cwd=project).stdout)
    assert new["recovered_from"] == source
    assert new["lineage"]["load"]["recovered"] is True
    assert new["lineage"]["load"]["source_run_id"] == source
    assert new["lineage"]["check"]["recovered"] is False
    old = json.loads(flytepath("history", source, "--json", cwd=project).stdout)
    assert old["recovered_by"] == [recovered]

    shown = flytepath("history", recovered, cwd=project).stdout
    assert "recovered from" in shown and "1 recovered from" in shown


def test_a_map_recovers_element_by_element(project: Path) -> None:
    source = failed_run(project, "flow.py:tenfolds", "-i", "n=4", "--local")
    assert sorted(calls(project)) == ["load", "tenfold 0", "tenfold 1", "tenfold 2",
                                      "tenfold 3"]
    (project / "fixed.txt").write_text("1")

    proc = flytepath("recover", source, "--json", cwd=project)

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"] == {"o0": [0, 10, 20, 30]}
    # Only the failed element ran again.
    assert sorted(calls(project)) == ["load", "tenfold 0", "tenfold 1", "tenfold 2",
                                      "tenfold 2", "tenfold 3"]


def test_outputs_that_fail_verification_are_computed_again(project: Path) -> None:
    source = failed_run(project, "flow.py:pipeline", "-i", "n=4", "--local")
    store = Path(os.environ["FLYTEPATH_HOME"]) / "store"
    pointer = store / "runs" / source / "nodes" / "load" / "outputs.json"
    doc = json.loads(pointer.read_text())
    doc["outputs"]["o0"]["value"] = [0, 1, 2, 300]  # edited after it was written
    pointer.write_text(json.dumps(doc))
    (project / "fixed.txt").write_text("1")

    proc = flytepath("recover", source, "--json", cwd=project)

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"] == {"o0": "total=6"}  # not 303
    assert calls(project) == ["load", "check", "load", "check", "report"]
    history = flytepath("history", json.loads(proc.stdout)["run_id"], cwd=project).stdout
    assert "not reused from run" in history


def test_recover_refuses_an_unknown_run(project: Path) -> None:
    proc = flytepath("recover", "fp-nothing-here", cwd=project)
    assert proc.returncode == 2
    assert "run 'fp-nothing-here' is not in the metadata store" in proc.stderr
    assert "flytepath executions" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_recover_refuses_a_succeeded_run_and_points_at_rerun(project: Path) -> None:
    (project / "fixed.txt").write_text("1")
    proc = flytepath("run", "flow.py:pipeline", "-i", "n=2", "--local", "--json", cwd=project)
    run_id = json.loads(proc.stdout)["run_id"]

    refused = flytepath("recover", run_id, cwd=project)

    assert refused.returncode == 2
    assert f"run '{run_id}' succeeded, so there is nothing to recover" in refused.stderr
    assert f"flytepath rerun {run_id}" in refused.stderr
    assert calls(project) == ["load", "check", "report"]  # nothing ran


def test_recover_refuses_a_run_that_is_still_running(project: Path) -> None:
    from flytepath_airflow.stores.metadata import MetadataStore

    with MetadataStore() as meta:  # as an Airflow run looks while its DAG run is going
        meta.create_execution(run_id="fp-still-going", project="default",
                              domain="development", workflow="flow.pipeline", version="v1",
                              inputs={"n": 1}, backend="airflow")

    proc = flytepath("recover", "fp-still-going", cwd=project)

    assert proc.returncode == 2
    assert "run 'fp-still-going' is still running" in proc.stderr
    assert "only a failed run can be recovered" in proc.stderr


def test_a_run_is_recovered_once(project: Path) -> None:
    source = failed_run(project, "flow.py:pipeline", "-i", "n=2", "--local")
    (project / "fixed.txt").write_text("1")
    first = json.loads(flytepath("recover", source, "--json", cwd=project).stdout)["run_id"]

    again = flytepath("recover", source, cwd=project)

    assert again.returncode == 2
    assert f"already recovered by run '{first}', which succeeded" in again.stderr


def test_a_failed_recovery_can_itself_be_recovered(project: Path) -> None:
    source = failed_run(project, "flow.py:pipeline", "-i", "n=3", "--local")
    second = json.loads(flytepath("recover", source, "--json", cwd=project).stdout)
    assert second["status"] == "failed" and second["recovered_from"] == source
    (project / "fixed.txt").write_text("1")

    third = json.loads(flytepath("recover", second["run_id"], "--json", cwd=project).stdout)

    assert third["outputs"] == {"o0": "total=3"}
    assert calls(project) == ["load", "check", "check", "check", "report"]


def test_recover_refuses_two_backends_at_once(project: Path) -> None:
    source = failed_run(project, "flow.py:pipeline", "-i", "n=2", "--local")
    proc = flytepath("recover", source, "--local", "--airflow", cwd=project)
    assert proc.returncode == 2
    assert "--local and --airflow ask for two backends" in proc.stderr


@pytest.mark.slow
@pytest.mark.airflow
def test_recover_through_airflow_reuses_what_succeeded(project: Path) -> None:
    source = failed_run(project, "flow.py:pipeline", "-i", "n=4")
    assert calls(project) == ["load", "check"]
    (project / "fixed.txt").write_text("2")

    proc = flytepath("recover", source, "--json", cwd=project)

    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["backend"] == "airflow"
    assert document["outputs"] == {"o0": "total=12"}
    assert document["recovered_from"] == source
    assert calls(project) == ["load", "check", "check", "report"]
    history = json.loads(flytepath("history", document["run_id"], "--json",
                                   cwd=project).stdout)
    assert history["lineage"]["load"]["recovered"] is True
    # In the Airflow UI, the reused task instance carries a note saying so.
    airflow_db = Path(os.environ["FLYTEPATH_HOME"]) / "airflow" / "airflow.db"
    with sqlite3.connect(airflow_db) as db:
        notes = db.execute(
            "SELECT ti.task_id, n.content FROM task_instance_note n "
            "JOIN task_instance ti ON ti.id = n.ti_id").fetchall()
    assert notes == [("load", f"recovered: outputs of run {source} node load reused, the "
                              "task did not run")]
