"""Runs in the blob store: their layout, their inputs, and reading results back.

Layout under the store root:

    runs/<run_id>/spec.json                       the spec the run uses
    runs/<run_id>/inputs.json                     {"inputs": {name: literal}}
    runs/<run_id>/nodes/<node>/outputs.json       pointer, published when the node succeeds
    runs/<run_id>/nodes/<node>/attempt-<n>/...    the attempt's blobs and error.json

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.models import (
    BindingSpec,
    InputRef,
    ListBinding,
    LiteralBinding,
    MapBinding,
    OutputRef,
    WorkflowSpec,
)
from flytepath_airflow.ir.names import check_name, safe_run_id
from flytepath_airflow.ir.spec_io import dump_spec, loads_spec
from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore
from flytepath_airflow.stores.metadata import MetadataStore
from flytepath_airflow.types.render import render_type
from flytepath_airflow.types.validate import validate_literal
from flytepath_airflow.utils.suggest import did_you_mean

INLINE_LIMIT = 1024
"""Literals whose JSON is longer than this many bytes go to a blob, not the pointer."""

RECOVERED_FROM = "recovered_from"
"""The run option naming the run a run recovers (`runtime/recovery.py`); the checkpoint
lookup reads it too, to find the failed node's checkpoints in that run."""


def run_key(run_id: str) -> str:
    """Key prefix of a run."""
    return f"runs/{run_id}"


def node_key(run_id: str, node_id: str) -> str:
    """Key prefix of a node within a run."""
    return f"runs/{run_id}/nodes/{node_id}"


def attempt_key(run_id: str, node_id: str, attempt: int) -> str:
    """Key prefix of one attempt of a node."""
    return f"{node_key(run_id, node_id)}/attempt-{attempt}"


def pointer_key(run_id: str, node_id: str) -> str:
    """Key of a node's outputs.json pointer."""
    return f"{node_key(run_id, node_id)}/outputs.json"


def run_uri(root: str, run_id: str) -> str:
    """URI of a run's folder."""
    return BlobStore(root).uri(run_key(run_id))


def new_run_id() -> str:
    """A fresh, sortable, path-safe run id."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"fp-{stamp}-{uuid.uuid4().hex[:8]}"


def sanitize_run_id(run_id: str) -> str:
    """Make any run id (e.g. Airflow's `manual__2026-...+00:00`) safe as a path component.

    A valid run id is kept; any other text is cleaned and gets a hash of the original, so
    different texts never share a run folder (`ir.names.safe_run_id`, ADR 0033).
    """
    return safe_run_id(run_id)


def validate_inputs(spec: WorkflowSpec, inputs: dict[str, Any]) -> dict[str, Any]:
    """Check input literals against the workflow interface and fill in defaults."""
    known = {v.name for v in spec.interface.inputs}
    unknown = sorted(set(inputs) - known)
    if unknown:
        raise LiteralValueError(
            f"workflow '{spec.name}' has no input {', '.join(repr(u) for u in unknown)}."
            f"{did_you_mean(unknown[0], known)} "
            f"Its inputs are: {', '.join(sorted(known)) or '(none)'}."
        )
    values: dict[str, Any] = {}
    for var in spec.interface.inputs:
        if var.name in inputs:
            values[var.name] = validate_literal(
                inputs[var.name], var.type, path=f"input '{var.name}'"
            )
        elif not var.required:
            values[var.name] = var.default
        else:
            raise LiteralValueError(
                f"workflow '{spec.name}' needs input '{var.name}' "
                f"({render_type(var.type)}); pass it with -i {var.name}=VALUE."
            )
    return values


def prepare_run(
    spec: WorkflowSpec,
    inputs: dict[str, Any],
    root: str,
    run_id: str | None = None,
    *,
    options: dict[str, Any] | None = None,
    backend: str = "local",
    metadata_url: str | None = None,
    owner: str | None = None,
) -> str:
    """Validate inputs and publish the run's spec.json and inputs.json; returns the run id.

    Also records the execution (version, inputs, image) and its `queued` event in the
    metadata store. Idempotent: preparing an existing run with the same inputs changes
    nothing; other inputs for an existing run id are an error.

    Args:
        options: per-run options, e.g. {"overwrite_cache": True}.
        backend: which backend runs it ("local", "airflow"), recorded with the execution.
        metadata_url: the metadata store (default: FLYTEPATH_METADATA_URL or SQLite).
        owner: the local runner process running it (`utils.processes.owner_id`), so a run
            whose runner dies is closed later (`runtime.liveness`); None under Airflow.
    """
    values = validate_inputs(spec, inputs)
    run_id = check_name(run_id, "run_id", where="run id") if run_id is not None \
        else new_run_id()
    store = BlobStore(root)
    inputs_key = f"{run_key(run_id)}/inputs.json"
    if store.exists(inputs_key):
        existing = store.read_json(inputs_key).get("inputs")
        if existing != json.loads(json.dumps(values)):
            raise LiteralValueError(
                f"run '{run_id}' already exists with other inputs; use a new run id."
            )
        return run_id
    store.write_bytes(f"{run_key(run_id)}/spec.json", dump_spec(spec).encode())
    images = sorted({t.image or (t.container.image if t.container else None) or ""
                     for t in spec.tasks.values()} - {""})
    # The run a recovering run recovers (`runtime/recovery.py`); its execution row names
    # it as the parent, and both runs' event logs record the link.
    source = (options or {}).get(RECOVERED_FROM)
    if source is not None:  # a run option can come from a DAG run's conf: hostile
        source = check_name(str(source), "run_id", where=f"run option {RECOVERED_FROM}")
    meta = MetadataStore(metadata_url)
    try:
        meta.create_execution(
            run_id=run_id, project=spec.tenant.project, domain=spec.tenant.domain,
            workflow=spec.name, version=spec.version, inputs=values, backend=backend,
            image=",".join(images) or None, owner=owner,
            parent_run_id=source,
        )
        meta.append_event(run_id=run_id, kind="queued", payload={
            "workflow": spec.name, "version": spec.version, "inputs": values,
            "project": spec.tenant.project, "domain": spec.tenant.domain,
            "backend": backend, "options": options or {},
        })
        if source:
            meta.append_events([
                {"run_id": run_id, "kind": RECOVERED_FROM, "payload": {"run_id": source}},
                {"run_id": source, "kind": "recovered_by", "payload": {"run_id": run_id}},
            ])
    finally:
        meta.close()
    # inputs.json last: its presence means the run is fully prepared.
    store.write_json(inputs_key, {"inputs": values, "workflow": spec.name,
                                  "version": spec.version, "options": options or {}})
    return run_id


def finish_run(result: RunResult, *, recorded_outputs: dict[str, Any] | None = None,
               metadata_url: str | None = None,
               duration_seconds: float | None = None) -> bool:
    """Record how a run ended (execution row and the run-level end event), once.

    Every way a run ends comes here (`closing.close_run` for Airflow runs, the local
    runner): the first call closes the run and returns True; later calls change nothing.
    The metadata store holds no data: the outputs recorded are pointer entries
    (`closing.output_entries`), never `result.outputs`, the values.

    :param result: how the run ended.
    :param recorded_outputs: the outputs of a succeeded run as pointer entries.
    :param metadata_url: the metadata store (default: the configured one).
    :param duration_seconds: the run's duration, recorded in the end event.
    """
    outputs = (recorded_outputs or {}) if result.succeeded else None
    meta = MetadataStore(metadata_url)
    try:
        status = "succeeded" if result.succeeded else "failed"
        return meta.close_execution(
            result.run_id, status=status, outputs=outputs, error=result.error,
            event={"outputs": outputs,
                   "failed_node": result.failed_node, "error": result.error,
                   "error_kind": result.error_kind, "duration_seconds": duration_seconds},
        )
    finally:
        meta.close()


def load_run_spec(run_id: str, root: str) -> WorkflowSpec:
    """The spec a run was prepared with."""
    store = BlobStore(root)
    data = store.read_uri(store.uri(f"{run_key(run_id)}/spec.json"))
    return loads_spec(data.decode(), f"run {run_id} spec.json")


def read_run_inputs(run_id: str, root: str) -> dict[str, Any]:
    """The validated workflow input literals of a run."""
    doc = BlobStore(root).read_json(f"{run_key(run_id)}/inputs.json")
    return dict(doc["inputs"])


def read_pointer(store: BlobStore, run_id: str, node_id: str) -> dict[str, Any]:
    """A node's outputs.json pointer (BlobIntegrityError when the node has not succeeded)."""
    try:
        doc: dict[str, Any] = store.read_json(pointer_key(run_id, node_id))
    except FileNotFoundError:
        raise BlobIntegrityError(
            f"node '{node_id}' of run '{run_id}' has no published outputs"
        ) from None
    return doc


def literal_text(literal: Any) -> str:
    """The canonical JSON of a literal: what a blob holds and what an inline hash covers."""
    return json.dumps(literal, sort_keys=True, separators=(",", ":"))


def pointer_entry(store: BlobStore, key: str, literal: Any) -> dict[str, Any]:
    """The pointer entry for one literal: inline when small, else a JSON blob at key.

    Either way the entry carries the sha256 of the literal's canonical JSON, so an inline
    value copied into a cache row is verified on read like a blob is.
    """
    text = literal_text(literal).encode()
    if len(text) <= INLINE_LIMIT:
        return {"value": literal, "sha256": hashlib.sha256(text).hexdigest()}
    return dict(store.write_bytes(key, text))


def read_entry(store: BlobStore, entry: dict[str, Any]) -> Any:
    """The literal held by a pointer entry (inline, or a JSON blob), checked against its
    sha256 (BlobIntegrityError on a mismatch). An inline entry without a hash, as older
    versions wrote them, is returned as it is; the cache refuses those (`cache.py`)."""
    if "value" in entry:
        value = entry["value"]
        if "sha256" in entry:
            actual = hashlib.sha256(literal_text(value).encode()).hexdigest()
            if actual != entry["sha256"]:
                raise BlobIntegrityError(
                    "inline value does not match its recorded sha256 (it was modified "
                    "after it was written)")
        return value
    return json.loads(store.read_uri(entry["uri"], entry["sha256"]))


def resolve_binding(
    binding: BindingSpec,
    *,
    store: BlobStore,
    run_id: str,
    workflow_inputs: dict[str, Any],
    pointers: dict[str, dict[str, Any]] | None = None,
) -> Any:
    """The literal a binding stands for in a given run."""
    pointers = {} if pointers is None else pointers
    if isinstance(binding, LiteralBinding):
        return binding.value
    if isinstance(binding, InputRef):
        return workflow_inputs[binding.name]
    if isinstance(binding, OutputRef):
        if binding.node not in pointers:
            pointers[binding.node] = read_pointer(store, run_id, binding.node)
        outputs = pointers[binding.node]["outputs"]
        if binding.output not in outputs:
            raise BlobIntegrityError(
                f"node '{binding.node}' published no output '{binding.output}'"
            )
        return read_entry(store, outputs[binding.output])
    if isinstance(binding, ListBinding):
        return [
            resolve_binding(b, store=store, run_id=run_id, workflow_inputs=workflow_inputs,
                            pointers=pointers)
            for b in binding.items
        ]
    if isinstance(binding, MapBinding):
        return {
            k: resolve_binding(b, store=store, run_id=run_id, workflow_inputs=workflow_inputs,
                               pointers=pointers)
            for k, b in binding.entries.items()
        }
    raise TypeError(f"unknown binding {binding!r}")


def collect_outputs(spec: WorkflowSpec, run_id: str, root: str) -> dict[str, Any]:
    """Resolve the workflow's output literals from its nodes' pointers."""
    store = BlobStore(root)
    inputs = read_run_inputs(run_id, root)
    pointers: dict[str, dict[str, Any]] = {}
    return {
        name: resolve_binding(b, store=store, run_id=run_id, workflow_inputs=inputs,
                              pointers=pointers)
        for name, b in spec.outputs.items()
    }


def read_node_error(run_id: str, node_id: str, attempt: int, root: str) -> dict[str, Any] | None:
    """The error record of a failed attempt, or None."""
    store = BlobStore(root)
    key = node_error_key(run_id, node_id, attempt)
    if not store.exists(key):
        return None
    doc: dict[str, Any] = store.read_json(key)
    return doc


def node_error_key(run_id: str, node_id: str, attempt: int) -> str:
    """Key of the error record of one attempt of a node."""
    return f"{attempt_key(run_id, node_id, attempt)}/error.json"


def last_node_error(run_id: str, node_id: str, attempts: int,
                    root: str) -> tuple[int, dict[str, Any]] | None:
    """The error record of the last attempt of a node that left one, with its number.

    An attempt killed before it could write its record (a timeout, a lost worker) leaves
    none, so every attempt up to `attempts` is looked at, not only the first ones.

    :param run_id: the run.
    :param node_id: the node (a map element as `node[i]`).
    :param attempts: how many attempts the node may have made (its retries + 1).
    :param root: the store root URI.
    :returns: (attempt, record), or None when no attempt left a record.
    """
    store = BlobStore(root)
    for attempt in range(attempts, 0, -1):
        key = node_error_key(run_id, node_id, attempt)
        if store.exists(key):
            doc: dict[str, Any] = store.read_json(key)
            return attempt, doc
    return None


@dataclass
class RunResult:
    """How a whole run ended."""

    run_id: str
    succeeded: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    failed_node: str | None = None
    error: str | None = None
    error_kind: str | None = None
    node_states: dict[str, str] = field(default_factory=dict)
