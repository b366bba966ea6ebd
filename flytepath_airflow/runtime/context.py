"""The execution context a running task sees through `current_context()`.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from flytepath_airflow.errors import FlytePathUserError


@dataclass(frozen=True)
class ExecutionContext:
    """Where and as what the current task runs."""

    project: str
    domain: str
    workflow: str
    version: str
    run_id: str
    node_id: str
    task_name: str
    attempt: int
    working_dir: str
    blobs: Any = field(repr=False, default=None)
    """The node attempt's BlobContext (for advanced use: publishing extra files)."""
    decks: list[Any] = field(repr=False, default_factory=list)
    """The report pages (runtime/decks.py `Deck`) this attempt attached so far."""

    @property
    def logging(self) -> logging.Logger:
        """A logger whose records land in the task's log."""
        return logging.getLogger(f"flytepath.task.{self.node_id}")


_CURRENT: ContextVar[ExecutionContext | None] = ContextVar("flytepath_context", default=None)


def current_context() -> ExecutionContext:
    """The context of the task that is running now."""
    ctx = _CURRENT.get()
    if ctx is None:
        raise FlytePathUserError(
            "current_context() is only available while a task runs; call it inside the "
            "body of a @task, not at import time or inside a @workflow body."
        )
    return ctx


@contextmanager
def execution_context(ctx: ExecutionContext) -> Iterator[ExecutionContext]:
    """Make `ctx` the current context for the duration of the block."""
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)
