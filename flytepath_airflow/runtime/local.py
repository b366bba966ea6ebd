"""The local backend: run a whole spec node by node on this machine, without Airflow.

Nodes run in topological order through the same `execute_node` a worker or pod uses,
either in this process or, with `isolate=True`, as `flytepath-execute` child processes.
Retry semantics match the Airflow backend: a user error fails the run at once; a system
error (or a task raising RecoverableError) is retried up to the task's `retries`.

Each run records this process as its owner; a run whose runner died (SIGKILL, a crash) is
closed as failed by the next local run or `flytepath executions` (`runtime.liveness`).

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from typing import Any

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.runtime.closing import output_entries
from flytepath_airflow.runtime.liveness import close_dead_runs
from flytepath_airflow.runtime.node_runner import run_nodes
from flytepath_airflow.runtime.progress import NodeEvent, Progress
from flytepath_airflow.runtime.run import RunResult, finish_run, prepare_run
from flytepath_airflow.stores.blob import default_root
from flytepath_airflow.stores.metadata import MetadataStore
from flytepath_airflow.utils.processes import owner_id

__all__ = ["NodeEvent", "Progress", "run_local"]


def run_local(
    spec: WorkflowSpec,
    inputs: dict[str, Any],
    *,
    root: str | None = None,
    run_id: str | None = None,
    isolate: bool = False,
    progress: Progress | None = None,
    options: dict[str, Any] | None = None,
) -> RunResult:
    """Run every node of `spec` locally; returns how the run ended and its outputs.

    Args:
        options: per-run options, e.g. {"overwrite_cache": True}.
    """
    kept = [node.id for node in spec.nodes
            if node.task is not None and spec.tasks[node.task].kind == "airflow"]
    if kept:
        raise FlytePathUserError(
            f"workflow '{spec.name}' keeps Airflow operators from a converted DAG (nodes "
            f"{', '.join(kept)}); they run only on Airflow. Run it without --local, or "
            "convert those tasks to FlytePath tasks first."
        )
    root = root or default_root()
    with MetadataStore() as meta:
        close_dead_runs(meta)
    run_id = prepare_run(spec, inputs, root, run_id, options=options, backend="local",
                         owner=owner_id())
    result = run_nodes(spec, run_id, root, isolate, progress)
    recorded = output_entries(spec, run_id, root) if result.succeeded else None
    finish_run(result, recorded_outputs=recorded)
    return result
