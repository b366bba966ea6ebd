"""build_dag: structure, tenancy, params, retries and deterministic serialization."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError

from flytepath_airflow.backends.airflow.dag_builder import (
    VERSION_PARAM,
    UnsupportedSpecError,
    build_dag,
)
from flytepath_airflow.ir.models import (
    AirflowNodeOptions,
    NodeSpec,
    ResourceList,
    ResourcesSpec,
    TenantSpec,
)
from flytepath_airflow.ir.spec_io import dump_spec, with_version
from flytepath_airflow.platform.settings import (
    AirflowBackendSettings,
    TenantPolicyError,
    TenantPoolSettings,
    parse_tenant_pools,
    parse_tenant_queues,
)

pytestmark = pytest.mark.airflow


def test_build_dag_makes_one_task_per_node_with_edges_from_bindings(spec):
    dag = build_dag(spec, spec_uri="/specs/diamond.json")
    assert sorted(dag.task_dict) == ["join", "left", "right", "start"]
    assert dag.task_dict["start"].upstream_task_ids == set()
    assert dag.task_dict["left"].upstream_task_ids == {"start"}
    assert dag.task_dict["right"].upstream_task_ids == {"start"}
    # join depends on left through a binding and on right through an explicit dependency.
    assert dag.task_dict["join"].upstream_task_ids == {"left", "right"}
    assert type(dag.task_dict["start"]).__name__ == "FlytePathTaskOperator"
    assert dag.task_dict["start"].spec_uri == "/specs/diamond.json"
    assert dag.task_dict["start"].flytepath_node == "start"


def test_dag_id_is_stable_across_versions_and_version_is_in_tags_docs_params(make_spec):
    v1 = make_spec()
    v2 = make_spec(retries=4)
    assert v1.version != v2.version
    d1, d2 = build_dag(v1), build_dag(v2)
    assert d1.dag_id == d2.dag_id == "ml.development.diamond"
    for spec, dag in ((v1, d1), (v2, d2)):
        assert f"version:{spec.version}" in dag.tags
        assert {"flytepath", "project:ml", "domain:development"} <= set(dag.tags)
        assert spec.version in dag.doc_md
        assert dag.params[VERSION_PARAM] == spec.version


def test_dag_id_is_the_tenant_and_the_workflow_name_unchanged(make_spec):
    # Names follow the naming rules (ADR 0033), so the DAG id needs no sanitizing, which
    # once mapped "ML team" and "ML_team" onto one DAG.
    spec = make_spec().model_copy(
        update={"name": "pkg.mod.train-wf", "tenant": TenantSpec(project="ml-team",
                                                                   domain="prod")}
    )
    assert build_dag(spec).dag_id == "ml-team.prod.pkg.mod.train-wf"
    with pytest.raises(ValidationError, match="project 'ML team' contains upper-case"):
        TenantSpec(project="ML team", domain="prod")


def test_workflow_inputs_become_typed_params(spec):
    dag = build_dag(spec)
    x = dag.params.get_param("x")
    scale = dag.params.get_param("scale")
    assert x.schema["type"] == "integer"
    assert x.schema["title"] == "x"
    assert "the start value" in x.description
    assert not x.has_value  # required: the trigger form must fill it in
    assert scale.value == 3
    version = dag.params.get_param(VERSION_PARAM)
    assert version.value == spec.version  # defaults to the DAG's own version
    assert version.schema["pattern"] == "^[0-9a-f]{16}$"


def test_trigger_params_reject_a_wrong_typed_value(spec):
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    dag = build_dag(spec)
    params = ParamsDict({k: dag.params.get_param(k) for k in dag.params})
    params["x"] = 5
    assert params.validate()["x"] == 5
    with pytest.raises(ParamValidationError):
        params["x"] = "not a number"
        params.validate()


def test_the_trigger_form_can_change_the_version_to_another_version_hash(spec):
    # docs/airflow.md: the form lets you pick another registered version; not read-only.
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    dag = build_dag(spec)
    params = ParamsDict({k: dag.params.get_param(k) for k in dag.params})
    params["x"] = 5
    params[VERSION_PARAM] = "0123456789abcdef"
    assert params.validate()[VERSION_PARAM] == "0123456789abcdef"
    with pytest.raises(ParamValidationError):
        params[VERSION_PARAM] = "latest"
        params.validate()


def test_task_retries_delay_and_timeout_come_from_the_task_spec(make_spec):
    dag = build_dag(make_spec(retries=3, retry_delay=12.5, timeout=90))
    task = dag.task_dict["left"]
    assert task.retries == 3
    assert task.retry_delay == timedelta(seconds=12.5)
    assert task.execution_timeout == timedelta(seconds=90)


def test_default_retry_delay_and_no_timeout(spec):
    task = build_dag(spec, AirflowBackendSettings(default_retry_delay=7)).task_dict["left"]
    assert task.retries == 0
    assert task.retry_delay == timedelta(seconds=7)
    assert task.execution_timeout is None


def test_tenant_pool_from_template_and_allow_list(spec):
    assert build_dag(spec).task_dict["start"].pool == "flytepath_ml_development"
    listed = AirflowBackendSettings(
        tenant_pools={"ml/*": TenantPoolSettings(pool="ml_shared", slots=8)}
    )
    assert build_dag(spec, listed).task_dict["start"].pool == "ml_shared"
    exact = AirflowBackendSettings(tenant_pools=parse_tenant_pools(
        "ml/development=ml_dev:4, ml/*=ml_shared"))
    assert build_dag(spec, exact).task_dict["start"].pool == "ml_dev"
    assert build_dag(spec, AirflowBackendSettings(pool_template="")).task_dict[
        "start"].pool == "default_pool"


def test_pool_slots_follow_cpu_requests(make_spec):
    heavy = make_spec(resources=ResourcesSpec(requests=ResourceList(cpu="2500m")))
    assert build_dag(heavy).task_dict["start"].pool_slots == 3
    assert build_dag(make_spec()).task_dict["start"].pool_slots == 1
    flat = AirflowBackendSettings(pool_slots_from_cpu=False)
    assert build_dag(heavy, flat).task_dict["start"].pool_slots == 1
    capped = AirflowBackendSettings(max_pool_slots=2)
    assert build_dag(heavy, capped).task_dict["start"].pool_slots == 2


def test_max_active_runs_and_schedule(spec):
    dag = build_dag(spec, AirflowBackendSettings(max_active_runs=2))
    assert dag.max_active_runs == 2
    assert dag.schedule is None  # manual and API triggers only; launch plans add schedules


def test_build_dag_imports_no_user_code(make_spec):
    spec = make_spec(fn="flytepath_no_such_module.deep:double")
    build_dag(spec, spec_uri="/nowhere.json")
    assert "flytepath_no_such_module" not in sys.modules


def _serialized(dag) -> str:  # type: ignore[no-untyped-def]
    from airflow.serialization.serialized_objects import DagSerialization

    return json.dumps(DagSerialization.to_dict(dag), sort_keys=True)


def test_serialization_is_deterministic_in_one_process(spec):
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.serialization.serialized_objects import DagSerialization

    first = build_dag(spec, spec_uri="/specs/diamond.json")
    second = build_dag(spec, spec_uri="/specs/diamond.json")
    assert _serialized(first) == _serialized(second)
    assert SerializedDagModel.hash(DagSerialization.to_dict(first)) == \
        SerializedDagModel.hash(DagSerialization.to_dict(second))


_HASH_SCRIPT = """
import sys
from airflow.models.serialized_dag import SerializedDagModel
from airflow.serialization.serialized_objects import DagSerialization
from flytepath_airflow.backends.airflow.dag_builder import build_dag
from flytepath_airflow.ir.spec_io import load_spec
dag = build_dag(load_spec(sys.argv[1]), spec_uri=sys.argv[1])
print(SerializedDagModel.hash(DagSerialization.to_dict(dag)))
"""


def test_serialization_is_identical_across_processes_and_hash_seeds(spec, tmp_path):
    path = tmp_path / "diamond.json"
    path.write_text(dump_spec(spec))
    hashes = set()
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", _HASH_SCRIPT, str(path)],
            capture_output=True, text=True, check=True,
            env={**__import__("os").environ, "PYTHONHASHSEED": seed},
        )
        hashes.add(out.stdout.strip().splitlines()[-1])
    assert len(hashes) == 1


def test_check_spec_refuses_unknown_task(spec):
    broken = spec.model_copy(update={"nodes": (*spec.nodes, NodeSpec(id="z", task="nope"))})
    with pytest.raises(UnsupportedSpecError, match="node 'z' runs task 'nope'"):
        build_dag(broken)


def test_check_spec_refuses_a_missing_upstream_node(spec):
    broken = spec.model_copy(
        update={"nodes": (*spec.nodes, NodeSpec(id="z", task="double", upstream=("ghost",)))}
    )
    with pytest.raises(UnsupportedSpecError, match="depends on node 'ghost'"):
        build_dag(broken)


def test_check_spec_refuses_colliding_task_ids(spec):
    # Node ids follow the naming rules, so a task id is the node id itself; "a b" and
    # "a/b", which once both became task 'a_b', are refused by the spec (ADR 0033).
    with pytest.raises(ValidationError, match="node id 'a/b' contains a path separator"):
        NodeSpec(id="a/b", task="double")
    broken = spec.model_copy(update={"nodes": (
        *spec.nodes, NodeSpec(id="a_b", task="double"), NodeSpec(id="a_b", task="double"))})
    with pytest.raises(UnsupportedSpecError, match="both become Airflow task 'a_b'"):
        build_dag(broken)


def test_check_spec_refuses_an_input_named_like_the_version_param(spec):
    iface = spec.interface.model_copy(update={"inputs": (
        *spec.interface.inputs,
        spec.interface.inputs[0].model_copy(update={"name": VERSION_PARAM}))})
    with pytest.raises(UnsupportedSpecError, match="clashes"):
        build_dag(with_version(spec.model_copy(update={"interface": iface})))


def test_unknown_runner_names_the_setting(spec):
    with pytest.raises(ValueError, match=r"\[flytepath\] runner"):
        build_dag(spec, AirflowBackendSettings(runner="teleport"))


def _with_options(spec, **options):  # type: ignore[no-untyped-def]
    """The spec with Airflow options kept on its `start` node, as a converted DAG has."""
    nodes = tuple(n.model_copy(update={"airflow": AirflowNodeOptions(**options)})
                  if n.id == "start" else n for n in spec.nodes)
    return with_version(spec.model_copy(update={"nodes": nodes}))


@pytest.mark.parametrize(("options", "refusal"), [
    ({"pool": "flytepath_finance_production"}, "pools are decided by the platform"),
    ({"pool_slots": 1000}, "at most 4 per task"),
    ({"priority_weight": 1_000_000}, "max_priority_weight"),
    ({"priority_weight": -1_000_000}, "max_priority_weight"),
    ({"queue": "gpu-workers-with-finance-credentials"}, "tenant_queues"),
])
def test_a_spec_cannot_take_another_tenants_pool_slots_priority_or_queue(
    spec, options, refusal
):  # type: ignore[no-untyped-def]
    # An outside review set these through `nodes[].airflow` of a compiled spec and got
    # another tenant's pool, 1,000 slots despite max_pool_slots=4, and priority 1e6.
    settings = AirflowBackendSettings(max_pool_slots=4)
    with pytest.raises(TenantPolicyError, match=refusal) as caught:
        build_dag(_with_options(spec, **options), settings)
    assert "node 'start' of workflow 'diamond' (tenant ml/development)" in str(caught.value)


def test_kept_options_within_the_tenant_policy_are_honoured(spec):  # type: ignore[no-untyped-def]
    settings = AirflowBackendSettings(
        max_pool_slots=4, tenant_queues=parse_tenant_queues("ml/*=gpu|cpu, other/x=io"))
    dag = build_dag(_with_options(spec, pool="flytepath_ml_development", pool_slots=4,
                                  priority_weight=-100, queue="gpu"), settings)
    start = dag.task_dict["start"]
    assert (start.pool, start.pool_slots, start.priority_weight, start.queue) == \
        ("flytepath_ml_development", 4, -100, "gpu")
    assert build_dag(_with_options(spec, queue="default"), settings).task_dict[
        "start"].queue == "default"
    with pytest.raises(TenantPolicyError, match="for this tenant: gpu, cpu"):
        build_dag(_with_options(spec, queue="io"), settings)


def test_tenant_queues_are_parsed_strictly():
    assert parse_tenant_queues("ml/prod=a|b,\nml/*=c") == {"ml/prod": ("a", "b"),
                                                          "ml/*": ("c",)}
    for bad in ("ml=a", "ml/prod", "ml/prod="):
        with pytest.raises(ValueError, match="tenant_queues entry"):
            parse_tenant_queues(bad)
