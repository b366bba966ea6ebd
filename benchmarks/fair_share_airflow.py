"""Fair share on a real Airflow: one flat pool, static tenant pools, and `flytepath fairshare`.

    python benchmarks/fair_share_airflow.py [--scenario urgent|weights] [--period 2]
                                            [--duration 20]

The second layer of benchmarks/fair_share.py: the same policies on a real scheduler
(scripts/airflow_deployment.py: LocalExecutor on Postgres, parallelism C), scaled down to
sleep tasks of `--duration` seconds. Each tenant is a DAG of sleep tasks in its pool;
the policies differ only in the pools:

- flat:       every tenant's tasks in one pool of C slots;
- static:     one pool per tenant, C split by weight once;
- controller: the same pools, resized by `flytepath fairshare --period P` running beside
              the scheduler, as a platform team runs it.

The figures are computed from the task instances' real start and end times (read back
through the REST API) with the simulation's definitions, on a one-second grid: jain (over
the seconds two or more tenants wait), util, busy, regain (in task durations) and p95
wait. The simulation assumes a task starts the second it is admitted; here starting a
task costs the scheduler loop, the executor and a process, and that cost is part of
every figure, under every policy alike.

Needs Postgres on 127.0.0.1:5432 (FLYTEPATH_TEST_POSTGRES_URL) and takes some minutes:
each policy runs its scenario to the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flytepath_airflow.platform.fairshare import (  # noqa: E402 (after the path set-up)
    TenantDemand,
    fair_targets,
    jain_index,
    weighted_split,
)

POLICIES = ("flat", "static", "controller")
FLAT_POOL = "fsb_flat"


@dataclass(frozen=True)
class Scenario:
    """Tenants with weights, and when (seconds after the start) each submits its tasks."""

    name: str
    capacity: int
    weights: dict[str, float]
    submissions: dict[str, tuple[float, int]]  # tenant -> (second, tasks)
    arriving: str | None = None


SCENARIOS = {
    "urgent": Scenario("backlog vs urgent (airflow#45636)", 4, {"batch": 1, "urgent": 1},
                       {"batch": (0, 16), "urgent": (30, 4)}, arriving="urgent"),
    "weights": Scenario("weights 3:1:1", 5, {"prod": 3, "dev": 1, "research": 1},
                        {"prod": (0, 12), "dev": (0, 12), "research": (0, 12)}),
}


def _load_deployment_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "airflow_deployment", ROOT / "scripts" / "airflow_deployment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def api(deployment: Any, *args: Any, **kwargs: Any) -> Any:
    """`deployment.api` for idempotent calls, asked again (five tries) when the API server,
    sharing the machine with the scheduler and the tasks, times out."""
    import httpx

    for attempt in range(5):
        try:
            return deployment.api(*args, **kwargs)
        except httpx.TimeoutException:
            if attempt == 4:
                raise
    return None


def pool_of(policy: str, tenant: str) -> str:
    return FLAT_POOL if policy == "flat" else f"flytepath_{tenant}_development"


def dag_file(scenario: Scenario, duration: int) -> str:
    dags = {f"fsb_{policy}_{tenant}": (pool_of(policy, tenant), count)
            for policy in POLICIES for tenant, (_, count) in scenario.submissions.items()}
    return f'''
"""Sleep tasks per tenant and policy: benchmarks/fair_share_airflow.py."""
import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

for dag_id, (pool, count) in {dags!r}.items():
    with DAG(dag_id, schedule=None, catchup=False, max_active_tasks=64,
             start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        for i in range(count):
            BashOperator(task_id=f"sleep_{{i}}", bash_command="sleep {duration}", pool=pool)
    globals()[dag_id] = dag
'''


def _when(text: str | None) -> float | None:
    return datetime.fromisoformat(text).timestamp() if text else None


def run_policy(deployment: Any, poll: Any, scenario: Scenario, policy: str, period: float,
               env: dict[str, str], logs: Path) -> dict[str, list[tuple[float, float, float]]]:
    """Run the scenario under one policy; per tenant, (submitted, started, ended) per task."""
    static = weighted_split(scenario.capacity, scenario.weights)
    for tenant in scenario.weights:
        api(deployment, "PATCH", f"/pools/{pool_of('static', tenant)}?update_mask=slots",
                       {"pool": pool_of("static", tenant), "slots": static[tenant],
                        "include_deferred": False})
    controller = None
    if policy == "controller":
        controller = subprocess.Popen(
            [str(Path(sys.executable).with_name("flytepath")), "fairshare", "--period",
             str(period), "--timeout", "30"], env=env, stdout=subprocess.DEVNULL,
            stderr=open(logs / "controller.log", "a"))
    runs: dict[str, tuple[str, float]] = {}
    began = time.time()
    try:
        for tenant, (at, _) in sorted(scenario.submissions.items(), key=lambda s: s[1][0]):
            time.sleep(max(0.0, began + at - time.time()))
            dag_id = f"fsb_{policy}_{tenant}"
            run = deployment.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None})
            runs[tenant] = (run["dag_run_id"], time.time())
        for tenant, (run_id, _) in runs.items():
            for _ in poll(1800.0, 3.0):
                state = api(deployment, "GET", f"/dags/fsb_{policy}_{tenant}/dagRuns/{run_id}")
                if state["state"] in ("success", "failed"):
                    break
    finally:
        if controller is not None:
            controller.send_signal(signal.SIGINT)
            controller.wait(timeout=120)
    tasks: dict[str, list[tuple[float, float, float]]] = {}
    for tenant, (run_id, submitted) in runs.items():
        answer = api(deployment,
                     "GET", f"/dags/fsb_{policy}_{tenant}/dagRuns/{run_id}/taskInstances?limit=100")
        tasks[tenant] = [(submitted, _when(ti["start_date"]) or submitted,
                          _when(ti["end_date"]) or submitted)
                         for ti in answer["task_instances"]]
    return tasks


def figures(scenario: Scenario, tasks: dict[str, list[tuple[float, float, float]]],
            duration: int) -> dict[str, Any]:
    """The simulation's figures, from real (submitted, started, ended) times."""
    c, weights = scenario.capacity, scenario.weights
    t0 = min(s for spans in tasks.values() for s, _, _ in spans)
    end = max(e for spans in tasks.values() for _, _, e in spans)
    jains: list[float] = []
    used = usable = 0.0
    regain: float | None = None
    arrived = (min(s for s, _, _ in tasks[scenario.arriving])
               if scenario.arriving else None)
    second = t0
    while second < end:
        running = {t: sum(1 for _, b, e in tasks[t] if b <= second < e) for t in weights}
        waiting = {t: sum(1 for s, b, _ in tasks[t] if s <= second < b) for t in weights}
        demand = {t: TenantDemand(weights[t], running[t] + waiting[t]) for t in weights}
        used += sum(running.values())
        usable += min(c, sum(d.demand for d in demand.values()))
        fair = fair_targets(c, demand)
        if sum(1 for t in weights if waiting[t]) >= 2:
            jains.append(jain_index([running[t] / fair[t] for t in weights if fair[t] > 0]))
        if arrived is not None and regain is None and second >= arrived \
                and scenario.arriving is not None \
                and running[scenario.arriving] >= 0.95 * fair[scenario.arriving] > 0:
            regain = (second - arrived) / duration
        second += 1.0
    work = sum(e - b for spans in tasks.values() for _, b, e in spans)
    waits = {t: sorted(b - s for s, b, _ in spans) for t, spans in tasks.items()}
    return {
        "jain": statistics.fmean(jains) if jains else 1.0,
        "util": work / (c * (end - t0)),
        "busy": used / usable if usable else 1.0,
        "regain": regain,
        "p95_wait": {t: w[min(len(w) - 1, int(0.95 * len(w)))] for t, w in waits.items()},
        "makespan": end - t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="urgent")
    parser.add_argument("--period", type=float, default=2.0,
                        help="controller period, seconds")
    parser.add_argument("--duration", type=int, default=20, help="task duration, seconds")
    args = parser.parse_args()
    scenario = SCENARIOS[args.scenario]
    script = _load_deployment_script()
    with tempfile.TemporaryDirectory(prefix="fair-share-airflow-") as folder:
        run(scenario, args, script, Path(folder))


def run(scenario: Scenario, args: argparse.Namespace, script: ModuleType,
        workdir: Path) -> None:
    """Start a deployment in `workdir`, run every policy, print and record the figures."""
    weights = ", ".join(f"{t}/*={w:g}" for t, w in scenario.weights.items())
    settings = script.DeploymentSettings(
        workdir=workdir, executor="local", parallelism=scenario.capacity,
        postgres_url=os.environ.get("FLYTEPATH_TEST_POSTGRES_URL",
                                    "postgresql://postgres@127.0.0.1:5432/postgres"),
        extra_env={"AIRFLOW__API__EXPOSE_CONFIG": "True",
                   "AIRFLOW__FLYTEPATH__TENANT_WEIGHTS": weights})
    print(f"{scenario.name}: C={scenario.capacity}, sleep tasks of {args.duration} s, "
          f"controller period {args.period:g} s; real scheduler (LocalExecutor, Postgres)")
    results: dict[str, dict[str, Any]] = {}
    with script.AirflowDeployment(settings) as deployment:
        env = {**deployment.env(), "FLYTEPATH_AIRFLOW_USERNAME": "admin",
               "FLYTEPATH_AIRFLOW_PASSWORD": deployment.password}
        deployment.api("POST", "/pools", {"name": FLAT_POOL, "slots": scenario.capacity},
                       expect=(201,))
        for tenant in scenario.weights:
            deployment.api("POST", "/pools", {"name": pool_of("static", tenant), "slots": 1},
                           expect=(201,))
        (deployment.dags_dir / "fair_share_benchmark.py").write_text(
            dag_file(scenario, args.duration))
        wanted = {f"fsb_{p}_{t}" for p in POLICIES for t in scenario.weights}
        for _ in script._poll(300.0, 3.0):
            listed = api(deployment, "GET", "/dags?limit=100&dag_id_pattern=fsb_")
            if wanted <= {d["dag_id"] for d in listed["dags"]}:
                break
        for policy in POLICIES:
            tasks = run_policy(deployment, script._poll, scenario, policy, args.period, env,
                               workdir)
            results[policy] = figures(scenario, tasks, args.duration)
            r = results[policy]
            regain = f"{r['regain']:.2f}" if r["regain"] is not None else "-"
            waits = ", ".join(f"{t} {w:.0f}" for t, w in r["p95_wait"].items())
            print(f"  {policy:<11} jain {r['jain']:.3f}  util {r['util']:.3f}  busy "
                  f"{r['busy']:.3f}  regain {regain:>5}  makespan {r['makespan']:.0f} s  "
                  f"p95 wait (s): {waits}", flush=True)
    static, ctl = results["static"], results["controller"]
    print(f"controller / static: util {ctl['util'] / static['util']:.2f}x, "
          f"makespan {ctl['makespan'] / static['makespan']:.2f}x")
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / f"fair_share_airflow_{args.scenario}.json").write_text(
        json.dumps({"scenario": scenario.name, "period": args.period,
                    "duration": args.duration, "results": results}, indent=2))


if __name__ == "__main__":
    main()
