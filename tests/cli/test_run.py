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
    outputs: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])["outputs"]
    return outputs


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


RAISE_LINE = next(number for number, line in
                  enumerate(Path(FLOWS).read_text().splitlines(), start=1)
                  if 'raise ValueError(f"n must be even' in line)
USER_FRAME = f'File "{FLOWS}", line {RAISE_LINE}, in fails'


def test_failing_task_exits_1_with_its_own_message_and_node() -> None:
    proc = flytepath("run", f"{FLOWS}:failing", "-i", "n=2", "--local")
    assert proc.returncode == 1
    assert "node 'fails'" in proc.stderr
    assert "n must be even, got 3" in proc.stderr


def test_failing_task_shows_the_users_traceback_once_and_where_the_record_is() -> None:
    proc = flytepath("run", f"{FLOWS}:failing", "-i", "n=2", "--local")
    assert proc.returncode == 1
    assert proc.stderr.count("Traceback (most recent call last)") == 1, proc.stderr
    assert USER_FRAME in proc.stderr
    assert "flytepath_airflow/" not in proc.stderr  # the user's frames, not ours
    record = proc.stderr.split("the full record of attempt 1 (with FlytePath's own frames) "
                               "is ")[1].split()[0]
    assert record.endswith("/nodes/fails/attempt-1/error.json")
    assert "flytepath_airflow" in json.loads(Path(record.removeprefix("file://"))
                                             .read_text())["traceback"]


def test_a_registered_version_run_in_child_processes_shows_the_traceback_once(
        tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent("""
        from flytepath_airflow import task, workflow

        @task
        def check(n: int) -> int:
            raise RuntimeError(f"bad value {n}")

        @workflow
        def wf(n: int = 1) -> int:
            return check(n=n)
    """))
    assert flytepath("register", "flow.py", cwd=tmp_path).returncode == 0
    proc = flytepath("run", "flow.wf", "--local", cwd=tmp_path)  # its code bundle
    assert proc.returncode == 1
    assert proc.stderr.count("Traceback (most recent call last)") == 1, proc.stderr
    assert 'flow.py", line 6, in check' in proc.stderr
    assert proc.stderr.count("the full record of") == 1, proc.stderr


def test_run_json_is_one_object_with_the_run_id_status_version_and_duration(
        tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    assert flytepath("compile", f"{FLOWS}:arithmetic", "-o", str(spec)).returncode == 0
    proc = flytepath("run", f"{FLOWS}:arithmetic", "-i", "x=4", "--local", "--json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)  # the whole of stdout: one object
    duration = document.pop("duration_seconds")
    assert isinstance(duration, float) and duration >= 0
    run_id = document.pop("run_id")
    assert f"run {run_id} succeeded" in proc.stderr
    assert document == {
        "status": "succeeded", "workflow": json.loads(spec.read_text())["name"],
        "version": json.loads(spec.read_text())["version"], "project": "default",
        "domain": "development", "launch_plan": None, "backend": "local",
        "outputs": {"o0": 7.0}, "error": None, "recovered_from": None,
    }


def test_run_json_of_a_failed_run_is_an_error_object_on_stdout() -> None:
    proc = flytepath("run", f"{FLOWS}:failing", "-i", "n=2", "--local", "--json")
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    assert document["status"] == "failed" and document["outputs"] is None
    error = document["error"]
    assert (error["node"], error["kind"], error["message"], error["attempt"]) == (
        "fails", "user", "ValueError: n must be even, got 3", 1)
    assert USER_FRAME in error["traceback"]
    assert error["record"].endswith("/nodes/fails/attempt-1/error.json")
    assert f"run {document['run_id']} failed at node 'fails'" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", f"{FLOWS}:arithmetic", "--local"], "needs input 'x'"),
        (["run", f"{FLOWS}:arithmetic", "-i", "x=four", "--local"], "input 'x'"),
        (["run", f"{FLOWS}:arithmetic", "-i", "z=1", "--local"], "has no input 'z'"),
        (["run", f"{FLOWS}:outputs_by_name", "-i", "valeus=[1]", "--local"],
         "has no input 'valeus'. Did you mean 'values'?"),
        (["run", f"{FLOWS}:arithmetic", "-i", "x=1", "-i", "y=2", "-i", "x=3", "--local"],
         "input 'x' is given twice (-i x=1 and -i x=3)"),
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
