"""Caching and registered versions through a real Airflow (dag.test in a child process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from flytepath_airflow.cli.airflow_commands import run_with_airflow
from flytepath_airflow.runtime.registry import load_registered
from flytepath_airflow.runtime.run import read_pointer
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobStore, default_root
from flytepath_airflow.stores.metadata import MetadataStore, default_metadata_url

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_cached_task_hits_on_the_second_airflow_run(tmp_path: Path) -> None:
    spec = load_target(f"{FIXTURES}/cached_flows.py:squares")
    root, home = str(tmp_path / "store"), str(tmp_path / "home")
    events: list[tuple[str, str, str]] = []
    first = run_with_airflow(spec, {"n": 6}, root=root, home=home)
    second = run_with_airflow(spec, {"n": 6}, root=root, home=home,
                              progress=lambda e: events.append(
                                  (e.node, e.state, e.cached_from or "")))
    third = run_with_airflow(spec, {"n": 7}, root=root, home=home)
    assert first.outputs == second.outputs == {"o0": 36} and third.outputs == {"o0": 49}
    store = BlobStore(root)
    assert read_pointer(store, first.run_id, "square")["cache"]["status"] == "miss"
    assert read_pointer(store, second.run_id, "square")["cache"] == {
        "status": "hit", "key": read_pointer(store, first.run_id, "square")["cache"]["key"],
        "source_run_id": first.run_id, "source_node_id": "square"}
    assert read_pointer(store, third.run_id, "square")["cache"]["status"] == "miss"
    # Airflow sees a success; the progress says it was a cache hit, and from which run.
    assert ("square", "cached", first.run_id) in events
    meta = MetadataStore(default_metadata_url(home))
    execution = meta.get_execution(second.run_id)
    assert execution is not None and execution.status == "succeeded"
    assert [e.kind for e in meta.events(second.run_id)][-1] == "succeeded"


def _register(tmp_path: Path, factor: int) -> str:
    (tmp_path / "vflow.py").write_text(textwrap.dedent(f"""
        from flytepath_airflow import task, workflow

        @task
        def scale(n: int) -> int:
            return n * {factor}

        @workflow
        def wf(n: int = 2) -> int:
            return scale(n=n)
    """))
    proc = subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", "register",
                           "vflow.py"], cwd=tmp_path, capture_output=True, text=True,
                          env=dict(os.environ), check=True)
    return proc.stdout.split(" version ")[1].split()[0]


def test_the_version_param_runs_another_registered_version_with_its_code(
    tmp_path: Path,
) -> None:
    from flytepath_airflow.backends.airflow.dag_builder import build_dag
    from flytepath_airflow.runtime.registry import spec_key

    v1 = _register(tmp_path, 10)
    v2 = _register(tmp_path, 100)
    latest = load_registered("vflow.wf")
    assert latest.version == v2
    root = default_root()
    dag = build_dag(latest, spec_uri=BlobStore(root).uri(
        spec_key("default", "development", "vflow.wf", v2)))
    task = dag.get_task("scale")
    context = {
        "ti": SimpleNamespace(dag_id=dag.dag_id, try_number=1),
        "dag_run": SimpleNamespace(run_id="manual__1", conf={}),
        "params": {"n": 3, "flytepath_version": v1},
    }
    invocation = task.node_invocation(context)  # type: ignore[attr-defined]
    assert invocation.spec_uri.endswith(f"/{v1}.json")
    assert invocation.options["code_bundle"]["sha256"]
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.run([sys.executable, "-m", "flytepath_airflow.runtime.entrypoint",
                           *invocation.argv()], capture_output=True, text=True, env=env,
                          cwd=tmp_path / "..")
    assert proc.returncode == 0, proc.stderr
    pointer = read_pointer(BlobStore(root), invocation.run_id, "scale")
    assert pointer["outputs"]["o0"]["value"] == 30 and pointer["version"] == v1
