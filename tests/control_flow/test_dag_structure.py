"""Golden Airflow DAG structures of the control-flow constructs, built from compiled specs.

One workflow per construct (a map with concurrency, a conditional with elif/else/fail,
nested subworkflows, a dynamic node, a failure node) and a cron launch plan. The golden
files hold what a reviewer checks in the Airflow graph: task ids, upstream ids, trigger
rules, TaskGroups, mapped tasks and their concurrency, the schedule and the params.
Golden files live in golden/; regenerate them after an intended change with

    FLYTEPATH_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/control_flow/test_dag_structure.py
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flytepath_airflow.backends.airflow.dag_builder import (
    VERSION_PARAM,
    build_dag,
    build_launch_plan_dag,
)
from flytepath_airflow.ir.models import LaunchPlanSpec
from flytepath_airflow.platform.settings import AirflowBackendSettings
from flytepath_airflow.sdk.targets import load_target

pytestmark = pytest.mark.airflow

GOLDEN = Path(__file__).parent / "golden"

CASES = ["map_squares", "classify", "nested", "dynamic_fan_out", "with_failure_handler",
         "hourly_stamp"]


def _dag(fixtures: Path, name: str) -> Any:
    target = load_target(f"{fixtures}/control_flows.py:{name}", allow_launch_plan=True)
    if isinstance(target, LaunchPlanSpec):
        return build_launch_plan_dag(target, AirflowBackendSettings())
    return build_dag(target, AirflowBackendSettings())


def _rule(task: Any) -> str:
    return str(getattr(task.trigger_rule, "value", task.trigger_rule))


def _tasks(dag: Any, *, steps: bool) -> dict[str, dict[str, Any]]:
    tasks: dict[str, dict[str, Any]] = {}
    for task_id, task in sorted(dag.task_dict.items()):
        row: dict[str, Any] = {
            "operator": task.task_type,
            "upstream": sorted(task.upstream_task_ids),
            "trigger_rule": _rule(task),
            "group": task.task_group.group_id if task.task_group is not None else None,
            "mapped": bool(task.is_mapped),
            "max_active_tis_per_dagrun": task.max_active_tis_per_dagrun,
        }
        if steps:  # operator arguments, on the DAG as built (the serializer drops them)
            row["step"] = getattr(task, "step", None)
        tasks[task_id] = row
    return tasks


def _groups(dag: Any) -> dict[str, str | None]:
    return {group_id: group.parent_group.group_id if group.parent_group else None
            for group_id, group in sorted(dag.task_group_dict.items())}


def _params(dag: Any) -> dict[str, dict[str, Any]]:
    params = {}
    for name in sorted(dag.params):
        if name == VERSION_PARAM:  # the spec version; checked below, not pinned here
            continue
        param = dag.params.get_param(name)
        params[name] = {"default": param.value if param.has_value else None,
                        "has_value": param.has_value, "schema": dict(param.schema)}
    return params


def _schedule(dag: Any) -> dict[str, Any]:
    from airflow.serialization.serialized_objects import DagSerialization

    serialized = DagSerialization.to_dict(dag)["dag"]
    start = dag.start_date.isoformat() if dag.start_date else None
    return {"timetable": json.loads(json.dumps(serialized["timetable"])),
            "catchup": dag.catchup, "start_date": start}


def structure(dag: Any) -> dict[str, Any]:
    """The parts of a DAG the golden files pin."""
    return {"dag_id": dag.dag_id, "schedule": _schedule(dag), "params": _params(dag),
            "groups": _groups(dag), "tasks": _tasks(dag, steps=True)}


@pytest.mark.parametrize("name", CASES)
def test_dag_matches_its_golden_structure(fixtures_on_path: Path, name: str,
                                         golden: Callable[[Path, str], None]) -> None:
    text = json.dumps(structure(_dag(fixtures_on_path, name)), indent=2, sort_keys=True) + "\n"
    golden(GOLDEN / f"{name}.json", text)


def test_every_golden_file_has_a_case() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(CASES)


@pytest.mark.parametrize("name", CASES)
def test_dag_round_trips_through_airflows_serializer(fixtures_on_path: Path,
                                                     name: str) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    dag = _dag(fixtures_on_path, name)
    data = DagSerialization.to_dict(dag)
    back = DagSerialization.from_dict(json.loads(json.dumps(data)))
    assert _tasks(back, steps=False) == _tasks(dag, steps=False)
    assert _groups(back) == _groups(dag)
    assert back.catchup == dag.catchup
    timetable = json.loads(json.dumps(data["dag"]["timetable"]))
    assert f"{type(back.timetable).__module__}.{type(back.timetable).__name__}" == \
        timetable["__type"]
    assert back.timetable.serialize() == timetable["__var"]
    assert {k: back.params.get_param(k).schema for k in back.params} == \
        {k: dag.params.get_param(k).schema for k in dag.params}


def test_version_param_defaults_to_the_spec_version(fixtures_on_path: Path) -> None:
    spec = load_target(f"{fixtures_on_path}/control_flows.py:classify")
    assert build_dag(spec).params[VERSION_PARAM] == spec.version


def test_a_fixed_launch_plan_input_rejects_another_value(fixtures_on_path: Path) -> None:
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    dag = _dag(fixtures_on_path, "hourly_stamp")
    params = ParamsDict({k: dag.params.get_param(k) for k in dag.params})
    assert params.validate()["y"] == 100
    params["x"] = 7  # a default input may change
    assert params.validate()["x"] == 7
    with pytest.raises(ParamValidationError, match="100"):
        params["y"] = 5
        params.validate()
