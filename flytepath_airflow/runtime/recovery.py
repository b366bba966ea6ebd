"""Recovery of a failed run: which outputs of the run it recovers a new run may reuse.

`flytepath recover RUN_ID` starts a new run of the same spec version and inputs whose run
options carry `recovered_from` (`RECOVERED_FROM`). Every task node (and every map element)
of the new run first asks `reusable_pointer` whether the same node succeeded in the source
run; if so, it publishes the source's outputs instead of running (`executor._NodeRun`), so
the local backend, Airflow and pods reuse alike. Nothing is reused on trust: the source's
pointer must name the same version and task, record the same inputs fingerprint as the
new run computes, and its outputs must read back intact and typed, as a cache hit's are
(`cache.verify_outputs`). A pointer that fails a check is not reused: the node runs.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flytepath_airflow.ir.models import TaskSpec, WorkflowSpec
from flytepath_airflow.runtime.cache import verify_outputs
from flytepath_airflow.runtime.run import RECOVERED_FROM, pointer_key
from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore
from flytepath_airflow.types.engine import hash_literal

RECOVERED = "recovered"
"""The cache status of a node whose outputs were reused from the recovered run."""


def inputs_fingerprint(task: TaskSpec, literals: dict[str, Any]) -> str:
    """The sha256 of every input value of a node (none ignored, unlike a cache key).

    Recorded in each outputs pointer, so a recovering run can tell that a node of the
    source run saw exactly the inputs it sees now.

    :param task: the node's task.
    :param literals: the node's input values as literals.
    """
    hashes = {var.name: hash_literal(literals.get(var.name), var.type)
              for var in task.interface.inputs}
    text = json.dumps(hashes, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def reusable_pointer(store: BlobStore, source_run_id: str, record_id: str,
                     spec: WorkflowSpec, task: TaskSpec,
                     fingerprint: str) -> tuple[dict[str, Any] | None, str | None]:
    """The source run's outputs pointer of `record_id` when the new run may reuse it.

    :param store: the blob store both runs live in.
    :param source_run_id: the run being recovered.
    :param record_id: the node (a map element as `node[i]`).
    :param spec: the new run's spec (the source used the same version).
    :param task: the node's task.
    :param fingerprint: `inputs_fingerprint` of the node's inputs in the new run.
    :returns: (pointer, None) to reuse; (None, None) when the node did not succeed in the
        source run; (None, reason) when it did but its outputs cannot be trusted here.
    """
    try:
        pointer: dict[str, Any] = store.read_json(pointer_key(source_run_id, record_id))
    except FileNotFoundError:
        return None, None
    except (BlobIntegrityError, OSError, ValueError) as exc:
        return None, f"its outputs pointer cannot be read ({exc})"
    if not isinstance(pointer, dict):
        return None, "its outputs pointer is not a JSON object"
    if pointer.get("version") != spec.version:
        return None, (f"it was produced by version {pointer.get('version')}, not "
                      f"{spec.version}")
    if pointer.get("task") != task.name:
        return None, f"it was produced by task {pointer.get('task')}, not {task.name}"
    recorded = pointer.get("inputs_hash")
    if recorded is None:
        return None, "it records no inputs fingerprint, so its inputs cannot be compared"
    if recorded != fingerprint:
        return None, "its inputs differ from this run's (an upstream node produced others)"
    reason = verify_outputs(store, task, pointer.get("outputs"))
    if reason is not None:
        return None, reason
    return pointer, None


def child_recovery_options(options: dict[str, Any], source_child_run_id: str
                           ) -> dict[str, Any]:
    """The run options of a dynamic node's child run in a recovering run.

    The child recovers the child run the same node started in the source run, so nodes of
    a rebuilt graph that succeeded there are reused one by one (when the body builds the
    same graph: the same version).

    :param options: the parent run's options.
    :param source_child_run_id: the child run id of the node in the source run.
    """
    if not options.get(RECOVERED_FROM):
        return options
    return {**options, RECOVERED_FROM: source_child_run_id}


__all__ = ["RECOVERED", "RECOVERED_FROM", "child_recovery_options", "inputs_fingerprint",
           "reusable_pointer"]
