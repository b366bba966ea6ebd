"""`build_dag(spec)`: a compiled FlytePath spec becomes an ordinary Airflow DAG.

Pure and fast: it reads the spec and settings, never the user's code, the store or the
network, so a DAG file that calls it parses in flat time. The same spec and settings always
give the same DAG, and so the same serialized DAG: re-parsing never mints a new Airflow DAG
version (tested through Airflow's own serializer).

One Airflow task per task node (map, dynamic and conditional nodes: see _GraphBuilder);
edges come from the nodes' bindings; the DAG id is
`project.domain.workflow` and stays the same across spec versions, which go into the tags,
the docs and the `flytepath_version` param (which a trigger may set to another registered
version), so Airflow's DAG versioning keeps one history per workflow.
Workflow inputs become `Param`s whose JSON Schema comes from the type engine, so the trigger
form is typed and rejects a wrong value before a run starts.

Imports airflow (this is the Airflow backend); never imports user code.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flytepath_airflow.backends.airflow.passthrough import build_passthrough_operator, import_path
from flytepath_airflow.backends.airflow.schema import input_json_schema, render_input_type
from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import (
    LaunchPlanSpec,
    NodeSpec,
    TaskSpec,
    Variable,
    WorkflowSpec,
)
from flytepath_airflow.ir.spec_io import compute_version
from flytepath_airflow.operators import runner_class
from flytepath_airflow.operators.node import NodeArgs, SkipUnlessCaseTaken
from flytepath_airflow.platform.naming import (
    dag_id_for,
    dag_id_of,
    pool_slots_for,
    task_id_for,
)
from flytepath_airflow.platform.settings import AirflowBackendSettings, check_node_options

if TYPE_CHECKING:
    from airflow.sdk import DAG

logger = logging.getLogger(__name__)

VERSION_PARAM = "flytepath_version"
"""Param holding the spec version a run runs: the DAG's own by default; the trigger form
lets the user pick another registered version with the same graph (docs/airflow.md)."""

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
    for node in _all_nodes(spec):
        if node.task is None and node.kind not in ("branch", "merge"):
            raise UnsupportedSpecError(
                f"{where}: {node.kind} node {node.id!r} runs no task. Recompile the workflow."
            )
        if node.task is not None and node.task not in spec.tasks:
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
    settings = settings or AirflowBackendSettings()
    check_spec(spec)
    version = spec.version or compute_version(spec)
    if version != spec.version:
        spec = spec.model_copy(update={"version": version})
    return _build(spec, settings, spec_uri, dag_id=dag_id_for(spec), display=spec.name,
                  description=_first_line(spec.description) or f"FlytePath workflow {spec.name}",
                  tags=_tags(spec, version, settings), doc_md=_doc_md(spec, version),
                  params=_params(spec, version), schedule_kwargs={"schedule": None,
                                                                  "catchup": False})


def build_launch_plan_dag(
    plan: LaunchPlanSpec,
    settings: AirflowBackendSettings | None = None,
    *,
    spec_uri: str | None = None,
) -> DAG:
    """Build the Airflow DAG of a launch plan: its workflow, on its schedule.

    The DAG id is `project.domain.<launch plan name>`. Default inputs become the params'
    defaults; fixed inputs become params that accept only their value (`const`), so a
    trigger that overrides one is rejected; the kickoff input gets the run's scheduled time.
    """
    settings = settings or AirflowBackendSettings()
    spec = plan.workflow
    check_spec(spec)
    _check_plan(plan)
    version = spec.version or compute_version(spec)
    if version != spec.version:
        spec = spec.model_copy(update={"version": version})
    dag_id = launch_plan_dag_id(plan)
    params = _params(spec, version)
    from airflow.sdk import Param

    for name, value in plan.default_inputs.items():
        old = params[name]
        params[name] = Param(value, description=old.description, **_schema_of(old))
    for name, value in plan.fixed_inputs.items():
        old = params[name]
        params[name] = Param(value, description=f"fixed by launch plan {plan.name}: "
                             f"{old.description}", const=value, **_schema_of(old))
    kickoff = plan.schedule.kickoff_time_input if plan.schedule else None
    if kickoff:
        old = params[kickoff]
        params[kickoff] = Param(None, description=f"the run's scheduled time unless given: "
                                f"{old.description}", type=["null", "string"])
    doc = _doc_md(spec, version) + _plan_doc(plan)
    tags = sorted({*_tags(spec, version, settings), f"launch_plan:{plan.name}"})
    return _build(spec, settings, spec_uri, dag_id=dag_id, display=plan.name,
                  description=_first_line(plan.description or spec.description)
                  or f"FlytePath launch plan {plan.name}",
                  tags=tags, doc_md=doc, params=params,
                  schedule_kwargs=_schedule_kwargs(plan), kickoff_input=kickoff)


def launch_plan_dag_id(plan: LaunchPlanSpec) -> str:
    """`project.domain.<launch plan name>`."""
    tenant = plan.workflow.tenant
    return dag_id_of(tenant.project, tenant.domain, plan.name)


def _schema_of(param: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(param.schema).items() if k not in ("default", "description")}


def _check_plan(plan: LaunchPlanSpec) -> None:
    names = {v.name for v in plan.workflow.interface.inputs}
    for kind, values in (("default", plan.default_inputs), ("fixed", plan.fixed_inputs)):
        for name in values:
            if name not in names:
                raise UnsupportedSpecError(
                    f"launch plan {plan.name!r}: {kind} input {name!r} is not an input of "
                    f"workflow {plan.workflow.name!r} (inputs: {', '.join(sorted(names))}). "
                    "Remove it or recompile the launch plan."
                )
    kickoff = plan.schedule.kickoff_time_input if plan.schedule else None
    if kickoff is not None and kickoff not in names:
        raise UnsupportedSpecError(
            f"launch plan {plan.name!r}: kickoff time input {kickoff!r} is not an input of "
            f"workflow {plan.workflow.name!r}."
        )


def _schedule_kwargs(plan: LaunchPlanSpec) -> dict[str, Any]:
    from datetime import datetime, timedelta

    import pendulum

    schedule = plan.schedule
    if schedule is None:
        return {"schedule": None, "catchup": False}
    tz = pendulum.timezone(schedule.timezone)
    start = pendulum.parse(schedule.start_date, tz=tz) if schedule.start_date \
        else datetime(2024, 1, 1, tzinfo=tz)
    if schedule.cron is not None:
        from airflow.timetables.trigger import CronTriggerTimetable

        timetable: Any = CronTriggerTimetable(schedule.cron, timezone=tz)
    else:
        assert schedule.fixed_rate is not None
        from airflow.timetables.trigger import DeltaTriggerTimetable

        timetable = DeltaTriggerTimetable(timedelta(seconds=schedule.fixed_rate))
    return {"schedule": timetable, "catchup": schedule.catchup, "start_date": start}


def _plan_doc(plan: LaunchPlanSpec) -> str:
    lines = ["", f"## Launch plan `{plan.name}`", ""]
    if plan.schedule is not None:
        when = plan.schedule.cron or f"every {plan.schedule.fixed_rate:g} s"
        lines.append(f"Schedule: `{when}` ({plan.schedule.timezone}), catchup "
                     f"{'on' if plan.schedule.catchup else 'off'}.")
    for name, value in plan.fixed_inputs.items():
        lines.append(f"- fixed `{name}` = `{value!r}` (cannot be overridden)")
    for name, value in plan.default_inputs.items():
        lines.append(f"- default `{name}` = `{value!r}`")
    return "\n".join(lines) + "\n"


def _build(spec: WorkflowSpec, settings: AirflowBackendSettings, spec_uri: str | None, *,
           dag_id: str, display: str, description: str, tags: list[str], doc_md: str,
           params: dict[str, Any], schedule_kwargs: dict[str, Any],
           kickoff_input: str | None = None) -> DAG:
    from airflow.sdk import DAG

    project, domain = spec.tenant.project, spec.tenant.domain
    tenant_pool = settings.pool_for(project, domain)
    operator_cls = runner_class(settings.runner)
    dag = DAG(
        dag_id,
        dag_display_name=display,
        description=description,
        max_active_runs=settings.max_active_runs,
        tags=tags,
        doc_md=doc_md,
        params=params,
        is_paused_upon_creation=settings.is_paused_upon_creation,
        **schedule_kwargs,
    )
    builder = _GraphBuilder(spec, settings, spec_uri, dag, operator_cls, tenant_pool.pool,
                            kickoff_input)
    for node in spec.nodes:
        builder.add(node)
    for node in spec.nodes:
        builder.connect(node)
    if spec.on_failure is not None:
        builder.add_failure_node(spec.on_failure)
    return dag


def _is_empty_operator(task: TaskSpec) -> bool:
    """A kept operator that is an EmptyOperator (or a subclass of it)."""
    if task.operator is None:
        return False
    try:
        cls = import_path(task.operator.class_path, "operator class")
    except Exception:  # build_passthrough_operator reports it with its own message
        return False
    # EmptyOperator sets this class attribute to True; on others it is a property.
    return getattr(cls, "inherits_from_empty_operator", False) is True


def _all_nodes(spec: WorkflowSpec) -> list[NodeSpec]:
    return [*spec.nodes, *([spec.on_failure] if spec.on_failure is not None else [])]


class _GraphBuilder:
    """Creates the Airflow tasks of each node and wires them.

    A task node is one task; a map node is a TaskGroup of `fanout` (checks the lists),
    `items` (one mapped task instance per element) and `collect`; a dynamic node is a
    TaskGroup of `build` (runs the body), then per level a `plan_k` and a mapped `run_k`
    over the generated nodes of that level, and `collect` (ADR 0014); a conditional is its
    `decide` task and a merge task. Subworkflow calls become (nested) TaskGroups.
    """

    def __init__(self, spec: WorkflowSpec, settings: AirflowBackendSettings,
                 spec_uri: str | None, dag: Any, operator_cls: Any, pool: str,
                 kickoff_input: str | None = None) -> None:
        self.spec, self.settings, self.spec_uri, self.dag = spec, settings, spec_uri, dag
        self.operator_cls, self.pool = operator_cls, pool
        self.kickoff_input = kickoff_input
        self.groups: dict[tuple[str, ...], Any] = {}
        self.entry: dict[str, Any] = {}
        self.exit: dict[str, Any] = {}

    # -- groups and common arguments -----------------------------------------------------
    def group(self, path: tuple[str, ...]) -> Any:
        if not path:
            return None
        if path not in self.groups:
            from airflow.sdk import TaskGroup

            self.groups[path] = TaskGroup(
                group_id=path[-1], parent_group=self.group(path[:-1]), dag=self.dag,
                tooltip=f"subworkflow call {'.'.join(path)}",
            )
        return self.groups[path]

    def local_id(self, node: NodeSpec) -> str:
        prefix = ".".join(node.group)
        if prefix and node.id.startswith(prefix + "."):
            return task_id_for(node.id[len(prefix) + 1:])
        return task_id_for(node.id)

    def task_kwargs(self, node: NodeSpec, task: TaskSpec | None) -> dict[str, Any]:
        settings = self.settings
        kwargs: dict[str, Any] = {
            "dag": self.dag, "owner": settings.owner, "pool": self.pool,
        }
        if task is not None:
            retry_delay = task.retry_delay if task.retry_delay is not None \
                else settings.default_retry_delay
            kwargs.update(
                retries=task.retries,
                retry_delay=_timedelta(retry_delay),
                execution_timeout=_timedelta(task.timeout),
                pool_slots=pool_slots_for(task, from_cpu=settings.pool_slots_from_cpu,
                                          max_slots=settings.max_pool_slots),
                doc_md=task.docs,
            )
        options = node.airflow
        if options is not None:
            tenant = self.spec.tenant
            check_node_options(settings, tenant.project, tenant.domain, self.spec.name,
                               node.id, options, self.pool)
            for field in ("trigger_rule", "pool", "pool_slots", "priority_weight",
                          "weight_rule", "queue", "owner", "task_display_name"):
                value = getattr(options, field)
                if value is not None:
                    kwargs[field] = value
        return kwargs

    def node_args(self, node: NodeSpec) -> NodeArgs:
        return NodeArgs.of(self.spec, node.id, self.settings, self.spec_uri)

    def control(self, node: NodeSpec, step: str, task_id: str, group: Any,
                **kwargs: Any) -> Any:
        # Function-level: operators.control imports Airflow, and the CLI imports this module
        # (launch_plan_dag_id) in a process that keeps Airflow out (ADR 0006).
        from flytepath_airflow.operators.control import FlytePathControlOperator

        base = self.task_kwargs(node, None)
        base.pop("pool_slots", None)
        base.update(kwargs)
        return FlytePathControlOperator(
            step=step, task_id=task_id, task_group=group, guarded=node.guard is not None,
            **self.node_args(node).identity(), **base,
        )

    def runner(self, node: NodeSpec, task_id: str, group: Any, **extra: Any) -> Any:
        task = self.spec.task_of(node)
        kwargs = self.task_kwargs(node, task)
        kwargs.update(extra)
        if task.kind == "airflow":
            for flytepath_only in ("expand", "guarded", "in_process", "dynamic_parent",
                                   "failure_node", "map_index_template"):
                kwargs.pop(flytepath_only, None)
            if node.guard is not None and _is_empty_operator(task):
                # Function-level: operators.control imports Airflow, and the CLI imports
                # this module (launch_plan_dag_id) in a process that keeps Airflow out.
                from flytepath_airflow.operators.control import FlytePathGuardedEmptyOperator

                kwargs.pop("pool_slots", None)
                return FlytePathGuardedEmptyOperator(
                    task_id=task_id, task_group=group, **self.node_args(node).identity(),
                    **kwargs)
            if node.guard is not None:
                kwargs["pre_execute"] = SkipUnlessCaseTaken(**self.node_args(node).identity())
            return build_passthrough_operator(node, task, task_id=task_id, task_group=group,
                                              **kwargs)
        kwargs.setdefault("guarded", node.guard is not None)
        return self.operator_cls.for_node(
            spec=self.spec, node=node, task=task, settings=self.settings,
            spec_uri=self.spec_uri, task_id=task_id, task_group=group, **kwargs,
        )

    # -- nodes -------------------------------------------------------------------------
    def add(self, node: NodeSpec) -> None:
        group = self.group(node.group)
        local = self.local_id(node)
        if node.kind == "branch":
            op = self.control(node, "decide", local, group)
            self.entry[node.id] = self.exit[node.id] = op
        elif node.kind == "merge":
            op = self.control(node, "merge", local, group,
                              trigger_rule="none_failed_min_one_success")
            self.entry[node.id] = self.exit[node.id] = op
        elif node.kind == "map" and self.spec.task_of(node).kind == "airflow":
            # A converted mapped operator stays one mapped Airflow task (it maps itself).
            op = self.runner(node, local, group)
            self.entry[node.id] = self.exit[node.id] = op
        elif node.kind == "map":
            self.add_map(node, group, local)
        elif node.kind == "dynamic":
            self.add_dynamic(node, group, local)
        else:
            op = self.runner(node, local, group)
            self.entry[node.id] = self.exit[node.id] = op

    def add_map(self, node: NodeSpec, parent: Any, local: str) -> None:
        from airflow.sdk import TaskGroup

        assert node.map is not None
        group = TaskGroup(group_id=local, parent_group=parent, dag=self.dag,
                          tooltip=f"map over {', '.join(node.map.mapped)}")
        fanout = self.control(node, "map_fanout", "fanout", group)
        extra: dict[str, Any] = {"expand": {"flytepath_item": fanout.output}}
        if node.map.concurrency is not None:
            extra["max_active_tis_per_dagrun"] = node.map.concurrency
        if self.settings.runner == "local":
            extra["in_process"] = True
        items = self.runner(node, "items", group, guarded=False, **extra)
        collect = self.control(node, "map_collect", "collect", group,
                               trigger_rule="all_done_min_one_success")
        fanout >> items >> collect
        collect.set_upstream(fanout)
        self.entry[node.id], self.exit[node.id] = fanout, collect

    def add_dynamic(self, node: NodeSpec, parent: Any, local: str) -> None:
        from airflow.sdk import TaskGroup

        task = self.spec.task_of(node)
        levels = task.dynamic.max_levels if task.dynamic else 8
        group = TaskGroup(group_id=local, parent_group=parent, dag=self.dag,
                          tooltip=f"dynamic workflow {task.name}")
        build = self.runner(node, "build", group)
        previous = build
        for level in range(levels):
            plan = self.control(node, "dynamic_plan", f"plan_{level}", group, level=level,
                                trigger_rule="none_failed")
            run = self.runner(node, f"run_{level}", group, guarded=False,
                              dynamic_parent=node.id,
                              # The grid labels each instance with the generated node's id.
                              map_index_template="{{ task.flytepath_item }}",
                              expand={"flytepath_item": plan.output})
            previous >> plan >> run
            previous = run
        collect = self.control(node, "dynamic_collect", "collect", group,
                               trigger_rule="none_failed")
        previous >> collect
        self.entry[node.id], self.exit[node.id] = build, collect

    def connect(self, node: NodeSpec) -> None:
        deps = node.dependencies()
        if deps:
            self.entry[node.id].set_upstream([self.exit[d] for d in deps])

    def add_failure_node(self, node: NodeSpec) -> None:
        op = self.runner(node, task_id_for(node.id), None, trigger_rule="one_failed",
                         failure_node=True)
        op.set_upstream(list(self.exit.values()))


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
    schema = dict(input_json_schema(var.type))
    schema["title"] = var.name  # the form label is the input name, not the type name
    type_text = render_input_type(var.type)
    description = f"{var.description} ({type_text})" if var.description else type_text
    if var.required:
        return param_cls(description=description, **schema)
    return param_cls(var.default, description=description, **schema)


def _doc_md(spec: WorkflowSpec, version: str) -> str:
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
