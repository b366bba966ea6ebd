"""Calling tasks and workflows with Python values: `train(data=df)` outside a workflow.

The call compiles the task (as a one-node workflow) or the workflow, encodes the Python
inputs into literals, runs the spec on this machine through the same runtime a worker uses,
and decodes the outputs back into Python values, so a type problem shows here as it would
on Airflow.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from typing import Any

from flytepath_airflow.errors import CompileError, TaskExecutionError
from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.run import new_run_id
from flytepath_airflow.sdk.compiler import compile_workflow, task_spec_workflow
from flytepath_airflow.sdk.task import PythonTask
from flytepath_airflow.sdk.workflow import PythonWorkflow
from flytepath_airflow.stores.blob import BlobStore, NodeBlobContext, default_root
from flytepath_airflow.types import default_engine
from flytepath_airflow.types.signatures import PythonInterface, join_outputs


def run_spec_with_python_values(spec: WorkflowSpec, py: PythonInterface,
                                kwargs: dict[str, Any]) -> Any:
    """Encode Python inputs, run the spec locally, decode the outputs for Python."""
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


__all__ = ["run_spec_with_python_values", "run_task_locally", "run_workflow_locally"]
