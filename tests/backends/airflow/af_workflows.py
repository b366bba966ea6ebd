"""Flytekit-style workflows the Airflow backend tests compile and run through Airflow."""

from __future__ import annotations

import os
from pathlib import Path

from flytepath_airflow import RecoverableError, Secret, task, workflow


@task
def double(a: int) -> int:
    """Twice a."""
    return a * 2


@task
def add(a: int, b: int) -> int:
    """The sum."""
    return a + b


@task
def explode(a: int) -> int:
    """Always fails with the task's own message."""
    raise ValueError(f"cannot handle {a}")


@task(retries=2)
def flaky(a: int) -> int:
    """Fails recoverably on its first attempt (a marker file remembers), then succeeds."""
    marker = Path(os.environ["FLYTEPATH_HOME"]) / "flaky-attempted"
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("1")
        raise RecoverableError("transient: try again")
    return a + 1


@workflow
def pipeline(x: int, scale: int = 3) -> int:
    """(2x) + scale, through two tasks."""
    return add(a=double(a=x), b=scale)


@workflow
def failing(x: int) -> int:
    """double, then a task that raises."""
    return explode(a=double(a=x))


@workflow
def retrying(x: int) -> int:
    """A task that succeeds on its second attempt."""
    return flaky(a=x)


@task(environment={"MODE": "fast"},
      secret_requests=[Secret(group="warehouse", key="password"),
                       Secret(group="tls", key="cert", mount="file")])
def report_env(names: list[str]) -> dict[str, str]:
    """The variables of `names` this task sees, and its file secret's text as `tls-cert`."""
    seen = {n: os.environ[n] for n in names if n in os.environ}
    folder = os.environ.get("FLYTEPATH_SECRETS_DIR")
    if folder:
        seen["tls-cert"] = (Path(folder) / "tls" / "cert").read_text()
    return seen


@workflow
def environment(names: list[str]) -> dict[str, str]:
    """What a task sees of the worker's environment."""
    return report_env(names=names)
