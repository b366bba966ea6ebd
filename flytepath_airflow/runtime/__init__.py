"""What runs inside the worker or pod: one node at a time, through the blob store.

Must not import: airflow, kubernetes (the task image has no Airflow).
"""

from flytepath_airflow.runtime.context import ExecutionContext, current_context

__all__ = ["ExecutionContext", "current_context"]
