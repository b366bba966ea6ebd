"""Map scale: a FlytePath map node of N trivial elements vs N plain Airflow mapped @tasks.

Both DAGs run under `dag.test()` in this process against a private SQLite DB, with
`[core] max_map_length` raised above N (ADR 0013). Each does the same work: one task
produces `list(range(N))` and a mapped task adds one to each element. The FlytePath DAG
also has the map node's `fanout` and `collect` tasks, validates and stores every element's
input and output in the blob store, and records events in the metadata store.

The figure is the wall time of `dag.test()` (expansion included) for each DAG, and the
ratio FlytePath / plain. A small warm-up run of each comes first, so one-time costs (the
in-process API server, imports) stay out of the numbers.

    .venv/bin/python benchmarks/map_scale.py [--elements 5000] [--repeat 1]

It sets AIRFLOW_HOME to a temporary folder before importing Airflow.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _airflow_home import private_home

_HOME = private_home("flytepath-map-scale-", {"AIRFLOW__CORE__MAX_MAP_LENGTH": "100000"})
WORK, DAGS, SPECS, STORE = _HOME.work, _HOME.dags, _HOME.specs, _HOME.store

TASK_MODULE = '''
def count(n: int) -> list[int]:
    return list(range(n))


def inc(x: int) -> int:
    return x + 1
'''

PLAIN_DAG = '''
"""Plain Airflow DAG (airflow) with a mapped task, for the map-scale benchmark."""
from airflow.sdk import Param, dag, task

@dag(dag_id="plain_map", schedule=None, catchup=False, params={"n": Param(10, type="integer")})
def plain_map():
    @task
    def count(params=None) -> list[int]:
        return list(range(params["n"]))

    @task
    def inc(x: int) -> int:
        return x + 1

    inc.expand(x=count())

plain_map()
'''

LOADER = '''"""FlytePath DAG file (airflow DAG loader) for the benchmark."""
from flytepath_airflow.backends.airflow.loader import load_dags
globals().update(load_dags())
'''


def flytepath_spec():  # type: ignore[no-untyped-def]
    from flytepath_airflow.ir.models import (
        InputRef,
        ListType,
        MapSpec,
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
    ints = ListType(item=integer)
    count = TaskSpec(name="count", fn="map_scale_tasks:count", interface=TypedInterface(
        inputs=(Variable(name="n", type=integer),), outputs=(Variable(name="o0", type=ints),)))
    inc = TaskSpec(name="inc", fn="map_scale_tasks:inc", interface=TypedInterface(
        inputs=(Variable(name="x", type=integer),), outputs=(Variable(name="o0", type=integer),)))
    nodes = (
        NodeSpec(id="count", task="count", inputs={"n": InputRef(name="n")}),
        NodeSpec(id="inc", kind="map", task="inc", map=MapSpec(mapped=("x",)),
                 inputs={"x": OutputRef(node="count", output="o0")}),
    )
    return with_version(WorkflowSpec(
        schema_version=1, name="fp_map", tenant=TenantSpec(project="bench"),
        interface=TypedInterface(inputs=(Variable(name="n", type=integer),),
                                 outputs=(Variable(name="o0", type=ints),)),
        tasks={"count": count, "inc": inc}, nodes=nodes,
        outputs={"o0": OutputRef(node="inc", output="o0")},
    ))


def timed_run(dag, n: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    dag_run = dag.test(run_conf={"n": n})
    elapsed = time.perf_counter() - start
    if str(dag_run.state) != "success":
        raise SystemExit(f"{dag.dag_id} run failed: {dag_run.state}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    from flytepath_airflow.ir.spec_io import dump_spec

    (WORK / "map_scale_tasks.py").write_text(TASK_MODULE)
    (SPECS / "fp_map.json").write_text(dump_spec(flytepath_spec()))
    (DAGS / "flytepath_dags.py").write_text(LOADER)
    (DAGS / "plain_map.py").write_text(PLAIN_DAG)

    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import initdb

    initdb()
    bag = DagBag(dag_folder=str(DAGS))
    assert not bag.import_errors, bag.import_errors
    plain = bag.dags["plain_map"]
    fp = bag.dags["bench.development.fp_map"]
    timed_run(plain, 3)
    timed_run(fp, 3)
    t_plain, t_fp = [], []
    for _ in range(args.repeat):
        t_plain.append(timed_run(plain, args.elements))
        t_fp.append(timed_run(fp, args.elements))
    plain_s, fp_s = statistics.median(t_plain), statistics.median(t_fp)
    n = args.elements
    print(f"map of {n} trivial elements under dag.test(), median of {args.repeat}:")
    print(f"  plain Airflow mapped @task   {plain_s:8.1f} s  ({plain_s / n * 1000:.1f} ms/element)")
    print(f"  FlytePath map node           {fp_s:8.1f} s  ({fp_s / n * 1000:.1f} ms/element)")
    print(f"  ratio                        {fp_s / plain_s:8.2f}x  (target <= 1.3)")


if __name__ == "__main__":
    main()
