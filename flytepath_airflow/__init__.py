"""FlytePath: Flyte-style typed ML workflows, compiled into Apache Airflow DAGs.

    from flytepath_airflow import task, workflow, Resources, current_context

Names are imported lazily so that Airflow's provider discovery (which imports this
package) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "task": "flytepath_airflow.sdk.task",
    "workflow": "flytepath_airflow.sdk.workflow",
    "map_task": "flytepath_airflow.sdk.map_task",
    "conditional": "flytepath_airflow.sdk.conditional",
    "dynamic": "flytepath_airflow.sdk.dynamic",
    "DynamicTask": "flytepath_airflow.sdk.dynamic",
    "LaunchPlan": "flytepath_airflow.sdk.launch_plan",
    "CronSchedule": "flytepath_airflow.sdk.launch_plan",
    "FixedRate": "flytepath_airflow.sdk.launch_plan",
    "MapTask": "flytepath_airflow.sdk.map_task",
    "FailureInfo": "flytepath_airflow.sdk.workflow",
    "Resources": "flytepath_airflow.sdk.task",
    "Secret": "flytepath_airflow.sdk.task",
    "PythonTask": "flytepath_airflow.sdk.task",
    "PythonWorkflow": "flytepath_airflow.sdk.workflow",
    "current_context": "flytepath_airflow.runtime.context",
    "ExecutionContext": "flytepath_airflow.runtime.context",
    "Deck": "flytepath_airflow.runtime.decks",
    "File": "flytepath_airflow.types",
    "Directory": "flytepath_airflow.types",
    "Columns": "flytepath_airflow.types",
    "Pickled": "flytepath_airflow.types",
    "HashMethod": "flytepath_airflow.types",
    "JSON": "flytepath_airflow.types",
    "RecoverableError": "flytepath_airflow.errors",
    "FlytePathError": "flytepath_airflow.errors",
    "FlytePathUserError": "flytepath_airflow.errors",
    "CompileError": "flytepath_airflow.errors",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flytepath_airflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from flytepath_airflow.errors import (
        CompileError,
        FlytePathError,
        FlytePathUserError,
        RecoverableError,
    )
    from flytepath_airflow.runtime.context import ExecutionContext, current_context
    from flytepath_airflow.runtime.decks import Deck
    from flytepath_airflow.sdk.conditional import conditional
    from flytepath_airflow.sdk.dynamic import DynamicTask, dynamic
    from flytepath_airflow.sdk.launch_plan import CronSchedule, FixedRate, LaunchPlan
    from flytepath_airflow.sdk.map_task import MapTask, map_task
    from flytepath_airflow.sdk.task import PythonTask, Resources, Secret, task
    from flytepath_airflow.sdk.workflow import FailureInfo, PythonWorkflow, workflow
    from flytepath_airflow.types import JSON, Columns, Directory, File, HashMethod, Pickled
