"""The converted DAG as a spec document: a workflow, wrapped in a launch plan when scheduled.

The DAG's params become the workflow's inputs (typed from their JSON Schema), its id,
description, doc and tags its name, description and labels; its schedule (`schedule`) makes
the document a launch plan. The document is the JSON the output folder stores, with the
spec's version computed and defaults left out.

Imports no airflow itself (it reads the DAG's attributes). Must not import the task or
classification modules of the converter.
"""

from __future__ import annotations

import re
from typing import Any

from flytepath_airflow.ir.models import (
    SCHEMA_VERSION,
    LaunchPlanSpec,
    NodeSpec,
    TaskSpec,
    TypedInterface,
    Variable,
    WorkflowSpec,
)
from flytepath_airflow.ir.spec_io import with_version
from flytepath_airflow.migrate.encode import (
    JSON_TYPE,
    CannotEncode,
    is_unset,
    json_literal,
    schema_type,
)
from flytepath_airflow.migrate.schedule import schedule_spec
from flytepath_airflow.migrate.source import module_name_for


def spec_document(dag: Any, nodes: list[NodeSpec], tasks: dict[str, TaskSpec],
                  notes: list[str], declared: list[str]) -> dict[str, Any]:
    """The spec document of the converted DAG.

    :param dag: the loaded DAG.
    :param nodes: its converted nodes, upstream first.
    :param tasks: its converted tasks by name.
    :param notes: the DAG's report notes (params and schedules that changed are noted).
    :param declared: the DAG's declared differences (for the round-trip comparison).
    """
    inputs = tuple(_param_variable(dag, name, notes, declared)
                   for name in sorted(dag.params.keys()))
    labels = {"airflow.dag_id": dag.dag_id}
    if dag.tags:
        labels["airflow.tags"] = ",".join(sorted(dag.tags))
    description = dag.description or (dag.doc_md.strip() if dag.doc_md else None)
    workflow = with_version(WorkflowSpec(
        schema_version=SCHEMA_VERSION, name=module_name_for(dag.dag_id)
        if not _valid_name(dag.dag_id) else dag.dag_id,
        description=description, interface=TypedInterface(inputs=inputs),
        nodes=tuple(nodes), tasks=tasks, labels=labels))
    schedule = schedule_spec(dag, notes, declared)
    if schedule is None:
        return _spec_doc(workflow)
    plan = LaunchPlanSpec(schema_version=SCHEMA_VERSION, name=workflow.name,
                          workflow=workflow, schedule=schedule,
                          description=workflow.description)
    return _spec_doc(plan)


def _param_variable(dag: Any, name: str, notes: list[str], declared: list[str]) -> Variable:
    param = dag.params.get_param(name)
    schema = dict(getattr(param, "schema", {}) or {})
    value = getattr(param, "value", None)
    lt = schema_type(schema)
    try:
        default = json_literal(value)
    except CannotEncode:
        default = str(value)
        notes.append(f"param {name!r}: its default has no JSON form; kept as text")
        declared.append(f"param:{name}")
    if schema and lt == JSON_TYPE and schema.get("type") not in (None,):
        notes.append(f"param {name!r}: schema type {schema.get('type')!r} became json")
    if is_unset(value):
        return Variable(name=name, type=lt, description=getattr(param, "description", None))
    return Variable(name=name, type=lt, required=False, default=default,
                    description=getattr(param, "description", None))


def _valid_name(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name))


def _spec_doc(model: WorkflowSpec | LaunchPlanSpec) -> dict[str, Any]:
    doc = model.model_dump(mode="json", exclude_defaults=True)
    doc["schema_version"] = SCHEMA_VERSION
    if isinstance(model, LaunchPlanSpec):
        doc["kind"] = "launch_plan"
        doc["workflow"]["schema_version"] = SCHEMA_VERSION
    return dict(doc)
