"""examples/data_validation.py through `flytepath run --local`, as a user runs it: it passes,
a corrupt batch fails on pandera, and oversized totals fail on the GX suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = "examples/data_validation.py:validated_orders"


def flytepath(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ))


def report(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def error_message(proc: subprocess.CompletedProcess[str]) -> str:
    error = report(proc)["error"]
    assert isinstance(error, dict) and error["kind"] == "user", error
    return str(error["message"])


def test_example_passes_and_returns_the_gx_result() -> None:
    proc = flytepath("run", WORKFLOW, "--local", "--json")
    assert proc.returncode == 0, proc.stderr
    result = report(proc)["outputs"]["o0"]  # type: ignore[index]
    assert result["suite"] == "no_big_spenders"
    assert result["success"] is False  # reported, not fatal: the run succeeded
    assert result["statistics"]["unsuccessful"] == 1
    assert result["results"][0]["column"] == "total"


def test_example_with_a_corrupt_batch_fails_on_the_pandera_schema() -> None:
    proc = flytepath("run", WORKFLOW, "--local", "--json", "-i", "corrupt=true")
    assert proc.returncode != 0
    error = error_message(proc)
    assert "task 'data_validation.clean'" in error
    assert "does not pass pandera schema data_validation:Orders" in error
    assert "column 'amount', check greater_than_or_equal_to(0)" in error
    assert "row 3: -12.0" in error
    assert "Traceback" not in proc.stderr


def test_example_with_oversized_totals_fails_on_the_gx_suite() -> None:
    proc = flytepath("run", WORKFLOW, "--local", "--json", "-i", "scale=100")
    assert proc.returncode != 0
    error = error_message(proc)
    assert "task 'data_validation.summarise'" in error
    assert "does not pass Great Expectations suite 'customer_totals'" in error
    assert "expect_column_values_to_be_between on column 'total'" in error
