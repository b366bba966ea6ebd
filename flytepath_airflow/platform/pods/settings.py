"""The Kubernetes runner's settings: what the platform decides about every task pod.

`KubernetesSettings` (accelerators, spot placement, the override allow-list, the security
context, tenancy, cluster connection, timeouts) and the two files it points at: the
settings file itself (`load_kubernetes_settings`) and the platform's pod template
(`load_pod_template`, step 1 of pod composition, ADR 0020).

Reads `[flytepath]` in airflow.cfg when Airflow is installed, importing it inside the
function only (pods can be rendered without Airflow). Must not import the kubernetes
client, operators, the DAG builder or user code.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import TolerationSpec
from flytepath_airflow.platform.tenancy import TenancySettings

__all__ = [
    "GPU_RESOURCE",
    "SETTINGS_FILE_ENV",
    "AcceleratorSettings",
    "KubernetesSettings",
    "KubernetesSettingsError",
    "OverridePolicy",
    "SecretKeySettings",
    "SecuritySettings",
    "SpotSettings",
    "load_kubernetes_settings",
    "load_pod_template",
]

SETTINGS_FILE_ENV = "FLYTEPATH_KUBERNETES_SETTINGS"
"""Environment variable naming the Kubernetes settings file (YAML or JSON)."""

GPU_RESOURCE = "nvidia.com/gpu"
"""The extended resource a GPU task requests unless its accelerator names another."""


class KubernetesSettingsError(FlytePathUserError):
    """The Kubernetes settings (file or `[flytepath]` section) are invalid."""


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
