"""Names that cross the FlytePath/Airflow boundary: DAG ids, task ids, run ids, pool slots.

Every function here is pure and deterministic, so the DAG processor, the worker and the
CLI compute the same names independently.

Must not import airflow (the CLI and the runtime-side tools use these names too).
"""

from __future__ import annotations

import hashlib
import math
import re

from flytepath_airflow.ir.models import TaskSpec, WorkflowSpec
from flytepath_airflow.ir.names import (
    MAX_NAME_LENGTH,
    MAX_RUN_ID_LENGTH,
    MAX_TENANT_LENGTH,
    name_problem,
)

MAX_KEY_LENGTH = 250
"""Airflow's limit for DAG and task ids."""

_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_.-]+")
_UNSAFE_TENANT = re.compile(r"[^a-z0-9-]+")


def _digest(*parts: str) -> str:
    """12 hex digits of the sha256 of `parts`, NUL-separated (no two tuples encode alike)."""
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:12]


def sanitize_key(text: str) -> str:
    """`text` when Airflow accepts it as an id part (letters, digits, `_`, `.`, `-`).

    Other text has what Airflow refuses replaced by `_` and gets `_h` and a hash of the
    original appended, so two texts that clean alike still give different ids.
    """
    if name_problem(text, "workflow") is None:
        return text
    cleaned = re.sub(r"\.{2,}", ".", _UNSAFE_KEY.sub("_", text)).strip("._-")
    return f"{cleaned[:MAX_NAME_LENGTH - 16]}_h{_digest(text)}"


def _tenant_part(text: str, kind: str) -> str:
    """A project or domain as a DAG id part: itself when valid (no `.` or `_`); otherwise a
    cleaned form ending in `_h<hash>`, which no valid project or domain can equal."""
    if name_problem(text, kind) is None:
        return text
    cleaned = _UNSAFE_TENANT.sub("-", text.lower()).strip("-")[:MAX_TENANT_LENGTH - 15]
    return f"{cleaned}_h{_digest(text)}"


def dag_id_for(spec: WorkflowSpec) -> str:
    """`project.domain.workflow`: stable across versions, so Airflow keeps one history."""
    return dag_id_of(spec.tenant.project, spec.tenant.domain, spec.name)


def dag_id_of(project: str, domain: str, workflow: str) -> str:
    """The DAG id of a workflow in a tenant, from names alone (records carry no spec).

    Injective: valid projects and domains hold no `.`, so the first two dots split the id
    back into its parts, and every part is at most 63, 63 and 120 characters, so the id
    is never cut at Airflow's 250 (ADR 0033). Names recorded before the naming rules are
    made safe with a hash of the original.

    :param project: the tenant's project.
    :param domain: the tenant's domain.
    :param workflow: the workflow name.
    """
    return ".".join((_tenant_part(project, "project"), _tenant_part(domain, "domain"),
                     sanitize_key(workflow)))


def task_id_for(node_id: str) -> str:
    """The Airflow task id of a node: the node id itself (node ids follow the naming rules)."""
    return sanitize_key(node_id)


def flytepath_run_id(dag_id: str, airflow_run_id: str) -> str:
    """The FlytePath run id of an Airflow DAG run.

    Airflow run ids are unique per DAG only (`manual__2026-01-01T00:00:00+00:00` exists in
    many DAGs), so the DAG id is part of the run id, and a hash of the pair is appended:
    DAG ids and run ids may both contain `__`, so the plain text alone could not tell
    `a.b.c__x` + `y` from `a.b.c` + `x__y`. Clearing and re-running a DAG run keeps its run
    id, and so its FlytePath run folder.
    """
    text = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{dag_id}__{airflow_run_id}")
    text = re.sub(r"\.{2,}", ".", text).lstrip(".-")[:MAX_RUN_ID_LENGTH - 14].rstrip(".")
    return f"{text or 'run'}-h{_digest(dag_id, airflow_run_id)}"


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
