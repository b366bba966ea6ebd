"""What a spec may ask of a task's pod, checked before any pod is built.

`check_task()` runs when the DAG is built (from the Kubernetes runner's `for_node`) and
again inside `compose_pod()`; it resolves the tenant through the allow-list, then checks
resources, the task's `pod_overrides` against the platform's `OverridePolicy`, the
accelerator a GPU task lands on (`accelerator_for`), secret references and environment
variable names (none may be a platform FLYTEPATH_* variable). Every failure is a
`CompileError` naming the task and the field.
`is_remote_uri()` tells whether a store root is one a pod can reach.

Also holds the Kubernetes name grammars (label keys and values, Secret names and keys,
environment variables) that both the checks and pod composition rely on.

Must not import airflow, the kubernetes client, operators or the DAG builder.
"""

from __future__ import annotations

import re

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.models import (
    PLATFORM_ENV_PREFIX,
    PodOverridesSpec,
    SecretRef,
    TaskSpec,
    WorkflowSpec,
)
from flytepath_airflow.ir.pod_metadata import LABEL_VALUE, key_problem, label_value_problem
from flytepath_airflow.ir.quantities import check_quantity, check_resources
from flytepath_airflow.platform.pods.settings import AcceleratorSettings, KubernetesSettings
from flytepath_airflow.platform.tenancy import ResolvedTenant

__all__ = [
    "LABEL_VALUE",
    "RESERVED_KEYS",
    "RESERVED_PREFIXES",
    "accelerator_for",
    "check_task",
    "is_remote_uri",
]

RESERVED_PREFIXES = ("flytepath.io/", "kubernetes.io/", "k8s.io/", "kueue.x-k8s.io/")
"""Label and annotation prefixes a task can never set (suffixes of them included)."""

RESERVED_KEYS = frozenset({
    "dag_id", "task_id", "run_id", "try_number", "map_index", "kubernetes_pod_operator",
    "already_checked", "airflow_version", "airflow-worker", "airflow_kpo_in_cluster",
    "parent_dag_id",
})
"""Labels the KubernetesPodOperator uses to find its pods again; never a task's."""

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def _where(task: TaskSpec) -> str:
    return f"task '{task.name}'"


def _check_key(key: str, kind: str, allowed_prefixes: tuple[str, ...], task: TaskSpec) -> None:
    prefix, slash, _ = key.rpartition("/")
    reserved = key in RESERVED_KEYS or (bool(slash) and any(
        prefix == r.rstrip("/") or prefix.endswith("." + r.rstrip("/")) for r in RESERVED_PREFIXES
    ))
    if reserved:
        raise CompileError(
            f"{_where(task)}: pod_overrides.{kind} key {key!r} is reserved for FlytePath, "
            "Airflow or Kubernetes; choose another key."
        )
    problem = key_problem(key)
    if problem is not None:
        raise CompileError(f"{_where(task)}: pod_overrides.{kind} key {key!r} is not a valid "
                           f"Kubernetes key: {problem}.")
    if slash and not any(key.startswith(p) for p in allowed_prefixes):
        raise CompileError(
            f"{_where(task)}: pod_overrides.{kind} key {key!r} uses a prefix the platform "
            f"does not allow (allowed: {', '.join(allowed_prefixes) or 'unprefixed keys only'}"
            f"). Ask the platform team to add it to overrides.{kind[:-1]}_prefixes."
        )


def _check_overrides(task: TaskSpec, settings: KubernetesSettings) -> None:
    overrides = task.pod_overrides
    if overrides is None:
        return
    policy = settings.overrides
    # The field names are fixed by the spec model; re-validate for specs loaded from JSON.
    PodOverridesSpec.from_options(overrides, task.name)
    for key in overrides.node_selector:
        if key not in policy.node_selector_keys:
            raise CompileError(
                f"{_where(task)}: pod_overrides.node_selector key {key!r} is not allowed "
                f"(allowed: {', '.join(policy.node_selector_keys) or 'none'}). Ask the "
                "platform team to add it to overrides.node_selector_keys."
            )
    for toleration in overrides.tolerations:
        if toleration.key not in policy.toleration_keys:
            raise CompileError(
                f"{_where(task)}: pod_overrides.tolerations key {toleration.key!r} is not "
                f"allowed (allowed: {', '.join(policy.toleration_keys) or 'none'}). Ask the "
                "platform team to add it to overrides.toleration_keys."
            )
    for key, value in overrides.labels.items():
        _check_key(key, "labels", policy.label_prefixes, task)
        problem = label_value_problem(value)
        if problem is not None:
            raise CompileError(f"{_where(task)}: pod_overrides.labels[{key!r}] value "
                               f"{value!r} is not a valid label value: {problem}.")
    for key in overrides.annotations:
        _check_key(key, "annotations", policy.annotation_prefixes, task)
    for name, limit in (("shared_memory", policy.max_shared_memory),
                        ("scratch_size", policy.max_scratch_size)):
        value = getattr(overrides, name)
        if value is not None and check_quantity(value, "mem") > check_quantity(limit, "mem"):
            raise CompileError(f"{_where(task)}: pod_overrides.{name} {value!r} is more than "
                               f"the platform allows ({limit}).")


def accelerator_for(task: TaskSpec, settings: KubernetesSettings) -> AcceleratorSettings | None:
    """The accelerator a task's pod is placed on, or None when it requests no GPU.

    :param task: the task (its GPU request and `pod_overrides.accelerator`).
    :param settings: the platform's Kubernetes settings (its accelerators and default).
    :raises CompileError: an unknown accelerator, one named without a GPU request, or a GPU
        request the platform has no default accelerator for.
    """
    named = task.pod_overrides.accelerator if task.pod_overrides else None
    wants_gpu = bool(task.resources.requests.gpu or task.resources.limits.gpu) and \
        check_quantity(task.resources.requests.gpu or task.resources.limits.gpu or "0",
                       "gpu") > 0
    if named is not None:
        if named not in settings.accelerators:
            raise CompileError(
                f"{_where(task)}: pod_overrides.accelerator {named!r} is not an accelerator "
                f"of this platform (known: {', '.join(sorted(settings.accelerators)) or 'none'}"
                "). Use one of them, or ask the platform team to add it to 'accelerators'."
            )
        if not wants_gpu:
            raise CompileError(
                f"{_where(task)}: pod_overrides.accelerator {named!r} is set but the task "
                "requests no GPU. Add requests=Resources(gpu=\"1\") or drop the accelerator."
            )
        return settings.accelerators[named]
    if not wants_gpu:
        return None
    if settings.default_accelerator is None:
        raise CompileError(
            f"{_where(task)}: requests.gpu is set but the task names no accelerator and the "
            "platform has no default_accelerator, so FlytePath cannot tell which GPU nodes to "
            "use. Set pod_overrides={'accelerator': NAME} with one of: "
            f"{', '.join(sorted(settings.accelerators)) or '(none configured)'}, or ask the "
            "platform team to set default_accelerator."
        )
    return settings.accelerators[settings.default_accelerator]


def _check_secret(task: TaskSpec, secret: SecretRef) -> None:
    if not _DNS_SUBDOMAIN.match(secret.group):
        raise CompileError(
            f"{_where(task)}: secret group {secret.group!r} is not a valid Kubernetes Secret "
            "name (lower-case letters, digits, '-' and '.')."
        )
    if secret.key is not None and not _SECRET_KEY.match(secret.key):
        raise CompileError(f"{_where(task)}: secret key {secret.key!r} of group "
                           f"{secret.group!r} is not a valid Secret key.")
    if secret.env_var is not None and not _ENV_NAME.match(secret.env_var):
        raise CompileError(f"{_where(task)}: secret env_var {secret.env_var!r} is not a valid "
                           "environment variable name.")


def check_task(spec: WorkflowSpec, task: TaskSpec, settings: KubernetesSettings
               ) -> ResolvedTenant:
    """Check everything a spec controls on a task's pod; return the tenant it runs as.

    Called when the DAG is built, so a bad task fails there, naming the task and the field.

    :raises CompileError: a bad quantity, override, secret or GPU request.
    :raises UnknownTenantError: the spec's tenant is not in the allow-list.
    """
    tenant = settings.tenancy.resolve(spec.tenant.project, spec.tenant.domain,
                                      workflow=spec.name)
    check_resources(task.resources, task.name)
    _check_overrides(task, settings)
    accelerator_for(task, settings)
    for secret in task.secrets:
        _check_secret(task, secret)
    for name in task.env:
        if not _ENV_NAME.match(name):
            raise CompileError(f"{_where(task)}: environment variable name {name!r} is not "
                               "valid.")
    for name in (*task.env, *(s.env_name() for s in task.secrets if s.mount == "env")):
        if name.startswith(PLATFORM_ENV_PREFIX):
            raise CompileError(
                f"{_where(task)}: the task's env or a secret's env_var sets {name}, but "
                "FLYTEPATH_* variables belong to the platform (store root, metadata database, "
                "settings) and only the platform sets them in a pod. Rename the variable in "
                "the task and compile the workflow again.")
    return tenant


def is_remote_uri(root: str) -> bool:
    """True when a store root is a URL a pod can reach (not a path on the worker's disk)."""
    return "://" in root and not root.startswith("file://")
