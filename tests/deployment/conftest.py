"""Fixtures: one real Airflow deployment per test module (LocalExecutor or CeleryExecutor).

Module-scoped: starting Airflow's components costs tens of seconds, and the tests of one
module build on each other's state only through what they assert (each triggers its own runs).
The deployment is stopped, its process groups killed and its databases dropped when the
module ends, also when a test fails or the session is interrupted (the script's atexit hook).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from deployment_support import start_deployment


@pytest.fixture(scope="module")
def local_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Airflow with the LocalExecutor on Postgres, FlytePath installed, shared store."""
    yield from start_deployment("local", tmp_path_factory)


@pytest.fixture(scope="module")
def celery_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The same with the CeleryExecutor: one `airflow celery worker`, broker Redis."""
    yield from start_deployment("celery", tmp_path_factory)
