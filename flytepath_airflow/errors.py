"""The error hierarchy shared by every stage.

User errors (a bad spec, a type mismatch, a bad input value, a missing dependency) exit
with code 2 and print one message that says what, where, why and how to fix, without a
traceback. System errors (a store that cannot be reached, a lost worker) are retried.

Must not import anything heavier than the standard library.
"""

from __future__ import annotations


class FlytePathError(Exception):
    """Base of every error FlytePath raises on purpose."""

    exit_code = 1


class FlytePathUserError(FlytePathError):
    """The user can fix this: the message says what, where, why and how."""

    exit_code = 2


class FlytePathSystemError(FlytePathError):
    """Infrastructure failed (storage, network, lost process); retrying may help."""

    exit_code = 1


class DiskFullError(FlytePathSystemError, OSError):
    """The disk or quota under a store is full (ENOSPC, EDQUOT); nothing was half-written.

    Also an OSError, so code that handles a failed write as one still does; the original
    error is its `__cause__`.
    """


class CompileError(FlytePathUserError):
    """A workflow or task could not be compiled into a spec."""


class SpecError(FlytePathUserError):
    """A spec file is malformed or fails validation."""


class TypeMismatchError(CompileError):
    """A binding's source type cannot be cast to the target type."""


class UnsupportedTypeError(CompileError):
    """A Python type has no registered transformer."""


class LiteralValueError(FlytePathUserError):
    """A value does not match its declared type."""


class MissingDependencyError(FlytePathUserError):
    """An optional library is not installed; the message has the pip line."""

    def __init__(self, library: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs {library}, which is not installed. "
            f"Install it with: pip install 'airflow-provider-flytepath[{extra}]'"
        )
        self.library = library
        self.extra = extra


class TaskExecutionError(FlytePathError):
    """A task's own code raised; the message is the task's exception message."""

    exit_code = 1

    def __init__(self, node: str, message: str, *, kind: str = "user") -> None:
        super().__init__(f"node {node!r} failed: {message}")
        self.node = node
        self.task_message = message
        self.kind = kind


def require(module: str, extra: str, purpose: str) -> object:
    """Import an optional library, or raise MissingDependencyError with the pip line."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(module.split(".")[0], extra, purpose) from exc


class RecoverableError(Exception):
    """Raise this from a task to say the failure is transient and the task may be retried.

    A plain exception from a task is a user error and fails the task without retry, as in
    Flyte; a RecoverableError is retried up to the task's `retries`.
    """
