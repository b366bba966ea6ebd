"""Names that cross the FlytePath/Airflow boundary: DAG ids, task ids, run ids, pool slots.

Every function here is pure and deterministic, so the DAG processor, the worker and the
CLI compute the same names independently.

Must not import airflow (the CLI and the runtime-side tools use these names too).
"""

from __future__ import annotations

import math
import re

from flytepath_airflow.ir.models import TaskSpec, WorkflowSpec

MAX_KEY_LENGTH = 250
"""Airflow's limit for DAG and task ids."""

_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_.-]+")


def sanitize_key(text: str) -> str:
    """Replace what Airflow does not accept in an id (letters, digits, `_`, `.`, `-`) by `_`."""
    cleaned = _UNSAFE_KEY.sub("_", text).strip("_")
    return cleaned or "_"


def dag_id_for(spec: WorkflowSpec) -> str:
    """`project.domain.workflow`: stable across versions, so Airflow keeps one history."""
    return dag_id_of(spec.tenant.project, spec.tenant.domain, spec.name)


def dag_id_of(project: str, domain: str, workflow: str) -> str:
    """The DAG id of a workflow in a tenant, from names alone (records carry no spec).

    :param project: the tenant's project.
    :param domain: the tenant's domain.
    :param workflow: the workflow name.
    """
    return ".".join(sanitize_key(p) for p in (project, domain, workflow))[:MAX_KEY_LENGTH]


def task_id_for(node_id: str) -> str:
    """The Airflow task id of a node (the node id, made safe)."""
    return sanitize_key(node_id)[:MAX_KEY_LENGTH]


def flytepath_run_id(dag_id: str, airflow_run_id: str) -> str:
    """The FlytePath run id of an Airflow DAG run.

    Airflow run ids are unique per DAG only (`manual__2026-01-01T00:00:00+00:00` exists in
    many DAGs), so the DAG id is part of the run id. Clearing and re-running a DAG run keeps
    its run id, and so its FlytePath run folder.
    """
    # Lazy: execute-time only; the DAG processor imports this module for DAG and task ids
    # when it parses DAG files, and runtime.run loads the stores.
    from flytepath_airflow.runtime.run import sanitize_run_id

    return sanitize_run_id(f"{dag_id}__{airflow_run_id}")


def cpu_quantity(value: str | None) -> float | None:
    """A Kubernetes CPU quantity ("500m", "2", "1.5") as cores, or None when not set."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        if text.endswith("m"):
            return float(text[:-1]) / 1000.0
        return float(text)
    except ValueError:
        return None


def pool_slots_for(task: TaskSpec, *, from_cpu: bool, max_slots: int) -> int:
    """Slots a task takes in its tenant pool: ceil(CPU request) when from_cpu, else 1."""
    if not from_cpu:
        return 1
    cpu = cpu_quantity(task.resources.requests.cpu) or cpu_quantity(task.resources.limits.cpu)
    if cpu is None:
        return 1
    return max(1, min(max_slots, math.ceil(cpu)))
