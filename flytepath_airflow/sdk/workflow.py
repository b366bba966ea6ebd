"""`@workflow`: a typed graph of task calls, traced once at compile time.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.models import TypedInterface
from flytepath_airflow.sdk.interface import (
    PythonInterface,
    describe_callable,
    python_interface,
    typed_interface,
)


class PythonWorkflow:
    """A Python function decorated with `@workflow`."""

    __flytepath_workflow__ = True

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__module__ = fn.__module__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<workflow {self.name}>"

    @property
    def name(self) -> str:
        """The workflow's name in specs: `module.function`."""
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    @property
    def location(self) -> str:
        """Where the function is defined (file:line)."""
        return describe_callable(self.fn)

    @cached_property
    def python_interface(self) -> PythonInterface:
        """Inputs, defaults and outputs as Python types."""
        return python_interface(self.fn, "workflow")

    @cached_property
    def interface(self) -> TypedInterface:
        """Inputs and outputs as spec types."""
        from flytepath_airflow.types import default_engine

        return typed_interface(self.fn, self.python_interface, default_engine(), "workflow")

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
