"""Find the Python function a task spec names ("package.module:qualname").

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from flytepath_airflow.errors import FlytePathUserError


class TaskResolutionError(FlytePathUserError):
    """The task's module or function cannot be found where the task runs."""


def load_task_object(path: str) -> Any:
    """Import `module:qualname` and return what it names (a decorated task, or a function).

    :param path: the task's import path, "package.module:qualname".
    :raises TaskResolutionError: the module cannot be imported or has no such name.
    """
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        raise TaskResolutionError(
            f"task function {path!r} is not of the form 'package.module:function'."
        )
    try:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
    except Exception as exc:
        raise TaskResolutionError(
            f"cannot import module '{module_name}' for task function '{path}': "
            f"{type(exc).__name__}: {exc}. Install the workflow's code where tasks run "
            "(in the worker's environment or the task image), or set PYTHONPATH."
        ) from None
    obj: Any = module
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TaskResolutionError(
                f"module '{module_name}' has no '{qualname}' (task function '{path}'); "
                "the code where tasks run differs from the code that was compiled."
            ) from None
    return obj


def unwrap_task(obj: Any) -> Any:
    """The plain function behind a decorated task (`obj` itself when it is not decorated).

    :param obj: what `load_task_object` returned.
    """
    return getattr(obj, "__flytepath_fn__", obj)


def load_callable(path: str) -> Any:
    """Import `module:qualname` and return the plain function behind it.

    :param path: the task's import path, "package.module:qualname".
    :raises TaskResolutionError: the module cannot be imported or has no such name.
    """
    return unwrap_task(load_task_object(path))
