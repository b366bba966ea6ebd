"""Authoring: `@task`, `@workflow`, resources, secrets and the execution context.

Must not import: airflow, kubernetes.
"""

from flytepath_airflow.runtime.context import ExecutionContext, current_context
from flytepath_airflow.sdk.task import PythonTask, Resources, Secret, task
from flytepath_airflow.sdk.workflow import PythonWorkflow, workflow

__all__ = [
    "ExecutionContext",
    "PythonTask",
    "PythonWorkflow",
    "Resources",
    "Secret",
    "current_context",
    "task",
    "workflow",
]
