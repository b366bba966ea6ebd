"""Conversion time: `flytepath convert` on Airflow's example DAGs and on one 2,000-task DAG.

For each folder (Airflow's own example_dags, the standard provider's example_dags, and a
generated DAG file of 2,000 tasks: TaskFlow typed tasks, BashOperators and EmptyOperators
in groups of ten) this times, best of --repeats:

- convert: `convert_folder` (DagBag import in a child per file, conversion, writing the
  specs, task modules and report), and with --check the round trip as well;
- baseline: Airflow itself importing the same folder with one DagBag in one process.

It prints seconds per DAG, seconds per 1,000 tasks and the ratio convert / baseline.

    .venv/bin/python benchmarks/convert.py [--repeats 3] [--tasks 2000] [--check]
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="flytepath-bench-"))
# Two examples need Airflow's example plugins (a timetable and a weight strategy).
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "True")

from flytepath_airflow.migrate.convert import ConvertOptions, convert_folder


def generated_dag(folder: Path, tasks: int) -> Path:
    """A DAG file of `tasks` tasks: groups of ten (4 typed TaskFlow, 3 Bash, 3 Empty)."""
    lines = [
        '"""A generated DAG for benchmarks/convert.py."""',
        "from airflow.providers.standard.operators.bash import BashOperator",
        "from airflow.providers.standard.operators.empty import EmptyOperator",
        "from airflow.sdk import DAG, TaskGroup, task",
        "",
        "@task",
        "def step(value: int) -> int:",
        "    return value + 1",
        "",
        f'with DAG("generated_{tasks}", schedule="@daily", catchup=False) as dag:',
        "    previous = None",
        f"    for g in range({tasks // 10}):",
        '        with TaskGroup(f"g{g}"):',
        '            start = EmptyOperator(task_id="start")',
        "            value = step.override(task_id='s0')(g)",
        "            for i in range(1, 4):",
        "                value = step.override(task_id=f's{i}')(value)",
        "            shells = [BashOperator(task_id=f'b{i}', bash_command=f'echo {i}')",
        "                      for i in range(3)]",
        '            mid = EmptyOperator(task_id="mid")',
        '            end = EmptyOperator(task_id="end")',
        "            start >> value.operator",
        "            value >> shells >> mid >> end",
        "        if previous is not None:",
        "            previous >> start",
        "        previous = end",
    ]
    path = folder / "generated_dag.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def baseline(folder: Path) -> float:
    """Seconds for Airflow to import the folder with one DagBag, in this process."""
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        DagBag(dag_folder=str(folder), safe_mode=True)
    return time.perf_counter() - started


def measure(name: str, folder: Path, repeats: int, check: bool) -> None:
    best = None
    summary: dict[str, object] = {}
    for _ in range(repeats):
        out = Path(tempfile.mkdtemp(prefix="flytepath-bench-out-"))
        run = convert_folder(ConvertOptions(source=folder, output=out / "specs", check=check))
        seconds = run.seconds + run.check_seconds
        best = seconds if best is None else min(best, seconds)
        summary = run.summary
        shutil.rmtree(out)
    base = min(baseline(folder) for _ in range(repeats))
    assert best is not None
    dags = int(summary["dags"]) or 1  # type: ignore[call-overload]
    tasks = int(summary["tasks"]) or 1  # type: ignore[call-overload]
    line = (f"{name:<28} {dags:>4} DAGs {tasks:>5} tasks  convert{' + check' if check else ''} "
            f"{best:6.2f} s  ({best / dags:.3f} s/DAG, {1000 * best / tasks:.2f} s per 1,000 "
            f"tasks)  Airflow DagBag {base:5.2f} s  ratio {best / base:4.1f}")
    if check:
        line += f"  round trip {summary.get('round_trip_percent')}%"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--check", action="store_true", help="time --check as well")
    args = parser.parse_args()
    for module in ("airflow.example_dags", "airflow.providers.standard.example_dags"):
        folder = Path(importlib.import_module(module).__file__ or "").parent
        measure(module, folder, args.repeats, args.check)
    with tempfile.TemporaryDirectory(prefix="flytepath-bench-dag-") as tmp:
        generated_dag(Path(tmp), args.tasks)
        measure(f"generated {args.tasks}-task DAG", Path(tmp), args.repeats, args.check)


if __name__ == "__main__":
    main()
