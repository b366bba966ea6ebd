"""`@workflow`: a typed graph of task calls, traced once at compile time.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flytepath_airflow.errors import CompileError
from flytepath_airflow.sdk.interface import DecoratedFunction


class PythonWorkflow(DecoratedFunction):
    """A Python function decorated with `@workflow`."""

    KIND = "workflow"
    __flytepath_workflow__ = True

    def compile(self, project: str = "default", domain: str = "development") -> Any:
        """Compile into a versioned WorkflowSpec (see translators.python.compile_workflow)."""
        from flytepath_airflow.translators.python import compile_workflow

        return compile_workflow(self, project=project, domain=domain)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from flytepath_airflow.sdk.promise import active_trace, caller_location

        if active_trace() is not None:
            raise CompileError(
                f"workflow '{self.name}' is called inside another workflow at "
                f"{caller_location()}; subworkflows are not supported yet. Call its tasks "
                "directly in the outer workflow."
            )
        if args:
            raise CompileError(
                f"workflow '{self.name}' was called with positional arguments; call it with "
                "keyword arguments only."
            )
        from flytepath_airflow.translators.python import run_workflow_locally

        return run_workflow_locally(self, kwargs)


def workflow(_fn: Callable[..., Any] | None = None) -> Any:
    """Declare a typed workflow: its body calls tasks with keyword arguments.

    The body runs once at compile time with promises in place of values; calling the
    workflow with Python values (`wf(x=1)`) compiles it and runs it locally.
    """

    def wrap(fn: Callable[..., Any]) -> PythonWorkflow:
        return PythonWorkflow(fn)

    if _fn is not None:
        return wrap(_fn)
    return wrap
