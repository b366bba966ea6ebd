"""Authoring: `@task`, `@workflow`, control flow (map tasks, conditionals, dynamic
workflows, launch plans), resources, secrets and the execution context.

Must not import: airflow, kubernetes.
"""

from flytepath_airflow.runtime.context import ExecutionContext, current_context
from flytepath_airflow.runtime.decks import Deck
from flytepath_airflow.sdk.conditional import conditional
from flytepath_airflow.sdk.dynamic import DynamicTask, dynamic
from flytepath_airflow.sdk.launch_plan import CronSchedule, FixedRate, LaunchPlan
from flytepath_airflow.sdk.map_task import MapTask, map_task
from flytepath_airflow.sdk.task import PythonTask, Resources, Secret, task
from flytepath_airflow.sdk.workflow import FailureInfo, PythonWorkflow, workflow

__all__ = [
    "CronSchedule",
    "Deck",
    "DynamicTask",
    "ExecutionContext",
    "FailureInfo",
    "FixedRate",
    "LaunchPlan",
    "MapTask",
    "PythonTask",
    "PythonWorkflow",
    "Resources",
    "Secret",
    "conditional",
    "current_context",
    "dynamic",
    "map_task",
    "task",
    "workflow",
]
