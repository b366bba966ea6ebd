"""FlytePath on a real Airflow deployment: CeleryExecutor (one `airflow celery worker`,
broker Redis), Postgres.

Each test goes the way a user does: `flytepath register`, the REST API v2, `flytepath
executions --json`. The scenarios are shared with the other executor (deployment_support).
"""

from __future__ import annotations

from typing import Any

import deployment_support as scenario
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.airflow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def deployment(celery_deployment: Any) -> Any:
    return celery_deployment


def test_registered_workflow_appears_as_a_dag(deployment: Any) -> None:
    scenario.check_registered_workflow_appears(deployment)


def test_run_triggered_through_the_api_succeeds_and_closes(deployment: Any) -> None:
    scenario.check_run_succeeds_and_closes(deployment, "celery")


def test_failing_run_closes_as_failed_with_the_users_error(deployment: Any) -> None:
    scenario.check_failing_run_closes_as_failed(deployment)


def test_twenty_runs_at_once_succeed_and_compute_the_cached_task_once(deployment: Any) -> None:
    scenario.check_concurrent_runs(deployment, "celery", count=20)
