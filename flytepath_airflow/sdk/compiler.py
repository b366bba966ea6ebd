"""The Python front-end's compiler: trace a `@workflow` (or a `@dynamic` body) into a spec.

A workflow body runs once, at compile time, with promises in place of values; every task
call records a node and every promise passed records a typed binding. The graph is then
checked by the checks every front-end shares (`translators.checks`) and versioned.

Must not import: airflow, kubernetes, the runtime's execution modules.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from flytepath_airflow.errors import CompileError, TypeMismatchError
from flytepath_airflow.ir.graph import graph_depth
from flytepath_airflow.ir.models import (
    SCHEMA_VERSION,
    BindingSpec,
    InputRef,
    NodeSpec,
    OutputRef,
    TenantSpec,
    TypedInterface,
    WorkflowSpec,
)
from flytepath_airflow.ir.names import check_name
from flytepath_airflow.ir.spec_io import with_version
from flytepath_airflow.sdk.dynamic import DynamicTask
from flytepath_airflow.sdk.promise import NodeHandle, TraceContext, reset_trace, set_trace
from flytepath_airflow.sdk.task import PythonTask
from flytepath_airflow.sdk.workflow import FailureInfo, PythonWorkflow, trace_body
from flytepath_airflow.translators.checks import FAILURE_INPUT, check_workflow
from flytepath_airflow.types import castability_error, render_type
from flytepath_airflow.types.signatures import parse_docstring


def compile_workflow(
    wf: PythonWorkflow, *, project: str = "default", domain: str = "development"
) -> WorkflowSpec:
    """Trace the workflow body with promises and return its checked, versioned spec.

    Subworkflow calls are inlined: their nodes get the id prefix `<call_id>.` and the
    group `(call_id,)`, where call_id is the subworkflow's function name (made unique
    like task node ids: `name`, `name_2`, ...).
    """
    where = f"workflow '{wf.name}' ({wf.location})"
    _check_tenant(project, domain, where)
    with _names_checked(where):
        check_name(wf.name, "workflow", where=where)
        trace = TraceContext(wf.name)
        results = trace_body(wf, trace)
        outputs: dict[str, BindingSpec] = {var.name: promise.ref for var, promise in results}
        on_failure = _failure_node(wf, trace) if wf.on_failure is not None else None
        description, _ = parse_docstring(wf.fn.__doc__)
        spec = WorkflowSpec(
            schema_version=SCHEMA_VERSION,
            name=wf.name,
            tenant=TenantSpec(project=project, domain=domain),
            description=description,
            interface=wf.interface,
            nodes=trace.finished_nodes(),
            tasks=dict(sorted(trace.tasks.items())),
            outputs=outputs,
            on_failure=on_failure,
        )
    check_workflow(spec, lambda path: _locate(trace, spec, path))
    return with_version(spec)


def _check_tenant(project: str, domain: str, where: str) -> None:
    """Refuse a bad project or domain before anything is traced (ADR 0033)."""
    check_name(project, "project", where=f"{where}: project")
    check_name(domain, "domain", where=f"{where}: domain")


@contextmanager
def _names_checked(where: str) -> Iterator[None]:
    """Turn the spec models' name errors (a node id or task name from a function's name
    that breaks the naming rules) into a CompileError that says where."""
    try:
        yield
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                             for err in exc.errors()[:3])
        raise CompileError(
            f"{where} does not compile into a valid spec: {problems}. Rename the function "
            "or workflow so its name follows the rule."
        ) from None


def _failure_node(wf: PythonWorkflow, trace: TraceContext) -> NodeSpec:
    """The `on_failure` node: its task's inputs bound to workflow inputs of the same name.

    `err: FailureInfo` is left unbound; the runtime fills it in.
    """
    handler = wf.on_failure
    if not isinstance(handler, PythonTask) or handler.to_spec().kind != "python":
        raise CompileError(
            f"workflow '{wf.name}' ({wf.location}): on_failure must be a @task, got "
            f"{handler!r}. Decorate the failure handler with @task."
        )
    spec = handler.to_spec()
    short = handler.fn.__name__
    trace.add_task(spec, handler.location)
    trace.locations["on_failure"] = handler.location
    inputs: dict[str, BindingSpec] = {}
    wf_inputs = [v.name for v in wf.interface.inputs]
    for var in spec.interface.inputs:
        if var.name == FAILURE_INPUT:
            if handler.python_interface.inputs[var.name] is not FailureInfo:
                raise CompileError(
                    f"workflow '{wf.name}' on_failure task '{short}' ({handler.location}): "
                    f"input '{FAILURE_INPUT}' receives the failure, so it must be annotated "
                    f"`{FAILURE_INPUT}: FailureInfo` (from flytepath_airflow)."
                )
            continue
        source = wf.interface.input(var.name)
        if source is None:
            if not var.required:
                continue
            raise CompileError(
                f"workflow '{wf.name}' on_failure task '{short}' ({handler.location}): input "
                f"'{var.name}' is not an input of the workflow, so nothing can fill it. Its "
                f"inputs may be the workflow's inputs ({', '.join(wf_inputs) or 'none'}), "
                f"bound by name, and `{FAILURE_INPUT}: FailureInfo`. Rename or remove it, or "
                "give it a default."
            )
        reason = castability_error(source.type, var.type)
        if reason is not None:
            raise TypeMismatchError(
                f"workflow '{wf.name}' on_failure task '{short}' input '{var.name}' expects "
                f"{render_type(var.type)} but workflow input '{var.name}' is "
                f"{render_type(source.type)} ({handler.location}): {reason}. Change one of "
                "the annotations."
            )
        inputs[var.name] = InputRef(name=var.name)
    return NodeSpec(id="on_failure", task=spec.name, inputs=inputs)


def _locate(trace: TraceContext, spec: WorkflowSpec, path: tuple[str | int, ...]) -> str | None:
    if path and path[0] == "on_failure":
        return trace.locations.get("on_failure")
    if len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int):
        if path[1] < len(spec.nodes):
            return trace.locations.get(spec.nodes[path[1]].id)
    return None


def task_spec_workflow(task: PythonTask, project: str = "default",
                       domain: str = "development") -> WorkflowSpec:
    """A one-node workflow that runs `task` (for running a single task)."""
    where = f"task '{task.name}' ({task.location})"
    _check_tenant(project, domain, where)
    with _names_checked(where):
        spec = task.to_spec()
        node_id = task.fn.__name__
        node = NodeSpec(
            id=node_id, task=spec.name, kind="dynamic" if spec.kind == "dynamic" else "task",
            inputs={v.name: InputRef(name=v.name) for v in spec.interface.inputs},
        )
        return with_version(WorkflowSpec(
            schema_version=SCHEMA_VERSION,
            name=spec.name,
            tenant=TenantSpec(project=project, domain=domain),
            description=spec.docs,
            interface=spec.interface,
            nodes=(node,),
            tasks={spec.name: spec},
            outputs={v.name: OutputRef(node=node_id, output=v.name)
                     for v in spec.interface.outputs},
        ))


def _dynamic_task(fn_or_task: Any) -> DynamicTask:
    if isinstance(fn_or_task, DynamicTask):
        return fn_or_task
    if not callable(fn_or_task):
        raise CompileError(f"compile_dynamic needs a @dynamic task, got {fn_or_task!r}.")
    # The runtime resolves "module:qualname" to the bare function; find its decorator.
    owner: Any = sys.modules.get(fn_or_task.__module__)
    for part in fn_or_task.__qualname__.split("."):
        owner = getattr(owner, part, None)
    if isinstance(owner, DynamicTask) and owner.fn is fn_or_task:
        return owner
    return DynamicTask(fn_or_task, {})

def compile_dynamic(fn_or_task: Any, values: dict[str, Any], *, parent: WorkflowSpec,
                    node_id: str) -> WorkflowSpec:
    """Run a @dynamic body with real input values and compile the graph it builds.

    Called by the runtime when dynamic node `node_id` of `parent` runs. The body gets
    `values` (Python objects, already decoded); plain values it passes to tasks become
    literal bindings, and the tasks, map tasks, conditionals and subworkflows it calls
    become nodes. Returns a checked, versioned WorkflowSpec named
    `"<parent.name>.<node_id>"`, with the parent's tenant, no inputs, and the dynamic
    task's outputs bound to what the body returned (promises, or plain values as
    literals). `max_levels` comes from the parent's task spec for the node (else the
    decorator).

    Raises:
        CompileError: the body built an ill-typed graph, called a nested @dynamic task,
            returned values that do not fit the declared outputs, or built a graph
            deeper than max_levels.
    """
    task = _dynamic_task(fn_or_task)
    short = task.fn.__name__
    max_levels = task.max_levels
    try:
        node = parent.node(node_id)
        task_spec = parent.tasks.get(node.task or "")
        if task_spec is not None and task_spec.dynamic is not None:
            max_levels = task_spec.dynamic.max_levels
    except KeyError:
        pass
    py = task.python_interface
    unknown = sorted(set(values) - set(py.inputs))
    if unknown:
        raise CompileError(
            f"dynamic task '{short}' got values for {', '.join(map(repr, unknown))}, which "
            f"are not its inputs ({', '.join(py.inputs) or 'none'})."
        )
    name = f"{parent.name}.{node_id}"
    trace = TraceContext(name, dynamic=short)
    token = set_trace(trace)
    try:
        result = task.fn(**values)
    finally:
        reset_trace(token)
    trace.check_closed(f"dynamic task '{short}'")
    declared = task.interface.outputs
    if not declared:
        returned: tuple[Any, ...] = ()
        if result is not None and not isinstance(result, NodeHandle):
            raise CompileError(
                f"dynamic task '{short}' ({task.location}) returns a value but its return "
                "annotation is None. Annotate the outputs, e.g. `-> list[int]`."
            )
    elif py.multiple_outputs:
        returned = tuple(result) if isinstance(result, tuple) else (result,)
    else:
        returned = (result,)
    if len(returned) != len(declared):
        raise CompileError(
            f"dynamic task '{short}' ({task.location}) declares {len(declared)} outputs "
            f"({', '.join(v.name for v in declared)}) but its body returns {len(returned)}."
        )
    outputs: dict[str, BindingSpec] = {}
    for var, value in zip(declared, returned, strict=True):
        # Promises are type-checked against the output; plain values become literals.
        outputs[var.name] = trace.bind(
            value, var.type, py.outputs[var.name],
            what=f"dynamic task '{short}' output '{var.name}'", location=task.location,
            castability_error=castability_error, render_type=render_type,
        )
    spec = WorkflowSpec(
        schema_version=SCHEMA_VERSION,
        name=name,
        tenant=parent.tenant,
        description=f"Graph built by dynamic node '{node_id}' of workflow '{parent.name}'.",
        interface=TypedInterface(outputs=declared),
        nodes=trace.finished_nodes(),
        tasks=dict(sorted(trace.tasks.items())),
        outputs=outputs,
    )
    check_workflow(spec, lambda path: _locate(trace, spec, path))
    depth = graph_depth(spec)
    if depth > max_levels:
        raise CompileError(
            f"dynamic task '{short}' ({task.location}) built a graph {depth} nodes deep, "
            f"but allows max_levels={max_levels}. Raise @dynamic(max_levels=...) (up to 64), "
            "or build a shallower graph (e.g. map_task instead of a chain of calls)."
        )
    return with_version(spec)


__all__ = ["compile_dynamic", "compile_workflow", "task_spec_workflow"]
