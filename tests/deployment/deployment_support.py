"""What the deployment tests do with a real Airflow deployment (conftest.py starts it).

`scripts/airflow_deployment.py` starts Airflow's own components separately on loopback
(api-server, scheduler, dag-processor, triggerer; a Celery worker for the Celery variant) on
the local Postgres (and Redis), with FlytePath's DAG files and one shared store, specs
folder and metadata DB. Everything here goes through what a user has: `flytepath register`
and `flytepath executions --json` as commands, Airflow's public REST API v2 with a JWT.

A missing Postgres or Redis skips these tests, or fails them under
FLYTEPATH_REQUIRE_SERVICES=1 (CI). Waits are bounded by how long a *component* may take
(the DAG processor's cycle, a run's tasks), never by a wall-clock limit on the test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flytepath_airflow.platform.naming import flytepath_run_id

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FLOWS = HERE / "deploy_flows.py"
PROJECT = "ml"
DAG_ID = f"{PROJECT}.development.deploy_flows.scored"
POOL = f"flytepath_{PROJECT}_development"
"""The tenant pool `[flytepath] pool_template` gives ml/development."""

DAG_APPEARS_WITHIN = 120.0
"""Seconds for a registered spec to become a DAG: several DAG-processor cycles."""
RUN_ENDS_WITHIN = 600.0
"""Seconds for triggered runs to end (20 runs of 3 tasks on 2 shared cores)."""


def _load_script() -> ModuleType:
    # The script is for users to read and run, not a package module; load it by path.
    spec = importlib.util.spec_from_file_location(
        "airflow_deployment", ROOT / "scripts" / "airflow_deployment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


airflow_deployment = _load_script()


def _service_missing(name: str, host: str, port: int) -> None:
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        message = f"{name} on {host}:{port} is not reachable ({exc}); the deployment needs it"
        if os.environ.get("FLYTEPATH_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)


def start_deployment(executor: str, tmp_path_factory: pytest.TempPathFactory, *,
                     parallelism: int = 8, extra_env: dict[str, str] | None = None,
                     ) -> Iterator[Any]:
    """Start a deployment; stop it (and drop its databases) when the generator closes.

    :param executor: "local" or "celery".
    :param tmp_path_factory: pytest's factory; the deployment's folder is a new one of it.
    :param parallelism: the executor's task slots (`[core] parallelism`).
    :param extra_env: more environment for every component and `flytepath` command.
    """
    _service_missing("PostgreSQL", "127.0.0.1", 5432)
    if executor == "celery":
        _service_missing("Redis", "127.0.0.1", 6379)
    workdir = tmp_path_factory.mktemp(f"deployment-{executor}")
    settings = airflow_deployment.DeploymentSettings(
        workdir=workdir,
        executor=executor,
        postgres_url=os.environ.get("FLYTEPATH_TEST_POSTGRES_URL",
                                    "postgresql://postgres@127.0.0.1:5432/postgres"),
        # Nothing of the user's on the workers' PYTHONPATH: tasks import their code from the
        # bundle `flytepath register` stored with the version.
        extra_env={"FLYTEPATH_TEST_CALLS": str(workdir / "calls.txt"), **(extra_env or {})},
        parallelism=parallelism,
    )
    deployment = airflow_deployment.AirflowDeployment(settings)
    with deployment:
        artifacts = ROOT / "test-artifacts" / "deployment"
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / f"{executor}-start.json").write_text(
            json.dumps({"started_in_s": deployment.started_in}))
        yield deployment


def flytepath(deployment: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `flytepath` command as a user would, pointed at the deployment."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("flytepath")), *args], env=deployment.env(),
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)


def register(deployment: Any) -> None:
    """`flytepath register tests/deployment/deploy_flows.py --project ml`, then wait for the DAG."""
    result = flytepath(deployment, "register", str(FLOWS), "--project", PROJECT)
    assert result.returncode == 0, result.stderr
    for _ in airflow_deployment._poll(DAG_APPEARS_WITHIN, 1.0):
        deployment.check_alive()
        dag = deployment.api("GET", f"/dags/{DAG_ID}", expect=(200, 404))
        if dag.get("dag_id") == DAG_ID:
            return
    errors = deployment.api("GET", "/importErrors")
    pytest.fail(f"DAG {DAG_ID} did not appear within {DAG_APPEARS_WITHIN:.0f}s of "
                f"`flytepath register`; import errors: {errors}")


def trigger(deployment: Any, conf: dict[str, Any]) -> str:
    """Trigger the DAG through the REST API with typed inputs; return the Airflow run id."""
    run = deployment.api("POST", f"/dags/{DAG_ID}/dagRuns",
                         {"logical_date": None, "conf": conf})
    return str(run["dag_run_id"])


POOL_MISSING_FOR = 60.0
"""Seconds runs may wait while their tenant pool does not exist before the test gives up:
Airflow never runs a task of a missing pool, it stays `scheduled` forever."""


def wait_for_runs(deployment: Any, run_ids: list[str]) -> dict[str, str]:
    """Wait until every run has ended; return run id -> state ("success" or "failed")."""
    ended: dict[str, str] = {}
    pool_missing_since: float | None = None
    for _ in airflow_deployment._poll(RUN_ENDS_WITHIN, 2.0):
        deployment.check_alive()
        if pool_exists(deployment):
            pool_missing_since = None
        elif pool_missing_since is None:
            pool_missing_since = time.monotonic()
        elif time.monotonic() - pool_missing_since > POOL_MISSING_FOR:
            pytest.fail(f"the tenant pool {POOL} still does not exist "
                        f"{POOL_MISSING_FOR:.0f}s after the runs were triggered: their tasks "
                        "wait in `scheduled` forever (pools must be created on register, "
                        "DAG load or run start; issue 12 item 2)")
        for run_id in run_ids:
            if run_id not in ended:
                run = deployment.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")
                if run["state"] in ("success", "failed"):
                    ended[run_id] = run["state"]
        if len(ended) == len(run_ids):
            return ended
    stuck = [r for r in run_ids if r not in ended]
    tasks = deployment.api("GET", f"/dags/{DAG_ID}/dagRuns/{stuck[0]}/taskInstances")
    states = {t["task_id"]: (t["state"], t["pool"]) for t in tasks["task_instances"]}
    pools = [p["name"] for p in deployment.api("GET", "/pools")["pools"]]
    pytest.fail(f"{len(stuck)} of {len(run_ids)} runs did not end within "
                f"{RUN_ENDS_WITHIN:.0f}s; first stuck run's tasks (state, pool): {states}; "
                f"pools: {pools}")


def pool_exists(deployment: Any) -> bool:
    """Whether the tenant pool of the test workflow exists in Airflow."""
    pool = deployment.api("GET", f"/pools/{POOL}", expect=(200, 404))
    return bool(pool) and pool.get("name") == POOL


def executions(deployment: Any) -> dict[str, dict[str, Any]]:
    """`flytepath executions --json`, by FlytePath run id."""
    result = flytepath(deployment, "executions", "--json", "--limit", "500")
    assert result.returncode == 0, result.stderr
    return {r["run_id"]: r for r in json.loads(result.stdout or "[]")}


def run_id_of(airflow_run_id: str) -> str:
    """The FlytePath run id of one of the DAG's Airflow runs."""
    return flytepath_run_id(DAG_ID, airflow_run_id)


def wait_for_closed(deployment: Any, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """`flytepath executions` records of the runs, once none is open any more.

    The run's end is recorded by the DAG run's own lifecycle, which may trail Airflow's
    state by a scheduler loop; a few seconds are allowed for that.
    """
    wanted = [run_id_of(r) for r in run_ids]
    records: dict[str, dict[str, Any]] = {}
    for _ in airflow_deployment._poll(30.0, 1.0):
        records = executions(deployment)
        if all(records.get(r, {}).get("status") in ("succeeded", "failed") for r in wanted):
            break
    return {r: records.get(r, {}) for r in wanted}


def calls(deployment: Any, name: str) -> int:
    """How many times task `name`'s body ran, in every worker process."""
    path = Path(deployment.settings.extra_env["FLYTEPATH_TEST_CALLS"])
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line.split()[0] == name)


def check_registered_workflow_appears(deployment: Any) -> None:
    """`flytepath register` into the specs folder makes the DAG appear, with typed params."""
    register(deployment)
    dag = deployment.api("GET", f"/dags/{DAG_ID}/details")
    assert dag["is_paused"] is False
    assert {"n", "seed"} <= set(dag["params"])
    assert deployment.api("GET", "/importErrors")["total_entries"] == 0


def check_run_succeeds_and_closes(deployment: Any, executor: str) -> None:
    """A run triggered through the REST API succeeds and closes with its outputs."""
    register(deployment)
    began = time.monotonic()
    run = trigger(deployment, {"n": 3})
    assert wait_for_runs(deployment, [run]) == {run: "success"}
    record_timing(executor, "one-run", time.monotonic() - began)
    record = wait_for_closed(deployment, [run])[run_id_of(run)]
    assert record.get("status") == "succeeded", (
        f"run {run_id_of(run)} succeeded in Airflow but is not closed in "
        f"`flytepath executions`: {record or 'no record'}")
    assert record["inputs"] == {"n": 3, "seed": 4}
    assert values_of(record["outputs"]) == {"o0": 43}


def values_of(outputs: dict[str, Any]) -> dict[str, Any]:
    """The inline values of recorded outputs (the execution row holds pointer entries)."""
    return {name: entry["value"] for name, entry in outputs.items()}


def check_failing_run_closes_as_failed(deployment: Any) -> None:
    """A task raising the user's error fails the run without retry; the run closes failed."""
    register(deployment)
    run = trigger(deployment, {"n": -3})
    assert wait_for_runs(deployment, [run]) == {run: "failed"}
    task = deployment.api("GET", f"/dags/{DAG_ID}/dagRuns/{run}/taskInstances/checked")
    assert (task["state"], task["try_number"]) == ("failed", 1)  # a user error: no retry
    record = wait_for_closed(deployment, [run])[run_id_of(run)]
    assert record.get("status") == "failed", (
        f"run {run_id_of(run)} failed in Airflow but is not closed as failed in "
        f"`flytepath executions`: {record or 'no record'}")
    assert "n must not be negative, got -3" in (record["error"] or "")


def check_concurrent_runs(deployment: Any, executor: str, count: int = 20) -> None:
    """`count` runs triggered at once all succeed, close with their own outputs, and the
    cached, serialized task they share computes once."""
    register(deployment)
    seed = 7  # no other test uses it: its cache entry starts empty
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=count) as pool:
        runs = list(pool.map(lambda n: trigger(deployment, {"n": n, "seed": seed}),
                             range(count)))
    states = wait_for_runs(deployment, runs)
    record_timing(executor, f"{count}-runs", time.monotonic() - began)
    assert states == dict.fromkeys(runs, "success")
    assert calls(deployment, f"base:{seed}") == 1
    assert calls(deployment, "checked") >= count
    records = wait_for_closed(deployment, runs)
    closed = {r: rec.get("status") for r, rec in records.items()}
    assert set(closed.values()) == {"succeeded"}, (
        f"{sum(s != 'succeeded' for s in closed.values())} of {count} runs are not closed "
        f"as succeeded in `flytepath executions`: {closed}")
    expected = {run_id_of(r): {"o0": seed * 10 + n} for n, r in enumerate(runs)}
    assert {r: values_of(rec["outputs"]) for r, rec in records.items()} == expected


def record_timing(executor: str, name: str, seconds: float) -> None:
    """Keep a measured duration in test-artifacts/deployment/ for docs/deployment.md."""
    path = ROOT / "test-artifacts" / "deployment" / f"{executor}-{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"seconds": seconds, "at": time.time()}))
