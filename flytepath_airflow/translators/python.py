"""The Python front-end: trace a `@workflow` into a versioned WorkflowSpec.

Also resolves the targets the CLI accepts (`FILE.py:WF`, `module:WF`, `spec.yaml`,
`spec.json`) and runs tasks and workflows called with Python values, through the same
serialization path a real run uses.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any, Literal, overload

from flytepath_airflow.errors import (
    CompileError,
    FlytePathUserError,
    TaskExecutionError,
    TypeMismatchError,
)
from flytepath_airflow.ir.models import (
    SCHEMA_VERSION,
    BindingSpec,
    InputRef,
    LaunchPlanSpec,
    NodeSpec,
    OutputRef,
    TenantSpec,
    TypedInterface,
    WorkflowSpec,
)
from flytepath_airflow.ir.spec_io import load_spec, with_version
from flytepath_airflow.sdk.dynamic import DynamicTask
from flytepath_airflow.sdk.interface import PythonInterface, join_outputs, parse_docstring
from flytepath_airflow.sdk.launch_plan import LaunchPlan
from flytepath_airflow.sdk.promise import (
    NodeHandle,
    TraceContext,
    reset_trace,
    set_trace,
)
from flytepath_airflow.sdk.task import PythonTask
from flytepath_airflow.sdk.workflow import FailureInfo, PythonWorkflow, trace_body
from flytepath_airflow.translators.checks import FAILURE_INPUT


def compile_workflow(
    wf: PythonWorkflow, *, project: str = "default", domain: str = "development"
) -> WorkflowSpec:
    """Trace the workflow body with promises and return its checked, versioned spec.

    Subworkflow calls are inlined: their nodes get the id prefix `<call_id>.` and the
    group `(call_id,)`, where call_id is the subworkflow's function name (made unique
    like task node ids: `name`, `name_2`, ...).
    """
    from flytepath_airflow.translators.checks import check_workflow

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


def _failure_node(wf: PythonWorkflow, trace: TraceContext) -> NodeSpec:
    """The `on_failure` node: its task's inputs bound to workflow inputs of the same name.

    `err: FailureInfo` is left unbound; the runtime fills it in.
    """
    from flytepath_airflow.types.literals import castability_error, render_type

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


# ---------------------------------------------------------------------- dynamic


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


def graph_depth(spec: WorkflowSpec) -> int:
    """The longest chain of nodes in the graph (a single node is depth 1; empty is 0)."""
    from flytepath_airflow.translators.checks import topological_order

    depth: dict[str, int] = {}
    by_id = {n.id: n for n in spec.nodes}
    for node_id in topological_order(spec):
        deps = by_id[node_id].dependencies()
        depth[node_id] = 1 + max((depth[d] for d in deps), default=0)
    return max(depth.values(), default=0)


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
    from flytepath_airflow.translators.checks import check_workflow
    from flytepath_airflow.types.literals import castability_error, render_type

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


# ---------------------------------------------------------------------- local calls


def run_spec_with_python_values(spec: WorkflowSpec, py: PythonInterface,
                                kwargs: dict[str, Any]) -> Any:
    """Encode Python inputs, run the spec locally, decode the outputs for Python."""
    from flytepath_airflow.backends.local import run_local
    from flytepath_airflow.runtime.run import new_run_id
    from flytepath_airflow.stores.blob import BlobStore, NodeBlobContext, default_root
    from flytepath_airflow.types import default_engine

    engine = default_engine()
    unknown = sorted(set(kwargs) - set(py.inputs))
    if unknown:
        raise CompileError(
            f"'{spec.name}' has no input {', '.join(map(repr, unknown))}; its inputs are "
            f"{', '.join(py.inputs) or '(none)'}."
        )
    root = default_root()
    run_id = new_run_id()
    store = BlobStore(root)
    ctx = NodeBlobContext(store, f"runs/{run_id}/inputs")
    literals = {
        name: engine.to_literal(value, py.inputs[name], ctx, name)
        for name, value in kwargs.items()
    }
    result = run_local(spec, literals, root=root, run_id=run_id)
    if not result.succeeded:
        raise TaskExecutionError(result.failed_node or "?", result.error or "failed",
                                 kind=result.error_kind or "user")
    values = {
        name: engine.to_python(lit, py.outputs[name], ctx)
        for name, lit in result.outputs.items()
    }
    return join_outputs(py, values)


def run_task_locally(task: PythonTask, kwargs: dict[str, Any]) -> Any:
    """`task(x=1)` outside a workflow: run it as a one-node workflow."""
    return run_spec_with_python_values(task_spec_workflow(task), task.python_interface, kwargs)


def run_workflow_locally(wf: PythonWorkflow, kwargs: dict[str, Any]) -> Any:
    """`wf(x=1)`: compile and run the workflow locally, returning Python values."""
    return run_spec_with_python_values(compile_workflow(wf), wf.python_interface, kwargs)


# ---------------------------------------------------------------------- targets


def _module_name_for(path: Path) -> tuple[str, Path]:
    """The dotted module name of a .py file and the directory to put on sys.path."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), folder


def _add_import_root(folder: Path) -> None:
    text = str(folder)
    if text not in sys.path:
        sys.path.insert(0, text)
    # Child processes (flytepath-execute, Airflow workers started from here) need it too.
    current = os.environ.get("PYTHONPATH", "")
    if text not in current.split(os.pathsep):
        os.environ["PYTHONPATH"] = text + (os.pathsep + current if current else "")


def import_source(source: str, target: str | None = None) -> Any:
    """Import `FILE.py` (its folder or package root becomes importable) or a module name."""
    target = target or source
    if source.endswith(".py"):
        path = Path(source)
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.exists():
            raise FlytePathUserError(f"file {source} does not exist (looked in {path}).")
        module_name, import_root = _module_name_for(path.resolve())
        _add_import_root(import_root)
    else:
        module_name = source
        _add_import_root(Path.cwd())
    try:
        return importlib.import_module(module_name)
    except FlytePathUserError:
        raise
    except SyntaxError as exc:
        raise FlytePathUserError(
            f"{exc.filename}:{exc.lineno}: syntax error: {exc.msg}. Fix the file and retry."
        ) from None
    except ImportError as exc:
        raise FlytePathUserError(
            f"cannot import {module_name!r} for {target!r}: {exc}. Check the path, or "
            "install the package that provides it."
        ) from None


def code_root_of(spec: WorkflowSpec) -> Path | None:
    """The import root (folder on sys.path) the spec's Python tasks were loaded from."""
    for task in spec.tasks.values():
        if task.fn:
            module = sys.modules.get(task.fn.partition(":")[0])
            path = getattr(module, "__file__", None)
            if path:
                return _module_name_for(Path(path).resolve())[1]
    return None


def load_module_workflows(source: str, *, project: str = "default",
                          domain: str = "development") -> list[WorkflowSpec]:
    """Compile every @workflow defined in a file or module (for `flytepath register`)."""
    module = import_source(source)
    workflows = [
        value for value in vars(module).values()
        if isinstance(value, PythonWorkflow) and value.fn.__module__ == module.__name__
    ]
    if not workflows:
        raise FlytePathUserError(
            f"{source} defines no @workflow; register FILE.py:NAME to register a task."
        )
    return [compile_workflow(wf, project=project, domain=domain) for wf in workflows]


def load_module_launch_plans(source: str, *, project: str = "default",
                             domain: str = "development") -> list[LaunchPlanSpec]:
    """Compile every LaunchPlan a file or module defines (for `flytepath register`)."""
    module = import_source(source)
    plans = sorted((value for value in vars(module).values() if isinstance(value, LaunchPlan)),
                   key=lambda plan: plan.name)
    return [plan.compile(project, domain) for plan in plans]


@overload
def load_target(target: str, *, project: str | None = None, domain: str | None = None,
                allow_launch_plan: Literal[False] = False) -> WorkflowSpec: ...


@overload
def load_target(target: str, *, project: str | None = None, domain: str | None = None,
                allow_launch_plan: Literal[True]) -> WorkflowSpec | LaunchPlanSpec: ...


def load_target(target: str, *, project: str | None = None, domain: str | None = None,
                allow_launch_plan: bool = False) -> WorkflowSpec | LaunchPlanSpec:
    """Compile or load whatever a CLI target names into a spec.

    `FILE.py:NAME` (relative to the current directory; its folder becomes importable),
    `package.module:NAME`, `spec.yaml` / `spec.yml`, or a compiled `spec.json`. NAME is a
    workflow, a task (run as a one-node workflow) or, with `allow_launch_plan=True`, a
    LaunchPlan, which compiles to a LaunchPlanSpec (its `workflow` is the compiled
    WorkflowSpec). Without `allow_launch_plan`, a launch plan target is a user error that
    names its workflow.
    """
    lowered = target.lower()
    if lowered.endswith((".yaml", ".yml")):
        from flytepath_airflow.translators.yaml import compile_yaml

        return compile_yaml(target, project=project, domain=domain)
    if lowered.endswith(".json"):
        spec = load_spec(target)
        if project or domain:
            tenant = TenantSpec(project=project or spec.tenant.project,
                                domain=domain or spec.tenant.domain)
            spec = spec.model_copy(update={"tenant": tenant})
        return spec
    source, sep, attr = target.rpartition(":")
    if not sep or not source or not attr:
        raise FlytePathUserError(
            f"cannot tell what {target!r} names. Use FILE.py:WORKFLOW, "
            "package.module:WORKFLOW, a .yaml spec or a compiled .json spec."
        )
    module = import_source(source, target)
    module_name = module.__name__
    obj = getattr(module, attr, None)
    if obj is None:
        found = sorted(
            name for name, value in vars(module).items()
            if isinstance(value, (PythonWorkflow, PythonTask, LaunchPlan))
        )
        raise FlytePathUserError(
            f"{module_name} has no workflow or task named '{attr}' (nor a launch plan). "
            f"Found: {', '.join(found) or 'none'}."
        )
    kwargs = {"project": project or "default", "domain": domain or "development"}
    if isinstance(obj, PythonWorkflow):
        return compile_workflow(obj, **kwargs)
    if isinstance(obj, PythonTask):
        return task_spec_workflow(obj, **kwargs)
    if isinstance(obj, LaunchPlan):
        if not allow_launch_plan:
            raise FlytePathUserError(
                f"{target} is launch plan '{obj.name}', which this command does not take. "
                f"Name its workflow instead ({module_name}:{obj.workflow.fn.__name__})."
            )
        return obj.compile(**kwargs)
    raise FlytePathUserError(
        f"{target} is a {type(obj).__name__}, not a @workflow, @task or launch plan."
    )
