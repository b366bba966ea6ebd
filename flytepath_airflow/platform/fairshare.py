"""Weighted fair share with borrowing: how many pool slots each tenant gets right now.

Static per-tenant pools waste what an idle tenant does not use; one shared pool lets a
tenant's backlog starve the others. The controller (`flytepath fairshare`, issue 14) sizes
the tenant pools every period from their demand instead, with this module's arithmetic:

1. **Targets.** Each tenant's weighted max-min fair share of the capacity C over what it
   asks for (`fair_targets`): water-filling with level λ, target_i = min(demand_i,
   max(minimum_i, λ·weight_i)), and the targets add up to min(C, total demand). A tenant
   that asks for less than its share gets all it asks for; what it leaves is lent to the
   tenants that want more, in proportion to their weights; a tenant's minimum guarantee
   is honoured first (when the minimums fit in C).
2. **Slots.** Each tenant's pool gets its target, and the capacity no tenant asks for is
   spread over the pools by weight as headroom, so demand that arrives between two
   periods can start at once; the pools add up to exactly C (`pool_slots`). Nothing is
   preempted: Airflow counts a pool's queued and running tasks against its slots, so a
   tenant whose pool shrank below what it runs admits nothing until it drains, and the
   executor, whose parallelism is C, hands each freed slot to the tasks the other
   tenants' pools have already admitted.

Everything here is integer slots and pure arithmetic: no Airflow, no clock, no I/O. The
simulation in benchmarks/fair_share.py and the controller share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["TenantDemand", "fair_targets", "jain_index", "pool_slots", "weighted_split"]


@dataclass(frozen=True)
class TenantDemand:
    """One tenant's state in a period: its weight and what it asks for.

    :param weight: its share weight (> 0); production tenants usually weigh more.
    :param demand: slots its queued, scheduled and running tasks ask for.
    :param minimum: slots it is guaranteed whenever it asks for them.
    """

    weight: float
    demand: int
    minimum: int = 0

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise ValueError(f"a tenant's weight must be positive, got {self.weight!r}")
        if self.demand < 0 or self.minimum < 0:
            raise ValueError("demand, running and minimum are slot counts (>= 0)")


def weighted_split(total: int, weights: Mapping[str, float],
                   caps: Mapping[str, int] | None = None) -> dict[str, int]:
    """Split `total` whole slots by weight, each at most its cap (largest remainder).

    Water-filling: a tenant whose cap is below its proportional part takes its cap and
    the rest is split again among the others, so slots go unused only when every cap is
    reached. Ties in remainders go to the larger weight, then to the name, so the
    result does not depend on dict order.
    """
    caps = dict(caps) if caps is not None else {name: total for name in weights}
    share = {name: 0 for name in weights}
    left = max(0, min(total, sum(caps.get(n, 0) for n in weights)))
    open_names = [n for n in weights if caps.get(n, 0) > 0 and weights[n] > 0]
    while left > 0 and open_names:
        weight_sum = sum(weights[n] for n in open_names)
        exact = {n: left * weights[n] / weight_sum for n in open_names}
        capped = [n for n in open_names if share[n] + exact[n] >= caps[n]]
        if capped:
            for name in capped:
                left -= caps[name] - share[name]
                share[name] = caps[name]
            open_names = [n for n in open_names if n not in capped]
            continue
        whole = {n: int(exact[n]) for n in open_names}
        for name, count in whole.items():
            share[name] += count
        left -= sum(whole.values())
        order = sorted(open_names, key=lambda n: (-(exact[n] - whole[n]), -weights[n], n))
        for name in order[:left]:
            share[name] += 1
        left = 0
    return share


def fair_targets(capacity: int, tenants: Mapping[str, TenantDemand]) -> dict[str, int]:
    """Each tenant's weighted max-min fair share of `capacity` over its demand.

    The level λ solves sum_i min(demand_i, max(minimum_i, λ·weight_i)) = min(C, total
    demand): a minimum counts toward a tenant's share rather than on top of it. When the
    minimums alone exceed the capacity, they are scaled down by weight.
    """
    if capacity < 0:
        raise ValueError("capacity is a slot count (>= 0)")
    weights = {n: t.weight for n, t in tenants.items()}
    floors = {n: min(t.minimum, t.demand) for n, t in tenants.items()}
    if sum(floors.values()) >= capacity:
        return weighted_split(capacity, weights, floors)
    total = min(capacity, sum(t.demand for t in tenants.values()))
    level = _water_level(total, tenants, floors)
    exact = {n: min(float(t.demand), max(float(floors[n]), level * t.weight))
             for n, t in tenants.items()}
    return _round(total, exact, weights, {n: t.demand for n, t in tenants.items()})


def _water_level(total: int, tenants: Mapping[str, TenantDemand],
                 floors: Mapping[str, int]) -> float:
    """The λ at which the tenants' shares add up to `total` (piecewise linear in λ)."""
    def filled(level: float) -> float:
        return sum(min(float(t.demand), max(float(floors[n]), level * t.weight))
                   for n, t in tenants.items())

    points = sorted({0.0} | {floors[n] / t.weight for n, t in tenants.items()}
                    | {t.demand / t.weight for t in tenants.values()})
    low = 0.0
    for high in points:
        if filled(high) >= total:
            # filled() is linear between two breakpoints: solve on [low, high].
            f_low, f_high = filled(low), filled(high)
            if f_high == f_low:
                return high
            return low + (high - low) * (total - f_low) / (f_high - f_low)
        low = high
    return low


def _round(total: int, exact: Mapping[str, float], weights: Mapping[str, float],
           caps: Mapping[str, int]) -> dict[str, int]:
    """Whole slots adding up to `total`, each the floor or ceiling of its exact share.

    The slots left after flooring go one at a time to the tenant with a fraction left
    that holds the least per unit of weight (then the larger weight, then the name).
    """
    share = {n: min(caps[n], int(exact[n] + 1e-9)) for n in exact}
    left = total - sum(share.values())
    while left > 0:
        room = [n for n in exact if share[n] < caps[n] and exact[n] - share[n] > 1e-9]
        if not room:
            room = [n for n in exact if share[n] < caps[n]]
        if not room:
            break
        name = min(room, key=lambda n: (share[n] / weights[n], -weights[n], n))
        share[name] += 1
        left -= 1
    return share


def pool_slots(capacity: int, tenants: Mapping[str, TenantDemand]) -> dict[str, int]:
    """The pool size of each tenant for the next period: its fair target plus its weighted
    part of the capacity nobody asks for. The sizes add up to `capacity`."""
    targets = fair_targets(capacity, tenants)
    idle = capacity - sum(targets.values())
    headroom = weighted_split(idle, {n: t.weight for n, t in tenants.items()})
    return {n: targets[n] + headroom[n] for n in tenants}


def jain_index(values: list[float]) -> float:
    """Jain's fairness index of allocations normalised by their fair share: 1 is fair."""
    if not values:
        return 1.0
    square_sum = sum(v * v for v in values)
    if square_sum == 0:
        return 1.0
    return sum(values) ** 2 / (len(values) * square_sum)
