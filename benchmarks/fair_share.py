"""Fair share on one Airflow: one flat pool, static tenant pools, and FlytePath's controller.

    python benchmarks/fair_share.py [--capacity 32] [--period 10] [--duration 60]

A time-stepped simulation (one step per second) of T tenants sharing C task slots, with no
preemption: a task that starts runs its whole duration (the given duration, +-50%,
seeded). As in Airflow, pools admit tasks (queued and running tasks count against a
pool) and the executor, whose parallelism is C, starts admitted tasks in order. Policies:

- flat:       one pool of C slots, first come first served (Airflow's single shared pool
              with equal priority weights);
- static:     one pool per tenant, C split by weight once;
- controller: one pool per tenant, resized every `--period` seconds from the tenants'
              demand by platform/fairshare.py `pool_slots` (weighted max-min fair share,
              idle share lent, taken back as running tasks drain).

Scenarios: a big backlog against a small urgent tenant (the apache/airflow#45636 pattern),
burst + trickle + late burst, one tenant alone, and weights 3:1:1.

Figures, per scenario and policy:
- jain: Jain's fairness index of running slots divided by the weighted fair share
  (`fair_targets` over current demand), averaged over the seconds in which two or more
  tenants have tasks waiting (1.0 = every backlogged tenant holds exactly its share);
- util: work done / (C x makespan), as the issue defines it; it is bounded by the
  scenario (a trickle at the end leaves slots idle under every policy), so also
- busy: slot-seconds used / slot-seconds that demand could have used (min(C, demand)):
  1.0 means the policy never left a slot idle that some tenant wanted;
- alone: the most slots a tenant alone (asking for at least C) ever holds, as a fraction
  of C;
- regain: for a tenant that arrives while others are busy, seconds until it holds 95% of
  its fair share, in task durations;
- p95 wait: the 95th percentile of queue waits, per tenant, in seconds.
Targets (issue 14): jain >= 0.99, util >= 0.97, alone >= 0.95, regain <= 2 durations.

The simulation checks the arithmetic and the policy, not Airflow: the same policies on a
real scheduler, scaled down, are benchmarks/fair_share_airflow.py (docs/tenancy.md).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flytepath_airflow.platform.fairshare import (
    TenantDemand,
    fair_targets,
    jain_index,
    pool_slots,
    weighted_split,
)


@dataclass
class Scenario:
    """Tenants with weights, and when each submits how many tasks."""

    name: str
    weights: dict[str, float]
    submissions: list[tuple[int, str, int]]  # (second, tenant, tasks)
    arriving: str | None = None
    """A tenant that arrives while others are busy (its regain time is reported)."""


@dataclass
class Result:
    jain: float
    util: float
    busy: float
    alone: float
    regain: float | None
    p95_wait: dict[str, float]
    makespan: int


def scenarios(duration: int) -> list[Scenario]:
    return [
        Scenario("backlog vs urgent (airflow#45636)", {"batch": 1, "urgent": 1},
                 [(0, "batch", 2000), (5 * duration + 7, "urgent", 40)], arriving="urgent"),
        Scenario("burst, trickle, late burst", {"burst": 1, "trickle": 1, "late": 1},
                 [(0, "burst", 600), *((t, "trickle", 1) for t in range(0, 40 * duration, 20)),
                  (15 * duration + 13, "late", 300)], arriving="late"),
        Scenario("one tenant alone", {"solo": 1, "idle-a": 1, "idle-b": 1},
                 [(0, "solo", 800)]),
        Scenario("weights 3:1:1", {"prod": 3, "dev": 1, "research": 1},
                 [(0, "prod", 900), (0, "dev", 900), (0, "research", 900)]),
    ]


def simulate(scenario: Scenario, capacity: int, duration: int, period: int,
             policy: str, seed: int = 1) -> Result:
    """Run one scenario under one policy, one step per second, as Airflow would: pools
    admit tasks (queued and running count against a pool), then the executor, whose
    parallelism is the capacity, starts admitted tasks first come first served."""
    rng = random.Random(seed)
    weights = scenario.weights
    waiting: dict[str, deque[int]] = {t: deque() for t in weights}  # submit times
    admitted: deque[tuple[int, str, int]] = deque()  # (second, tenant, submitted)
    running: dict[str, list[int]] = {t: [] for t in weights}  # end times
    in_pool = {t: 0 for t in weights}  # admitted + running, what a pool counts
    pending = sorted(scenario.submissions)
    total_tasks = sum(n for _, _, n in pending)
    work = 0
    done = 0
    waits: dict[str, list[int]] = {t: [] for t in weights}
    slots = weighted_split(capacity, weights)
    jains: list[float] = []
    used = usable = 0
    alone = 0.0
    regain: float | None = None
    arrived_at: int | None = None
    second = 0
    while done < total_tasks:
        while pending and pending[0][0] <= second:
            _, tenant, count = pending.pop(0)
            waiting[tenant].extend([second] * count)
            if tenant == scenario.arriving and arrived_at is None:
                arrived_at = second
        for tenant in weights:
            finished = sum(1 for end in running[tenant] if end <= second)
            done += finished
            in_pool[tenant] -= finished
            running[tenant] = [end for end in running[tenant] if end > second]
        demand = {t: TenantDemand(weights[t], len(waiting[t]) + in_pool[t]) for t in weights}
        if policy == "controller" and second % period == 0:
            slots = pool_slots(capacity, demand)
        # Pools admit: one pool of C first come first served, or one pool per tenant.
        if policy == "flat":
            while sum(in_pool.values()) < capacity:
                heads = [(q[0], t) for t, q in waiting.items() if q]
                if not heads:
                    break
                submitted, tenant = min(heads)
                waiting[tenant].popleft()
                admitted.append((second, tenant, submitted))
                in_pool[tenant] += 1
        else:
            for tenant in sorted(weights):
                while waiting[tenant] and in_pool[tenant] < slots[tenant]:
                    admitted.append((second, tenant, waiting[tenant].popleft()))
                    in_pool[tenant] += 1
        # The executor starts admitted tasks while it has free slots.
        free = capacity - sum(len(r) for r in running.values())
        while free > 0 and admitted:
            _, tenant, submitted = admitted.popleft()
            length = max(1, round(duration * rng.uniform(0.5, 1.5)))
            running[tenant].append(second + length)
            work += length
            waits[tenant].append(second - submitted)
            free -= 1
        now = {t: len(running[t]) for t in weights}
        total_demand = sum(d.demand for d in demand.values())
        used += sum(now.values())
        usable += min(capacity, total_demand)
        backlogged = [t for t in weights if waiting[t] or demand[t].demand > now[t]]
        if len(backlogged) >= 2:
            fair = fair_targets(capacity, demand)
            jains.append(jain_index([now[t] / fair[t] for t in weights if fair[t] > 0]))
        busy = [t for t in weights if demand[t].demand > 0]
        if len(busy) == 1 and demand[busy[0]].demand >= capacity:
            alone = max(alone, now[busy[0]] / capacity)
        if arrived_at is not None and regain is None and scenario.arriving is not None:
            fair = fair_targets(capacity, demand)
            if now[scenario.arriving] >= 0.95 * fair[scenario.arriving]:
                regain = (second - arrived_at) / duration
        second += 1
    start = min(s for s, _, _ in scenario.submissions)
    makespan = second - 1 - start
    return Result(
        jain=statistics.fmean(jains) if jains else 1.0,
        util=work / (capacity * makespan) if makespan else 1.0,
        busy=used / usable if usable else 1.0,
        alone=alone,
        regain=regain,
        p95_wait={t: _p95(w) for t, w in waits.items() if w},
        makespan=makespan,
    )


def _p95(values: list[int]) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=32, help="task slots (C)")
    parser.add_argument("--period", type=int, default=10,
                        help="controller period, seconds")
    parser.add_argument("--duration", type=int, default=60, help="task duration, seconds")
    args = parser.parse_args()
    print(f"C={args.capacity} slots, tasks of {args.duration} s, controller period "
          f"{args.period} s; one step per second, no preemption")
    for scenario in scenarios(args.duration):
        print(f"\n{scenario.name} (weights "
              + ":".join(f"{w:g}" for w in scenario.weights.values()) + ")")
        print(f"  {'policy':<11} {'jain':>6} {'util':>6} {'busy':>6} {'alone':>6} "
              f"{'regain':>7}  p95 wait (s) per tenant")
        for policy in ("flat", "static", "controller"):
            r = simulate(scenario, args.capacity, args.duration, args.period, policy)
            regain = f"{r.regain:.2f}" if r.regain is not None else "-"
            alone = f"{r.alone:.2f}" if r.alone else "-"
            waits = ", ".join(f"{t} {w:.0f}" for t, w in r.p95_wait.items())
            print(f"  {policy:<11} {r.jain:6.3f} {r.util:6.3f} {r.busy:6.3f} {alone:>6} "
                  f"{regain:>7}  {waits}")
    first = scenarios(args.duration)[0]
    print(f"\ncontroller period, on '{first.name}':")
    print(f"  {'period (s)':>10} {'jain':>6} {'busy':>6} {'regain':>7}")
    for period in (1, 5, 10, 30, 60, 120):
        r = simulate(first, args.capacity, args.duration, period, "controller")
        regain = f"{r.regain:.2f}" if r.regain is not None else "-"
        print(f"  {period:>10} {r.jain:6.3f} {r.busy:6.3f} {regain:>7}")


if __name__ == "__main__":
    main()
