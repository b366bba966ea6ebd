"""The work behind `flytepath render`: the Airflow DAG a workflow becomes, as text.

`cli/main.py` declares the command and imports this module only when it runs. It takes the
targets `run` and `compile` take (`sdk.targets.load_target`: FILE.py:WORKFLOW, a module
path, a YAML spec or a compiled spec JSON) and prints what `backends.airflow.dag_builder`
builds from them: the DAG id, its params, each task with its pool, retries, timeout and
cache settings, and the edges. Nothing runs and nothing is stored.

Must not import: airflow, kubernetes (no DAG is built; the ids come from the same naming
functions the builder uses), nor the stores.
"""

from __future__ import annotations

import json

import typer

from flytepath_airflow.backends.airflow.dag_builder import launch_plan_dag_id
from flytepath_airflow.backends.airflow.schema import render_input_type
from flytepath_airflow.cli.name_options import check_name_options
from flytepath_airflow.ir.models import LaunchPlanSpec, NodeSpec, TaskSpec, WorkflowSpec
from flytepath_airflow.platform.naming import dag_id_for, pool_slots_for, task_id_for
from flytepath_airflow.platform.settings import AirflowBackendSettings
from flytepath_airflow.sdk.targets import load_target


def render(target: str, project: str | None = None, domain: str | None = None) -> None:
    """`flytepath render`: print the DAG a workflow or launch plan becomes.

    :param target: a workflow, launch plan or spec file, as `flytepath run` takes it.
    :param project: the project (default: the spec's, else default).
    :param domain: the domain (default: the spec's, else development).
    """
    check_name_options(project=project, domain=domain)
    spec = load_target(target, project=project, domain=domain, allow_launch_plan=True)
    typer.echo(render_spec(spec))


def render_spec(spec: WorkflowSpec | LaunchPlanSpec) -> str:
    """A text view of the DAG `build_dag` (or `build_launch_plan_dag`) would make: tasks,
    edges, pools, params and each task's cache settings.

    :param spec: the compiled workflow, or a launch plan (its own DAG, on its schedule).
    """
    plan = spec if isinstance(spec, LaunchPlanSpec) else None
    workflow = plan.workflow if plan is not None else spec
    assert isinstance(workflow, WorkflowSpec)
    settings = AirflowBackendSettings()
    pool = settings.pool_for(workflow.tenant.project, workflow.tenant.domain)
    if plan is None:
        lines = [f"DAG {dag_id_for(workflow)}  (workflow {workflow.name}, "
                 f"version {workflow.version})"]
    else:
        lines = [f"DAG {launch_plan_dag_id(plan)}  (launch plan {plan.name} of workflow "
                 f"{workflow.name}, version {workflow.version})",
                 f"  schedule: {_schedule_text(plan)}"]
    lines += [
        f"  tags: flytepath, project:{workflow.tenant.project}, "
        f"domain:{workflow.tenant.domain}, version:{workflow.version}"
        + (f", launch_plan:{plan.name}" if plan is not None else ""),
        f"  max_active_runs: {settings.max_active_runs}   runner: {settings.runner}",
        "  params:",
    ]
    kickoff = plan.schedule.kickoff_time_input if plan is not None and plan.schedule else None
    for var in workflow.interface.inputs:
        if var.name == kickoff:
            default = "the run's scheduled time unless given"
        elif plan is not None and var.name in plan.fixed_inputs:
            default = f"fixed by the launch plan: {json.dumps(plan.fixed_inputs[var.name])}"
        elif plan is not None and var.name in plan.default_inputs:
            default = f"default {json.dumps(plan.default_inputs[var.name])}"
        else:
            default = "required" if var.required else f"default {json.dumps(var.default)}"
        lines.append(f"    {var.name}: {render_input_type(var.type)} ({default})")
    lines.append(f"    flytepath_version: {workflow.version} (default; another registered "
                 "version with the same graph may be chosen)")
    lines.append("  tasks:")
    nodes = [*workflow.nodes, *([workflow.on_failure] if workflow.on_failure is not None
                                else [])]
    for node in nodes:
        task = workflow.tasks.get(node.task or "")
        shape = _node_shape(node, task)
        if task is None:
            lines.append(f"    {task_id_for(node.id)}: {shape}")
            continue
        slots = pool_slots_for(task, from_cpu=settings.pool_slots_from_cpu,
                               max_slots=settings.max_pool_slots)
        extra = []
        if task.retries:
            extra.append(f"retries={task.retries}")
        if task.timeout:
            extra.append(f"timeout={task.timeout:g}s")
        lines.append(
            f"    {task_id_for(node.id)}: {task.name} [{task.kind}] pool={pool.pool} "
            f"slots={slots}" + (" " + " ".join(extra) if extra else "")
            + (f"\n      {shape}" if shape else "")
            + f"\n      {_cache_text(task)}"
        )
    lines.append("  edges:")
    # Upstream nodes in graph order: a spec's input order depends on its source (a JSON
    # spec sorts them), and the same graph should read the same.
    position = {node.id: i for i, node in enumerate(nodes)}
    edges = [(dep, node.id) for node in workflow.nodes
             for dep in sorted(node.dependencies(), key=lambda d: position.get(d, -1))]
    lines.extend(f"    {task_id_for(a)} >> {task_id_for(b)}" for a, b in edges)
    if not edges:
        lines.append("    (none)")
    return "\n".join(lines)


def _cache_text(task: TaskSpec) -> str:
    """A task's cache settings, as `@task(cache=..., cache_version=..., ...)` set them."""
    cache = task.cache
    if cache is None:
        return "cache: off"
    parts = [f"cache: on, version {cache.version!r}",
             f"serialize {'on' if cache.serialize else 'off'}"]
    if cache.scope == "global":
        parts.append("shared by every project and domain")
    if cache.ignore_inputs:
        parts.append(f"ignores {', '.join(cache.ignore_inputs)}")
    return ", ".join(parts)


def _schedule_text(plan: LaunchPlanSpec) -> str:
    """When a launch plan's DAG runs."""
    schedule = plan.schedule
    if schedule is None:
        return "none (runs when triggered)"
    when = f"cron {schedule.cron!r}" if schedule.cron is not None \
        else f"every {schedule.fixed_rate:g}s"
    return f"{when} ({schedule.timezone}), catchup {'on' if schedule.catchup else 'off'}"


def _node_shape(node: NodeSpec, task: TaskSpec | None) -> str:
    """How a node that is not a plain task becomes Airflow tasks (see dag_builder)."""
    parts = []
    if node.group:
        parts.append(f"in TaskGroup {'.'.join(node.group)}")
    if node.guard is not None:
        parts.append(f"case {node.guard.case} of conditional {node.guard.branch} "
                     "(skipped when not taken)")
    if node.kind == "branch":
        assert node.branch is not None
        parts.append(f"conditional: decides among {len(node.branch.cases)} cases")
    elif node.kind == "merge":
        assert node.merge is not None
        parts.append(f"conditional outputs of {node.merge.branch} (trigger rule "
                     "none_failed_min_one_success)")
    elif node.kind == "map":
        assert node.map is not None
        limit = f", at most {node.map.concurrency} at once" if node.map.concurrency else ""
        parts.append(f"map over {', '.join(node.map.mapped)}: TaskGroup of fanout, items "
                     f"(mapped, one per element{limit}), collect")
    elif node.kind == "dynamic":
        levels = task.dynamic.max_levels if task is not None and task.dynamic else 8
        parts.append(f"dynamic: TaskGroup of build, plan_k + run_k (mapped) for {levels} "
                     "levels, collect")
    if node.id == "on_failure" and node.kind == "task" and task is not None:
        parts.append("failure node (trigger rule one_failed; the run still fails)")
    return "; ".join(parts)


__all__ = ["render", "render_spec"]
