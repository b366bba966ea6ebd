"""The pod of one node attempt: the runner's settings, the checks, composition, security.

- `settings`: `KubernetesSettings` and the files it names (settings file, pod template).
- `checks`: what a spec may ask of a pod (`check_task`), checked when the DAG is built.
- `compose`: `compose_pod()`, the one composition path of ADR 0020, and `render_pods()`.
- `security`: the restricted Pod Security Standard check of a composed pod.

The names below are what the operators, the CLI, the tests and the docs use. Importing
this package does not import Airflow or the kubernetes client.
"""

from __future__ import annotations

from flytepath_airflow.platform.pods.checks import check_task, is_remote_uri
from flytepath_airflow.platform.pods.compose import (
    BASE_CONTAINER,
    KUEUE_QUEUE_LABEL,
    LABEL_PREFIX,
    PodRequest,
    compose_pod,
    label_value,
    pod_name,
    render_pods,
)
from flytepath_airflow.platform.pods.security import PodSecurityError, restricted_violations
from flytepath_airflow.platform.pods.settings import (
    SETTINGS_FILE_ENV,
    AcceleratorSettings,
    KubernetesSettings,
    KubernetesSettingsError,
    OverridePolicy,
    SecretKeySettings,
    SecuritySettings,
    SpotSettings,
    load_kubernetes_settings,
    load_pod_template,
)
from flytepath_airflow.platform.tenancy import UnknownTenantError

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
