"""Closing a run: how it ended (status, outputs, error, duration), recorded once.

A run is opened by the first node that prepares it (`run.prepare_run`) and closed here by
whoever sees it end first: the Airflow listener (`plugins/listener.py`) when the DAG run
ends, however it was started, and `flytepath run` after its embedded Airflow exits. Closing
is one conditional update in the metadata store (`MetadataStore.close_execution`), so
closing twice, or from two processes at once, records the end once.

Outputs are recorded as pointer entries, never as the values themselves: a small value
inline with its sha256, a large one as its blob's URI and hash. An output bound to a node
output takes that node's entry as it is, so closing reads no blob for it; any other output
(a literal, a workflow input, a list of node outputs) is resolved and, when large,
published once as `runs/<run_id>/outputs/<name>.json`.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from flytepath_airflow.ir.models import OutputRef, WorkflowSpec
from flytepath_airflow.runtime.control import FAILURE_KEY
from flytepath_airflow.runtime.metadata import metadata_store
from flytepath_airflow.runtime.run import (
    RunResult,
    finish_run,
    load_run_spec,
    pointer_entry,
    read_pointer,
    read_run_inputs,
    resolve_binding,
    run_key,
)
from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore

logger = logging.getLogger(__name__)


def run_is_prepared(run_id: str, root: str) -> bool:
    """True once a node has prepared the run (its inputs.json is published last)."""
    return BlobStore(root).exists(f"{run_key(run_id)}/inputs.json")


def output_entries(spec: WorkflowSpec, run_id: str, root: str) -> dict[str, Any]:
    """The workflow's outputs as the metadata store records them: pointer entries.

    Each is `{value, sha256}` for a small value or `{uri, sha256}` of a blob
    (`run.pointer_entry`). An output bound to a node output takes that node's pointer
    entry as it is; any other binding (a literal, a workflow input, a list of those) is
    resolved, and published as a blob when it is large.
    """
    store = BlobStore(root)
    pointers: dict[str, dict[str, Any]] = {}
    inputs: dict[str, Any] | None = None
    recorded: dict[str, Any] = {}
    for name, binding in spec.outputs.items():
        if isinstance(binding, OutputRef):
            if binding.node not in pointers:
                pointers[binding.node] = read_pointer(store, run_id, binding.node)
            entry = pointers[binding.node]["outputs"].get(binding.output)
            if entry is None:
                raise BlobIntegrityError(
                    f"node '{binding.node}' published no output '{binding.output}'")
            recorded[name] = dict(entry)
            continue
        if inputs is None:
            inputs = read_run_inputs(run_id, root)
        value = resolve_binding(binding, store=store, run_id=run_id, workflow_inputs=inputs,
                                pointers=pointers)
        recorded[name] = pointer_entry(store, f"{run_key(run_id)}/outputs/{name}.json", value)
    return recorded


def run_failure(run_id: str, root: str) -> dict[str, Any]:
    """The run's first node failure as the operators recorded it ({} when none was)."""
    try:
        return dict(BlobStore(root).read_json(f"{run_key(run_id)}/{FAILURE_KEY}"))
    except (OSError, ValueError):
        return {}


def close_run(
    run_id: str,
    root: str,
    *,
    succeeded: bool,
    metadata_url: str | None = None,
    error: str | None = None,
    failed_node: str | None = None,
    error_kind: str | None = None,
) -> bool:
    """Record that a run ended; True when this call closed it, False when it was already
    closed or was never prepared (no node started: there is nothing to close).

    A succeeded run whose outputs cannot be read closes as failed, saying why.

    :param run_id: the FlytePath run id.
    :param root: the store root the run's nodes wrote to.
    :param succeeded: how the run ended, as its backend (Airflow's DAG run) says.
    :param metadata_url: the metadata store (default: the configured one).
    :param error: the run's error; default: the first node failure the operators recorded.
    :param failed_node: the node that failed the run; default: from the same record.
    :param error_kind: `user` or `system`; default: from the same record.
    """
    if not run_is_prepared(run_id, root):
        logger.info("run %s ended before any node prepared it; nothing to close", run_id)
        return False
    meta = metadata_store(metadata_url)
    execution = meta.get_execution(run_id)
    if execution is not None and execution.status in ("succeeded", "failed"):
        return False
    outputs: dict[str, Any] = {}
    if succeeded:
        try:
            outputs = output_entries(load_run_spec(run_id, root), run_id, root)
        except (BlobIntegrityError, OSError, KeyError) as exc:
            succeeded, error = False, f"the run succeeded but its outputs are unreadable: {exc}"
    if not succeeded and (error is None or failed_node is None):
        cause = run_failure(run_id, root)
        error = error or cause.get("message") or "the run failed; see its Airflow task logs"
        failed_node = failed_node or cause.get("failed_node") or None
        error_kind = error_kind or cause.get("kind") or None
    duration = None
    if execution is not None:
        duration = round((datetime.now(timezone.utc) - execution.created_at).total_seconds(), 3)
    return finish_run(
        RunResult(run_id=run_id, succeeded=succeeded, failed_node=failed_node,
                  error=None if succeeded else error, error_kind=error_kind),
        recorded_outputs=outputs, metadata_url=metadata_url, duration_seconds=duration,
    )


__all__ = ["close_run", "output_entries", "run_failure", "run_is_prepared"]
