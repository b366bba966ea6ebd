"""The pod of one node attempt: settings, checks, and the one function that composes it.

`compose_pod()` is the only place a FlytePath pod is assembled, in the fixed order of
DESIGN.md invariant 4 (ADR 0020):

1. the platform's pod template (a manifest the platform team owns);
2. generated fields: image, command/args, labels and annotations, resources, tenant
   namespace and service account, priority class, restricted security context, scratch
   volume, secrets as references, accelerator and spot scheduling, Kueue queue label;
3. the task's allow-listed `pod_overrides` (values further limited by `OverridePolicy`);
4. Airflow's `pod_mutation_hook`.

The result is checked against the restricted Pod Security Standard before it is returned.
Every input that a spec controls is validated by `check_task()`, which the Kubernetes
runner calls when the DAG is built, so a bad task fails `build_dag`, not a pod.

Works on plain manifest dicts (camelCase, as `kubectl` shows them), so the output is what
golden files and `kubernetes-validate` check. Imports the kubernetes client only to run the
mutation hook, which takes a V1Pod. Must not import user code.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flytepath_airflow.backends.airflow.tenancy import (
    ResolvedTenant,
    TenancySettings,
    UnknownTenantError,
)
from flytepath_airflow.errors import CompileError, FlytePathUserError
from flytepath_airflow.ir.models import (
    PodOverridesSpec,
    SecretRef,
    TaskSpec,
    TolerationSpec,
    WorkflowSpec,
)
from flytepath_airflow.ir.quantities import check_quantity, check_resources

logger = logging.getLogger(__name__)

__all__ = [
    "BASE_CONTAINER",
    "KUEUE_QUEUE_LABEL",
    "LABEL_PREFIX",
    "SETTINGS_FILE_ENV",
    "AcceleratorSettings",
    "KubernetesSettings",
    "KubernetesSettingsError",
    "OverridePolicy",
    "PodRequest",
    "PodSecurityError",
    "SecretKeySettings",
    "SecuritySettings",
    "SpotSettings",
    "UnknownTenantError",
    "check_task",
    "compose_pod",
    "is_remote_uri",
    "label_value",
    "load_kubernetes_settings",
    "load_pod_template",
    "pod_name",
    "render_pods",
    "restricted_violations",
]

BASE_CONTAINER = "base"
"""Name of the container that runs the node (the KubernetesPodOperator's base container)."""

SETTINGS_FILE_ENV = "FLYTEPATH_KUBERNETES_SETTINGS"
"""Environment variable naming the Kubernetes settings file (YAML or JSON)."""

LABEL_PREFIX = "flytepath.io/"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
SECRETS_DIR = "/etc/flytepath/secrets"
GPU_RESOURCE = "nvidia.com/gpu"

RESERVED_PREFIXES = ("flytepath.io/", "kubernetes.io/", "k8s.io/", "kueue.x-k8s.io/")
"""Label and annotation prefixes a task can never set (suffixes of them included)."""

RESERVED_KEYS = frozenset({
    "dag_id", "task_id", "run_id", "try_number", "map_index", "kubernetes_pod_operator",
    "already_checked", "airflow_version", "airflow-worker", "airflow_kpo_in_cluster",
    "parent_dag_id",
})
"""Labels the KubernetesPodOperator uses to find its pods again; never a task's."""

_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class KubernetesSettingsError(FlytePathUserError):
    """The Kubernetes settings (file or `[flytepath]` section) are invalid."""


class PodSecurityError(FlytePathUserError):
    """A composed pod violates the restricted Pod Security Standard; it is not created."""


# ------------------------------------------------------------------------------- settings


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AcceleratorSettings(_Settings):
    """How to place a task that asks for one accelerator type.

    :param node_selector: node labels of nodes with this accelerator.
    :param tolerations: taints of those nodes a GPU pod must tolerate.
    :param resource: the extended resource to request (default `nvidia.com/gpu`).
    """

    node_selector: dict[str, str] = Field(min_length=1)
    tolerations: tuple[TolerationSpec, ...] = ()
    resource: str = GPU_RESOURCE


class SpotSettings(_Settings):
    """How interruptible tasks reach spot capacity, and how their last attempt avoids it.

    :param tolerations: taints of spot nodes (added to every attempt but the last).
    :param node_labels: labels of spot nodes. Attempts before the last require (or prefer)
        them; the last attempt requires nodes *without* them, so it runs on regular capacity.
    :param affinity: "required" or "preferred" node affinity for the early attempts.
    """

    tolerations: tuple[TolerationSpec, ...] = ()
    node_labels: dict[str, str] = {}
    affinity: Literal["required", "preferred"] = "required"


class OverridePolicy(_Settings):
    """Which values a task's `pod_overrides` may use (the field names are fixed in the spec).

    :param node_selector_keys: node-selector keys a task may set.
    :param toleration_keys: taint keys a task may tolerate.
    :param label_prefixes: label prefixes ("team.example.com/") a task may use; unprefixed
        keys are always allowed, reserved ones never.
    :param annotation_prefixes: the same for annotations.
    :param max_shared_memory: the largest /dev/shm a task may ask for.
    :param max_scratch_size: the largest scratch volume a task may ask for.
    """

    node_selector_keys: tuple[str, ...] = ()
    toleration_keys: tuple[str, ...] = ()
    label_prefixes: tuple[str, ...] = ()
    annotation_prefixes: tuple[str, ...] = ()
    max_shared_memory: str = "64Gi"
    max_scratch_size: str = "500Gi"


class SecuritySettings(_Settings):
    """The security context every task pod gets (restricted Pod Security Standard).

    :param run_as_user: UID of the task process; the base image's user (docker/Dockerfile).
    :param run_as_group: GID of the task process.
    :param fs_group: group that owns mounted volumes.
    :param scratch_path: where the writable scratch volume is mounted (also $HOME and
        $TMPDIR: the root filesystem is read-only).
    :param scratch_size: default size limit of the scratch volume.
    """

    run_as_user: int = Field(default=65532, ge=1)
    run_as_group: int = Field(default=65532, ge=1)
    fs_group: int = Field(default=65532, ge=1)
    scratch_path: str = "/tmp"
    scratch_size: str = "10Gi"


class SecretKeySettings(_Settings):
    """A key of a Kubernetes Secret (referenced, never read by FlytePath).

    :param name: the Secret's name (in the tenant's namespace).
    :param key: the key within it.
    """

    name: str
    key: str


class KubernetesSettings(_Settings):
    """How the Kubernetes runner turns a node attempt into a pod. Platform-owned.

    :param default_image: image of a task that sets none and whose tenant sets none.
    :param image_pull_policy: the container's imagePullPolicy (None: Kubernetes' default).
    :param image_pull_secrets: names of pull secrets in each tenant namespace.
    :param pod_template_file: the platform's base pod manifest (step 1 of composition).
    :param command: the program the container runs (`flytepath-execute`).
    :param config_map: ConfigMap in each tenant namespace whose keys become environment
        variables (the Helm chart creates `flytepath-settings`); None adds none.
    :param metadata_url_secret: Secret key holding the metadata database URL, passed to
        the task as FLYTEPATH_METADATA_URL by reference.
    :param accelerators: accelerator name -> placement; a GPU task needs one.
    :param default_accelerator: accelerator of a GPU task that names none.
    :param spot: spot placement of interruptible tasks.
    :param overrides: the values a task's pod_overrides may use.
    :param security: the security context of every pod.
    :param tenancy: the tenant allow-list (namespace, service account, pool, queue...).
    :param kubernetes_conn_id: Airflow connection of the cluster (None: in-cluster/config).
    :param in_cluster: use the worker's in-cluster credentials.
    :param config_file: kubeconfig file for the cluster.
    :param cluster_context: context within the kubeconfig.
    :param schedule_timeout_seconds: how long a pod may wait to be scheduled (Kueue may
        hold it until quota frees up).
    :param startup_timeout_seconds: how long a scheduled pod may take to start (image pull).
    :param on_finish_action: what to do with the pod afterwards (delete_pod,
        delete_succeeded_pod, keep_pod).
    :param allow_local_store: accept a store root that is a local path; pods cannot see
        the worker's disk, so only tests and single-node clusters set this.
    :param enforce_restricted: refuse pods that violate the restricted Pod Security
        Standard (after the platform template and the mutation hook).
    """

    default_image: str = "flytepath/task:0.1.0"
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    image_pull_secrets: tuple[str, ...] = ()
    pod_template_file: str | None = None
    command: tuple[str, ...] = ("flytepath-execute",)
    config_map: str | None = "flytepath-settings"
    metadata_url_secret: SecretKeySettings | None = None
    accelerators: dict[str, AcceleratorSettings] = {}
    default_accelerator: str | None = None
    spot: SpotSettings = SpotSettings()
    overrides: OverridePolicy = OverridePolicy()
    security: SecuritySettings = SecuritySettings()
    tenancy: TenancySettings = TenancySettings()
    kubernetes_conn_id: str | None = None
    in_cluster: bool | None = None
    config_file: str | None = None
    cluster_context: str | None = None
    schedule_timeout_seconds: int = Field(default=3600, ge=1)
    startup_timeout_seconds: int = Field(default=600, ge=1)
    on_finish_action: Literal["delete_pod", "delete_succeeded_pod", "keep_pod"] = "delete_pod"
    allow_local_store: bool = False
    enforce_restricted: bool = True

    @field_validator("default_accelerator")
    @classmethod
    def _known_accelerator(cls, value: str | None, info: Any) -> str | None:
        if value is not None and value not in info.data.get("accelerators", {}):
            raise ValueError(f"default_accelerator {value!r} is not one of the accelerators")
        return value

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "settings") -> KubernetesSettings:
        """Validate settings from a mapping; errors name the source and the field path."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise KubernetesSettingsError(
                f"FlytePath Kubernetes settings ({source}) are invalid: {problems}. See "
                "docs/kubernetes.md for every setting."
            ) from None


@functools.lru_cache(maxsize=8)
def _read_settings_file(path: str, mtime: float) -> KubernetesSettings:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise KubernetesSettingsError(f"FlytePath Kubernetes settings file {path} is not "
                                      f"valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise KubernetesSettingsError(f"FlytePath Kubernetes settings file {path} must hold "
                                      "a mapping of settings.")
    return KubernetesSettings.from_mapping(data, path)


def load_kubernetes_settings(path: str | None = None) -> KubernetesSettings:
    """The Kubernetes settings of this installation.

    Read from `path`, else $FLYTEPATH_KUBERNETES_SETTINGS, else `[flytepath]
    kubernetes_settings_file` in airflow.cfg; `[flytepath] default_image` and
    `[flytepath] kubernetes_conn_id` override the file. No file gives the defaults (and so
    no tenants: every spec is refused until the platform lists its tenants).

    :raises KubernetesSettingsError: naming the file and the field.
    """
    conf: Any = None
    if path is None:
        path = os.environ.get(SETTINGS_FILE_ENV) or None
    try:
        from airflow.configuration import conf as airflow_conf

        conf = airflow_conf
    except ImportError:  # rendering pods without Airflow installed
        conf = None
    if path is None and conf is not None:
        path = conf.get("flytepath", "kubernetes_settings_file", fallback=None) or None
    if path is not None:
        if not os.path.exists(path):
            raise KubernetesSettingsError(
                f"FlytePath Kubernetes settings file {path} does not exist (from "
                f"{SETTINGS_FILE_ENV} or [flytepath] kubernetes_settings_file)."
            )
        settings = _read_settings_file(path, os.path.getmtime(path))
    else:
        settings = KubernetesSettings()
    if conf is not None:
        updates = {}
        for key in ("default_image", "kubernetes_conn_id"):
            value = conf.get("flytepath", key, fallback=None)
            if value:
                updates[key] = value
        if updates:
            settings = KubernetesSettings.from_mapping(
                {**settings.model_dump(), **updates}, "[flytepath] in airflow.cfg"
            )
    return settings


@functools.lru_cache(maxsize=8)
def _read_template(path: str, mtime: float) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict) or data.get("kind", "Pod") != "Pod":
        raise KubernetesSettingsError(f"pod_template_file {path} must hold one Pod manifest.")
    return data


def load_pod_template(settings: KubernetesSettings) -> dict[str, Any] | None:
    """The platform's pod template manifest, or None when the settings name none."""
    path = settings.pod_template_file
    if path is None:
        return None
    if not os.path.exists(path):
        raise KubernetesSettingsError(f"pod_template_file {path} does not exist.")
    return copy.deepcopy(_read_template(path, os.path.getmtime(path)))


# ----------------------------------------------------------------------------- checking


def _where(task: TaskSpec) -> str:
    return f"task '{task.name}'"


def _check_key(key: str, kind: str, allowed_prefixes: tuple[str, ...], task: TaskSpec) -> None:
    prefix, slash, name = key.rpartition("/")
    reserved = key in RESERVED_KEYS or (bool(slash) and any(
        prefix == r.rstrip("/") or prefix.endswith("." + r.rstrip("/")) for r in RESERVED_PREFIXES
    ))
    if reserved:
        raise CompileError(
            f"{_where(task)}: pod_overrides.{kind} key {key!r} is reserved for FlytePath, "
            "Airflow or Kubernetes; choose another key."
        )
    if not _LABEL_NAME.match(name) or (slash and not _DNS_SUBDOMAIN.match(prefix)):
        raise CompileError(f"{_where(task)}: pod_overrides.{kind} key {key!r} is not a valid "
                           "Kubernetes key (prefix/name, name at most 63 characters).")
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
        if not _LABEL_VALUE.match(value):
            raise CompileError(f"{_where(task)}: pod_overrides.labels[{key!r}] value "
                               f"{value!r} is not a valid label value.")
    for key in overrides.annotations:
        _check_key(key, "annotations", policy.annotation_prefixes, task)
    for name, limit in (("shared_memory", policy.max_shared_memory),
                        ("scratch_size", policy.max_scratch_size)):
        value = getattr(overrides, name)
        if value is not None and check_quantity(value, "mem") > check_quantity(limit, "mem"):
            raise CompileError(f"{_where(task)}: pod_overrides.{name} {value!r} is more than "
                               f"the platform allows ({limit}).")


def _accelerator(task: TaskSpec, settings: KubernetesSettings) -> AcceleratorSettings | None:
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
    _accelerator(task, settings)
    for secret in task.secrets:
        _check_secret(task, secret)
    for name in task.env:
        if not _ENV_NAME.match(name):
            raise CompileError(f"{_where(task)}: environment variable name {name!r} is not "
                               "valid.")
    return tenant


# --------------------------------------------------------------------------- composition


@dataclass(frozen=True)
class PodRequest:
    """One attempt of one node, as the pod needs it.

    :param spec: the workflow spec (for tenant, name and version).
    :param node_id: the node to run.
    :param run_id: the FlytePath run id.
    :param attempt: the attempt number, from 1.
    :param max_attempts: retries + 1; the last attempt of an interruptible task is not on spot.
    :param args: the `flytepath-execute` arguments.
    :param store_root: the store root URI the pod uses.
    :param airflow_labels: labels the KubernetesPodOperator finds its pod by.
    """

    spec: WorkflowSpec
    node_id: str
    run_id: str
    attempt: int
    max_attempts: int
    args: tuple[str, ...]
    store_root: str
    airflow_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def task(self) -> TaskSpec:
        """The task the node runs."""
        return self.spec.task_of(self.spec.node(self.node_id))


def _short_hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:10]


def label_value(text: str) -> str:
    """`text` as a valid label value: kept when valid, else cleaned, cut and hashed."""
    if _LABEL_VALUE.match(text) and len(text) <= 63:
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:52].strip("-_.")
    return f"{cleaned}-{_short_hash(text)}" if cleaned else _short_hash(text)


def pod_name(request: PodRequest) -> str:
    """A DNS-1123 pod name, stable for a given run, node and attempt."""
    slug = re.sub(r"[^a-z0-9-]+", "-", request.node_id.lower()).strip("-")[:40] or "node"
    return f"fp-{slug}-{_short_hash(request.run_id, request.node_id, request.attempt)}"


def _toleration(t: TolerationSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"key": t.key, "operator": t.operator}
    if t.value is not None:
        out["value"] = t.value
    if t.effect is not None:
        out["effect"] = t.effect
    return out


def _merge_by(items: list[dict[str, Any]], new: dict[str, Any], key: str) -> None:
    for i, item in enumerate(items):
        if item.get(key) == new.get(key):
            items[i] = new
            return
    items.append(new)


def _quantity_text(value: str) -> str:
    return str(value).strip()


def _resources(task: TaskSpec, accelerator: AcceleratorSettings | None) -> dict[str, Any]:
    names = {"cpu": "cpu", "mem": "memory", "ephemeral_storage": "ephemeral-storage"}
    req, lim = task.resources.requests, task.resources.limits
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    for attr, k8s in names.items():
        r, li = getattr(req, attr), getattr(lim, attr)
        if r is not None:
            requests[k8s] = _quantity_text(r)
        if li is not None:
            limits[k8s] = _quantity_text(li)
        # Memory and scratch disk cannot be given back once used, so an unset limit is the
        # request (the pod is not killed for using what it asked for). CPU is compressible
        # and stays unlimited unless the task says otherwise.
        elif r is not None and attr != "cpu":
            limits[k8s] = _quantity_text(r)
    gpu = req.gpu or lim.gpu
    if accelerator is not None and gpu is not None:
        requests[accelerator.resource] = limits[accelerator.resource] = _quantity_text(gpu)
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def _secret_env_name(secret: SecretRef) -> str:
    if secret.env_var:
        return secret.env_var
    raw = f"{secret.group}_{secret.key}" if secret.key else secret.group
    return re.sub(r"[^A-Za-z0-9_]", "_", raw).upper()


def _node_affinity(pod_spec: dict[str, Any]) -> dict[str, Any]:
    return pod_spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})


def _require_node_terms(pod_spec: dict[str, Any], expressions: list[dict[str, Any]]) -> None:
    required = _node_affinity(pod_spec).setdefault(
        "requiredDuringSchedulingIgnoredDuringExecution", {"nodeSelectorTerms": []}
    )
    terms = required.setdefault("nodeSelectorTerms", [])
    if not terms:
        terms.append({"matchExpressions": []})
    # Terms are ORed; an expression must hold in every one of them.
    for term in terms:
        term.setdefault("matchExpressions", []).extend(copy.deepcopy(expressions))


def compose_pod(
    request: PodRequest,
    settings: KubernetesSettings,
    *,
    template: Mapping[str, Any] | None = None,
    mutation_hook: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Compose the pod manifest of one node attempt, in the fixed order of DESIGN invariant 4.

    :param request: the node attempt.
    :param settings: the platform's Kubernetes settings.
    :param template: the platform's pod template (step 1); None uses `pod_template_file`.
    :param mutation_hook: Airflow's `pod_mutation_hook` (step 4), called with a V1Pod.
    :returns: the pod manifest (a dict, camelCase keys).
    :raises CompileError, UnknownTenantError: a bad task or tenant (see `check_task`).
    :raises PodSecurityError: the final pod violates the restricted Pod Security Standard.
    """
    spec, task = request.spec, request.task
    tenant = check_task(spec, task, settings)
    accelerator = _accelerator(task, settings)
    security = settings.security
    overrides = task.pod_overrides or PodOverridesSpec()

    # 1. The platform's pod template.
    if template is None:
        template = load_pod_template(settings)
    pod: dict[str, Any] = copy.deepcopy(dict(template)) if template else {}
    pod["apiVersion"], pod["kind"] = "v1", "Pod"
    meta = pod.setdefault("metadata", {})
    pod_spec = pod.setdefault("spec", {})
    containers = pod_spec.setdefault("containers", [])
    container = next((c for c in containers if c.get("name") == BASE_CONTAINER), None)
    if container is None:
        container = {"name": BASE_CONTAINER}
        containers.insert(0, container)

    # 2. Generated fields.
    meta["name"] = pod_name(request)
    meta["namespace"] = tenant.namespace
    labels = meta.setdefault("labels", {})
    labels.update({
        f"{LABEL_PREFIX}project": label_value(spec.tenant.project),
        f"{LABEL_PREFIX}domain": label_value(spec.tenant.domain),
        f"{LABEL_PREFIX}workflow": label_value(spec.name),
        f"{LABEL_PREFIX}version": label_value(spec.version),
        f"{LABEL_PREFIX}node": label_value(request.node_id),
        f"{LABEL_PREFIX}run": label_value(request.run_id),
        f"{LABEL_PREFIX}attempt": str(request.attempt),
        "app.kubernetes.io/managed-by": "flytepath",
    })
    # Already made safe by the operator, and must stay byte-identical: it finds the pod by them.
    labels.update(request.airflow_labels)
    if tenant.kueue_queue:
        labels[KUEUE_QUEUE_LABEL] = tenant.kueue_queue
    meta.setdefault("annotations", {}).update({
        f"{LABEL_PREFIX}workflow": spec.name,
        f"{LABEL_PREFIX}version": spec.version,
        f"{LABEL_PREFIX}node": request.node_id,
        f"{LABEL_PREFIX}task": task.name,
        f"{LABEL_PREFIX}run-id": request.run_id,
        f"{LABEL_PREFIX}attempt": f"{request.attempt}/{request.max_attempts}",
    })

    pod_spec["restartPolicy"] = "Never"
    pod_spec["serviceAccountName"] = tenant.service_account
    pod_spec["automountServiceAccountToken"] = False
    pod_spec["enableServiceLinks"] = False
    pod_spec.pop("hostNetwork", None)
    pod_spec.pop("hostPID", None)
    pod_spec.pop("hostIPC", None)
    if tenant.priority_class:
        pod_spec["priorityClassName"] = tenant.priority_class
    pod_spec.setdefault("securityContext", {}).update({
        "runAsNonRoot": True,
        "runAsUser": security.run_as_user,
        "runAsGroup": security.run_as_group,
        "fsGroup": security.fs_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    })
    for secret_name in settings.image_pull_secrets:
        _merge_by(pod_spec.setdefault("imagePullSecrets", []), {"name": secret_name}, "name")

    container["image"] = task.image or tenant.image or settings.default_image
    if settings.image_pull_policy:
        container["imagePullPolicy"] = settings.image_pull_policy
    container["command"] = list(settings.command)
    container["args"] = list(request.args)
    container["terminationMessagePolicy"] = "FallbackToLogsOnError"
    container.setdefault("securityContext", {}).update({
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    })
    resources = _resources(task, accelerator)
    if resources:
        container["resources"] = resources

    env = container.setdefault("env", [])
    for name in sorted(task.env):
        _merge_by(env, {"name": name, "value": task.env[name]}, "name")
    scratch = security.scratch_path.rstrip("/") or "/tmp"
    for name, value in (
        ("FLYTEPATH_STORE_ROOT", request.store_root),
        ("FLYTEPATH_HOME", f"{scratch}/flytepath"),
        ("HOME", scratch),
        ("TMPDIR", scratch),
        ("PYTHONUNBUFFERED", "1"),
        ("PYTHONDONTWRITEBYTECODE", "1"),
    ):
        _merge_by(env, {"name": name, "value": value}, "name")
    if settings.metadata_url_secret is not None:
        ref = settings.metadata_url_secret
        _merge_by(env, {"name": "FLYTEPATH_METADATA_URL", "valueFrom": {
            "secretKeyRef": {"name": ref.name, "key": ref.key}}}, "name")
    env_from = container.setdefault("envFrom", [])
    if settings.config_map:
        env_from.append({"configMapRef": {"name": settings.config_map, "optional": True}})

    volumes = pod_spec.setdefault("volumes", [])
    mounts = container.setdefault("volumeMounts", [])
    scratch_size = overrides.scratch_size or security.scratch_size
    _merge_by(volumes, {"name": "scratch", "emptyDir": {"sizeLimit": scratch_size}}, "name")
    _merge_by(mounts, {"name": "scratch", "mountPath": scratch}, "mountPath")
    for secret in task.secrets:
        if secret.mount == "env" and secret.key:
            _merge_by(env, {"name": _secret_env_name(secret), "valueFrom": {
                "secretKeyRef": {"name": secret.group, "key": secret.key}}}, "name")
        elif secret.mount == "env":
            env_from.append({"secretRef": {"name": secret.group}})
        else:
            volume = f"secret-{secret.group.replace('.', '-')}"[:63].rstrip("-")
            source: dict[str, Any] = {"secretName": secret.group, "defaultMode": 0o440}
            if secret.key:
                source["items"] = [{"key": secret.key, "path": secret.key}]
            _merge_by(volumes, {"name": volume, "secret": source}, "name")
            _merge_by(mounts, {"name": volume, "mountPath": f"{SECRETS_DIR}/{secret.group}",
                               "readOnly": True}, "mountPath")
    if any(s.mount == "file" for s in task.secrets):
        _merge_by(env, {"name": "FLYTEPATH_SECRETS_DIR", "value": SECRETS_DIR}, "name")

    tolerations = pod_spec.setdefault("tolerations", [])
    node_selector = pod_spec.setdefault("nodeSelector", {})
    if accelerator is not None:
        node_selector.update(accelerator.node_selector)
        tolerations.extend(_toleration(t) for t in accelerator.tolerations)
    if task.interruptible:
        spot = settings.spot
        last = request.attempt >= request.max_attempts
        if not last:
            tolerations.extend(_toleration(t) for t in spot.tolerations)
            expressions = [{"key": k, "operator": "In", "values": [v]}
                           for k, v in sorted(spot.node_labels.items())]
            if expressions and spot.affinity == "required":
                _require_node_terms(pod_spec, expressions)
            elif expressions:
                _node_affinity(pod_spec).setdefault(
                    "preferredDuringSchedulingIgnoredDuringExecution", []
                ).append({"weight": 100, "preference": {"matchExpressions": expressions}})
        elif spot.node_labels:
            _require_node_terms(pod_spec, [
                {"key": k, "operator": "NotIn", "values": [v]}
                for k, v in sorted(spot.node_labels.items())
            ])
        meta["annotations"][f"{LABEL_PREFIX}capacity"] = "regular" if last else "spot"

    # 3. The task's allow-listed overrides (checked against the policy by check_task).
    node_selector.update(overrides.node_selector)
    tolerations.extend(_toleration(t) for t in overrides.tolerations)
    labels.update(overrides.labels)
    meta["annotations"].update(overrides.annotations)
    if overrides.shared_memory:
        _merge_by(volumes, {"name": "dshm", "emptyDir": {
            "medium": "Memory", "sizeLimit": overrides.shared_memory}}, "name")
        _merge_by(mounts, {"name": "dshm", "mountPath": "/dev/shm"}, "mountPath")
    if overrides.termination_grace_period is not None:
        pod_spec["terminationGracePeriodSeconds"] = overrides.termination_grace_period

    for key in ("tolerations", "nodeSelector", "volumes", "affinity", "imagePullSecrets"):
        if not pod_spec.get(key):
            pod_spec.pop(key, None)
    for key in ("env", "envFrom", "volumeMounts"):
        if not container.get(key):
            container.pop(key, None)

    # 4. Airflow's pod mutation hook (cluster policy), on the kubernetes client's model.
    if mutation_hook is not None:
        pod = _apply_mutation_hook(pod, mutation_hook)

    problems = restricted_violations(pod)
    if problems and settings.enforce_restricted:
        raise PodSecurityError(
            f"the pod of node {request.node_id!r} would violate the restricted Pod Security "
            f"Standard: {'; '.join(problems)}. The platform pod template or the pod mutation "
            "hook is the cause (a task cannot set these fields); fix it, or set "
            "enforce_restricted: false in the Kubernetes settings to accept it."
        )
    return pod


def _apply_mutation_hook(pod: dict[str, Any], hook: Callable[[Any], Any]) -> dict[str, Any]:
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
    from kubernetes.client import ApiClient

    model = PodGenerator.deserialize_model_dict(pod)
    hook(model)
    result: dict[str, Any] = ApiClient().sanitize_for_serialization(model)
    return result


# ------------------------------------------------------------------- pod security check

_RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
})
_SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})


def restricted_violations(pod: Mapping[str, Any]) -> list[str]:
    """What in a pod manifest breaks the restricted Pod Security Standard (empty: none).

    Follows the standard's checks: host namespaces, privileged containers, capabilities,
    host paths and ports, volume types, privilege escalation, non-root user, seccomp,
    procMount, sysctls, SELinux and AppArmor.
    """
    spec = pod.get("spec") or {}
    problems: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            problems.append(f"spec.{key} is true")
    for volume in spec.get("volumes") or []:
        kinds = [k for k in volume if k != "name"]
        for kind in kinds:
            if kind not in _RESTRICTED_VOLUMES:
                problems.append(f"volume {volume.get('name')!r} is of type {kind}")
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in _SAFE_SYSCTLS:
            problems.append(f"sysctl {sysctl.get('name')!r} is not in the safe set")
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        problems.append("spec.securityContext.windowsOptions.hostProcess is true")
    problems += _selinux_apparmor(pod_sc, "spec.securityContext")
    pod_non_root = pod_sc.get("runAsNonRoot") is True
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if pod_sc.get("runAsNonRoot") is False:
        problems.append("spec.securityContext.runAsNonRoot is false")
    if pod_sc.get("runAsUser") == 0:
        problems.append("spec.securityContext.runAsUser is 0 (root)")
    if pod_seccomp is not None and pod_seccomp not in ("RuntimeDefault", "Localhost"):
        problems.append(f"spec.securityContext.seccompProfile.type is {pod_seccomp}")
    groups = (("containers", spec.get("containers")), ("initContainers",
              spec.get("initContainers")), ("ephemeralContainers",
              spec.get("ephemeralContainers")))
    for group, items in groups:
        for c in items or []:
            where = f"{group}[{c.get('name')}]"
            sc = c.get("securityContext") or {}
            if sc.get("privileged"):
                problems.append(f"{where} is privileged")
            if (sc.get("windowsOptions") or {}).get("hostProcess"):
                problems.append(f"{where} is a host process")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where} does not set allowPrivilegeEscalation: false")
            caps = sc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []):
                problems.append(f"{where} does not drop ALL capabilities")
            extra = [cap for cap in caps.get("add") or [] if cap != "NET_BIND_SERVICE"]
            if extra:
                problems.append(f"{where} adds capabilities {extra}")
            if sc.get("runAsNonRoot") is False:
                problems.append(f"{where} sets runAsNonRoot: false")
            elif not pod_non_root and sc.get("runAsNonRoot") is not True:
                problems.append(f"{where} may run as root (runAsNonRoot not true)")
            if sc.get("runAsUser") == 0:
                problems.append(f"{where} runs as user 0")
            seccomp = (sc.get("seccompProfile") or {}).get("type")
            if seccomp is not None and seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{where} seccompProfile.type is {seccomp}")
            elif seccomp is None and pod_seccomp is None:
                problems.append(f"{where} has no seccomp profile")
            if sc.get("procMount") not in (None, "Default"):
                problems.append(f"{where} sets procMount {sc.get('procMount')}")
            problems += _selinux_apparmor(sc, where)
            for port in c.get("ports") or []:
                if port.get("hostPort"):
                    problems.append(f"{where} uses hostPort {port['hostPort']}")
    return problems


def _selinux_apparmor(sc: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    selinux = sc.get("seLinuxOptions") or {}
    if selinux.get("type") not in (None, "", "container_t", "container_init_t",
                                   "container_kvm_t", "container_engine_t"):
        problems.append(f"{where} sets SELinux type {selinux.get('type')}")
    if selinux.get("user") or selinux.get("role"):
        problems.append(f"{where} sets an SELinux user or role")
    apparmor = (sc.get("appArmorProfile") or {}).get("type")
    if apparmor not in (None, "RuntimeDefault", "Localhost"):
        problems.append(f"{where} sets AppArmor profile {apparmor}")
    return problems


# ------------------------------------------------------------------------------ previews


def render_pods(
    spec: WorkflowSpec,
    settings: KubernetesSettings,
    *,
    spec_uri: str = "s3://flytepath/specs/spec.json",
    store_root: str = "s3://flytepath/store",
    run_id: str = "preview",
    attempt: int = 1,
    template: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """The pod each node of a spec would get in a run, by node id (no Airflow, no cluster).

    :param spec: the compiled workflow.
    :param settings: the platform's Kubernetes settings.
    :param spec_uri: the spec URI the pods read.
    :param store_root: the store root the pods use.
    :param run_id: the run id to show.
    :param attempt: the attempt to show.
    :param template: the platform's pod template (None: `pod_template_file`).
    """
    pods: dict[str, dict[str, Any]] = {}
    for node in spec.nodes:
        task = spec.task_of(node)
        args = (
            "--spec", spec_uri, "--node", node.id, "--run-id", run_id,
            "--attempt", str(attempt), "--root", store_root,
            "--prepare-inputs", json.dumps({}, sort_keys=True),
        )
        request = PodRequest(spec=spec, node_id=node.id, run_id=run_id, attempt=attempt,
                             max_attempts=task.retries + 1, args=args, store_root=store_root)
        pods[node.id] = compose_pod(request, settings, template=template)
    return pods


def is_remote_uri(root: str) -> bool:
    """True when a store root is a URL a pod can reach (not a path on the worker's disk)."""
    return "://" in root and not root.startswith("file://")

