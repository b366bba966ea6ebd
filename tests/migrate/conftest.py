"""Fixtures for `flytepath convert` tests: an Airflow home of their own and the CLI.

Airflow reads AIRFLOW_HOME when it is first imported; pointing it at a temporary folder
keeps these tests from writing ~/airflow. The DAG files under fixtures/ are real DAG files
read by a real DagBag; the example corpus comes from the installed Airflow packages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class CliResult:
    """What a user sees: the exit code, stdout and stderr."""

    code: int
    out: str
    err: str


@pytest.fixture
def flytepath(capfd: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the `flytepath` CLI in-process like the console script does."""
    from flytepath_airflow.cli.main import main

    def run(*args: str) -> CliResult:
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capfd.readouterr()
        return CliResult(code, out, err)

    return run
