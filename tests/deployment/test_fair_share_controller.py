"""`flytepath fairshare --once` against a real scheduler: three tenants converge to 3:1:1.

A deployment of its own (LocalExecutor on Postgres, parallelism C = 5, Airflow exposing
its configuration so the controller reads C from `[core] parallelism`), three tenant
pools of one slot each, and a DAG per tenant with more sleep tasks than C. The controller
runs as a user runs it, with the deployment's environment and an Airflow user's
credentials, and the pools' sizes are read back from Airflow's REST API.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import deployment_support as scenario
import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.airflow, pytest.mark.postgres]

CAPACITY = 5
TENANTS = {"ml": "production", "web": "development", "ops": "development"}
"""project -> domain; `*/production=3` makes ml/production weigh 3, the others 1."""
POOLS = {project: f"flytepath_{project}_{domain}" for project, domain in TENANTS.items()}
TASKS_PER_TENANT = 10
SLEEP_SECONDS = 90
"""Long enough that every backlog outlasts the test's two periods, short enough that the
deployment's teardown does not wait long for them."""

DAG_FILE = f'''
"""Sleep tasks in three tenant pools: the backlog of the fair-share test."""
import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

for project, pool in {POOLS!r}.items():
    with DAG(f"fairshare_{{project}}", schedule=None, catchup=False,
             start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        for i in range({TASKS_PER_TENANT}):
            BashOperator(task_id=f"sleep_{{i}}", bash_command="sleep {SLEEP_SECONDS}",
                         pool=pool)
    globals()[dag.dag_id] = dag
'''


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from scenario.start_deployment(
        "local", tmp_path_factory, parallelism=CAPACITY,
        extra_env={"AIRFLOW__API__EXPOSE_CONFIG": "True",
                   "AIRFLOW__FLYTEPATH__TENANT_WEIGHTS": "*/production=3, */*=1"})


API_TIMEOUT = "60"
"""Seconds per API request: the API server shares two cores with the scheduler, the DAG
processor and the sleeping tasks' supervisors, and answers slowly while tasks start."""


def fairshare(deployment: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """`flytepath ARGS` with the deployment's environment and an Airflow user's login."""
    env = {**deployment.env(), "FLYTEPATH_AIRFLOW_USERNAME": "admin",
           "FLYTEPATH_AIRFLOW_PASSWORD": deployment.password}
    return subprocess.run([str(Path(sys.executable).with_name("flytepath")), *args,
                           "--timeout", API_TIMEOUT],
                          env=env, capture_output=True, text=True, timeout=600, check=False)


def api(deployment: Any, *args: Any, **kwargs: Any) -> Any:
    """`deployment.api`, asked again when the busy API server times out (three tries)."""
    for attempt in range(3):
        try:
            return deployment.api(*args, **kwargs)
        except httpx.TimeoutException:
            if attempt == 2:
                raise
    return None


def pools(deployment: Any) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in api(deployment, "GET", "/pools")["pools"]}


def demand(pool: dict[str, Any]) -> int:
    return int(pool["running_slots"] + pool["queued_slots"] + pool["scheduled_slots"])


def wait_for(deployment: Any, what: str, check: Any) -> None:
    """Poll the pools until `check(pools)` holds (bounded by the scheduler's loop)."""
    seen: dict[str, dict[str, Any]] = {}
    for _ in scenario.airflow_deployment._poll(scenario.DAG_APPEARS_WITHIN, 2.0):
        deployment.check_alive()
        seen = pools(deployment)
        if check(seen):
            return
    pytest.fail(f"{what} did not happen within {scenario.DAG_APPEARS_WITHIN:.0f}s; pools: "
                f"{ {n: (p['slots'], demand(p)) for n, p in seen.items()} }")


def test_three_tenants_converge_to_weighted_shares_and_a_drained_one_lends(
        deployment: Any) -> None:
    for pool in POOLS.values():
        deployment.api("POST", "/pools", {"name": pool, "slots": 1}, expect=(201,))
    (deployment.dags_dir / "fairshare_sleep.py").write_text(DAG_FILE)
    for project in POOLS:
        dag_id = f"fairshare_{project}"
        for _ in scenario.airflow_deployment._poll(scenario.DAG_APPEARS_WITHIN, 2.0):
            if api(deployment, "GET", f"/dags/{dag_id}", expect=(200, 404)).get("dag_id"):
                break
        else:
            pytest.fail(f"DAG {dag_id} did not appear; import errors: "
                        f"{deployment.api('GET', '/importErrors')}")
    runs = {project: deployment.api("POST", f"/dags/fairshare_{project}/dagRuns",
                                    {"logical_date": None})["dag_run_id"]
            for project in POOLS}
    wait_for(deployment, "every tenant asking for more than C",
             lambda seen: all(demand(seen[p]) > CAPACITY for p in POOLS.values()))

    first = fairshare(deployment, "fairshare", "--once", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["capacity"] == CAPACITY  # [core] parallelism, via the API
    assert deployment.password not in first.stdout + first.stderr
    after = pools(deployment)
    assert {p: after[name]["slots"] for p, name in POOLS.items()} == {"ml": 3, "web": 1, "ops": 1}
    assert after["default_pool"]["slots"] == 128  # not a tenant pool: never touched
    assert "ml/production (pool flytepath_ml_production): demand" in first.stderr
    assert "slots 1 -> 3" in first.stderr

    # ops drains: its run is marked failed, its tasks stop and leave the pool.
    api(deployment, "PATCH", f"/dags/fairshare_ops/dagRuns/{runs['ops']}", {"state": "failed"})
    wait_for(deployment, "ops draining", lambda seen: demand(seen[POOLS["ops"]]) == 0)
    second = fairshare(deployment, "fairshare", "--once")
    assert second.returncode == 0, second.stderr
    lent = pools(deployment)
    # ops's share goes to the tenants still asking, by weight: 3.75 and 1.25 of 5.
    assert {p: lent[name]["slots"] for p, name in POOLS.items()} == {"ml": 4, "web": 1, "ops": 0}

    shown = fairshare(deployment, "tenants", "--json")
    assert shown.returncode == 0, shown.stderr
    rows = {row["tenant"]: row for row in json.loads(shown.stdout)["tenants"]}
    assert {t: (r["weight"], r["slots"], r["borrowed"]) for t, r in rows.items()} == {
        "ml/production": (3.0, 4, +1), "web/development": (1.0, 1, 0),
        "ops/development": (1.0, 0, -1)}
