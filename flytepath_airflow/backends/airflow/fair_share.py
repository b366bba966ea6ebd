"""The fair-share controller: every period, resize the tenant pools of a running Airflow.

One period (ADR 0038, docs/tenancy.md):

1. read every pool from Airflow's REST API (`rest.AirflowRestClient.pools`);
2. keep the *tenant pools*: those `[flytepath] tenant_pools` lists, and those whose name
   `pool_template` gives a tenant (`find_tenant_pools`); no other pool is ever touched;
3. each tenant pool's demand is its running + queued + scheduled slots (+ deferred when
   the pool counts deferred tasks), its weight and minimum come from `tenant_weights`;
4. `platform.fairshare.pool_slots` gives each pool its size for the next period; the
   sizes add up to the capacity C (`plan_period`, pure: it takes the API's answer as data);
5. only pools whose size changes are patched, shrinking ones first, so the pools never add
   up to more than C while a period is applied (`apply_plan`).

`run_controller` repeats this every `period` seconds. A failed period (the API server
restarting, a timeout) is logged in one line and the next period tries again; only a
refusal of the credentials, which no retry fixes, stops it.

Imports no Airflow: the controller talks to the API server only.
"""

from __future__ import annotations

import logging
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from flytepath_airflow.backends.airflow.rest import (
    AirflowApiError,
    AirflowRestClient,
)
from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.platform.fairshare import (
    TenantDemand,
    fair_targets,
    pool_slots,
    weighted_split,
)
from flytepath_airflow.platform.settings import AirflowBackendSettings

logger = logging.getLogger("flytepath.fairshare")

_TENANT_PART = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
"""A project or domain as ir/names.py allows it (a DNS label)."""


@dataclass(frozen=True)
class TenantPool:
    """An Airflow pool that belongs to a tenant, and the tenant's part in fair share.

    :param pool: the Airflow pool's name.
    :param tenant: "project/domain" (or "project/*" for a pool listed for every domain).
    :param weight: its weight in fair share.
    :param minimum: slots it gets first whenever it asks for them.
    """

    pool: str
    tenant: str
    weight: float
    minimum: int


@dataclass(frozen=True)
class PoolPlan:
    """One tenant pool in one period: what it asks for, what it gets.

    :param pool: the Airflow pool.
    :param tenant: its tenant ("project/domain").
    :param weight: its weight.
    :param minimum: its guaranteed slots.
    :param demand: running + queued + scheduled (+ deferred) slots.
    :param running: slots its running tasks hold.
    :param queued: slots of its queued and scheduled tasks (waiting for a slot).
    :param target: its weighted max-min fair share of C over demand.
    :param static_share: what a static weighted split of C would give it.
    :param slots: its size in Airflow now.
    :param new_slots: its size for the next period (target plus headroom).
    :param include_deferred: whether the pool counts deferred tasks (kept as it is).
    """

    pool: str
    tenant: str
    weight: float
    minimum: int
    demand: int
    running: int
    queued: int
    target: int
    static_share: int
    slots: int
    new_slots: int
    include_deferred: bool = False

    @property
    def changed(self) -> bool:
        """Whether the pool's size changes this period."""
        return self.new_slots != self.slots

    @property
    def borrowed(self) -> int:
        """The pool's size now over (+, borrowed) or under (-, lent) the static weighted
        split of C: what fair share moved between this tenant and the others."""
        return self.slots - self.static_share

    def as_json(self) -> dict[str, Any]:
        """The plan as a JSON object (for `--json`)."""
        return {**asdict(self), "borrowed": self.borrowed}


def template_pattern(template: str) -> re.Pattern[str] | None:
    """A pattern matching the pool names `pool_template` gives tenants (None: no template).

    The template's {project} and {domain} become groups matching tenant names, so
    `flytepath_{project}_{domain}` matches `flytepath_ml_production` and nothing that
    another template field or a non-tenant name would make.

    :raises FlytePathUserError: the template names a field other than project and domain.
    """
    if not template:
        return None
    parts: list[str] = []
    seen: set[str] = set()
    for literal, name, spec, conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name not in ("project", "domain") or spec or conversion:
            raise FlytePathUserError(
                f"[flytepath] pool_template {template!r} uses {{{name}}}; it may use only "
                "{project} and {domain}. Fix pool_template in airflow.cfg.")
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>{_TENANT_PART})")
        seen.add(name)
    return re.compile("".join(parts) + r"\Z")


def find_tenant_pools(settings: AirflowBackendSettings,
                      pool_names: Iterable[str]) -> dict[str, TenantPool]:
    """Which of Airflow's pools are tenant pools, with their weights.

    A pool listed in `tenant_pools` belongs to the tenants listed with it (several
    tenants may share one pool: it gets the largest of their weights and minimums). A
    pool whose name the template gives a tenant belongs to that tenant, unless the
    tenant is listed with another pool (then the name is a leftover, not its pool).

    :param settings: the platform's settings.
    :param pool_names: the names of Airflow's pools.
    """
    listed: dict[str, list[str]] = {}
    for key, pool in settings.tenant_pools.items():
        listed.setdefault(pool.pool, []).append(key)
    pattern = template_pattern(settings.pool_template)
    found: dict[str, TenantPool] = {}
    for name in pool_names:
        keys = listed.get(name)
        if keys is None and pattern is not None and (match := pattern.match(name)):
            project, domain = match.group("project"), match.group("domain")
            if settings.pool_for(project, domain).pool == name:
                keys = [f"{project}/{domain}"]
        if not keys:
            continue
        weights = [settings.weight_for(*key.split("/", 1)) for key in keys]
        found[name] = TenantPool(
            pool=name, tenant=", ".join(keys),
            weight=max(w.weight for w in weights), minimum=max(w.minimum for w in weights))
    return found


def _slots(pool: Mapping[str, Any], key: str) -> int:
    value = pool.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AirflowApiError(f"pool {pool.get('name')!r} has {key} {value!r} in Airflow's "
                              "answer; expected a slot count.")
    return value


def plan_period(settings: AirflowBackendSettings, capacity: int,
                pools: Iterable[Mapping[str, Any]]) -> list[PoolPlan]:
    """Each tenant pool's size for the next period, from `GET /api/v2/pools`'s pools.

    :param settings: the platform's settings (which pools are tenants', their weights).
    :param capacity: C, the slots the tenant pools share.
    :param pools: the `pools` of the API's answer (every pool; others are left out).
    """
    by_name = {str(p.get("name")): p for p in pools if isinstance(p.get("name"), str)}
    tenants = find_tenant_pools(settings, sorted(by_name))
    demands: dict[str, TenantDemand] = {}
    readings: dict[str, tuple[int, int, int]] = {}
    for name, tenant in tenants.items():
        pool = by_name[name]
        running, queued, scheduled = (_slots(pool, k) for k in
                                      ("running_slots", "queued_slots", "scheduled_slots"))
        deferred = _slots(pool, "deferred_slots") if pool.get("include_deferred") else 0
        slots = pool.get("slots")
        if isinstance(slots, bool) or not isinstance(slots, int):
            raise AirflowApiError(f"pool {name!r} has slots {slots!r} in Airflow's answer.")
        demand = running + queued + scheduled + deferred
        demands[name] = TenantDemand(weight=tenant.weight, demand=demand,
                                     minimum=tenant.minimum)
        readings[name] = (running + deferred, queued + scheduled, slots)
    sizes = pool_slots(capacity, demands)
    targets = fair_targets(capacity, demands)
    static = weighted_split(capacity, {n: t.weight for n, t in demands.items()})
    return [
        PoolPlan(pool=name, tenant=tenants[name].tenant, weight=tenants[name].weight,
                 minimum=tenants[name].minimum, demand=demands[name].demand,
                 running=readings[name][0], queued=readings[name][1], target=targets[name],
                 static_share=static[name], slots=readings[name][2], new_slots=sizes[name],
                 include_deferred=bool(by_name[name].get("include_deferred")))
        for name in sorted(tenants)
    ]


def apply_plan(client: AirflowRestClient, plans: Iterable[PoolPlan]) -> list[PoolPlan]:
    """Patch the pools whose size changes, shrinking ones first; returns those patched."""
    changed = sorted((p for p in plans if p.changed), key=lambda p: p.new_slots - p.slots)
    for plan in changed:
        client.set_pool_slots(plan.pool, plan.new_slots, plan.include_deferred)
    return changed


def resolve_capacity(client: AirflowRestClient, settings: AirflowBackendSettings,
                     explicit: int | None) -> int:
    """C: `--capacity`, else `[flytepath] fair_share_capacity`, else `[core] parallelism`.

    :raises FlytePathUserError: none of them is known (parallelism 0 means unlimited, and
        a capacity must be a number of slots).
    """
    if explicit is not None:
        return explicit
    if settings.fair_share_capacity is not None:
        return settings.fair_share_capacity
    value = client.config_value("core", "parallelism")
    try:
        parallelism = int(value) if value is not None else 0
    except ValueError:
        parallelism = 0
    if parallelism > 0:
        return parallelism
    raise FlytePathUserError(
        "the capacity the tenant pools share is not known: set [flytepath] "
        "fair_share_capacity in airflow.cfg or pass --capacity N (the executor's "
        "parallelism, the slots the tenant pools share). Airflow's [core] parallelism "
        "could not be used: " + ("the API server does not expose its configuration "
                                 "([api] expose_config)." if value is None
                                 else f"it is {value!r} (unlimited)."))


def describe(plan: PoolPlan, *, dry_run: bool = False) -> str:
    """One log line for a pool whose size changes."""
    verb = "would set" if dry_run else "set"
    return (f"{plan.tenant} (pool {plan.pool}): demand {plan.demand}, target {plan.target}, "
            f"{verb} slots {plan.slots} -> {plan.new_slots}")


@dataclass(frozen=True)
class PeriodResult:
    """What one period saw and did.

    :param capacity: C.
    :param plans: every tenant pool's plan.
    :param applied: whether the changes were patched (False for a dry run).
    """

    capacity: int
    plans: list[PoolPlan]
    applied: bool

    def as_json(self) -> dict[str, Any]:
        """The period as one JSON object (one line per period with `--json`)."""
        return {"capacity": self.capacity, "applied": self.applied,
                "pools": [p.as_json() for p in self.plans]}


def run_period(client: AirflowRestClient, settings: AirflowBackendSettings, capacity: int,
               *, dry_run: bool = False) -> PeriodResult:
    """Read the pools, plan, and (unless `dry_run`) patch the pools that change."""
    plans = plan_period(settings, capacity, client.pools())
    if not dry_run:
        apply_plan(client, plans)
    for plan in plans:
        if plan.changed:
            logger.info("%s", describe(plan, dry_run=dry_run))
    return PeriodResult(capacity=capacity, plans=plans, applied=not dry_run)


def run_controller(client: AirflowRestClient, settings: AirflowBackendSettings, *,
                   capacity: int | None, period: float, stop: threading.Event,
                   dry_run: bool = False,
                   report: Callable[[PeriodResult], None] = lambda result: None) -> None:
    """Run a period every `period` seconds until `stop` is set.

    A failed period is logged in one line and retried next period; a user error (the
    credentials refused, no capacity known) ends the loop by raising.

    :param capacity: C, or None to resolve it (`resolve_capacity`) in the first period
        that reaches the API.
    :param report: called with each period's result (the CLI prints it with `--json`).
    """
    known = capacity
    while not stop.is_set():
        began = time.monotonic()
        try:
            if known is None:
                known = resolve_capacity(client, settings, None)
            report(run_period(client, settings, known, dry_run=dry_run))
        except AirflowApiError as exc:
            logger.warning("period failed, trying again in %gs: %s", period, exc)
        stop.wait(max(0.0, period - (time.monotonic() - began)))


__all__ = [
    "PeriodResult",
    "PoolPlan",
    "TenantPool",
    "apply_plan",
    "describe",
    "find_tenant_pools",
    "plan_period",
    "resolve_capacity",
    "run_controller",
    "run_period",
    "template_pattern",
]
