"""FlytePathKubernetesOperator: its real execute() against a loopback Kubernetes API double.

The double (kubernetes_api_double.py says exactly what it proves and what it does not)
serves the pod calls the cncf-kubernetes provider makes and runs each pod's command as a
local process. Everything between the operator and HTTP is the provider's and the
official kubernetes client's own code.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest
from k8s_support import NAMESPACE, SENTINEL, Platform, make_platform
from kubernetes_api_double import KubernetesApiTestDouble

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

from airflow.sdk.exceptions import AirflowException, AirflowFailException  # noqa: E402

from flytepath_airflow.backends.airflow.dag_builder import build_dag  # noqa: E402
from flytepath_airflow.ir.models import PodOverridesSpec, SecretRef, TenantSpec  # noqa: E402
from flytepath_airflow.ir.spec_io import dump_spec, with_version  # noqa: E402
from flytepath_airflow.operators.kubernetes import FlytePathKubernetesOperator  # noqa: E402
from flytepath_airflow.platform.pods import restricted_violations  # noqa: E402
from flytepath_airflow.platform.settings import AirflowBackendSettings  # noqa: E402
from flytepath_airflow.platform.tenancy import UnknownTenantError  # noqa: E402

DAG_ID = "ml.development.k8s_flow"
AIRFLOW_RUN = "manual__2026-01-01T00:00:00+00:00"


class FakeTaskInstance(SimpleNamespace):
    """The parts of a task instance the operator and the provider use; records XComs."""

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Platform:
    return make_platform(tmp_path)


def _serve(platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           python_path: list[str]):  # type: ignore[no-untyped-def]
    """The API double, with `python_path` as what its pods' "image" can import."""
    with KubernetesApiTestDouble(secrets=platform.secrets(), config_maps=platform.config_maps(),
                                 python_path=python_path) as double:
        kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig.json")
        text = platform.settings_path.read_text() + f"config_file: {kubeconfig}\n"
        platform.settings_path.write_text(text)
        monkeypatch.setenv("FLYTEPATH_KUBERNETES_SETTINGS", str(platform.settings_path))
        yield double


@pytest.fixture
def api(platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Pods whose image holds the task code."""
    yield from _serve(platform, tmp_path, monkeypatch, [str(platform.code_dir)])


@pytest.fixture
def api_image_without_code(platform: Platform, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Pods whose image has FlytePath but none of the task code."""
    yield from _serve(platform, tmp_path, monkeypatch, [])


def operator(platform: Platform, node: str) -> FlytePathKubernetesOperator:
    spec = platform.spec
    task = spec.tasks[node]
    return FlytePathKubernetesOperator.for_node(
        spec=spec, node=spec.node(node), task=task,
        settings=AirflowBackendSettings(runner="kubernetes", store_root=platform.store_root),
        spec_uri=str(platform.spec_path), task_id=node, retries=task.retries,
        pool="flytepath_ml_development", startup_check_interval_seconds=1,
    )


def context(op: FlytePathKubernetesOperator, try_number: int = 1) -> dict[str, Any]:
    ti = FakeTaskInstance(dag_id=DAG_ID, task_id=op.task_id, try_number=try_number,
                          map_index=-1, xcoms={})
    return {
        "ti": ti, "task_instance": ti, "run_id": AIRFLOW_RUN, "dag": SimpleNamespace(),
        "dag_run": SimpleNamespace(run_id=AIRFLOW_RUN, conf={}),
        "params": {"x": 3, "flytepath_version": op.spec_version},
    }


def test_execute_runs_the_node_in_a_pod_and_returns_the_pointer(platform, api, capsys):
    op = operator(platform, "double")
    ctx = context(op)
    pointer = op.execute(ctx)
    assert pointer["outputs"]["o0"]["value"] == 6
    assert ctx["ti"].xcoms["return_value"] == pointer
    log = capsys.readouterr().out
    assert log.count("doubling 3") == 1  # the pod's log reached the task log, once
    [created] = api.created
    assert created["metadata"]["namespace"] == NAMESPACE
    assert created["spec"]["serviceAccountName"] == "flytepath-task"
    assert not [c for c in created["spec"]["containers"] if "xcom" in c["name"]]
    assert restricted_violations(created) == []
    kubernetes_validate.validate(
        {k: v for k, v in created.items() if k != "status"}, "1.33.0", strict=True)
    assert api.pods == {}  # deleted after success
    assert api.unsupported == []
    methods = {m for m, _ in api.calls}
    assert methods <= {"POST", "GET", "PATCH", "DELETE"}
    assert ("DELETE", f"/api/v1/namespaces/{NAMESPACE}/pods/{created['metadata']['name']}") \
        in api.calls


def test_an_interruptible_task_leaves_spot_on_its_last_attempt(platform, api):
    op = operator(platform, "double")
    op.execute(context(op, try_number=3))  # retries=2: attempt 3 is the last
    [created] = api.created
    assert created["metadata"]["annotations"]["flytepath.io/capacity"] == "regular"
    assert "tolerations" not in created["spec"]


def test_a_user_error_in_the_pod_fails_without_retry(platform, api):
    op = operator(platform, "explode")
    with pytest.raises(AirflowFailException, match="cannot handle 3"):
        op.execute(context(op))
    assert api.unsupported == []


def test_a_system_error_in_the_pod_is_retried(platform, api):
    op = operator(platform, "flaky")
    with pytest.raises(AirflowException) as err:
        op.execute(context(op))
    assert not isinstance(err.value, AirflowFailException)
    assert "the feature store timed out" in str(err.value)


def test_no_secret_value_in_manifests_logs_xcom_or_rendered_fields(platform, api, caplog,
                                                                    capsys):
    op = operator(platform, "secret_length")
    ctx = context(op)
    op.render_template_fields(ctx)
    with caplog.at_level(logging.DEBUG):
        pointer = op.execute(ctx)
    assert pointer["outputs"]["o0"]["value"] == len(SENTINEL) + 3
    rendered = {name: getattr(op, name) for name in op.template_fields}
    out = capsys.readouterr()
    for where, text in {
        "the created pod": json.dumps(api.created),
        "the task log": caplog.text + out.out + out.err,
        "XCom": json.dumps(ctx["ti"].xcoms),
        "rendered template fields": json.dumps(rendered, default=str),
    }.items():
        assert SENTINEL not in text, f"the secret value leaked into {where}"


def _replace_task(platform: Platform, node: str, **changes: Any) -> None:
    """Rewrite the DAG's spec file as an old or hand-edited spec would be: no compiler ran."""
    spec = platform.spec
    tasks = dict(spec.tasks)
    tasks[node] = tasks[node].model_copy(update=changes)
    platform.spec_path.write_text(dump_spec(with_version(spec.model_copy(update={
        "tasks": tasks}))))


@pytest.mark.parametrize("secret", [
    SecretRef(group="api", key="token", env_var="FLYTEPATH_METADATA_URL"),
    SecretRef(group="flytepath", key="store_root"),
], ids=["env_var", "derived-name"])
def test_a_secret_cannot_replace_a_platform_variable_in_the_pod(platform, api, secret):
    op = operator(platform, "secret_length")  # built from the clean spec
    _replace_task(platform, "secret_length", secrets=(secret,))
    with pytest.raises(AirflowFailException, match=f"sets {secret.env_name()}, but FLYTEPATH_"
                       r"\* variables belong to the platform"):
        op.execute(context(op))
    assert api.created == []  # refused before any pod reached the API


def test_a_task_env_cannot_replace_a_platform_variable_in_the_pod(platform, api):
    op = operator(platform, "double")
    _replace_task(platform, "double", env={"FLYTEPATH_STORE_ROOT": "s3://elsewhere"})
    with pytest.raises(AirflowFailException, match="sets FLYTEPATH_STORE_ROOT"):
        op.execute(context(op))
    assert api.created == []


def test_annotations_over_the_kubernetes_limit_are_refused_before_the_pod(platform, api):
    op = operator(platform, "double")
    _replace_task(platform, "double", pod_overrides=PodOverridesSpec(
        annotations={"note": "x" * 300_000}))
    with pytest.raises(AirflowFailException, match=r"annotations take 300004 bytes together, "
                       r"more than the 262144 bytes \(256 KiB\)"):
        op.execute(context(op))
    assert api.created == []


def test_a_local_store_root_is_refused_unless_allowed(tmp_path, monkeypatch):
    platform = make_platform(tmp_path, allow_local_store=False)
    monkeypatch.setenv("FLYTEPATH_KUBERNETES_SETTINGS", str(platform.settings_path))
    op = operator(platform, "double")
    with pytest.raises(AirflowFailException, match="pods cannot read"):
        op.execute(context(op))


def test_build_dag_uses_the_kubernetes_runner_without_calling_the_api(platform, api):
    settings = AirflowBackendSettings(runner="kubernetes", store_root=platform.store_root)
    dag = build_dag(platform.spec, settings, spec_uri=str(platform.spec_path))
    assert {type(t).__name__ for t in dag.tasks} == {"FlytePathKubernetesOperator"}
    task = dag.task_dict["double"]
    assert task.namespace == NAMESPACE and task.pool == "flytepath_ml_development"
    assert task.max_attempts == 3
    assert api.calls == []


def test_build_dag_refuses_an_unknown_tenant(platform, api):
    spec = with_version(platform.spec.model_copy(
        update={"tenant": TenantSpec(project="finance", domain="production")}))
    settings = AirflowBackendSettings(runner="kubernetes")
    with pytest.raises(UnknownTenantError, match="'finance/production' is not a tenant"):
        build_dag(spec, settings, spec_uri=str(platform.spec_path))


def test_a_workflow_runs_through_a_real_airflow_with_the_kubernetes_runner(
        platform, api, tmp_path, monkeypatch):
    """dag.test() in a child process: Airflow's own task runner calls execute()."""
    from flytepath_airflow.cli.airflow_commands import run_with_airflow

    spec = platform.spec
    spec = with_version(spec.model_copy(update={
        "tasks": {k: v for k, v in spec.tasks.items() if k in ("double", "secret_length")},
        "nodes": tuple(n for n in spec.nodes if n.id in ("double", "secret_length")),
    }))
    monkeypatch.setenv("AIRFLOW__FLYTEPATH__RUNNER", "kubernetes")
    result = run_with_airflow(spec, {"x": 4}, root=platform.store_root,
                              home=str(tmp_path / "home"))
    assert result.succeeded, result.error
    assert result.node_states == {"double": "success", "secret_length": "success"}
    assert sorted(p["metadata"]["labels"]["flytepath.io/node"] for p in api.created) == [
        "double", "secret_length"]
    assert api.unsupported == []


def test_a_registered_version_reaches_the_pod_through_its_code_bundle(
        platform, api_image_without_code):
    # The "image" has no copy of the task's module: only the bundle registered with the
    # version, fetched from the store by flytepath-execute in the pod, can supply it.
    from flytepath_airflow.runtime.registry import register_spec

    register_spec(platform.spec, root=platform.store_root, specs_dir="",
                  code_root=platform.code_dir)
    op = operator(platform, "double")
    pointer = op.execute(context(op))
    assert pointer["outputs"]["o0"]["value"] == 6
    [created] = api_image_without_code.created
    args = created["spec"]["containers"][0]["args"]
    bundle = json.loads(args[args.index("--prepare-options") + 1])["code_bundle"]
    assert bundle["uri"].endswith(f"code/{bundle['sha256']}.zip")


def test_an_unregistered_spec_without_its_code_in_the_image_fails_naming_the_module(
        platform, api_image_without_code):
    op = operator(platform, "double")
    with pytest.raises(AirflowFailException, match="cannot import module 'k8s_tasks'"):
        op.execute(context(op))
