"""FlytePath on a real Airflow deployment: LocalExecutor, Postgres.

Each test goes the way a user does: `flytepath register`, the REST API v2, `flytepath
executions --json`. The scenarios are shared with the other executor (deployment_support).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import deployment_support as scenario
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.airflow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def deployment(local_deployment: Any) -> Any:
    return local_deployment


def test_registered_workflow_appears_as_a_dag(deployment: Any) -> None:
    scenario.check_registered_workflow_appears(deployment)


def test_run_triggered_through_the_api_succeeds_and_closes(deployment: Any) -> None:
    scenario.check_run_succeeds_and_closes(deployment, "local")


def test_failing_run_closes_as_failed_with_the_users_error(deployment: Any) -> None:
    scenario.check_failing_run_closes_as_failed(deployment)


def test_twenty_runs_at_once_succeed_and_compute_the_cached_task_once(deployment: Any) -> None:
    scenario.check_concurrent_runs(deployment, "local", count=20)


def test_a_killed_task_process_resumes_from_its_checkpoint(deployment: Any,
                                                          tmp_path: Path) -> None:
    # Issue 15: the task's process is SIGKILLed mid-task (as the OOM killer or a lost
    # worker does); Airflow's retry starts a new attempt that resumes from the newest
    # checkpoint, so the work done before the kill is not done again.
    flow = Path(scenario.HERE) / "checkpoint_flow.py"
    result = scenario.flytepath(deployment, "register", str(flow), "--project",
                                scenario.PROJECT)
    assert result.returncode == 0, result.stderr
    dag_id = f"{scenario.PROJECT}.development.checkpoint_flow.long_job"
    for _ in scenario.airflow_deployment._poll(scenario.DAG_APPEARS_WITHIN, 1.0):
        deployment.check_alive()
        if deployment.api("GET", f"/dags/{dag_id}", expect=(200, 404)).get("dag_id"):
            break
    work_log = tmp_path / "work.log"
    run = deployment.api("POST", f"/dags/{dag_id}/dagRuns", {
        "logical_date": None,
        "conf": {"steps": 40, "pause": 0.25, "work_log": str(work_log)}})

    killed_at = None
    for _ in scenario.airflow_deployment._poll(scenario.RUN_ENDS_WITHIN, 0.2):
        lines = work_log.read_text().splitlines() if work_log.exists() else []
        if len(lines) >= 12:
            step, _attempt, pid = lines[-1].split()
            killed_at = int(step)
            os.kill(int(pid), signal.SIGKILL)
            break
    assert killed_at is not None, "the task never got to step 12"

    state = None
    for _ in scenario.airflow_deployment._poll(scenario.RUN_ENDS_WITHIN, 2.0):
        deployment.check_alive()
        state = deployment.api("GET", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}")["state"]
        if state in ("success", "failed"):
            break
    assert state == "success"
    done = [line.split() for line in work_log.read_text().splitlines()]
    steps = [int(step) for step, _, _ in done]
    attempts = {int(attempt) for _, attempt, _ in done}
    assert len(attempts) >= 2, done  # the kill cost an attempt, and a retry finished
    assert sorted(set(steps)) == list(range(40))
    # At most the step the kill interrupted is done twice: the rest resumed.
    assert len(steps) - 40 <= 1, steps
    first_of_retry = next(int(s) for s, a, _ in done if int(a) == max(attempts))
    assert first_of_retry >= killed_at, (first_of_retry, killed_at)
