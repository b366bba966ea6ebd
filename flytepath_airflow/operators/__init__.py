"""Airflow operators that run FlytePath nodes, one class per runner.

A runner is an operator class that mixes in `FlytePathNodeMixin` and is created by
`build_dag` through its `for_node()` class method. Runners are listed here as dotted paths
so that nothing is imported until a DAG actually asks for one.

- "local": `FlytePathTaskOperator`, a child process running `flytepath-execute` on the worker.
- "kubernetes": `FlytePathKubernetesOperator`, a pod running `flytepath-execute`.
"""

from __future__ import annotations

import importlib
from typing import Any

RUNNERS: dict[str, str] = {
    "local": "flytepath_airflow.operators.task:FlytePathTaskOperator",
    "kubernetes": "flytepath_airflow.operators.kubernetes:FlytePathKubernetesOperator",
}
"""Runner name -> "module:ClassName" of its operator."""

__all__ = ["RUNNERS", "register_runner", "runner_class"]


def register_runner(name: str, dotted_path: str) -> None:
    """Register an operator class for a runner name; a name is registered once only."""
    if name in RUNNERS and RUNNERS[name] != dotted_path:
        raise ValueError(f"runner {name!r} is already registered as {RUNNERS[name]}")
    RUNNERS[name] = dotted_path


def runner_class(name: str) -> Any:
    """The operator class of a runner (imports it)."""
    try:
        dotted = RUNNERS[name]
    except KeyError:
        raise ValueError(
            f"unknown FlytePath runner {name!r}; known runners: {', '.join(sorted(RUNNERS))}. "
            "Set [flytepath] runner in airflow.cfg to one of them."
        ) from None
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)
