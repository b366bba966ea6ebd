"""Per-task overhead: a trivial FlytePath task (local runner) vs a plain Airflow @task.

Both run under `dag.test()` against a private SQLite DB, as a chain of K identical trivial
tasks; the per-task time is the median task-instance duration that Airflow records. The
FlytePath task also pays for a child process (`python -m flytepath_airflow.runtime.entrypoint`:
interpreter start, imports, loading the spec, preparing the run, reading and writing the
store); the script times that child on its own to show where the time goes.

    .venv/bin/python benchmarks/task_overhead.py [--tasks 5]

It sets AIRFLOW_HOME to a temporary folder before importing Airflow.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _airflow_home import private_home

_HOME = private_home("flytepath-task-overhead-")
WORK, DAGS, SPECS, STORE = _HOME.work, _HOME.dags, _HOME.specs, _HOME.store

TASK_MODULE = '''
def trivial(a: int) -> int:
    return a + 1
'''

PLAIN_DAG = '''
"""Plain Airflow DAG (airflow) used by the task-overhead benchmark."""
from airflow.sdk import dag, task

@dag(dag_id="plain_overhead", schedule=None, catchup=False)
def plain_overhead():
    @task
    def trivial(a: int) -> int:
        return a + 1
    value = 0
    for _ in range({k}):
        value = trivial(value)

plain_overhead()
'''

LOADER = '''"""FlytePath DAG file (airflow DAG loader) for the benchmark."""
from flytepath_airflow.backends.airflow.loader import load_dags
globals().update(load_dags())
'''


def flytepath_spec(k: int):  # type: ignore[no-untyped-def]
    from flytepath_airflow.ir.models import (
        InputRef,
        NodeSpec,
        OutputRef,
        SimpleType,
        TaskSpec,
        TenantSpec,
        TypedInterface,
        Variable,
        WorkflowSpec,
    )
    from flytepath_airflow.ir.spec_io import with_version

    integer = SimpleType(name="int")
    task = TaskSpec(name="trivial", fn="overhead_tasks:trivial", interface=TypedInterface(
        inputs=(Variable(name="a", type=integer),), outputs=(Variable(name="o0", type=integer),)))
    nodes = [NodeSpec(id="t0", task="trivial", inputs={"a": InputRef(name="x")})]
    for i in range(1, k):
        nodes.append(NodeSpec(id=f"t{i}", task="trivial",
                              inputs={"a": OutputRef(node=f"t{i - 1}", output="o0")}))
    return with_version(WorkflowSpec(
        schema_version=1, name="fp_overhead", tenant=TenantSpec(project="bench"),
        interface=TypedInterface(inputs=(Variable(name="x", type=integer),)),
        tasks={"trivial": task}, nodes=tuple(nodes),
        outputs={"o0": OutputRef(node=f"t{k - 1}", output="o0")},
    ))


def durations(dag_run) -> list[float]:  # type: ignore[no-untyped-def]
    return [ti.duration for ti in dag_run.get_task_instances() if ti.duration is not None]


def child_breakdown(spec_path: Path) -> dict[str, float]:
    """Time the child process alone: bare interpreter, entrypoint imports, a full node run."""
    def timed(cmd: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - start

    bare = statistics.median(timed([sys.executable, "-c", "pass"]) for _ in range(3))
    imports = statistics.median(timed([sys.executable, "-c", (
        "import flytepath_airflow.runtime.entrypoint, flytepath_airflow.runtime.executor, "
        "flytepath_airflow.types")]) for _ in range(3))
    runs = []
    for i in range(3):
        runs.append(timed([
            sys.executable, "-m", "flytepath_airflow.runtime.entrypoint", "--spec",
            str(spec_path), "--node", "t0", "--run-id", f"child-{i}", "--attempt", "1",
            "--root", str(STORE), "--prepare-inputs", json.dumps({"x": 1})]))
    return {"interpreter": bare, "imports": imports - bare,
            "node work": statistics.median(runs) - imports}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5)
    args = parser.parse_args()
    k = args.tasks

    from flytepath_airflow.ir.spec_io import dump_spec

    (WORK / "overhead_tasks.py").write_text(TASK_MODULE)
    spec_path = SPECS / "fp_overhead.json"
    spec_path.write_text(dump_spec(flytepath_spec(k)))
    (DAGS / "flytepath_dags.py").write_text(LOADER)
    (DAGS / "plain_overhead.py").write_text(PLAIN_DAG.format(k=k))

    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import initdb

    initdb()
    bag = DagBag(dag_folder=str(DAGS))
    assert not bag.import_errors, bag.import_errors
    plain = bag.dags["plain_overhead"]
    fp = bag.dags["bench.development.fp_overhead"]
    # A warm-up run of each keeps one-time costs (the in-process API server) out of the numbers.
    plain.test()
    fp.test(run_conf={"x": 0})
    plain_run = plain.test()
    fp_run = fp.test(run_conf={"x": 0})
    assert str(plain_run.state) == "success" and str(fp_run.state) == "success"
    t_plain = statistics.median(durations(plain_run))
    t_fp = statistics.median(durations(fp_run))
    parts = child_breakdown(spec_path)
    print(f"per task (median of {k}, under dag.test()):")
    print(f"  plain Airflow @task        {t_plain:7.3f} s")
    print(f"  FlytePath local runner     {t_fp:7.3f} s")
    print(f"  ratio                      {t_fp / t_plain:7.2f}x  (+{t_fp - t_plain:.3f} s/task)")
    print("where the FlytePath child's time goes (flytepath-execute on its own):")
    for name, seconds in parts.items():
        print(f"  {name:<26} {seconds:7.3f} s")


if __name__ == "__main__":
    main()
