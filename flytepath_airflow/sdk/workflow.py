"""`@workflow`: a typed graph of task calls, traced once at compile time.

A workflow called inside another workflow is inlined (a subworkflow); `on_failure` names
a task that runs when the workflow fails, and may receive a `FailureInfo`.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.models import InputRef, Variable
from flytepath_airflow.sdk.decorated import DecoratedFunction
from flytepath_airflow.sdk.promise import (
    NodeHandle,
    Promise,
    TraceContext,
    active_trace,
    reset_trace,
    set_trace,
)
from flytepath_airflow.types.casting import castability_error
from flytepath_airflow.types.render import render_type


@dataclass
class FailureInfo:
    """What a workflow's `on_failure` task receives as its `err` input.

    Args:
        failed_node: the id of the node that failed (e.g. "train" or "prep.clean").
        message: the failure's message.
        kind: "user" (the task's own code raised) or "system" (infrastructure failed).
    """

    failed_node: str
    message: str
    kind: str


FAILURE_INPUT = "err"
"""The name of the `on_failure` task input the runtime fills with a FailureInfo."""


class PythonWorkflow(DecoratedFunction):
    """A Python function decorated with `@workflow`."""

    KIND = "workflow"
    __flytepath_workflow__ = True

    def __init__(self, fn: Callable[..., Any], on_failure: Any = None) -> None:
        super().__init__(fn)
        self.on_failure = on_failure

    def compile(self, project: str = "default", domain: str = "development") -> Any:
        """Compile into a versioned WorkflowSpec (see sdk.compiler.compile_workflow)."""
        # Function-level: the compiler imports this module (a cycle inside the SDK).
        from flytepath_airflow.sdk.compiler import compile_workflow
        return compile_workflow(self, project=project, domain=domain)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        trace = active_trace()
        if trace is not None:
            return trace.call_workflow(self, args, kwargs)
        if args:
            raise CompileError(
                f"workflow '{self.name}' was called with positional arguments; call it with "
                "keyword arguments only."
            )
        # Function-level: local calls compile through the compiler, which imports this module.
        from flytepath_airflow.sdk.local import run_workflow_locally
        return run_workflow_locally(self, kwargs)


def trace_body(wf: PythonWorkflow, trace: TraceContext) -> list[tuple[Variable, Promise]]:
    """Run the workflow body once with promises and return its outputs as promises.

    Raises CompileError when the body returns something other than promises matching the
    declared outputs, or leaves a conditional without its `else_`.
    """
    iface = wf.interface
    promises = {
        v.name: Promise(InputRef(name=v.name), v.type, wf.location) for v in iface.inputs
    }
    token = set_trace(trace)
    try:
        result = wf.fn(**promises)
    finally:
        reset_trace(token)
    trace.check_closed(f"workflow '{wf.name}'")

    expected = iface.outputs
    if not expected:
        if result is not None and not isinstance(result, NodeHandle):
            raise CompileError(
                f"workflow '{wf.name}' ({wf.location}) returns a value but its return "
                "annotation is None. Annotate the outputs, e.g. `-> float`."
            )
        return []
    if wf.python_interface.multiple_outputs:
        values = tuple(result) if isinstance(result, tuple) else (result,)
    else:
        values = (result,)
    if len(values) != len(expected):
        raise CompileError(
            f"workflow '{wf.name}' ({wf.location}) declares {len(expected)} outputs "
            f"({', '.join(v.name for v in expected)}) but returns {len(values)} values."
        )
    out: list[tuple[Variable, Promise]] = []
    for var, value in zip(expected, values, strict=True):
        if not isinstance(value, Promise):
            raise CompileError(
                f"workflow '{wf.name}' ({wf.location}) output '{var.name}' is bound to "
                f"{value!r}, which is not the result of a task call or a workflow input. "
                "Return promises from task calls; compute constants inside a @task."
            )
        reason = castability_error(value.type, var.type)
        if reason is not None:
            raise CompileError(
                f"workflow '{wf.name}' output '{var.name}' expects "
                f"{render_type(var.type)} but {value.source_name} produces "
                f"{render_type(value.type)} ({value.location}): {reason}. Change the "
                "return annotation or the task's output type."
            )
        out.append((var, value))
    return out


def workflow(_fn: Callable[..., Any] | None = None, *, on_failure: Any = None) -> Any:
    """Declare a typed workflow: its body calls tasks with keyword arguments.

    The body runs once at compile time with promises in place of values; calling the
    workflow with Python values (`wf(x=1)`) compiles it and runs it locally. Calling it
    inside another workflow inlines it as a subworkflow.

    Args:
        on_failure: a @task run when the workflow fails. Its inputs are a subset of the
            workflow's inputs (bound by name) and optionally `err: FailureInfo`, which
            says which node failed and why.
    """

    def wrap(fn: Callable[..., Any]) -> PythonWorkflow:
        if not callable(fn):
            raise CompileError(f"@workflow decorates a function, got {fn!r}")
        return PythonWorkflow(fn, on_failure=on_failure)

    if _fn is not None:
        return wrap(_fn)
    return wrap
