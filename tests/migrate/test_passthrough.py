"""build_passthrough_operator: a kept Airflow operator is built with its own arguments."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flytepath_airflow.backends.airflow.passthrough import (
    EXPAND_KWARGS_INPUT,
    PassthroughError,
    build_passthrough_operator,
)
from flytepath_airflow.ir.models import (
    LiteralBinding,
    MapSpec,
    NodeSpec,
    OperatorSpec,
    OutputRef,
    TaskSpec,
)

pytestmark = pytest.mark.airflow

BASH = "airflow.providers.standard.operators.bash.BashOperator"


def _task(class_path: str, **kwargs: object) -> TaskSpec:
    return TaskSpec(name="t", kind="airflow",
                    operator=OperatorSpec(class_path=class_path, kwargs=dict(kwargs)))


def test_builds_the_operator_with_tagged_arguments_decoded() -> None:
    from airflow.sdk import DAG

    dag = DAG("passthrough_plain", schedule=None)
    task = _task("airflow.providers.standard.sensors.time_delta.TimeDeltaSensor",
                 delta={"__flytepath__": "timedelta", "seconds": 90},
                 poke_interval=5)
    op = build_passthrough_operator(NodeSpec(id="wait", task="t"), task, task_id="wait",
                                    dag=dag, retries=2, guarded=False)
    assert type(op).__name__ == "TimeDeltaSensor"
    assert op.delta == timedelta(seconds=90) and op.retries == 2


def test_xcom_arguments_read_the_upstream_task() -> None:
    from airflow.sdk import DAG

    dag = DAG("passthrough_xcom", schedule=None)
    build_passthrough_operator(NodeSpec(id="make", task="t"),
                               _task(BASH, bash_command="echo hi"), task_id="make", dag=dag)
    reader = build_passthrough_operator(
        NodeSpec(id="use", task="t"),
        _task(BASH, bash_command={"__flytepath__": "xcom", "task_id": "make",
                                  "key": "return_value"}),
        task_id="use", dag=dag)
    assert reader.upstream_task_ids == {"make"}


def test_a_map_node_builds_a_mapped_operator() -> None:
    from airflow.sdk import DAG

    dag = DAG("passthrough_map", schedule=None)
    build_passthrough_operator(NodeSpec(id="make", task="t"),
                               _task(BASH, bash_command="echo hi"), task_id="make", dag=dag)
    node = NodeSpec(id="echo", task="t", kind="map", map=MapSpec(mapped=("bash_command",)),
                    inputs={"bash_command": OutputRef(node="make", output="xcom:return_value")})
    mapped = build_passthrough_operator(node, _task(BASH), task_id="echo", dag=dag)
    assert type(mapped).__name__ == "MappedOperator"
    assert mapped.upstream_task_ids == {"make"}
    kw_node = NodeSpec(id="kw", task="t", kind="map", map=MapSpec(mapped=(EXPAND_KWARGS_INPUT,)),
                       inputs={EXPAND_KWARGS_INPUT: LiteralBinding(
                           value=[{"bash_command": "echo 1"}, {"bash_command": "echo 2"}])})
    assert type(build_passthrough_operator(kw_node, _task(BASH), task_id="kw",
                                           dag=dag)).__name__ == "MappedOperator"


def test_an_unimportable_class_is_a_clear_error() -> None:
    with pytest.raises(PassthroughError, match=r"'no\.such:Operator' cannot be imported"):
        build_passthrough_operator(NodeSpec(id="x", task="t"), _task("no.such:Operator"),
                                   task_id="x")
