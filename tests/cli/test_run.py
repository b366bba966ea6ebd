"""`flytepath run` and `flytepath compile` as a user runs them: exit codes and outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def flytepath(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, env=dict(os.environ))


def outputs_of(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


FLOWS = f"{FIXTURES}/typed_flows.py"


@pytest.mark.parametrize(
    ("workflow", "inputs", "expected"),
    [
        ("arithmetic", ["x=4"], {"o0": 7.0}),
        ("arithmetic", ["x=4", "y=0"], {"o0": 2.0}),
        ("outputs_by_name", ["values=[1,2,3,6]"], {"total": 12, "mean": 3.0}),
        ("tuples", ["n=5"], {"o0": 10, "o1": "n=5"}),
        ("structured", ['p={"x": 1, "y": 2, "tags": ["a"]}', "color=blue"],
         {"o0": {"x": 2.5, "y": 2.0, "tags": ["a", "blue"]}}),
        ("frames", ["n=5"], {"o0": {"count": 5, "mean": 2.0, "label": None}}),
        ("frames", ["n=3", "label=small"], {"o0": {"count": 3, "mean": 1.0, "label": "small"}}),
        ("times", ["when=2026-01-02T03:04:05+00:00", "span=90"],
         {"o0": "2026-01-02T03:04:05+00:00 +90s keys=['a', 'b']"}),
    ],
)
def test_run_local_json_gives_the_right_outputs(
    workflow: str, inputs: list[str], expected: dict[str, object]
) -> None:
    args = [arg for value in inputs for arg in ("-i", value)]
    assert outputs_of(flytepath("run", f"{FLOWS}:{workflow}", *args, "--local", "--json")) \
        == expected


def test_run_a_single_task_as_a_workflow() -> None:
    assert outputs_of(flytepath("run", f"{FLOWS}:add", "-i", "a=2", "--local", "--json")) \
        == {"o0": 3}


def test_failing_task_exits_1_with_its_own_message_and_node() -> None:
    proc = flytepath("run", f"{FLOWS}:failing", "-i", "n=2", "--local")
    assert proc.returncode == 1
    assert "node 'fails'" in proc.stderr
    assert "n must be even, got 3" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", f"{FLOWS}:arithmetic", "--local"], "needs input 'x'"),
        (["run", f"{FLOWS}:arithmetic", "-i", "x=four", "--local"], "input 'x'"),
        (["run", f"{FLOWS}:arithmetic", "-i", "z=1", "--local"], "has no input 'z'"),
        (["run", f"{FLOWS}:nothing_here", "--local"], "has no workflow or task named"),
        (["run", "missing_file.py:wf", "--local"], "does not exist"),
        (["run", f"{FLOWS}:structured", "-i", 'p={"x": 1}', "--local"], "y"),
        (["compile", "not-a-target"], "cannot tell what"),
    ],
)
def test_user_errors_exit_2_with_one_message(args: list[str], message: str) -> None:
    proc = flytepath(*args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_relative_file_resolves_against_cwd_and_its_folder_is_importable(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def double(n: int) -> int:\n    return 2 * n\n")
    (tmp_path / "flow.py").write_text(textwrap.dedent("""
        from flytepath_airflow import task, workflow
        from helpers import double

        @task
        def twice(n: int) -> int:
            return double(n)

        @workflow
        def wf(n: int = 21) -> int:
            return twice(n=n)
    """))
    assert outputs_of(flytepath("run", "flow.py:wf", "--local", "--json", cwd=tmp_path)) \
        == {"o0": 42}


def test_compile_of_a_mistyped_workflow_exits_2_before_running(tmp_path: Path) -> None:
    (tmp_path / "typo.py").write_text(textwrap.dedent("""
        from flytepath_airflow import task, workflow

        @task
        def name() -> str:
            return "x"

        @task
        def square(n: int) -> int:
            raise AssertionError("must not run")

        @workflow
        def wf() -> int:
            return square(n=name())
    """))
    proc = flytepath("run", "typo.py:wf", "--local", cwd=tmp_path)
    assert proc.returncode == 2
    assert "expects int but 'name.o0' produces str" in proc.stderr
    assert "typo.py:14" in proc.stderr
