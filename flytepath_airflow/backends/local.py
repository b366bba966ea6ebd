"""The local backend: run a whole spec node by node on this machine, without Airflow.

Nodes run in topological order through the same `execute_node` a worker or pod uses,
either in this process or, with `isolate=True`, as `flytepath-execute` child processes.
Retry semantics match the Airflow backend: a user error fails the run at once; a system
error (or a task raising RecoverableError) is retried up to the task's `retries`.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from flytepath_airflow.errors import TaskExecutionError
from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.runtime.entrypoint import EXIT_OK, EXIT_SYSTEM_ERROR
from flytepath_airflow.runtime.executor import execute_node
from flytepath_airflow.runtime.run import (
    RunResult,
    collect_outputs,
    finish_run,
    prepare_run,
    read_node_error,
    read_pointer,
    run_key,
)
from flytepath_airflow.stores.blob import BlobStore, default_root

logger = logging.getLogger(__name__)

Progress = Callable[[str, str, str], None]
"""progress(node_id, state, detail): running, succeeded, cached, retrying, failed, skipped."""


def _attempt_subprocess(spec_uri: str, node_id: str, run_id: str, attempt: int, root: str,
                        timeout: float | None) -> int:
    argv = [sys.executable, "-m", "flytepath_airflow.runtime.entrypoint", "--spec", spec_uri,
            "--node", node_id, "--run-id", run_id, "--attempt", str(attempt), "--root", root]
    try:
        return subprocess.run(argv, stdout=subprocess.DEVNULL, check=False,
                              timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        return EXIT_SYSTEM_ERROR


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
    root = root or default_root()
    run_id = prepare_run(spec, inputs, root, run_id, options=options, backend="local")
    result = _run_nodes(spec, run_id, root, isolate, progress)
    finish_run(result)
    return result


def _run_nodes(spec: WorkflowSpec, run_id: str, root: str, isolate: bool,
               progress: Progress | None) -> RunResult:
    from flytepath_airflow.translators.checks import topological_order

    notify = progress or (lambda node, state, detail: None)
    result = RunResult(run_id=run_id, succeeded=False)
    store = BlobStore(root)
    spec_uri = store.uri(f"{run_key(run_id)}/spec.json")
    order = topological_order(spec)
    for index, node_id in enumerate(order):
        task = spec.task_of(spec.node(node_id))
        attempts = task.retries + 1
        for attempt in range(1, attempts + 1):
            notify(node_id, "running", f"attempt {attempt}/{attempts}")
            started = time.perf_counter()
            kind, message = _attempt(spec, spec_uri, node_id, run_id, attempt, root, isolate,
                                     task.timeout)
            if kind is None:
                elapsed = time.perf_counter() - started
                cache = read_pointer(store, run_id, node_id).get("cache") or {}
                if cache.get("status") == "hit":
                    notify(node_id, "cached", f"{elapsed:.2f}s cache hit, from run "
                           f"{cache.get('source_run_id')}")
                    result.node_states[node_id] = "cached"
                else:
                    notify(node_id, "succeeded", f"{elapsed:.2f}s")
                    result.node_states[node_id] = "succeeded"
                break
            if kind == "system" and attempt < attempts:
                notify(node_id, "retrying", message or "")
                continue
            notify(node_id, "failed", message or "")
            result.node_states[node_id] = "failed"
            result.failed_node, result.error, result.error_kind = node_id, message, kind
            for later in order[index + 1:]:
                result.node_states[later] = "upstream_failed"
                notify(later, "skipped", "upstream failed")
            return result
    result.outputs = collect_outputs(spec, run_id, root)
    result.succeeded = True
    return result


def _attempt(spec: WorkflowSpec, spec_uri: str, node_id: str, run_id: str, attempt: int,
             root: str, isolate: bool, timeout: float | None) -> tuple[str | None, str | None]:
    """Run one attempt; returns (None, None) on success, else (error kind, message)."""
    if not isolate:
        try:
            execute_node(spec, node_id, run_id, attempt, root)
        except TaskExecutionError as exc:
            return exc.kind, exc.task_message
        return None, None
    code = _attempt_subprocess(spec_uri, node_id, run_id, attempt, root, timeout)
    if code == EXIT_OK:
        return None, None
    record = read_node_error(run_id, node_id, attempt, root) or {}
    kind = record.get("kind") or ("system" if code == EXIT_SYSTEM_ERROR else "user")
    return kind, record.get("message") or f"flytepath-execute exited with code {code}"
