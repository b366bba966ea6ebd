"""What `@task` and `@workflow` share: a named, typed wrapper around a function.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar

from flytepath_airflow.ir.models import TypedInterface
from flytepath_airflow.types import default_engine
from flytepath_airflow.types.signatures import (
    PythonInterface,
    describe_callable,
    python_interface,
    typed_interface,
)


class DecoratedFunction:
    """What `@task` and `@workflow` share: a named, typed wrapper around a function."""

    KIND: ClassVar[str] = "function"

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__module__ = fn.__module__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<{self.KIND} {self.name}>"

    @property
    def name(self) -> str:
        """The name in specs: `module.function`."""
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    @property
    def location(self) -> str:
        """Where the function is defined (file:line)."""
        return describe_callable(self.fn)

    @cached_property
    def python_interface(self) -> PythonInterface:
        """Inputs, defaults and outputs as Python types."""
        return python_interface(self.fn, self.KIND)

    @cached_property
    def interface(self) -> TypedInterface:
        """Inputs and outputs as spec types."""
        return typed_interface(self.fn, self.python_interface, default_engine(), self.KIND)


__all__ = ["DecoratedFunction"]
