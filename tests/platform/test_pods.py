"""Pod composition: golden manifests, schema validation, restricted security, bad input.

Golden files live in golden/pods/; regenerate them after an intended change with

    FLYTEPATH_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/platform/test_pods.py

and review the diff like code.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.models import (
    InputRef,
    NodeSpec,
    PodOverridesSpec,
    ResourceList,
    ResourcesSpec,
    SecretRef,
    SimpleType,
    TaskSpec,
    TenantSpec,
    TolerationSpec,
    TypedInterface,
    Variable,
    WorkflowSpec,
)
from flytepath_airflow.ir.spec_io import with_version
from flytepath_airflow.platform.pods import (
    KubernetesSettings,
    KubernetesSettingsError,
    PodRequest,
    PodSecurityError,
    check_task,
    compose_pod,
    load_kubernetes_settings,
    render_pods,
    restricted_violations,
)
from flytepath_airflow.platform.tenancy import UnknownTenantError

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "pods"
SETTINGS_FILE = HERE / "golden" / "platform-settings.yaml"
ROOT = HERE.parents[1]
KUBERNETES_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
"""The oldest Kubernetes version still supported upstream, and the newest schema we have."""

SENTINEL = "s3cr3t-VALUE-never-in-a-manifest"
INT = SimpleType(name="int")


@pytest.fixture(scope="module")
def settings() -> KubernetesSettings:
    return load_kubernetes_settings(str(SETTINGS_FILE))


def make_task(**options: Any) -> TaskSpec:
    return TaskSpec(
        name="pipeline.train", fn="pipeline:train",
        interface=TypedInterface(inputs=(Variable(name="a", type=INT),),
                                 outputs=(Variable(name="o", type=INT),)),
        **options,
    )


def make_spec(task: TaskSpec, project: str = "ml", domain: str = "development") -> WorkflowSpec:
    return with_version(WorkflowSpec(
        schema_version=1, name="training", tenant=TenantSpec(project=project, domain=domain),
        interface=TypedInterface(inputs=(Variable(name="x", type=INT),)),
        tasks={"train": task},
        nodes=(NodeSpec(id="train", task="train", inputs={"a": InputRef(name="x")}),),
    ))


def make_request(spec: WorkflowSpec, attempt: int = 1) -> PodRequest:
    task = spec.tasks["train"]
    root = "s3://ml-platform/flytepath"
    run = "ml.development.training__manual__2026-01-01T00_00_00_00_00"
    args = ("--spec", f"{root}/runs/{run}/spec.json", "--node", "train", "--run-id", run,
            "--attempt", str(attempt), "--root", root, "--prepare-inputs", '{"x": 3}')
    return PodRequest(spec=spec, node_id="train", run_id=run, attempt=attempt,
                      max_attempts=task.retries + 1, args=args, store_root=root)


def _hook(pod: Any) -> None:
    """A cluster policy, as airflow_local_settings.pod_mutation_hook would be."""
    pod.metadata.annotations["cluster.example.com/cost-center"] = "ml-42"


TEMPLATE = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"labels": {"platform.example.com/owner": "ml-platform"}},
    "spec": {
        "dnsConfig": {"options": [{"name": "ndots", "value": "2"}]},
        "containers": [{"name": "base", "env": [{"name": "HTTP_PROXY",
                                                  "value": "http://proxy:3128"}]}],
    },
}

CASES: dict[str, dict[str, Any]] = {
    "cpu": {"task": {"resources": ResourcesSpec(
        requests=ResourceList(cpu="1", mem="2Gi"), limits=ResourceList(cpu="2"))}},
    "gpu": {"task": {
        "resources": ResourcesSpec(requests=ResourceList(cpu="8", mem="32Gi", gpu="1")),
        "pod_overrides": PodOverridesSpec(accelerator="a100", shared_memory="8Gi"),
        "image": "registry.example.com/team/train:1.4"}},
    "gpu-default-accelerator": {"task": {
        "resources": ResourcesSpec(requests=ResourceList(gpu="2"))}},
    "interruptible-first-attempt": {"task": {"interruptible": True, "retries": 2},
                                    "attempt": 1},
    "interruptible-last-attempt": {"task": {"interruptible": True, "retries": 2},
                                   "attempt": 3},
    "secrets": {"task": {"secrets": (
        SecretRef(group="wandb", key="api-key"),
        SecretRef(group="warehouse", key="password", env_var="DB_PASSWORD"),
        SecretRef(group="aws-credentials"),
        SecretRef(group="tls.client", key="tls.key", mount="file"),
    ), "env": {"LOG_LEVEL": "debug"}}},
    "overrides": {"task": {"pod_overrides": PodOverridesSpec(
        node_selector={"topology.kubernetes.io/zone": "europe-west4-a"},
        tolerations=(TolerationSpec(key="dedicated", value="ml", effect="NoSchedule"),),
        labels={"team": "recsys", "team.example.com/budget": "q3"},
        annotations={"team.example.com/ticket": "ML-1234"},
        shared_memory="2Gi", scratch_size="50Gi", termination_grace_period=120,
    )}},
    "kueue": {"task": {"resources": ResourcesSpec(requests=ResourceList(cpu="4", mem="8Gi"))},
              "tenant": ("ml", "production")},
    "template-and-mutation-hook": {"task": {}, "template": TEMPLATE, "hook": True},
}


def compose_case(name: str, settings: KubernetesSettings) -> dict[str, Any]:
    case = CASES[name]
    spec = make_spec(make_task(**case["task"]), *case.get("tenant", ("ml", "development")))
    return compose_pod(make_request(spec, case.get("attempt", 1)), settings,
                       template=case.get("template"), mutation_hook=_hook if case.get("hook")
                       else None)


def dump(manifest: dict[str, Any]) -> str:
    return yaml.safe_dump(manifest, sort_keys=True, default_flow_style=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_pod_matches_its_golden_manifest(name, settings, golden):
    golden(GOLDEN / f"{name}.yaml", dump(compose_case(name, settings)))


def test_every_golden_file_has_a_case():
    assert sorted(p.stem for p in GOLDEN.glob("*.yaml")) == sorted(CASES)


def validate_manifest(manifest: dict[str, Any]) -> None:
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(copy.deepcopy(manifest), version, strict=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_pod_passes_kubernetes_validate_and_restricted(name, settings):
    pod = compose_case(name, settings)
    validate_manifest(pod)
    assert restricted_violations(pod) == []


# ------------------------------------------------------------------------ what is in a pod


def test_cpu_pod_has_requests_limits_tenant_and_identity(settings):
    pod = compose_case("cpu", settings)
    container = pod["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"},
                                      "limits": {"cpu": "2", "memory": "2Gi"}}
    assert pod["metadata"]["namespace"] == "flytepath-ml-development"
    assert pod["spec"]["serviceAccountName"] == "flytepath-task"
    assert pod["spec"]["automountServiceAccountToken"] is False
    labels = pod["metadata"]["labels"]
    for key in ("project", "domain", "workflow", "version", "node", "run", "attempt"):
        assert f"flytepath.io/{key}" in labels
    assert container["command"] == ["flytepath-execute"]
    assert container["args"][container["args"].index("--node") + 1] == "train"
    assert container["image"] == "registry.example.com/flytepath/task:0.1.0"


def test_gpu_pod_requests_nvidia_gpus_on_the_accelerator_nodes(settings):
    pod = compose_case("gpu", settings)
    resources = pod["spec"]["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"
    assert pod["spec"]["nodeSelector"] == {
        "cloud.google.com/gke-accelerator": "nvidia-tesla-a100"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in \
        pod["spec"]["tolerations"]
    assert pod["spec"]["containers"][0]["image"] == "registry.example.com/team/train:1.4"


def test_interruptible_runs_on_spot_except_its_last_attempt(settings):
    first = compose_case("interruptible-first-attempt", settings)
    last = compose_case("interruptible-last-attempt", settings)
    spot_toleration = {"key": "cloud.google.com/gke-spot", "operator": "Equal",
                       "value": "true", "effect": "NoSchedule"}
    assert spot_toleration in first["spec"]["tolerations"]
    assert "tolerations" not in last["spec"]
    term = lambda pod: pod["spec"]["affinity"]["nodeAffinity"][  # noqa: E731
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term(first)["matchExpressions"] == [
        {"key": "cloud.google.com/gke-spot", "operator": "In", "values": ["true"]}]
    assert term(last)["matchExpressions"] == [
        {"key": "cloud.google.com/gke-spot", "operator": "NotIn", "values": ["true"]}]
    assert first["metadata"]["annotations"]["flytepath.io/capacity"] == "spot"
    assert last["metadata"]["annotations"]["flytepath.io/capacity"] == "regular"


def test_kueue_tenant_gets_queue_label_priority_class_and_tenant_image(settings):
    pod = compose_case("kueue", settings)
    assert pod["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "ml-production"
    assert pod["metadata"]["namespace"] == "flytepath-ml-production"
    assert pod["spec"]["priorityClassName"] == "flytepath-production"
    assert pod["spec"]["containers"][0]["image"] == "registry.example.com/ml/base:2.0"


def test_composition_order_template_then_generated_then_overrides_then_hook(settings):
    hostile_template = copy.deepcopy(TEMPLATE)
    hostile_template["metadata"]["namespace"] = "kube-system"
    hostile_template["spec"]["serviceAccountName"] = "cluster-admin"
    hostile_template["spec"]["containers"][0]["image"] = "template:image"
    task = make_task(pod_overrides=PodOverridesSpec(labels={"team": "recsys"},
                                                    termination_grace_period=5))
    seen: dict[str, Any] = {}

    def hook(pod: Any) -> None:
        seen["labels"] = dict(pod.metadata.labels)
        pod.spec.termination_grace_period_seconds = 7
        pod.metadata.labels["team"] = "set-by-hook"

    pod = compose_pod(make_request(make_spec(task)), settings, template=hostile_template,
                      mutation_hook=hook)
    # generated fields win over the template ...
    assert pod["metadata"]["namespace"] == "flytepath-ml-development"
    assert pod["spec"]["serviceAccountName"] == "flytepath-task"
    assert pod["spec"]["containers"][0]["image"] == "registry.example.com/flytepath/task:0.1.0"
    # ... what the template adds and the generator does not touch stays ...
    assert pod["spec"]["dnsConfig"] == TEMPLATE["spec"]["dnsConfig"]
    assert {"name": "HTTP_PROXY", "value": "http://proxy:3128"} in \
        pod["spec"]["containers"][0]["env"]
    # ... overrides come after the generated fields, and the hook sees them and runs last.
    assert seen["labels"]["team"] == "recsys"
    assert pod["metadata"]["labels"]["team"] == "set-by-hook"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 7


def test_settings_file_names_the_pod_template(tmp_path):
    template = tmp_path / "pod-template.yaml"
    template.write_text(yaml.safe_dump(TEMPLATE))
    data = yaml.safe_load(SETTINGS_FILE.read_text())
    data["pod_template_file"] = str(template)
    settings = KubernetesSettings.from_mapping(data)
    pod = compose_pod(make_request(make_spec(make_task())), settings)
    assert pod["spec"]["dnsConfig"] == TEMPLATE["spec"]["dnsConfig"]


# ------------------------------------------------------------------------------ security


def test_restricted_checker_catches_each_kind_of_violation():
    base = compose_case("cpu", load_kubernetes_settings(str(SETTINGS_FILE)))
    assert restricted_violations(base) == []
    mutations = {
        "hostNetwork": lambda p: p["spec"].update(hostNetwork=True),
        "privileged": lambda p: p["spec"]["containers"][0]["securityContext"].update(
            privileged=True),
        "allowPrivilegeEscalation": lambda p: p["spec"]["containers"][0][
            "securityContext"].pop("allowPrivilegeEscalation"),
        "ALL capabilities": lambda p: p["spec"]["containers"][0]["securityContext"].update(
            capabilities={"drop": ["NET_RAW"]}),
        "adds capabilities": lambda p: p["spec"]["containers"][0]["securityContext"].update(
            capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
        "runAsNonRoot": lambda p: p["spec"]["securityContext"].update(runAsNonRoot=False),
        "user 0": lambda p: p["spec"]["securityContext"].update(runAsUser=0),
        "seccomp": lambda p: p["spec"]["securityContext"].update(
            seccompProfile={"type": "Unconfined"}),
        "hostPath": lambda p: p["spec"]["volumes"].append(
            {"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}),
        "hostPort": lambda p: p["spec"]["containers"][0].update(
            ports=[{"containerPort": 80, "hostPort": 80}]),
        "procMount": lambda p: p["spec"]["containers"][0]["securityContext"].update(
            procMount="Unmasked"),
        "sysctl": lambda p: p["spec"]["securityContext"].update(
            sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
    }
    for name, mutate in mutations.items():
        pod = copy.deepcopy(base)
        mutate(pod)
        assert restricted_violations(pod), f"the checker missed: {name}"


def test_a_mutation_hook_that_breaks_restricted_is_refused(settings):
    def bad_hook(pod: Any) -> None:
        pod.spec.containers[0].security_context.privileged = True

    with pytest.raises(PodSecurityError, match="is privileged"):
        compose_pod(make_request(make_spec(make_task())), settings, mutation_hook=bad_hook)


def test_a_template_cannot_smuggle_host_access_in(settings):
    template = {"spec": {"hostNetwork": True, "hostPID": True, "containers": [{"name": "base"}]}}
    pod = compose_pod(make_request(make_spec(make_task())), settings, template=template)
    assert "hostNetwork" not in pod["spec"] and "hostPID" not in pod["spec"]


def test_secrets_are_references_never_values(settings):
    pod = compose_case("secrets", settings)
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["WANDB_API_KEY"] == {"name": "WANDB_API_KEY", "valueFrom": {
        "secretKeyRef": {"name": "wandb", "key": "api-key"}}}
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "warehouse",
                                                               "key": "password"}
    assert env["FLYTEPATH_METADATA_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "flytepath-metadata", "key": "url"}
    assert {"secretRef": {"name": "aws-credentials"}} in container["envFrom"]
    volume = next(v for v in pod["spec"]["volumes"] if "secret" in v)
    assert volume["secret"]["secretName"] == "tls.client"
    assert {"name": volume["name"], "mountPath": "/etc/flytepath/secrets/tls.client",
            "readOnly": True} in container["volumeMounts"]
    for item in container["env"]:
        assert "value" in item or set(item["valueFrom"]) == {"secretKeyRef"}


def test_no_secret_value_appears_in_any_manifest(settings):
    """FlytePath never reads Secret values; a sentinel in the cluster never reaches a pod.

    The only way a value could get in is the task's own env, which is not a secret store:
    a Jinja expression there stays literal (the operator renders no template fields).
    """
    for name in CASES:
        assert SENTINEL not in json.dumps(compose_case(name, settings))
    task = make_task(env={"TOKEN": "{{ conn.warehouse.password }}"})
    pod = compose_pod(make_request(make_spec(task)), settings)
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["TOKEN"]["value"] == "{{ conn.warehouse.password }}"


# ------------------------------------------------------------------------------- tenancy


def test_each_tenant_gets_its_own_namespace_service_account_and_pool(settings):
    search = check_task(make_spec(make_task(), "search", "development"), make_task(),
                        settings)
    ml = check_task(make_spec(make_task()), make_task(), settings)
    assert (search.namespace, search.service_account, search.pool) == (
        "search-dev", "search-tasks", "flytepath_search_development")
    assert (ml.namespace, ml.pool) == ("flytepath-ml-development", "flytepath_ml_development")


def test_an_unknown_tenant_is_refused(settings):
    with pytest.raises(UnknownTenantError) as err:
        compose_pod(make_request(make_spec(make_task(), "finance", "production")), settings)
    text = str(err.value)
    assert "'finance/production' is not a tenant" in text and "ml/development" in text
    assert "workflow 'training'" in text


@pytest.mark.parametrize("field", ["namespace", "service_account", "serviceAccountName",
                                   "pool", "priority_class", "host_network"])
def test_a_spec_cannot_choose_tenant_resources_through_overrides(field):
    doc = json.loads(make_spec(make_task()).model_dump_json())
    doc["tasks"]["train"]["pod_overrides"] = {field: "search-dev"}
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        WorkflowSpec.model_validate(doc)


@pytest.mark.parametrize(("labels", "why"), [
    ({"flytepath.io/project": "search"}, "reserved"),
    ({"kueue.x-k8s.io/queue-name": "search-queue"}, "reserved"),
    ({"node.kubernetes.io/role": "x"}, "reserved"),
    ({"run_id": "someone-else"}, "reserved"),
    ({"other.example.com/x": "y"}, "prefix the platform does not allow"),
])
def test_override_labels_cannot_impersonate_tenants_or_airflow(settings, labels, why):
    task = make_task(pod_overrides=PodOverridesSpec(labels=labels))
    with pytest.raises(CompileError, match=why):
        check_task(make_spec(task), task, settings)


def test_tenancy_refuses_two_tenants_in_one_namespace():
    data = {"tenancy": {"namespace_template": "ns-{project}", "tenants": [
        {"project": "a", "domain": "development"}, {"project": "a", "domain": "production"}]}}
    with pytest.raises(KubernetesSettingsError, match="both resolve to namespace 'ns-a'"):
        KubernetesSettings.from_mapping(data)


def test_tenancy_refuses_shared_pools_and_bad_names():
    shared = {"tenancy": {"tenants": [
        {"project": "a", "domain": "d", "pool": "p"}, {"project": "b", "domain": "d",
                                                       "pool": "p"}]}}
    with pytest.raises(KubernetesSettingsError, match="share Airflow pool 'p'"):
        KubernetesSettings.from_mapping(shared)
    # Tenants follow the spec's naming rules (ADR 0033): a project no spec can name is
    # refused where it is listed.
    bad = {"tenancy": {"tenants": [{"project": "ML_Team", "domain": "d"}]}}
    with pytest.raises(KubernetesSettingsError, match="project 'ML_Team' contains upper-case"):
        KubernetesSettings.from_mapping(bad)
    bad_namespace = {"tenancy": {"tenants": [
        {"project": "ml", "domain": "d", "namespace": "ML_Team"}]}}
    with pytest.raises(KubernetesSettingsError, match="not a valid Kubernetes name"):
        KubernetesSettings.from_mapping(bad_namespace)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("options", "message"), [
    ({"resources": ResourcesSpec(requests=ResourceList(cpu="2 cores"))},
     r"task 'pipeline.train': requests.cpu '2 cores' contains spaces"),
    ({"resources": ResourcesSpec(limits=ResourceList(mem="-1Gi"))},
     r"limits.mem '-1Gi' is negative"),
    ({"pod_overrides": PodOverridesSpec(accelerator="h100"),
      "resources": ResourcesSpec(requests=ResourceList(gpu="1"))},
     r"pod_overrides.accelerator 'h100' is not an accelerator"),
    ({"pod_overrides": PodOverridesSpec(accelerator="a100")},
     r"requests no GPU"),
    ({"pod_overrides": PodOverridesSpec(node_selector={"kubernetes.io/hostname": "n1"})},
     r"pod_overrides.node_selector key 'kubernetes.io/hostname' is not allowed"),
    ({"pod_overrides": PodOverridesSpec(tolerations=(TolerationSpec(key="node-role"),))},
     r"pod_overrides.tolerations key 'node-role' is not allowed"),
    ({"pod_overrides": PodOverridesSpec(shared_memory="64Gi")},
     r"pod_overrides.shared_memory '64Gi' is more than the platform allows"),
    ({"secrets": (SecretRef(group="Not_A_Name"),)}, r"secret group 'Not_A_Name'"),
])
def test_bad_task_input_is_a_compile_error_naming_task_and_field(settings, options, message):
    task = make_task(**options)
    with pytest.raises(CompileError, match=message):
        check_task(make_spec(task), task, settings)


def test_gpu_without_an_accelerator_mapping_is_refused():
    settings = KubernetesSettings.from_mapping({"tenancy": {"tenants": [
        {"project": "ml", "domain": "development"}]}})
    task = make_task(resources=ResourcesSpec(requests=ResourceList(gpu="1")))
    with pytest.raises(CompileError) as err:
        check_task(make_spec(task), task, settings)
    assert "task 'pipeline.train': requests.gpu is set but" in str(err.value)
    assert "default_accelerator" in str(err.value)


def test_invalid_settings_name_the_file_and_field(tmp_path):
    path = tmp_path / "k8s.yaml"
    path.write_text("default_image: x\nsecurity: {run_as_user: 0}\nbogus: 1\n")
    with pytest.raises(KubernetesSettingsError) as err:
        load_kubernetes_settings(str(path))
    text = str(err.value)
    assert str(path) in text and "security.run_as_user" in text and "bogus" in text


def test_settings_file_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "k8s.yaml"
    path.write_text("default_image: registry.example.com/other:1\n")
    monkeypatch.setenv("FLYTEPATH_KUBERNETES_SETTINGS", str(path))
    assert load_kubernetes_settings().default_image == "registry.example.com/other:1"
    monkeypatch.setenv("FLYTEPATH_KUBERNETES_SETTINGS", str(tmp_path / "missing.yaml"))
    with pytest.raises(KubernetesSettingsError, match="does not exist"):
        load_kubernetes_settings()


# ------------------------------------------------------------------- the example pipeline


def test_the_example_pipeline_renders_to_pods_that_validate(settings, monkeypatch):
    from flytepath_airflow.sdk.targets import load_target
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    spec = load_target(f"{ROOT / 'examples' / 'ml_pipeline.py'}:training_pipeline")
    spec = spec.model_copy(update={"tenant": TenantSpec(project="ml", domain="production")})
    pods = render_pods(spec, settings)
    assert sorted(pods) == sorted(node.id for node in spec.nodes)
    for node_id, pod in pods.items():
        validate_manifest(pod)
        assert restricted_violations(pod) == [], node_id
        assert pod["metadata"]["labels"]["flytepath.io/node"]
    generate = next(p for n, p in pods.items() if "generate_data" in n)
    assert generate["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "1", "memory": "1Gi"}


# ------------------------------------------------------- platform variables and metadata


@pytest.mark.parametrize("task_options", [
    {"secrets": (SecretRef(group="db", key="url", env_var="FLYTEPATH_METADATA_URL"),)},
    {"secrets": (SecretRef(group="flytepath", key="store_root"),)},
    {"env": {"FLYTEPATH_HOME": "/data"}},
], ids=["secret-env_var", "secret-derived-name", "env"])
def test_a_task_cannot_set_a_platform_variable_in_its_pod(settings, task_options):
    spec = make_spec(make_task(**task_options))
    with pytest.raises(CompileError, match=r"task 'pipeline.train': the task's env or a "
                       r"secret's env_var sets FLYTEPATH_\w+, but FLYTEPATH_\* variables belong "
                       r"to the platform"):
        compose_pod(make_request(spec), settings)


def test_the_platform_settings_win_over_a_whole_secret_imported_as_variables(settings):
    pod = compose_case("secrets", settings)
    [container] = pod["spec"]["containers"]
    # Kubernetes: a later envFrom source wins over an earlier one, and env over envFrom.
    assert container["envFrom"][-1] == {"configMapRef": {"name": "flytepath-settings",
                                                         "optional": True}}
    names = [e["name"] for e in container["env"]]
    assert names.index("FLYTEPATH_METADATA_URL") > names.index("DB_PASSWORD")


def test_the_whole_pods_annotations_are_held_to_the_kubernetes_limit(settings):
    # Each part is within the limit; the template's and the task's together are not.
    template = copy.deepcopy(TEMPLATE)
    template["metadata"]["annotations"] = {"platform.example.com/policy": "p" * 200_000}
    task = make_task(pod_overrides=PodOverridesSpec(
        annotations={"team.example.com/notes": "n" * 100_000}))
    with pytest.raises(CompileError, match=r"the pod of node 'train' \(task 'pipeline.train'\): "
                       r"annotations take 30\d{4} bytes together, more than the 262144 bytes "
                       r"\(256 KiB\) Kubernetes allows on one object \(the largest is "
                       r"'platform.example.com/policy'\)"):
        compose_pod(make_request(make_spec(task)), settings, template=template)


@pytest.mark.parametrize(("metadata", "message"), [
    ({"labels": {"team": "x" * 100}}, r"labels\['team'\] value 'x{60}\.\.\. \(100 "
     r"characters\)' is not a valid label value: it has 100 characters; Kubernetes allows 63"),
    ({"labels": {"team": "a b"}}, r"value 'a b' is not a valid label value: it must be empty"),
    ({"labels": {"team.example.com/": "x"}}, r"key 'team.example.com/' is not a valid "
     r"Kubernetes key: its name \(after any 'prefix/'\) is empty"),
    ({"annotations": {"team.example.com/" + "n" * 64: "x"}}, r"its name has 64 characters; "
     r"Kubernetes allows 63"),
    ({"annotations": {"a" * 254 + ".example.com/x": "x"}}, r"its prefix has 266 characters; "
     r"Kubernetes allows 253"),
    ({"annotations": {"team..example.com/x": "x"}}, r"its prefix 'team..example.com' must be a "
     r"DNS subdomain"),
])
def test_labels_and_annotations_follow_the_kubernetes_key_and_value_rules(metadata, message):
    with pytest.raises(CompileError, match=message):
        PodOverridesSpec.from_options(metadata, "pipeline.train")


def _env_values(pod: dict[str, Any]) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}


def test_a_retry_pod_names_its_own_and_the_previous_checkpoint_prefix(settings):
    from flytepath_airflow.runtime.checkpoint import checkpoint_key

    request = make_request(make_spec(make_task(retries=2)), attempt=3)
    env = _env_values(compose_pod(request, settings))
    root = request.store_root
    # The same prefixes the runtime in the pod saves under and resumes from.
    assert env["FLYTEPATH_CHECKPOINT_PREFIX"] == \
        f"{root}/{checkpoint_key(request.run_id, 'train', 3)}"
    assert env["FLYTEPATH_PREV_CHECKPOINT_PREFIX"] == \
        f"{root}/{checkpoint_key(request.run_id, 'train', 2)}"


def test_a_first_attempt_pod_has_no_previous_prefix_and_a_map_element_its_own(settings):
    import dataclasses

    request = dataclasses.replace(make_request(make_spec(make_task(retries=2))),
                                  record_id="train[4]")
    env = _env_values(compose_pod(request, settings))
    assert env["FLYTEPATH_CHECKPOINT_PREFIX"].endswith("/nodes/train[4]/attempt-1/checkpoint")
    assert "FLYTEPATH_PREV_CHECKPOINT_PREFIX" not in env
