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
from typing import Any

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
    NodeSpec,
    OutputRef,
    TenantSpec,
    WorkflowSpec,
)
from flytepath_airflow.ir.spec_io import load_spec, with_version
from flytepath_airflow.sdk.interface import PythonInterface, join_outputs, parse_docstring
from flytepath_airflow.sdk.promise import TraceContext
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
        id=node_id, task=spec.name,
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


def load_target(target: str, *, project: str | None = None,
                domain: str | None = None) -> WorkflowSpec:
    """Compile or load whatever a CLI target names into a spec.

    `FILE.py:NAME` (relative to the current directory; its folder becomes importable),
    `package.module:NAME`, `spec.yaml` / `spec.yml`, or a compiled `spec.json`. NAME is a
    workflow, or a task (run as a one-node workflow).
    """
    lowered = target.lower()
    if lowered.endswith((".yaml", ".yml")):
        from flytepath_airflow.translators.yaml_spec import compile_yaml

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
            if isinstance(value, (PythonWorkflow, PythonTask))
        )
        raise FlytePathUserError(
            f"{module_name} has no workflow or task named '{attr}'. "
            f"Found: {', '.join(found) or 'none'}."
        )
    kwargs = {"project": project or "default", "domain": domain or "development"}
    if isinstance(obj, PythonWorkflow):
        return compile_workflow(obj, **kwargs)
    if isinstance(obj, PythonTask):
        return task_spec_workflow(obj, **kwargs)
    raise FlytePathUserError(
        f"{target} is a {type(obj).__name__}, not a @workflow or @task."
    )
