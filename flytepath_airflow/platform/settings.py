"""Settings of the Airflow backend: what a platform team decides, never the spec.

Tenancy (which pool a project/domain uses), the runner, the store root and run limits are
configuration. A spec can only *name* its tenant; everything the tenant gets is looked up
here, through an allow-list, so a spec cannot pick somebody else's pool.

Values come from the `[flytepath]` section of airflow.cfg (or `AIRFLOW__FLYTEPATH__*`
environment variables) via `AirflowBackendSettings.from_airflow_config()`, or are built
directly in code and tests.

Must not import airflow at module level (the CLI imports this to render specs).
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flytepath_airflow.config import SECTION
from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.utils.limits import MAX_COLUMN_INT

DEFAULT_POOL = "default_pool"
"""Airflow's built-in pool; used for tenants when pool_template is empty."""



class TenantPoolSettings(BaseModel):
    """The Airflow pool of one tenant, and how many slots it should have when created."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pool: str
    slots: int = Field(default=16, ge=1)


class TenantWeightSettings(BaseModel):
    """A tenant's part in fair share (ADR 0038): its weight and its guaranteed slots.

    :param weight: its share of the capacity relative to the other tenants' weights (> 0).
    :param minimum: slots it is given first whenever it asks for them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    weight: float = Field(default=1.0, gt=0, le=1_000_000, allow_inf_nan=False)
    minimum: int = Field(default=0, ge=0, le=MAX_COLUMN_INT)


class AirflowBackendSettings(BaseModel):
    """How specs become DAGs on this Airflow installation.

    :param runner: which operator runs a node: "local" (a child process running
        `flytepath-execute` on the worker) or any name registered in
        `flytepath_airflow.operators.RUNNERS`.
    :param store_root: store root URI baked into every task. None (the default) lets each
        worker resolve it at run time: `[flytepath] store_root`, else `$FLYTEPATH_HOME/store`.
    :param max_active_runs: concurrent runs per DAG.
    :param pool_template: pool name for a tenant not listed in `tenant_pools`, formatted with
        `project` and `domain`; an empty string puts such tenants in Airflow's default pool.
    :param tenant_pools: the allow-list: "project/domain" (or "project/*") -> pool settings.
    :param default_pool_slots: slots a new tenant pool gets when FlytePath creates it.
    :param pool_slots_from_cpu: a task takes ceil(its CPU request) slots of its pool (at least
        one), so a tenant's pool size reads as "cores"; False gives every task one slot.
    :param max_pool_slots: upper bound on the slots of a single task.
    :param max_priority_weight: the largest priority weight (in absolute value) a spec's
        node may ask for; Airflow orders every tenant's queued tasks by it.
    :param tenant_queues: "project/domain" (or "project/*") -> the Airflow queues (Celery
        worker queues) its nodes may name; Airflow's default queue is always allowed.
    :param tenant_weights: "project/domain" -> weight and minimum in fair share; "project/*",
        "*/domain" and "*/*" match more tenants (`weight_for` says which entry wins).
    :param fair_share_capacity: the slots the tenant pools share (C); None lets
        `flytepath fairshare` use Airflow's `[core] parallelism`.
    :param default_retry_delay: seconds between retries when a task does not set retry_delay.
    :param owner: the Airflow owner of every task.
    :param extra_tags: tags added to every DAG.
    :param is_paused_upon_creation: None follows Airflow's `dags_are_paused_at_creation`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    runner: str = "local"
    store_root: str | None = None
    max_active_runs: int = Field(default=16, ge=1)
    pool_template: str = "flytepath_{project}_{domain}"
    tenant_pools: dict[str, TenantPoolSettings] = {}
    default_pool_slots: int = Field(default=16, ge=1)
    pool_slots_from_cpu: bool = True
    max_pool_slots: int = Field(default=64, ge=1)
    max_priority_weight: int = Field(default=100, ge=1, le=MAX_COLUMN_INT)
    tenant_queues: dict[str, tuple[str, ...]] = {}
    tenant_weights: dict[str, TenantWeightSettings] = {}
    fair_share_capacity: int | None = Field(default=None, ge=1, le=MAX_COLUMN_INT)
    default_retry_delay: float = Field(default=30.0, ge=0)
    owner: str = "flytepath"
    extra_tags: tuple[str, ...] = ()
    is_paused_upon_creation: bool | None = None

    def pool_for(self, project: str, domain: str) -> TenantPoolSettings:
        """The pool of a tenant: listed exactly, listed as project/*, or from the template."""
        for key in (f"{project}/{domain}", f"{project}/*"):
            if key in self.tenant_pools:
                return self.tenant_pools[key]
        if not self.pool_template:
            return TenantPoolSettings(pool=DEFAULT_POOL, slots=self.default_pool_slots)
        name = self.pool_template.format(project=project, domain=domain)
        return TenantPoolSettings(pool=name, slots=self.default_pool_slots)

    def queues_for(self, project: str, domain: str) -> tuple[str, ...]:
        """The queues a tenant's nodes may name, beyond Airflow's default queue."""
        for key in (f"{project}/{domain}", f"{project}/*"):
            if key in self.tenant_queues:
                return self.tenant_queues[key]
        return ()

    def weight_for(self, project: str, domain: str) -> TenantWeightSettings:
        """A tenant's weight and minimum: the most specific matching `tenant_weights` entry.

        The project is more specific than the domain (`ml/*` before `*/production`), since
        a project is one team and a domain a stage every team has. A tenant no entry
        matches weighs 1 with no minimum. `domain` may be "*" for a pool listed in
        `tenant_pools` under "project/*".
        """
        for key in (f"{project}/{domain}", f"{project}/*", f"*/{domain}", "*/*"):
            if key in self.tenant_weights:
                return self.tenant_weights[key]
        return TenantWeightSettings()

    @classmethod
    def from_airflow_config(cls) -> AirflowBackendSettings:
        """Read the `[flytepath]` section of Airflow's configuration (imports airflow)."""
        from airflow.configuration import conf

        def get(key: str) -> str | None:
            value = conf.get(SECTION, key, fallback=None)
            return value if value not in (None, "") else None

        values: dict[str, Any] = {}
        for key in ("runner", "store_root", "pool_template", "owner"):
            if (value := get(key)) is not None:
                values[key] = value
        for key in ("max_active_runs", "default_pool_slots", "max_pool_slots",
                    "max_priority_weight", "fair_share_capacity"):
            if (value := get(key)) is not None:
                values[key] = int(value)
        if (value := get("default_retry_delay")) is not None:
            values["default_retry_delay"] = float(value)
        if (value := get("pool_slots_from_cpu")) is not None:
            values["pool_slots_from_cpu"] = value.strip().lower() in ("1", "true", "yes", "on")
        if (value := get("tenant_pools")) is not None:
            values["tenant_pools"] = parse_tenant_pools(value)
        if (value := get("tenant_queues")) is not None:
            values["tenant_queues"] = parse_tenant_queues(value)
        if (value := get("tenant_weights")) is not None:
            values["tenant_weights"] = parse_tenant_weights(value)
        # pool_template may be set to "" on purpose (use default_pool for every tenant).
        if conf.has_option(SECTION, "pool_template"):
            values["pool_template"] = conf.get(SECTION, "pool_template")
        return cls(**values)


def parse_tenant_pools(text: str) -> dict[str, TenantPoolSettings]:
    """Parse `project/domain=pool:slots, project/*=pool` (slots optional) into settings."""
    pools: dict[str, TenantPoolSettings] = {}
    for raw in text.replace("\n", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        tenant, sep, target = item.partition("=")
        if not sep or "/" not in tenant:
            raise ValueError(
                f"[flytepath] tenant_pools entry {item!r} is not 'project/domain=pool[:slots]'."
            )
        pool, _, slots = target.strip().partition(":")
        pools[tenant.strip()] = TenantPoolSettings(
            pool=pool.strip(), **({"slots": int(slots)} if slots else {})
        )
    return pools


def parse_tenant_queues(text: str) -> dict[str, tuple[str, ...]]:
    """Parse `project/domain=queue1|queue2, project/*=queue` into the queues per tenant."""
    queues: dict[str, tuple[str, ...]] = {}
    for raw in text.replace("\n", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        tenant, sep, names = item.partition("=")
        listed = tuple(q.strip() for q in names.split("|") if q.strip())
        if not sep or "/" not in tenant or not listed:
            raise ValueError(
                f"[flytepath] tenant_queues entry {item!r} is not "
                "'project/domain=queue[|queue...]'."
            )
        queues[tenant.strip()] = listed
    return queues


_WEIGHT_KEY_PART = re.compile(r"\*|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
"""A project or domain in a `tenant_weights` key: a tenant name (DNS label) or `*`."""


def parse_tenant_weights(text: str) -> dict[str, TenantWeightSettings]:
    """Parse `project/domain=weight[:minimum]` entries (`*` for any project or domain).

    `ml/production=3:4, ml/*=1, */production=2` gives ml/production weight 3 and 4
    guaranteed slots, ml's other domains weight 1, and other teams' production weight 2.
    Every mistake is refused, naming the entry: a typo in a weight would otherwise
    quietly hand a tenant's share to the others.
    """
    weights: dict[str, TenantWeightSettings] = {}
    for raw in text.replace("\n", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        form = ("is not 'project/domain=weight[:minimum]' (project and domain are tenant "
                "names or '*'; weight a positive number; minimum a whole number of slots)")
        tenant, sep, value = (part.strip() for part in item.partition("="))
        project, slash, domain = tenant.partition("/")
        weight_text, _, minimum_text = value.partition(":")
        if not (sep and slash and _WEIGHT_KEY_PART.match(project)
                and _WEIGHT_KEY_PART.match(domain)):
            raise ValueError(f"[flytepath] tenant_weights entry {item!r} {form}.")
        try:
            weight = float(weight_text)
            minimum = int(minimum_text.strip()) if minimum_text.strip() else 0
        except ValueError:
            raise ValueError(f"[flytepath] tenant_weights entry {item!r} {form}.") from None
        if not (math.isfinite(weight) and 0 < weight <= 1_000_000) \
                or not 0 <= minimum <= MAX_COLUMN_INT:
            raise ValueError(
                f"[flytepath] tenant_weights entry {item!r} has weight {weight_text.strip()!r} "
                f"and minimum {minimum}; a weight is a number above 0 (at most 1000000) and "
                "a minimum a slot count of 0 or more.")
        if tenant in weights:
            raise ValueError(
                f"[flytepath] tenant_weights lists {tenant!r} twice; keep one entry for it.")
        weights[tenant] = TenantWeightSettings(weight=weight, minimum=minimum)
    return weights


class TenantPolicyError(FlytePathUserError):
    """A spec asks for an Airflow setting that only the platform's tenant policy decides."""


DEFAULT_QUEUE = "default"
"""Airflow's default `[operators] default_queue`, which every tenant may name."""


def check_node_options(settings: AirflowBackendSettings, project: str, domain: str,
                       workflow: str, node_id: str, options: Any, tenant_pool: str) -> None:
    """Refuse a node's kept Airflow options that would change what its tenant gets.

    A converted DAG keeps some BaseOperator settings in `nodes[].airflow`. Pool, slots,
    priority and queue decide how one tenant's tasks compete with another's, so the spec
    cannot set them beyond the tenant policy (ADR 0009, ADR 0037): the tenant's own pool,
    at most `max_pool_slots` slots, a priority weight within `max_priority_weight`, and
    a queue listed for the tenant in `tenant_queues` (or Airflow's default queue).
    """
    if options is None:
        return
    where = f"node '{node_id}' of workflow '{workflow}' (tenant {project}/{domain})"
    if options.pool is not None and options.pool != tenant_pool:
        raise TenantPolicyError(
            f"{where} sets Airflow pool {options.pool!r}, but pools are decided by the "
            f"platform's tenant policy, not by the spec; this tenant's pool is "
            f"{tenant_pool!r}. Remove `airflow.pool` from the node, or have the platform "
            f"map the tenant to that pool ([flytepath] tenant_pools)."
        )
    if options.pool_slots is not None and options.pool_slots > settings.max_pool_slots:
        raise TenantPolicyError(
            f"{where} asks for {options.pool_slots} pool slots; the platform allows at most "
            f"{settings.max_pool_slots} per task ([flytepath] max_pool_slots). Lower "
            "`airflow.pool_slots`."
        )
    weight = options.priority_weight
    if weight is not None and abs(weight) > settings.max_priority_weight:
        raise TenantPolicyError(
            f"{where} asks for priority weight {weight}; the platform allows -"
            f"{settings.max_priority_weight}..{settings.max_priority_weight} "
            "([flytepath] max_priority_weight), so that no tenant's tasks jump every other "
            "tenant's queue. Lower `airflow.priority_weight`."
        )
    allowed = settings.queues_for(project, domain)
    if options.queue is not None and options.queue != DEFAULT_QUEUE \
            and options.queue not in allowed:
        listed = ", ".join(allowed) if allowed else "none"
        raise TenantPolicyError(
            f"{where} names Airflow queue {options.queue!r}; queues a tenant may use are "
            f"listed by the platform ([flytepath] tenant_queues; for this tenant: "
            f"{listed}). Remove `airflow.queue`, or have the platform list it for "
            f"{project}/{domain}."
        )
