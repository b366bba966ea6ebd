"""What the FlytePath view shows, read from FlytePath's own stores.

Executions, versions and cache entries come from the metadata store; a run's timeline,
cache hits and lineage from its event log (`runtime.history`); errors, inputs and outputs
from the run's folder in the blob store (`runtime.run`). Every function here reads; the
one write the view makes (evicting a cache entry) is in `app.py`, behind an auth check.

The view models are plain dataclasses so the templates never reach into a store.

Must not import: FastAPI or Jinja (presentation is `app.py` and the templates), Airflow
(pools are read in `tenants.py`).
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flytepath_airflow.errors import FlytePathError
from flytepath_airflow.ir.models import (
    InputRef,
    ListBinding,
    LiteralBinding,
    MapBinding,
    OutputRef,
    WorkflowSpec,
)
from flytepath_airflow.platform.naming import dag_id_of
from flytepath_airflow.runtime.history import reconstruct_history
from flytepath_airflow.runtime.run import (
    load_run_spec,
    pointer_key,
    read_node_error,
    read_run_inputs,
)
from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore
from flytepath_airflow.stores.metadata import (
    CacheEntryRecord,
    EventRecord,
    ExecutionRecord,
    MetadataStore,
)

INLINE_SHOWN = 300
"""Values whose JSON is longer than this many characters are shown folded."""

_INTERNAL_FRAME = "/flytepath_airflow/"


@dataclass
class Value:
    """One input or output as the view shows it.

    :param text: the JSON of an inline value (None for a blob).
    :param blob_uri: the blob's URI when the value lives in the blob store.
    :param sha256: the blob's digest.
    :param source: for an input, where it came from ("workflow input n", "node a.o0").
    :param source_node: the upstream node, for a link.
    :param source_output: the upstream node's output name, for a link.
    """

    text: str | None = None
    blob_uri: str | None = None
    sha256: str | None = None
    source: str | None = None
    source_node: str | None = None
    source_output: str | None = None

    @property
    def long(self) -> bool:
        """Whether the inline text is shown folded."""
        return self.text is not None and len(self.text) > INLINE_SHOWN


@dataclass
class Attempt:
    """One attempt of a node, from its events and its error.json."""

    number: int
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    error: dict[str, Any] | None = None
    user_traceback: str | None = None


@dataclass
class NodeView:
    """One node of a run: state, cache, attempts, inputs, outputs and lineage."""

    node_id: str
    task: str | None
    state: str
    cache: str | None = None
    cache_key: str | None = None
    source_run_id: str | None = None
    source_node_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    attempts: list[Attempt] = field(default_factory=list)
    inputs: dict[str, Value] = field(default_factory=dict)
    outputs: dict[str, Value] = field(default_factory=dict)
    upstream: list[str] = field(default_factory=list)
    offset_pct: float = 0.0
    width_pct: float = 0.0

    @property
    def duration(self) -> str:
        """How long the node took, or an empty string."""
        return _duration(self.started_at, self.ended_at)


@dataclass
class RunView:
    """One run: its record (or what its events say), and its nodes in spec order."""

    run_id: str
    workflow: str | None
    version: str | None
    project: str | None
    domain: str | None
    status: str
    created_at: datetime | None
    finished_at: datetime | None
    error: str | None
    inputs: dict[str, Value]
    outputs: dict[str, Value]
    nodes: list[NodeView]
    problems: list[str] = field(default_factory=list)
    recovered_from: str | None = None
    """The failed run this run recovers (`flytepath recover`)."""
    recovered_by: list[str] = field(default_factory=list)
    """The runs that recovered this one."""

    @property
    def dag_id(self) -> str | None:
        """The Airflow DAG the run belongs to (None when its tenant is unknown)."""
        if self.project and self.domain and self.workflow:
            return dag_id_of(self.project, self.domain, self.workflow)
        return None

    @property
    def duration(self) -> str:
        """How long the run took, or an empty string."""
        return _duration(self.created_at, self.finished_at)


@dataclass
class ExecutionRow:
    """One line of the executions page."""

    record: ExecutionRecord
    cache_hits: int

    @property
    def dag_id(self) -> str:
        """The run's Airflow DAG id."""
        r = self.record
        return dag_id_of(r.project, r.domain, r.workflow)

    @property
    def duration(self) -> str:
        """How long the run took, or an empty string while it runs."""
        return _duration(self.record.created_at, self.record.finished_at)


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def list_executions(
    meta: MetadataStore, *, project: str | None, domain: str | None, limit: int
) -> list[ExecutionRow]:
    """The newest runs of a tenant (or of every tenant), each with its cache-hit count."""
    rows = []
    for record in meta.list_executions(project=project, domain=domain, limit=limit):
        hits = sum(1 for e in meta.events(record.run_id) if e.kind == "cache_hit")
        rows.append(ExecutionRow(record, hits))
    return rows


def value_of(entry: Any, *, source: str | None = None,
             source_node: str | None = None) -> Value:
    """How a pointer entry (`{"value": ...}` or `{"uri", "sha256"}`) or a literal is shown."""
    if isinstance(entry, dict) and "value" in entry and set(entry) <= {"value", "sha256"}:
        entry = entry["value"]
    elif isinstance(entry, dict) and "uri" in entry and "sha256" in entry and (
            "value" not in entry):
        return Value(blob_uri=str(entry["uri"]), sha256=str(entry["sha256"]), source=source,
                     source_node=source_node)
    if isinstance(entry, dict) and isinstance(entry.get("uri"), str) and "sha256" in entry:
        # A file, directory or dataframe literal: its bytes are a blob of their own.
        return Value(text=json.dumps(entry, sort_keys=True), blob_uri=entry["uri"],
                     sha256=str(entry["sha256"]), source=source, source_node=source_node)
    return Value(text=json.dumps(entry, sort_keys=True, default=str), source=source,
                 source_node=source_node)


def user_traceback(text: str) -> str:
    """A traceback without FlytePath's own frames, so the user's frame is what remains.

    Frames are the `File "..."` line and the indented source lines under it; a frame
    whose file is inside the `flytepath_airflow` package is dropped with its lines.
    """
    kept: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line.startswith('  File "'):
            skipping = _INTERNAL_FRAME in line
            if not skipping:
                kept.append(line)
        elif line.startswith("    ") and skipping:
            continue
        else:
            skipping = False
            kept.append(line)
    return "\n".join(kept)


def _binding_values(binding: Any, inputs: dict[str, Any],
                    pointers: dict[str, Any]) -> Value:
    """How one node input binding is shown: a literal, a workflow input, or an upstream
    output (linked to its node), without reading any blob."""
    if isinstance(binding, LiteralBinding):
        return value_of(binding.value, source="literal in the spec")
    if isinstance(binding, InputRef):
        return value_of(inputs.get(binding.name), source=f"workflow input {binding.name}")
    if isinstance(binding, OutputRef):
        outputs = (pointers.get(binding.node) or {}).get("outputs") or {}
        source = f"{binding.node}.{binding.output}"
        if binding.output in outputs:
            shown = value_of(outputs[binding.output], source=source, source_node=binding.node)
        else:
            shown = Value(source=f"{source} (not published)", source_node=binding.node)
        shown.source_output = binding.output
        return shown
    if isinstance(binding, (ListBinding, MapBinding)):
        return Value(text="(a collection of bindings; see the spec)", source="collection")
    return Value(text=repr(binding))


def _read_pointer(store: BlobStore, run_id: str, node_id: str) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = store.read_json(pointer_key(run_id, node_id))
    except (FileNotFoundError, ValueError):
        return None
    return doc


def run_view(meta: MetadataStore, root: str, run_id: str) -> RunView:
    """Everything the run page shows; LookupError when FlytePath knows no such run."""
    record = meta.get_execution(run_id)
    events = meta.events(run_id)
    if record is None and not events:
        raise LookupError(f"FlytePath has no run '{run_id}'")
    history = reconstruct_history(run_id, events)
    store = BlobStore(root)
    problems: list[str] = []
    spec: WorkflowSpec | None = None
    try:
        spec = load_run_spec(run_id, root)
    except (FlytePathError, OSError, ValueError) as exc:
        problems.append(f"the run's spec.json could not be read ({exc}); nodes are shown "
                        "from events only")
    try:
        inputs = read_run_inputs(run_id, root)
    except (OSError, KeyError, ValueError):
        inputs = dict(record.inputs) if record else dict(history.inputs)
    node_ids: list[str] = [n.id for n in spec.nodes] if spec else []
    for ev in events:
        if ev.node_id is not None and ev.node_id not in node_ids:
            node_ids.append(ev.node_id)
    by_node: dict[str, list[EventRecord]] = {}
    for ev in events:
        if ev.node_id is not None:
            by_node.setdefault(ev.node_id, []).append(ev)
    pointers = {nid: p for nid in node_ids if (p := _read_pointer(store, run_id, nid))}
    nodes = []
    for nid in node_ids:
        node_spec = next((n for n in spec.nodes if n.id == nid), None) if spec else None
        view = _node_view(nid, by_node.get(nid, []), history, store, run_id, root, pointers)
        if node_spec is not None:
            view.task = node_spec.task or view.task
            view.inputs = {name: _binding_values(b, inputs, pointers)
                           for name, b in node_spec.inputs.items()}
            view.upstream = node_spec.dependencies()
        nodes.append(view)
    _place_on_timeline(nodes)
    status = record.status if record else history.status
    outputs_doc = record.outputs if record and record.outputs is not None else history.outputs
    return RunView(
        run_id=run_id,
        workflow=record.workflow if record else history.workflow,
        version=record.version if record else history.version,
        project=record.project if record else history.project,
        domain=record.domain if record else history.domain,
        status=status,
        created_at=record.created_at if record else history.queued_at,
        finished_at=record.finished_at if record else history.finished_at,
        error=(record.error if record else None) or history.error,
        inputs={k: value_of(v) for k, v in inputs.items()},
        outputs={k: value_of(v) for k, v in (outputs_doc or {}).items()},
        nodes=nodes,
        problems=problems,
        recovered_from=history.recovered_from,
        recovered_by=list(history.recovered_by),
    )


def _node_view(node_id: str, events: list[EventRecord], history: Any, store: BlobStore,
               run_id: str, root: str, pointers: dict[str, Any]) -> NodeView:
    view = NodeView(node_id=node_id, task=None,
                    state=history.node_states.get(node_id, "not started"))
    attempts: dict[int, Attempt] = {}
    for ev in events:
        if ev.kind == "cache_hit":
            view.cache = "hit"
            view.cache_key = ev.payload.get("key")
            view.source_run_id = ev.payload.get("source_run_id")
            view.source_node_id = ev.payload.get("source_node_id")
        elif ev.kind == "recovered":  # outputs reused from the failed run this one recovers
            view.cache = "recovered"
            view.source_run_id = ev.payload.get("source_run_id")
            view.source_node_id = ev.payload.get("source_node_id")
        elif ev.kind == "cache_miss" and view.cache != "hit":
            view.cache = "miss"
            view.cache_key = ev.payload.get("key")
        number = ev.attempt or 1
        attempt = attempts.get(number)
        if attempt is None:
            attempt = attempts[number] = Attempt(number, ev.kind, ev.created_at, None)
        attempt.state = ev.kind if ev.kind not in ("cache_miss", "cache_write") else (
            attempt.state)
        if ev.kind in ("succeeded", "failed", "retried", "cache_hit"):
            attempt.ended_at = ev.created_at
        view.started_at = view.started_at or ev.created_at
        view.ended_at = ev.created_at
    for attempt in attempts.values():
        if attempt.state in ("failed", "retried"):
            try:
                attempt.error = read_node_error(run_id, node_id, attempt.number, root)
            except (OSError, ValueError):
                attempt.error = {"message": "error.json could not be read"}
            if attempt.error and attempt.error.get("traceback"):
                attempt.user_traceback = user_traceback(str(attempt.error["traceback"]))
    view.attempts = [attempts[n] for n in sorted(attempts)]
    lineage = history.nodes.get(node_id)
    if lineage is not None:
        view.task = lineage.task
    pointer = pointers.get(node_id)
    outputs = (pointer or {}).get("outputs") or (lineage.outputs if lineage else {})
    view.outputs = {name: value_of(entry) for name, entry in outputs.items()}
    return view


def _place_on_timeline(nodes: list[NodeView]) -> None:
    """Set each node's bar (percent offset and width) on the run's time axis."""
    starts = [n.started_at for n in nodes if n.started_at]
    ends = [n.ended_at for n in nodes if n.ended_at]
    if not starts or not ends:
        return
    t0, t1 = min(starts), max(ends)
    span = max((t1 - t0).total_seconds(), 1e-6)
    for n in nodes:
        if n.started_at and n.ended_at:
            n.offset_pct = round(100 * (n.started_at - t0).total_seconds() / span, 2)
            n.width_pct = max(round(100 * (n.ended_at - n.started_at).total_seconds()
                                    / span, 2), 0.5)


def blob_of(view: Value | None) -> tuple[str, str] | None:
    """(uri, sha256) of a value kept in the blob store, else None."""
    if view is None or view.blob_uri is None or view.sha256 is None:
        return None
    return view.blob_uri, view.sha256


def read_blob(root: str, uri: str, sha256: str) -> bytes:
    """A blob's bytes, verified against its sha256; only URIs inside the store root.

    :raises PermissionError: the URI points outside the store (a tampered pointer).
    :raises BlobIntegrityError: the blob is missing or its bytes do not match.
    """
    store = BlobStore(root)
    inside = store.uri("")
    if not uri.startswith(inside) or "/../" in uri or uri.endswith("/.."):
        raise PermissionError(f"{uri} is outside the FlytePath store {store.root}")
    try:
        return store.read_uri(uri, sha256)
    except IsADirectoryError:
        raise BlobIntegrityError(
            f"{uri} is a directory; download it with the FlytePath SDK "
            "(Directory outputs are not served as one file)") from None


def cache_counts(entries: list[CacheEntryRecord]) -> Counter[str]:
    """How many entries each task has."""
    return Counter(e.task for e in entries)


def spec_text(spec_json: str) -> str:
    """A version's spec as indented, key-sorted JSON (stable for diffs)."""
    try:
        return json.dumps(json.loads(spec_json), indent=2, sort_keys=True)
    except ValueError:
        return spec_json


def spec_diff(old_json: str, new_json: str, old_name: str, new_name: str) -> list[str]:
    """A unified diff of two versions' specs, as lines."""
    return list(difflib.unified_diff(
        spec_text(old_json).splitlines(), spec_text(new_json).splitlines(),
        fromfile=old_name, tofile=new_name, lineterm="", n=3))


__all__ = [
    "Attempt", "ExecutionRow", "NodeView", "RunView", "Value", "blob_of", "cache_counts",
    "list_executions", "read_blob", "run_view", "spec_diff", "spec_text", "user_traceback",
    "value_of",
]
