"""The FlytePath Helm chart, rendered by the real helm binary (fetched by `make tools`).

Every values file renders, passes `helm lint --strict`, and every manifest passes
kubernetes-validate (built-in kinds) or the test's own Kueue schema (CRDs, which
kubernetes-validate has no schema for) plus the rules Kueue's CRD states in CEL and its
webhook enforces, which a JSON schema cannot say (`kueue_rule_violations`). The settings
the chart renders for Airflow's workers load as FlytePath Kubernetes settings, so chart
and runner agree on every name and on every tenant's quota, weight and limits.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from flytepath_airflow.ir.models import (
    NodeSpec,
    SimpleType,
    TaskSpec,
    TenantSpec,
    TypedInterface,
    Variable,
    WorkflowSpec,
)
from flytepath_airflow.ir.quantities import parse_quantity
from flytepath_airflow.ir.spec_io import with_version
from flytepath_airflow.platform.pods import (
    KubernetesSettings,
    PodRequest,
    compose_pod,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHART = ROOT / "helm" / "flytepath"
HELM = ROOT / ".tools" / "bin" / "helm"
VALUES = sorted((HERE / "values").glob("*.yaml"))
KUEUE_SCHEMA = json.loads((HERE / "kueue-v1beta1.schema.json").read_text())
KUBERNETES_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
CASES = [None, *VALUES]  # None: the chart's own values.yaml


def _id(values: Path | None) -> str:
    return "chart-defaults" if values is None else values.stem


@pytest.fixture(scope="session")
def helm() -> Path:
    if not HELM.exists():
        pytest.fail(f"{HELM} is missing: run `make tools` (scripts/fetch_helm.py) first")
    return HELM


def run_helm(helm: Path, *args: str, values: Path | None = None,
             check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [str(helm), *args, str(CHART)]
    if values is not None:
        cmd += ["-f", str(values)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env={"HOME": str(HERE), "HELM_CACHE_HOME": "/tmp/helm-cache",
                               "HELM_CONFIG_HOME": "/tmp/helm-config",
                               "HELM_DATA_HOME": "/tmp/helm-data", "PATH": "/usr/bin:/bin"})
    if check:
        assert done.returncode == 0, done.stderr
    return done


def render(helm: Path, values: Path | None) -> list[dict[str, Any]]:
    out = run_helm(helm, "template", "flytepath", "--namespace", "flytepath-system",
                   values=values).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.mark.parametrize("values", CASES, ids=_id)
def test_helm_lint_strict_passes(helm, values):
    done = run_helm(helm, "lint", "--strict", values=values)
    assert "0 chart(s) failed" in done.stdout


def kueue_rule_violations(queue: dict[str, Any]) -> list[str]:
    """What Kueue v0.19.2 would refuse in a ClusterQueue beyond its OpenAPI schema.

    The CRD's x-kubernetes-validations (CEL) and the validating webhook's checks
    (pkg/webhooks/clusterqueue_webhook.go, common.go) for the fields the chart renders.
    """
    spec = queue["spec"]
    problems = []
    preemption = spec.get("preemption", {})
    if preemption.get("reclaimWithinCohort", "Never") == "Never" and \
            preemption.get("borrowWithinCohort", {}).get("policy", "Never") != "Never":
        problems.append("reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never")
    weight = spec.get("fairSharing", {}).get("weight")
    if weight is not None and 0 < parse_quantity(weight) <= Decimal("1e-9"):
        problems.append(f"weight {weight}: when not 0, weight must be > 10e-9")
    for group in spec.get("resourceGroups", []):
        for flavor in group["flavors"]:
            if len(flavor["resources"]) != len(group["coveredResources"]):
                problems.append(f"flavor {flavor['name']}: flavors must have the same number "
                                "of resources as the coveredResources")
            for res in flavor["resources"]:
                where = f"flavor {flavor['name']} {res['name']}"
                for limit in ("borrowingLimit", "lendingLimit"):
                    if limit in res and not spec.get("cohort"):
                        problems.append(f"{where}: {limit} must be nil when cohort is empty")
                if "lendingLimit" in res and parse_quantity(res["lendingLimit"]) > \
                        parse_quantity(res["nominalQuota"]):
                    problems.append(f"{where}: lendingLimit must be less than or equal to "
                                    "the nominalQuota")
    return problems


@pytest.mark.parametrize("values", CASES, ids=_id)
def test_every_rendered_manifest_validates(helm, values):
    docs = render(helm, values)
    assert docs
    for doc in docs:
        if doc["apiVersion"].startswith("kueue.x-k8s.io/"):
            jsonschema.validate(doc, KUEUE_SCHEMA)
            if doc["kind"] == "ClusterQueue":
                assert kueue_rule_violations(doc) == [], doc["metadata"]["name"]
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)


def kinds(docs: list[dict[str, Any]]) -> Counter[str]:
    return Counter(doc["kind"] for doc in docs)


def test_one_tenant_renders_each_object_once(helm):
    docs = render(helm, HERE / "values" / "one-tenant.yaml")
    assert kinds(docs) == Counter({
        "Namespace": 1, "ServiceAccount": 1, "Role": 1, "RoleBinding": 1, "ResourceQuota": 1,
        "LimitRange": 1, "NetworkPolicy": 1, "ConfigMap": 3})
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"] == [
        "flytepath-ml-development"]


def test_twenty_tenants_render_twenty_of_everything(helm):
    docs = render(helm, HERE / "values" / "twenty-tenants.yaml")
    counts = kinds(docs)
    for kind in ("Namespace", "ServiceAccount", "Role", "RoleBinding", "ResourceQuota",
                 "LimitRange", "NetworkPolicy"):
        assert counts[kind] == 20, kind
    assert counts["ConfigMap"] == 22  # one per tenant, plus the two for Airflow
    names = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    assert len(names) == 20 and "flytepath-team05-research" in names


def test_kueue_renders_flavors_cluster_queues_in_a_cohort_and_local_queues(helm):
    docs = render(helm, HERE / "values" / "kueue-gpu.yaml")
    counts = kinds(docs)
    assert counts["ResourceFlavor"] == 2
    assert counts["ClusterQueue"] == counts["LocalQueue"] == counts["Namespace"] == 3
    queues = [d for d in docs if d["kind"] == "ClusterQueue"]
    assert {q["spec"]["cohort"] for q in queues} == {"ml-platform"}
    ml_prod = next(q for q in queues if q["metadata"]["name"] == "flytepath-ml-production")
    first = ml_prod["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
    assert {r["name"]: r["nominalQuota"] for r in first} == {
        "cpu": "64", "memory": "256Gi", "nvidia.com/gpu": "8"}
    local = next(d for d in docs if d["kind"] == "LocalQueue"
                 and d["metadata"]["namespace"] == "flytepath-ml-production")
    assert local["spec"]["clusterQueue"] == "flytepath-ml-production"


def cluster_queues(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "ClusterQueue"}


def first_flavor(spec: dict[str, Any]) -> dict[str, dict[str, str]]:
    """resource name -> its quota and limits in the flavor that holds the tenant's quota."""
    return {r["name"]: {k: v for k, v in r.items() if k != "name"}
            for r in spec["resourceGroups"][0]["flavors"][0]["resources"]}


def test_three_tenants_share_one_cohort_by_weight_with_their_limits(helm):
    queues = cluster_queues(render(helm, HERE / "values" / "fair-share.yaml"))
    assert set(queues) == {"flytepath-ml-production", "flytepath-search-production",
                           "flytepath-web-production"}
    assert {q["cohort"] for q in queues.values()} == {"flytepath"}
    weights = {name: Decimal(q["fairSharing"]["weight"]) for name, q in queues.items()}
    # Projects weighted 3:1:1, each times production's domain weight (2).
    assert weights == {"flytepath-ml-production": 6, "flytepath-search-production": 2,
                       "flytepath-web-production": 2}
    assert first_flavor(queues["flytepath-ml-production"]) == {
        "cpu": {"nominalQuota": "48", "borrowingLimit": "16", "lendingLimit": "24"},
        "memory": {"nominalQuota": "192Gi", "borrowingLimit": "64Gi"},
        "nvidia.com/gpu": {"nominalQuota": "4", "lendingLimit": "4"}}
    assert first_flavor(queues["flytepath-search-production"]) == {
        "cpu": {"nominalQuota": "16", "lendingLimit": "8"},
        "memory": {"nominalQuota": "64Gi", "lendingLimit": "32Gi"},
        "nvidia.com/gpu": {"nominalQuota": "0"}}
    # web may not borrow at all, though the platform allows borrowing.
    assert first_flavor(queues["flytepath-web-production"]) == {
        "cpu": {"nominalQuota": "16", "borrowingLimit": "0"},
        "memory": {"nominalQuota": "64Gi", "borrowingLimit": "0"},
        "nvidia.com/gpu": {"nominalQuota": "0", "borrowingLimit": "0"}}
    for queue in queues.values():
        assert queue["preemption"] == {"reclaimWithinCohort": "Any",
                                       "borrowWithinCohort": {"policy": "Never"},
                                       "withinClusterQueue": "LowerPriority"}


def test_without_borrowing_only_a_projects_own_limit_lets_it_borrow(helm, tmp_path):
    values = yaml.safe_load((HERE / "values" / "fair-share.yaml").read_text())
    values["kueue"]["allowBorrowing"] = False
    path = tmp_path / "no-borrowing.yaml"
    path.write_text(yaml.safe_dump(values))
    queues = cluster_queues(render(helm, path))
    ml = first_flavor(queues["flytepath-ml-production"])
    assert (ml["cpu"]["borrowingLimit"], ml["nvidia.com/gpu"]["borrowingLimit"]) == ("16", "0")
    search = first_flavor(queues["flytepath-search-production"])
    assert {r: v["borrowingLimit"] for r, v in search.items()} == {
        "cpu": "0", "memory": "0", "nvidia.com/gpu": "0"}


@pytest.mark.parametrize(("change", "why"), [
    (lambda q: q["fairSharing"].update(weight=0.5), "is not valid under any of the given"),
    (lambda q: q["fairSharing"].update(weight="-1"), "'-1' should not be valid"),
    (lambda q: q["fairSharing"].update(weigth="2"), "'weigth' was unexpected"),
    (lambda q: q["preemption"].update(reclaimWithinCohort="Always"), "'Always' is not one of"),
    (lambda q: q["preemption"]["borrowWithinCohort"].update(policy="Any"),
     "'Any' is not one of"),
    (lambda q: q["resourceGroups"][0]["flavors"][0]["resources"][0].update(
        lendingLimit=24.5), "is not valid under any of the given"),
])
def test_the_kueue_schema_refuses_what_kueue_would(helm, change, why):
    docs = render(helm, HERE / "values" / "fair-share.yaml")
    queue = copy.deepcopy(next(d for d in docs if d["kind"] == "ClusterQueue"))
    jsonschema.validate(queue, KUEUE_SCHEMA)
    change(queue["spec"])
    with pytest.raises(jsonschema.ValidationError, match=why):
        jsonschema.validate(queue, KUEUE_SCHEMA)


def test_the_kueue_rules_refuse_what_the_crd_and_webhook_would(helm):
    docs = render(helm, HERE / "values" / "fair-share.yaml")
    queue = copy.deepcopy(next(d for d in docs if d["kind"] == "ClusterQueue"))
    assert kueue_rule_violations(queue) == []
    spec = queue["spec"]
    spec["preemption"] = {"reclaimWithinCohort": "Never",
                          "borrowWithinCohort": {"policy": "LowerPriority"}}
    spec["fairSharing"]["weight"] = "1n"
    cpu = spec["resourceGroups"][0]["flavors"][0]["resources"][0]
    cpu["lendingLimit"] = "49"
    del spec["cohort"]
    spec["resourceGroups"][0]["flavors"][0]["resources"].pop()
    assert kueue_rule_violations(queue) == [
        "reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never",
        "weight 1n: when not 0, weight must be > 10e-9",
        "flavor default: flavors must have the same number of resources as the "
        "coveredResources",
        "flavor default cpu: borrowingLimit must be nil when cohort is empty",
        "flavor default cpu: lendingLimit must be nil when cohort is empty",
        "flavor default cpu: lendingLimit must be less than or equal to the nominalQuota",
        "flavor default memory: borrowingLimit must be nil when cohort is empty"]


def test_a_project_cannot_lend_more_than_its_quota(helm, tmp_path):
    path = tmp_path / "lend.yaml"
    path.write_text(yaml.safe_dump({"projects": [
        {"name": "ml", "quota": {"memory": "256Gi"}, "lendingLimit": {"memory": "0.3Ti"}}]}))
    done = run_helm(helm, "template", "x", values=path, check=False)
    assert done.returncode != 0
    assert ('"ml" lendingLimit.memory (0.3Ti) is more than its quota.memory (256Gi)'
            in done.stderr)
    path.write_text(yaml.safe_dump({"projects": [
        {"name": "ml", "quota": {"memory": "256Gi"}, "lendingLimit": {"memory": "0.25Ti"}}]}))
    run_helm(helm, "template", "x", values=path)


def test_tenant_objects_are_locked_down(helm):
    docs = render(helm, HERE / "values" / "twenty-tenants.yaml")
    for doc in docs:
        if doc["kind"] == "ServiceAccount":
            assert doc["automountServiceAccountToken"] is False
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        if doc["kind"] == "NetworkPolicy":
            spec = doc["spec"]
            assert spec["podSelector"] == {} and set(spec["policyTypes"]) == {"Ingress",
                                                                              "Egress"}
            assert "ingress" not in spec  # nothing may connect to a task pod
            ports = sorted(p["port"] for rule in spec["egress"] for p in rule["ports"])
            assert ports == [53, 53, 443, 5432]
        if doc["kind"] == "RoleBinding":
            assert doc["subjects"] == [{"kind": "ServiceAccount", "name": "airflow-worker",
                                        "namespace": "airflow"}]
        if doc["kind"] == "Role":
            resources = {r for rule in doc["rules"] for r in rule["resources"]}
            assert resources == {"pods", "pods/log", "events"}
            assert "pods/exec" not in resources and "secrets" not in resources


def test_no_secret_is_rendered_and_no_secret_value_can_be_given(helm, tmp_path):
    for values in CASES:
        docs = render(helm, values)
        assert "Secret" not in kinds(docs)
        for doc in docs:
            if doc["kind"] == "ConfigMap":
                text = json.dumps(doc["data"])
                assert "postgresql://" not in text and "password" not in text.lower()
    sneaky = tmp_path / "sneaky.yaml"
    sneaky.write_text(yaml.safe_dump({"flytepath": {"metadataSecret": {
        "name": "flytepath-metadata", "key": "url",
        "value": "postgresql://flytepath:s3cr3t@db/flytepath"}}}))
    done = run_helm(helm, "template", "x", values=sneaky, check=False)
    assert done.returncode != 0
    assert "additional properties 'value' not allowed" in done.stderr
    assert "s3cr3t" not in done.stdout


@pytest.mark.parametrize(("values", "message"), [
    ({"projects": [{"name": "ml", "quota": {"cpu": "2 cores"}}]},
     "at '/projects/0/quota/cpu': '2 cores' does not match pattern"),
    ({"projects": [{"name": "ml", "quota": {"memory": "-1Gi"}}]},
     "at '/projects/0/quota/memory': '-1Gi' does not match pattern"),
    ({"projects": [{"name": "ML_Team"}]}, "at '/projects/0/name'"),
    ({"flytepath": {"storeRoot": "/var/data"}}, "at '/flytepath/storeRoot'"),
    ({"tenants": []}, "additional properties 'tenants' not allowed"),
    ({"projects": [{"name": "ml", "weight": -1}]},
     "at '/projects/0/weight': minimum: got -1, want 0.001"),
    ({"projects": [{"name": "ml", "weight": "three"}]},
     "at '/projects/0/weight': got string, want number"),
    ({"projects": [{"name": "ml", "weight": 5000}]},
     "at '/projects/0/weight': maximum: got 5,000, want 1,000"),
    ({"defaults": {"domainWeights": {"production": -2}}},
     "at '/defaults/domainWeights/production'"),
    ({"projects": [{"name": "ml", "borrowingLimit": {"cpu": "-4"}}]},
     "at '/projects/0/borrowingLimit/cpu': '-4' does not match pattern"),
    ({"projects": [{"name": "ml", "lendingLimit": {"pods": 3}}]},
     "additional properties 'pods' not allowed"),
    ({"kueue": {"preemption": {"reclaimWithinCohort": "Always"}}},
     "at '/kueue/preemption/reclaimWithinCohort'"),
])
def test_helm_install_fails_with_the_schemas_message(helm, tmp_path, values, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(values))
    done = run_helm(helm, "install", "flytepath", "--dry-run=client", values=path,
                    check=False)
    assert done.returncode != 0
    assert "don't meet the specifications of the schema" in done.stderr
    assert message in done.stderr


def test_a_project_listed_twice_fails_with_a_message(helm, tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(yaml.safe_dump({"projects": [{"name": "ml"}, {"name": "ml"}]}))
    done = run_helm(helm, "template", "x", values=path, check=False)
    assert done.returncode != 0 and '"ml" is listed twice' in done.stderr


def runner_settings(docs: list[dict[str, Any]]) -> KubernetesSettings:
    config = next(d for d in docs if d["metadata"]["name"] == "flytepath-runner-settings")
    return KubernetesSettings.from_mapping(yaml.safe_load(config["data"]["kubernetes.yaml"]),
                                           "rendered flytepath-runner-settings")


@pytest.mark.parametrize("values", CASES, ids=_id)
def test_the_runner_settings_the_chart_renders_match_its_tenants(helm, values):
    docs = render(helm, values)
    settings = runner_settings(docs)
    namespaces = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Namespace"}
    accounts = {(d["metadata"]["namespace"], d["metadata"]["name"])
                for d in docs if d["kind"] == "ServiceAccount"}
    config_maps = {(d["metadata"]["namespace"], d["metadata"]["name"])
                   for d in docs if d["kind"] == "ConfigMap"}
    local_queues = {(d["metadata"]["namespace"], d["metadata"]["name"])
                    for d in docs if d["kind"] == "LocalQueue"}
    queues = cluster_queues(docs)
    assert len(settings.tenancy.tenants) == len(namespaces)
    for policy in settings.tenancy.tenants:
        tenant = settings.tenancy.resolve(policy.project, policy.domain)
        labels = namespaces[tenant.namespace]["metadata"]["labels"]
        assert (labels["flytepath.io/project"], labels["flytepath.io/domain"]) == (
            policy.project, policy.domain)
        assert (tenant.namespace, tenant.service_account) in accounts
        assert (tenant.namespace, settings.config_map) in config_maps
        assert tenant.pool == f"flytepath_{policy.project}_{policy.domain}"
        if tenant.kueue_queue:
            assert (tenant.namespace, tenant.kueue_queue) in local_queues
            # The runner's policy and Kueue's queue give the tenant the same share.
            queue = queues[tenant.namespace]
            assert tenant.weight == parse_quantity(queue["fairSharing"]["weight"])
            quota = first_flavor(queue)
            assert policy.quota is not None
            for field, resource in (("cpu", "cpu"), ("memory", "memory"),
                                    ("gpu", "nvidia.com/gpu")):
                assert quota[resource]["nominalQuota"] == getattr(policy.quota, field)
                for limit, key in ((tenant.borrowing_limit, "borrowingLimit"),
                                   (tenant.lending_limit, "lendingLimit")):
                    if limit is not None and getattr(limit, field) is not None:
                        assert quota[resource][key] == getattr(limit, field)


def test_a_pod_composed_with_the_rendered_settings_fits_the_rendered_namespace(helm):
    docs = render(helm, HERE / "values" / "kueue-gpu.yaml")
    settings = runner_settings(docs)
    task = TaskSpec(name="t", fn="m:t", interface=TypedInterface(
        inputs=(Variable(name="a", type=SimpleType(name="int")),)))
    spec = with_version(WorkflowSpec(
        schema_version=1, name="wf", tenant=TenantSpec(project="ml", domain="production"),
        tasks={"t": task}, nodes=(NodeSpec(id="n", task="t"),)))
    pod = compose_pod(PodRequest(spec=spec, node_id="n", run_id="r", attempt=1,
                                 max_attempts=1, args=(), store_root="gs://b/f"), settings)
    assert pod["metadata"]["namespace"] == "flytepath-ml-production"
    assert pod["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "flytepath"
    assert pod["spec"]["priorityClassName"] == "flytepath-production"
    assert pod["spec"]["containers"][0]["image"] == "registry.example.com/ml/base:2.0"
    secret = pod["spec"]["containers"][0]["env"][-1]
    assert secret["valueFrom"]["secretKeyRef"] == {"name": "flytepath-metadata", "key": "url"}


def test_airflow_values_mount_what_the_chart_renders(helm):
    values = yaml.safe_load((ROOT / "helm" / "airflow-values.yaml").read_text())
    docs = render(helm, None)
    airflow_maps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"
                    and d["metadata"]["namespace"] == "airflow"}
    config = values["config"]["flytepath"]
    assert config["runner"] == "kubernetes"
    for component in ("workers", "scheduler", "dagProcessor"):
        volumes = {v["name"]: v for v in values[component]["extraVolumes"]}
        mounts = {m["name"]: m["mountPath"] for m in values[component]["extraVolumeMounts"]}
        maps = {v["configMap"]["name"] for v in volumes.values() if "configMap" in v}
        assert maps <= airflow_maps, component
        assert any(config["kubernetes_settings_file"].startswith(path + "/")
                   for path in mounts.values()), component
        assert values["config"]["core"]["dags_folder"] in mounts.values(), component
        assert config["specs_dir"] in mounts.values(), component
    assert values["workers"]["serviceAccount"]["name"] == "airflow-worker"
