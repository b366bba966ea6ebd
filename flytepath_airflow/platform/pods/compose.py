"""The one function that composes a FlytePath pod, in the fixed order of ADR 0020.

`compose_pod()` is the only place a FlytePath pod is assembled. After `check_task()` has
checked what the spec controls, it runs four steps, each its own function, always in
this order (DESIGN.md invariant 4); a later step wins over an earlier one for the fields
it sets:

1. `_platform_template`: the platform's pod template (a manifest the platform team owns);
2. `_add_generated_fields`: image, command/args, labels and annotations, resources, tenant
   namespace and service account, priority class, restricted security context, scratch
   volume, secrets as references, accelerator and spot scheduling, Kueue queue label;
3. `_apply_task_overrides`: the task's allow-listed `pod_overrides` (values already
   limited by `OverridePolicy` in `check_task`);
4. `_apply_mutation_hook`: Airflow's `pod_mutation_hook`, when the caller passes one.

The result's labels and annotations are checked against Kubernetes' limits, and the pod
against the restricted Pod Security Standard, before it is returned.
`render_pods()` previews the pods of a whole spec without Airflow or a cluster.

Works on plain manifest dicts (camelCase, as `kubectl` shows them), so the output is what
golden files and `kubernetes-validate` check. Imports Airflow's pod generator and the
kubernetes client only inside step 4, which needs a V1Pod. Must not import operators, the
DAG builder or user code.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flytepath_airflow.ir.models import (
    PodOverridesSpec,
    TaskSpec,
    TolerationSpec,
    WorkflowSpec,
)
from flytepath_airflow.ir.pod_metadata import check_pod_metadata
from flytepath_airflow.platform.pods.checks import LABEL_VALUE, accelerator_for, check_task
from flytepath_airflow.platform.pods.security import check_restricted
from flytepath_airflow.platform.pods.settings import (
    AcceleratorSettings,
    KubernetesSettings,
    load_pod_template,
)
from flytepath_airflow.platform.tenancy import ResolvedTenant
from flytepath_airflow.runtime.checkpoint import checkpoint_key

__all__ = [
    "BASE_CONTAINER",
    "KUEUE_QUEUE_LABEL",
    "LABEL_PREFIX",
    "SECRETS_DIR",
    "PodRequest",
    "compose_pod",
    "label_value",
    "pod_name",
    "render_pods",
]

BASE_CONTAINER = "base"
"""Name of the container that runs the node (the KubernetesPodOperator's base container)."""

LABEL_PREFIX = "flytepath.io/"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
SECRETS_DIR = "/etc/flytepath/secrets"


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
    :param record_id: the id the node's records use, `node[i]` for a map element (None:
        `node_id`); it names the attempt's checkpoint prefix.
    """

    spec: WorkflowSpec
    node_id: str
    run_id: str
    attempt: int
    max_attempts: int
    args: tuple[str, ...]
    store_root: str
    airflow_labels: Mapping[str, str] = field(default_factory=dict)
    record_id: str | None = None

    @property
    def task(self) -> TaskSpec:
        """The task the node runs."""
        return self.spec.task_of(self.spec.node(self.node_id))


def _short_hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:10]


def label_value(text: str) -> str:
    """`text` as a valid label value: kept when valid, else cleaned, cut and hashed."""
    if LABEL_VALUE.match(text) and len(text) <= 63:
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
    :raises CompileError, UnknownTenantError: a bad task or tenant (see `check_task`), or
        labels and annotations (the template's, FlytePath's and the task's together) that
        Kubernetes would refuse.
    :raises PodSecurityError: the final pod violates the restricted Pod Security Standard.
    """
    task = request.task
    tenant = check_task(request.spec, task, settings)
    accelerator = accelerator_for(task, settings)

    pod = _platform_template(template, settings)
    _add_generated_fields(pod, request, settings, tenant, accelerator)
    _apply_task_overrides(pod, task.pod_overrides or PodOverridesSpec())
    _drop_empty_fields(pod)
    pod = _apply_mutation_hook(pod, mutation_hook)

    meta = pod["metadata"]
    check_pod_metadata(meta.get("labels") or {}, meta.get("annotations") or {},
                       f"the pod of node '{request.node_id}' (task '{task.name}')", field="")
    check_restricted(pod, request.node_id, enforce=settings.enforce_restricted)
    return pod


# ------------------------------------------------------- step 1: the platform's template


def _platform_template(template: Mapping[str, Any] | None, settings: KubernetesSettings
                       ) -> dict[str, Any]:
    """A copy of the platform's pod template, with a base container to run the node in."""
    if template is None:
        template = load_pod_template(settings)
    pod: dict[str, Any] = copy.deepcopy(dict(template)) if template else {}
    pod["apiVersion"], pod["kind"] = "v1", "Pod"
    pod.setdefault("metadata", {})
    containers = pod.setdefault("spec", {}).setdefault("containers", [])
    if not any(c.get("name") == BASE_CONTAINER for c in containers):
        containers.insert(0, {"name": BASE_CONTAINER})
    return pod


def _base_container(pod: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = next(
        c for c in pod["spec"]["containers"] if c.get("name") == BASE_CONTAINER
    )
    return container


# ---------------------------------------------------------- step 2: generated fields


def _add_generated_fields(
    pod: dict[str, Any],
    request: PodRequest,
    settings: KubernetesSettings,
    tenant: ResolvedTenant,
    accelerator: AcceleratorSettings | None,
) -> None:
    """Set what FlytePath derives: identity, tenant, security, container, env, placement.

    Namespace, service account, security context, command and image are always set here,
    over whatever the template said, so a template cannot move a pod to another tenant.
    """
    container = _base_container(pod)
    _generated_metadata(pod["metadata"], request, tenant)
    _generated_pod_fields(pod["spec"], settings, tenant)
    _generated_container(container, request.task, request, settings, tenant, accelerator)
    _generated_env_and_volumes(pod["spec"], container, request, settings)
    _generated_placement(pod, request, settings, accelerator)


def _generated_metadata(meta: dict[str, Any], request: PodRequest,
                        tenant: ResolvedTenant) -> None:
    spec, task = request.spec, request.task
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


def _generated_pod_fields(pod_spec: dict[str, Any], settings: KubernetesSettings,
                          tenant: ResolvedTenant) -> None:
    security = settings.security
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


def _generated_container(
    container: dict[str, Any],
    task: TaskSpec,
    request: PodRequest,
    settings: KubernetesSettings,
    tenant: ResolvedTenant,
    accelerator: AcceleratorSettings | None,
) -> None:
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


def _generated_env_and_volumes(pod_spec: dict[str, Any], container: dict[str, Any],
                               request: PodRequest, settings: KubernetesSettings) -> None:
    """The task's env and secrets first, then the platform's variables, which win.

    `check_task` refuses a task variable named FLYTEPATH_*; the order is the second guard,
    and the one for variables a whole Secret brings (`envFrom`), whose keys are unknown
    here: Kubernetes lets `env` win over `envFrom`, and a later `envFrom` source over an
    earlier one, so the platform's ConfigMap comes last.
    """
    task, security = request.task, settings.security
    env = container.setdefault("env", [])
    env_from = container.setdefault("envFrom", [])
    volumes = pod_spec.setdefault("volumes", [])
    mounts = container.setdefault("volumeMounts", [])
    scratch = security.scratch_path.rstrip("/") or "/tmp"
    # The default size; a task's scratch_size override replaces it in step 3.
    _merge_by(volumes, {"name": "scratch", "emptyDir": {"sizeLimit": security.scratch_size}},
              "name")
    _merge_by(mounts, {"name": "scratch", "mountPath": scratch}, "mountPath")
    for name in sorted(task.env):
        _merge_by(env, {"name": name, "value": task.env[name]}, "name")
    for secret in task.secrets:
        if secret.mount == "env" and secret.key:
            _merge_by(env, {"name": secret.env_name(), "valueFrom": {
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

    for name, value in (
        *_checkpoint_env(request),
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
    if any(s.mount == "file" for s in task.secrets):
        _merge_by(env, {"name": "FLYTEPATH_SECRETS_DIR", "value": SECRETS_DIR}, "name")
    if settings.config_map:
        env_from.append({"configMapRef": {"name": settings.config_map, "optional": True}})


def _checkpoint_env(request: PodRequest) -> tuple[tuple[str, str], ...]:
    """Where this attempt saves its checkpoints and where the attempt before it saved.

    The runtime in the pod derives the same prefixes from the store, run and attempt
    (runtime/checkpoint.py) and looks further back than one attempt; these variables show
    them to tools in the container, and to whoever reads the pod.
    """
    record = request.record_id or request.node_id
    root = request.store_root.rstrip("/")
    env = [("FLYTEPATH_CHECKPOINT_PREFIX",
            f"{root}/{checkpoint_key(request.run_id, record, request.attempt)}")]
    if request.attempt > 1:
        env.append(("FLYTEPATH_PREV_CHECKPOINT_PREFIX",
                    f"{root}/{checkpoint_key(request.run_id, record, request.attempt - 1)}"))
    return tuple(env)


def _generated_placement(pod: dict[str, Any], request: PodRequest,
                         settings: KubernetesSettings,
                         accelerator: AcceleratorSettings | None) -> None:
    pod_spec = pod["spec"]
    tolerations = pod_spec.setdefault("tolerations", [])
    node_selector = pod_spec.setdefault("nodeSelector", {})
    if accelerator is not None:
        node_selector.update(accelerator.node_selector)
        tolerations.extend(_toleration(t) for t in accelerator.tolerations)
    if not request.task.interruptible:
        return
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
    pod["metadata"]["annotations"][f"{LABEL_PREFIX}capacity"] = "regular" if last else "spot"


# ------------------------------------------------- step 3: the task's allowed overrides


def _apply_task_overrides(pod: dict[str, Any], overrides: PodOverridesSpec) -> None:
    """Apply the task's `pod_overrides`, already checked against the policy by check_task."""
    meta, pod_spec = pod["metadata"], pod["spec"]
    container = _base_container(pod)
    pod_spec.setdefault("nodeSelector", {}).update(overrides.node_selector)
    pod_spec.setdefault("tolerations", []).extend(_toleration(t) for t in overrides.tolerations)
    meta.setdefault("labels", {}).update(overrides.labels)
    meta.setdefault("annotations", {}).update(overrides.annotations)
    volumes = pod_spec.setdefault("volumes", [])
    mounts = container.setdefault("volumeMounts", [])
    if overrides.scratch_size:
        _merge_by(volumes, {"name": "scratch", "emptyDir": {
            "sizeLimit": overrides.scratch_size}}, "name")
    if overrides.shared_memory:
        _merge_by(volumes, {"name": "dshm", "emptyDir": {
            "medium": "Memory", "sizeLimit": overrides.shared_memory}}, "name")
        _merge_by(mounts, {"name": "dshm", "mountPath": "/dev/shm"}, "mountPath")
    if overrides.termination_grace_period is not None:
        pod_spec["terminationGracePeriodSeconds"] = overrides.termination_grace_period


def _drop_empty_fields(pod: dict[str, Any]) -> None:
    """Remove the empty lists and maps steps 2 and 3 set up but did not fill."""
    pod_spec, container = pod["spec"], _base_container(pod)
    for key in ("tolerations", "nodeSelector", "volumes", "affinity", "imagePullSecrets"):
        if not pod_spec.get(key):
            pod_spec.pop(key, None)
    for key in ("env", "envFrom", "volumeMounts"):
        if not container.get(key):
            container.pop(key, None)


# --------------------------------------------------- step 4: Airflow's pod mutation hook


def _apply_mutation_hook(pod: dict[str, Any], hook: Callable[[Any], Any] | None
                         ) -> dict[str, Any]:
    """Run the cluster policy on the kubernetes client's model; no hook leaves the pod."""
    if hook is None:
        return pod
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
    from kubernetes.client import ApiClient

    model = PodGenerator.deserialize_model_dict(pod)
    hook(model)
    result: dict[str, Any] = ApiClient().sanitize_for_serialization(model)
    return result


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
