"""`build_dag(spec)`: a compiled FlytePath spec becomes an ordinary Airflow DAG.

Pure and fast: it reads the spec and settings, never the user's code, the store or the
network, so a DAG file that calls it parses in flat time. The same spec and settings always
give the same DAG, and so the same serialized DAG: re-parsing never mints a new Airflow DAG
version (tested through Airflow's own serializer).

One Airflow task per node; edges come from the nodes' bindings; the DAG id is
`project.domain.workflow` and stays the same across spec versions, which go into the tags,
the docs and a read-only param, so Airflow's DAG versioning keeps one history per workflow.
Workflow inputs become `Param`s whose JSON Schema comes from the type engine, so the trigger
form is typed and rejects a wrong value before a run starts.

Imports airflow (this is the Airflow backend); never imports user code.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flytepath_airflow.backends.airflow.naming import dag_id_for, pool_slots_for, task_id_for
from flytepath_airflow.backends.airflow.settings import AirflowBackendSettings
from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import Variable, WorkflowSpec
from flytepath_airflow.ir.spec_io import compute_version

if TYPE_CHECKING:
    from airflow.sdk import DAG

logger = logging.getLogger(__name__)

VERSION_PARAM = "flytepath_version"
"""Read-only param holding the spec version a DAG was built from."""

FLYTEPATH_TAG = "flytepath"


class UnsupportedSpecError(FlytePathUserError):
    """The spec uses something the Airflow backend cannot build; nothing was built."""


def check_spec(spec: WorkflowSpec) -> None:
    """Refuse, before building anything, what the Airflow backend does not support.

    Raises UnsupportedSpecError naming the node and the problem.
    """
    where = f"workflow {spec.name!r}"
    node_ids = {node.id for node in spec.nodes}
    task_ids: dict[str, str] = {}
    for node in spec.nodes:
        if node.task is None:
            raise UnsupportedSpecError(
                f"{where}: node {node.id!r} runs no task; the Airflow backend builds task "
                "nodes only. Recompile the workflow with a FlytePath version that supports it."
            )
        if node.task not in spec.tasks:
            raise UnsupportedSpecError(
                f"{where}: node {node.id!r} runs task {node.task!r}, which the spec does not "
                f"define (defined: {', '.join(sorted(spec.tasks)) or 'none'}). Recompile it."
            )
        task_id = task_id_for(node.id)
        if task_id in task_ids:
            raise UnsupportedSpecError(
                f"{where}: nodes {task_ids[task_id]!r} and {node.id!r} both become Airflow "
                f"task {task_id!r}; rename one of them."
            )
        task_ids[task_id] = node.id
        for dep in node.dependencies():
            if dep not in node_ids:
                raise UnsupportedSpecError(
                    f"{where}: node {node.id!r} depends on node {dep!r}, which does not "
                    "exist. Recompile the workflow."
                )
    for var in spec.interface.inputs:
        if var.name == VERSION_PARAM:
            raise UnsupportedSpecError(
                f"{where}: input {VERSION_PARAM!r} clashes with the param FlytePath uses for "
                "the spec version; rename the input."
            )


def build_dag(
    spec: WorkflowSpec,
    settings: AirflowBackendSettings | None = None,
    *,
    spec_uri: str | None = None,
) -> DAG:
    """Build the Airflow DAG of a compiled spec.

    :param spec: the compiled workflow spec.
    :param settings: backend settings (runner, pools, limits); defaults when None.
    :param spec_uri: where workers read the spec from (the spec file the DAG was loaded
        from). Without it the DAG can be rendered and serialized but not run.
    :returns: a DAG with one task per node.
    :raises UnsupportedSpecError: when the spec uses what this backend cannot build.
    """
    from airflow.sdk import DAG

    from flytepath_airflow.operators import runner_class

    settings = settings or AirflowBackendSettings()
    check_spec(spec)
    version = spec.version or compute_version(spec)
    if version != spec.version:
        spec = spec.model_copy(update={"version": version})
    project, domain = spec.tenant.project, spec.tenant.domain
    tenant_pool = settings.pool_for(project, domain)
    operator_cls = runner_class(settings.runner)

    dag = DAG(
        dag_id_for(spec),
        dag_display_name=spec.name,
        description=_first_line(spec.description) or f"FlytePath workflow {spec.name}",
        schedule=None,
        catchup=False,
        max_active_runs=settings.max_active_runs,
        tags=_tags(spec, version, settings),
        doc_md=_doc_md(spec, version),
        params=_params(spec, version),
        is_paused_upon_creation=settings.is_paused_upon_creation,
    )

    operators: dict[str, Any] = {}
    for node in spec.nodes:
        task = spec.task_of(node)
        retry_delay = task.retry_delay if task.retry_delay is not None \
            else settings.default_retry_delay
        operators[node.id] = operator_cls.for_node(
            spec=spec,
            node=node,
            task=task,
            settings=settings,
            spec_uri=spec_uri,
            task_id=task_id_for(node.id),
            dag=dag,
            owner=settings.owner,
            retries=task.retries,
            retry_delay=_timedelta(retry_delay),
            execution_timeout=_timedelta(task.timeout),
            pool=tenant_pool.pool,
            pool_slots=pool_slots_for(
                task, from_cpu=settings.pool_slots_from_cpu, max_slots=settings.max_pool_slots
            ),
            doc_md=task.docs,
        )
    for node in spec.nodes:
        deps = node.dependencies()
        if deps:
            operators[node.id].set_upstream([operators[d] for d in deps])
    return dag


# ------------------------------------------------------------------------------ parts


def _timedelta(value: float | None) -> Any:
    from datetime import timedelta

    return None if value is None else timedelta(seconds=value)


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    return text.strip().splitlines()[0][:200] if text.strip() else None


def _tags(spec: WorkflowSpec, version: str, settings: AirflowBackendSettings) -> list[str]:
    tags = [
        FLYTEPATH_TAG,
        f"project:{spec.tenant.project}",
        f"domain:{spec.tenant.domain}",
        f"version:{version}",
        *settings.extra_tags,
    ]
    # Airflow stores a set; sorting keeps our own view of it deterministic too.
    return sorted(set(tags))


def _params(spec: WorkflowSpec, version: str) -> dict[str, Any]:
    from airflow.sdk import Param

    params: dict[str, Any] = {}
    for var in spec.interface.inputs:
        params[var.name] = _param_for(var, Param)
    params[VERSION_PARAM] = Param(
        version,
        description="Registered FlytePath version to run; defaults to the one this DAG was "
        "built from. Another version must have the same tasks and edges.",
        type="string",
        pattern="^[0-9a-f]{16}$",
        title="FlytePath spec version",
    )
    return params


def _param_for(var: Variable, param_cls: Any) -> Any:
    from flytepath_airflow.backends.airflow.schema import input_json_schema, render_input_type

    schema = dict(input_json_schema(var.type))
    schema["title"] = var.name  # the form label is the input name, not the type name
    type_text = render_input_type(var.type)
    description = f"{var.description} ({type_text})" if var.description else type_text
    if var.required:
        return param_cls(description=description, **schema)
    return param_cls(var.default, description=description, **schema)


def _doc_md(spec: WorkflowSpec, version: str) -> str:
    from flytepath_airflow.backends.airflow.schema import render_input_type

    lines = [
        f"# {spec.name}",
        "",
        f"FlytePath workflow **{spec.name}**, version `{version}`, "
        f"project `{spec.tenant.project}`, domain `{spec.tenant.domain}`; "
        f"{len(spec.nodes)} node(s).",
    ]
    if spec.description:
        lines += ["", spec.description.strip()]
    if spec.interface.inputs:
        lines += ["", "## Inputs", "", "| name | type | default |", "|---|---|---|"]
        for var in spec.interface.inputs:
            default = "(required)" if var.required else f"`{var.default!r}`"
            lines.append(f"| `{var.name}` | `{render_input_type(var.type)}` | {default} |")
    if spec.interface.outputs:
        lines += ["", "## Outputs", "", "| name | type |", "|---|---|"]
        for var in spec.interface.outputs:
            lines.append(f"| `{var.name}` | `{render_input_type(var.type)}` |")
    lines += ["", "Built by FlytePath from the compiled spec; edit the workflow, not this DAG."]
    return "\n".join(lines) + "\n"
