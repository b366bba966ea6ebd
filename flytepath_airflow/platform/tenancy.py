"""Tenant policy: what a project/domain gets on Kubernetes, decided by the platform alone.

A spec names its tenant (project, domain) and nothing more. Everything the tenant gets,
its namespace, service account, Airflow pool, priority class, Kueue queue, default image,
quota and fair-share settings (weight, borrowing and lending limits), is looked up here in
an explicit allow-list of tenants. A tenant that is not listed is refused, and two tenants
can never resolve to the same namespace, so no spec can reach another tenant's namespace,
service account or pool (ADR 0021).

The same list drives the Helm chart (`helm/flytepath/values.yaml` -> `tenants`), which
creates the namespaces, service accounts, quotas and queues this policy points at.

Must not import airflow or kubernetes (the CLI and tests validate policies without them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.names import RULES, name_problem
from flytepath_airflow.ir.quantities import QuantityError, check_quantity, parse_quantity

__all__ = [
    "DEFAULT_DOMAINS",
    "DEFAULT_DOMAIN_WEIGHTS",
    "MAX_WEIGHT",
    "CohortLimits",
    "QuotaPolicy",
    "ResolvedTenant",
    "TenancySettings",
    "TenantPolicy",
    "UnknownTenantError",
    "check_weight",
    "is_dns_label",
]

DEFAULT_DOMAINS = ("development", "staging", "production")

DEFAULT_DOMAIN_WEIGHTS: dict[str, str] = {"production": "2", "staging": "1", "development": "1"}
"""Fair-share weight of a tenant that sets none, by domain (ADR 0039): production work gets
twice the idle capacity of the other domains when they compete; a domain not listed gets 1."""

MAX_WEIGHT = Decimal(1_000_000)
"""The largest fair-share weight. Only ratios matter; beyond a million to one, a weight says
"always first", which a priority class says better."""

_MIN_NONZERO_WEIGHT = Decimal("1e-9")  # Kueue refuses 0 < weight <= 10^-9 (it would collapse)

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_POOL = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")


def is_dns_label(text: str) -> bool:
    """True when `text` is a valid Kubernetes DNS-1123 label (a namespace name)."""
    return name_problem(text, "project") is None


class UnknownTenantError(FlytePathUserError):
    """A spec names a project/domain that the platform's tenant policy does not list."""


def check_weight(value: object, where: str) -> str:
    """Check a fair-share weight and return it as Kueue's quantity text.

    :param value: the weight as written: a number (3, 0.5) or a quantity ("3", "500m").
    :param where: what the weight belongs to, for the message ("tenant 'ml/production'").
    :raises ValueError: naming the value, why Kueue or FlytePath refuses it and what to write.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{where}: weight {value!r} is not a number; write a number such as "
                         "3 or 0.5")
    text = value if isinstance(value, str) else repr(value)
    try:
        amount = parse_quantity(text)
    except QuantityError as exc:
        raise ValueError(f"{where}: weight {exc} (a weight is a number such as 3 or "
                         "0.5)") from None
    if amount < 0:
        raise ValueError(f"{where}: weight {text!r} is negative; a weight is a share of idle "
                         "capacity, 0 (always last) or more")
    if 0 < amount <= _MIN_NONZERO_WEIGHT:
        raise ValueError(f"{where}: weight {text!r} is too small for Kueue (it must be 0 or "
                         "more than 10^-9); write 0 for a tenant that only gets what nobody "
                         "else wants")
    if amount > MAX_WEIGHT:
        raise ValueError(f"{where}: weight {text!r} is more than {MAX_WEIGHT}; only the "
                         "ratio of weights matters, so scale them all down")
    return text


def _check_amount(value: str | None, field: str) -> str | None:
    if value is not None:
        try:
            check_quantity(value, {"memory": "mem"}.get(field, field))
        except QuantityError as exc:
            raise ValueError(str(exc)) from None
    return value


class QuotaPolicy(BaseModel):
    """Hard limits of a tenant's namespace (a ResourceQuota), as Kubernetes quantities.

    :param cpu: total CPU requests.
    :param memory: total memory requests.
    :param gpu: total `nvidia.com/gpu` requests.
    :param pods: number of pods.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu: str | None = None
    memory: str | None = None
    gpu: str | None = None
    pods: int | None = Field(default=None, ge=1)

    @field_validator("cpu", "memory", "gpu")
    @classmethod
    def _quantity(cls, value: str | None, info: Any) -> str | None:
        return _check_amount(value, info.field_name)


class CohortLimits(BaseModel):
    """How much quota may cross between a tenant and its Kueue cohort, per resource.

    Used twice on a tenant: as its borrowing limit (what it may take from idle tenants
    beyond its own quota) and as its lending limit (how much of its idle quota the others
    may use; the rest stays reserved for it). A resource left unset has no limit.

    :param cpu: CPU, as a Kubernetes quantity.
    :param memory: memory, as a Kubernetes quantity.
    :param gpu: `nvidia.com/gpu`, a whole number.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu: str | None = None
    memory: str | None = None
    gpu: str | None = None

    @field_validator("cpu", "memory", "gpu")
    @classmethod
    def _quantity(cls, value: str | None, info: Any) -> str | None:
        return _check_amount(value, info.field_name)


class TenantPolicy(BaseModel):
    """One allowed tenant and what it gets. Unset names come from TenancySettings templates.

    :param project: the project, as specs name it.
    :param domain: the domain, as specs name it.
    :param namespace: Kubernetes namespace of the tenant's pods.
    :param service_account: service account of the tenant's pods (in that namespace).
    :param pool: Airflow pool of the tenant's tasks; must match the Airflow backend's pool.
    :param priority_class: PriorityClass of the tenant's pods.
    :param kueue_queue: Kueue LocalQueue (in the tenant's namespace) that admits its pods.
    :param image: default task image of the tenant (a task's own image still wins).
    :param quota: hard limits of the tenant's namespace.
    :param weight: fair-share weight: the tenant's share of idle capacity, relative to
        the other tenants that want it (Kueue's `fairSharing.weight`). Unset: the
        domain's default (TenancySettings.domain_weights).
    :param borrowing_limit: at most this much beyond its quota, per resource; unset: any.
    :param lending_limit: at most this much of its idle quota lent to others; unset: all.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str = Field(min_length=1)
    domain: str = Field(min_length=1)
    namespace: str | None = None
    service_account: str | None = None
    pool: str | None = None
    priority_class: str | None = None
    kueue_queue: str | None = None
    image: str | None = None
    quota: QuotaPolicy | None = None
    weight: str | None = None
    borrowing_limit: CohortLimits | None = None
    lending_limit: CohortLimits | None = None

    @field_validator("weight", mode="before")
    @classmethod
    def _weight(cls, value: object, info: Any) -> str | None:
        # Numbers are accepted as YAML writes them (weight: 3) and kept as quantity text,
        # which is what Kueue stores; a float would not pass Kueue's int-or-string schema.
        if value is None:
            return None
        tenant = f"{info.data.get('project', '?')}/{info.data.get('domain', '?')}"
        return check_weight(value, f"tenant {tenant!r}")

    @model_validator(mode="after")
    def _lend_within_quota(self) -> TenantPolicy:
        # Kueue refuses a ClusterQueue that lends more than its nominal quota; say so here,
        # naming the tenant, rather than when the chart is applied.
        if self.lending_limit is None or self.quota is None:
            return self
        for field in ("cpu", "memory", "gpu"):
            lend, quota = getattr(self.lending_limit, field), getattr(self.quota, field)
            if lend is not None and quota is not None and \
                    parse_quantity(lend) > parse_quantity(quota):
                raise ValueError(
                    f"tenant {self.project}/{self.domain}: lending_limit.{field} ({lend}) is "
                    f"more than its quota.{field} ({quota}); a tenant can lend at most its "
                    f"own quota. Lower lending_limit.{field} or raise quota.{field}."
                )
        return self

    @field_validator("project", "domain")
    @classmethod
    def _tenant_name(cls, value: str, info: Any) -> str:
        # The same rule as a spec's tenant (ADR 0033): a tenant a spec cannot name would
        # never match, and `_`/`.` would make pool and namespace names collide.
        problem = name_problem(value, info.field_name)
        if problem is not None:
            rule = RULES[info.field_name]
            raise ValueError(f"{rule.what} {value!r} {problem}; {rule.text} "
                             f"(e.g. {rule.example!r})")
        return value

    @property
    def key(self) -> str:
        """`project/domain`."""
        return f"{self.project}/{self.domain}"


@dataclass(frozen=True)
class ResolvedTenant:
    """Everything a tenant gets, with every name filled in and validated."""

    project: str
    domain: str
    namespace: str
    service_account: str
    pool: str | None
    priority_class: str | None
    kueue_queue: str | None
    image: str | None
    weight: Decimal = Decimal(1)
    borrowing_limit: CohortLimits | None = None
    lending_limit: CohortLimits | None = None


class TenancySettings(BaseModel):
    """The allow-list of tenants and the templates that name their Kubernetes objects.

    :param namespace_template: namespace of a tenant that sets none, formatted with
        `project` and `domain` (lower-cased).
    :param service_account_template: service account of a tenant that sets none.
    :param tenants: the allow-list. A spec whose tenant is not listed is refused.
    :param domain_weights: fair-share weight of a tenant that sets none, by domain; a
        domain not listed here gets 1.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace_template: str = "flytepath-{project}-{domain}"
    service_account_template: str = "flytepath-task"
    tenants: tuple[TenantPolicy, ...] = ()
    domain_weights: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_DOMAIN_WEIGHTS))

    @field_validator("domain_weights", mode="before")
    @classmethod
    def _domain_weights(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value  # pydantic says what type it wanted
        return {str(domain): check_weight(weight, f"domain_weights.{domain}")
                for domain, weight in value.items()}

    @model_validator(mode="after")
    def _check(self) -> TenancySettings:
        seen: dict[str, str] = {}
        namespaces: dict[str, str] = {}
        pools: dict[str, str] = {}
        for policy in self.tenants:
            if policy.key in seen:
                raise ValueError(f"tenant {policy.key!r} is listed twice")
            seen[policy.key] = policy.key
            resolved = self._resolve_policy(policy)
            other = namespaces.setdefault(resolved.namespace, policy.key)
            if other != policy.key:
                raise ValueError(
                    f"tenants {other!r} and {policy.key!r} both resolve to namespace "
                    f"{resolved.namespace!r}; every tenant needs its own namespace. Set "
                    "'namespace' on one of them."
                )
            if resolved.pool is not None:
                other = pools.setdefault(resolved.pool, policy.key)
                if other != policy.key:
                    raise ValueError(
                        f"tenants {other!r} and {policy.key!r} share Airflow pool "
                        f"{resolved.pool!r}; give each tenant its own pool."
                    )
        return self

    def _resolve_policy(self, policy: TenantPolicy) -> ResolvedTenant:
        names = {"project": policy.project.lower(), "domain": policy.domain.lower()}
        try:
            namespace = policy.namespace or self.namespace_template.format(**names)
            service_account = policy.service_account or \
                self.service_account_template.format(**names)
        except (KeyError, IndexError) as exc:
            raise ValueError(
                f"a tenant template uses {{{exc.args[0]}}}; only {{project}} and {{domain}} "
                "are available."
            ) from None
        if not is_dns_label(namespace):
            raise ValueError(
                f"tenant {policy.key!r}: namespace {namespace!r} is not a valid Kubernetes "
                "name (lower-case letters, digits and '-', at most 63 characters). Set "
                "'namespace' for this tenant."
            )
        if not _DNS_SUBDOMAIN.match(service_account):
            raise ValueError(
                f"tenant {policy.key!r}: service account {service_account!r} is not a valid "
                "Kubernetes name."
            )
        for label, value in (("priority_class", policy.priority_class),
                             ("kueue_queue", policy.kueue_queue)):
            if value is not None and not _DNS_SUBDOMAIN.match(value):
                raise ValueError(
                    f"tenant {policy.key!r}: {label} {value!r} is not a valid Kubernetes name."
                )
        if policy.pool is not None and not _POOL.match(policy.pool):
            raise ValueError(f"tenant {policy.key!r}: pool {policy.pool!r} is not a valid "
                             "Airflow pool name.")
        return ResolvedTenant(
            project=policy.project,
            domain=policy.domain,
            namespace=namespace,
            service_account=service_account,
            pool=policy.pool,
            priority_class=policy.priority_class,
            kueue_queue=policy.kueue_queue,
            image=policy.image,
            weight=parse_quantity(policy.weight or self.domain_weights.get(policy.domain, "1")),
            borrowing_limit=policy.borrowing_limit,
            lending_limit=policy.lending_limit,
        )

    def policy_for(self, project: str, domain: str) -> TenantPolicy | None:
        """The listed policy of a tenant, or None."""
        return next((p for p in self.tenants if p.project == project and p.domain == domain),
                    None)

    def resolve(self, project: str, domain: str, *, workflow: str | None = None
                ) -> ResolvedTenant:
        """What the tenant project/domain gets.

        :param project: the spec's `tenant.project`.
        :param domain: the spec's `tenant.domain`.
        :param workflow: the workflow's name, for the message.
        :raises UnknownTenantError: when the tenant is not in the allow-list.
        """
        policy = self.policy_for(project, domain)
        if policy is None:
            where = f"workflow {workflow!r}: " if workflow else ""
            known = ", ".join(p.key for p in self.tenants) or "(none)"
            raise UnknownTenantError(
                f"{where}tenant.project/tenant.domain {project + '/' + domain!r} is not a "
                f"tenant of this platform (known: {known}). Compile the workflow for a "
                "listed project and domain, or ask the platform team to add the tenant to "
                "the FlytePath Helm values ('tenants'), which also creates its namespace."
            )
        return self._resolve_policy(policy)
