"""`flytepath render` takes what `run` and `compile` take and shows each task's cache."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def flytepath(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, env=dict(os.environ))


def _flow(folder: Path) -> None:
    (folder / "flow.py").write_text(textwrap.dedent("""
        from flytepath_airflow import task, workflow

        @task(cache=True, cache_version="2", cache_serialize=True)
        def load(n: int) -> int:
            return n

        @task(cache=True, cache_version="1", cache_ignore_input_vars=("verbose",))
        def fit(n: int, verbose: bool = False) -> int:
            return n * 2

        @task
        def report(n: int) -> str:
            return str(n)

        @workflow
        def wf(n: int = 2) -> str:
            return report(n=fit(n=load(n=n)))
    """))


def test_render_takes_a_python_file_and_shows_each_tasks_cache(tmp_path: Path) -> None:
    # The command, as README and the example's docstring write it.
    example = flytepath("render", "examples/ml_pipeline.py:training_pipeline")
    assert example.returncode == 0, example.stderr
    assert "DAG default.development.ml_pipeline.training_pipeline" in example.stdout
    assert "cache: on, version '1', serialize off" in example.stdout

    _flow(tmp_path)
    proc = flytepath("render", "flow.py:wf", "--project", "ml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    tasks = proc.stdout.split("  tasks:")[1].split("  edges:")[0]
    load, fit, report = re.split(r"\n    (?=\S)", tasks.rstrip("\n"))[1:]
    assert "flow.load" in load and "cache: on, version '2', serialize on" in load
    assert "flow.fit" in fit and "cache: on, version '1', serialize off, ignores verbose" \
        in fit
    assert "flow.report" in report and "cache: off" in report
    assert "pool=flytepath_ml_development" in proc.stdout


def test_render_takes_yaml_and_compiled_json_specs(tmp_path: Path) -> None:
    yaml_out = flytepath("render", "examples/shell_pipeline.yaml")
    assert yaml_out.returncode == 0, yaml_out.stderr
    assert "DAG examples.development.word_stats" in yaml_out.stdout
    assert "cache: on, version '1'" in yaml_out.stdout

    compiled = tmp_path / "word_stats.json"
    made = flytepath("compile", "examples/shell_pipeline.yaml", "-o", str(compiled))
    assert made.returncode == 0, made.stderr
    from_json = flytepath("render", str(compiled))
    assert from_json.returncode == 0, from_json.stderr
    assert from_json.stdout == yaml_out.stdout


def test_render_takes_a_launch_plan(tmp_path: Path) -> None:
    proc = flytepath("render", f"{FIXTURES}/control_flows.py:hourly_stamp")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("DAG default.development.hourly_stamp  (launch plan hourly_stamp")
    assert "schedule: cron '0 * * * *' (UTC), catchup off" in out
    assert "y: int (fixed by the launch plan: 100)" in out
    assert "x: int (default 1)" in out
    assert "(the run's scheduled time unless given)" in out.split("run_at: ")[1]


def test_render_of_an_unknown_target_is_a_user_error(tmp_path: Path) -> None:
    proc = flytepath("render", "examples/ml_pipeline.py:no_such_workflow")
    assert proc.returncode == 2
    assert "no workflow or task named 'no_such_workflow'" in proc.stderr
    assert "training_pipeline" in proc.stderr and "Traceback" not in proc.stderr
