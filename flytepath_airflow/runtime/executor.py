"""Execute one node of a run: inputs -> run -> outputs, the same on a laptop and in a pod.

`execute_node` reads the node's input literals (constants, workflow inputs, upstream
pointers), decodes them with the type engine, runs the task, encodes its outputs into the
blob store under the attempt's own prefix, and publishes the node's `outputs.json`
pointer last, atomically. A failure writes the attempt's `error.json` and raises
TaskExecutionError with kind "user" (not retried) or "system" (retried).

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import traceback
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.exc import SQLAlchemyError

from flytepath_airflow.errors import (
    CompileError,
    FlytePathSystemError,
    FlytePathUserError,
    LiteralValueError,
    RecoverableError,
    TaskExecutionError,
)
from flytepath_airflow.ir.models import NodeSpec, TaskSpec, WorkflowSpec
from flytepath_airflow.runtime import cache
from flytepath_airflow.runtime.checkpoint import Checkpoint, DisabledCheckpoint
from flytepath_airflow.runtime.code import activate_code_bundle, code_digest
from flytepath_airflow.runtime.context import ExecutionContext, execution_context
from flytepath_airflow.runtime.control import (
    failure_literal,
    item_node_id,
    start_dynamic_child,
)
from flytepath_airflow.runtime.deck_summaries import summary_html
from flytepath_airflow.runtime.decks import Deck, DeckError, publish_decks
from flytepath_airflow.runtime.liveness import scratch_suffix
from flytepath_airflow.runtime.metadata import metadata_store
from flytepath_airflow.runtime.process_task import run_process_task
from flytepath_airflow.runtime.recovery import (
    RECOVERED,
    RECOVERED_FROM,
    inputs_fingerprint,
    reusable_pointer,
)
from flytepath_airflow.runtime.resolver import load_task_object, unwrap_task
from flytepath_airflow.runtime.run import (
    attempt_key,
    pointer_entry,
    pointer_key,
    resolve_binding,
    run_key,
    sanitize_run_id,
)
from flytepath_airflow.runtime.task_env import resolve_secrets, secret_environment
from flytepath_airflow.stores.blob import (
    BlobIntegrityError,
    BlobStore,
    NodeBlobContext,
    default_root,
)
from flytepath_airflow.stores.metadata import CacheEntryRecord, MetadataStore
from flytepath_airflow.types import default_engine
from flytepath_airflow.types.engine import hash_literal
from flytepath_airflow.types.signatures import PythonInterface, python_interface, split_outputs

logger = logging.getLogger(__name__)

EVENT_FLUSH_SECONDS = 5.0
"""At most this long between writes of a running attempt's checkpoint events."""


@runtime_checkable
class DynamicBody(Protocol):
    """What the runtime needs of a `@dynamic` task: build its graph from real input values.

    The SDK's dynamic task implements it; the runtime calls it through this protocol and
    never imports the compiler.
    """

    def build_graph(self, values: dict[str, Any], *, parent: WorkflowSpec,
                    node_id: str) -> WorkflowSpec:
        """Run the body with `values` and return the checked, versioned graph it built."""
        ...


@dataclass(frozen=True)
class PreparedCall:
    """A Python task ready to call: the function, its signature and its decoded inputs.

    :param fn: the plain function behind the task.
    :param interface: the function's inputs and outputs as Python types.
    :param values: the node's inputs as Python values, by name.
    :param task_object: what the task's import path names (the decorated task), e.g. the
        `DynamicBody` of a dynamic task.
    """

    fn: Any
    interface: PythonInterface
    values: dict[str, Any]
    task_object: Any


def _node_literals(
    node: NodeSpec, task: TaskSpec, store: BlobStore, run_id: str,
    workflow_inputs: dict[str, Any], item: int | None = None, failure_node: bool = False,
) -> dict[str, Any]:
    pointers: dict[str, dict[str, Any]] = {}
    literals: dict[str, Any] = {}
    mapped = set(node.map.mapped) if node.map is not None else set()
    for var in task.interface.inputs:
        binding = node.inputs.get(var.name)
        if binding is not None:
            literals[var.name] = resolve_binding(
                binding, store=store, run_id=run_id, workflow_inputs=workflow_inputs,
                pointers=pointers,
            )
            if var.name in mapped:
                values = literals[var.name]
                if item is None or not isinstance(values, list) or item >= len(values):
                    raise FlytePathUserError(
                        f"map node '{node.id}' input '{var.name}' has no item {item}"
                    )
                literals[var.name] = values[item]
        elif not var.required:
            literals[var.name] = var.default
        elif failure_node and var.name == "err":
            continue  # the failure node's error info is filled in by the caller
        else:  # the compiler rejects this; a hand-edited spec can still get here
            raise FlytePathUserError(
                f"node '{node.id}' has no binding for required input '{var.name}'"
            )
    return literals


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _is_ours(frame: traceback.FrameSummary) -> bool:
    return os.path.abspath(frame.filename).startswith(_PACKAGE_DIR)


def _trim(te: traceback.TracebackException) -> None:
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if not _is_ours(f)])
    for chained in (te.__cause__, te.__context__):
        if chained is not None:
            _trim(chained)


def user_traceback(exc: BaseException) -> str | None:
    """The traceback of an exception the user's code raised, without FlytePath's frames.

    None when no frame of the traceback is the user's (FlytePath itself raised it: its
    message says what happened, a stack of our internals would only hide it).

    :param exc: the exception, with its traceback.
    """
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    if all(_is_ours(f) for f in te.stack):
        return None
    _trim(te)
    return "".join(te.format())


def _record_failure(
    store: BlobStore, prefix: str, kind: str, exc: BaseException, message: str
) -> None:
    doc = {
        "kind": kind,
        "type": type(exc).__name__,
        "message": message,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        "user_traceback": user_traceback(exc),
        "time": time.time(),
    }
    try:
        store.write_json(f"{prefix}/error.json", doc)
    except OSError:  # the store itself is failing; the exit code still carries the kind
        logger.exception("could not record the error of %s", prefix)


class _Events:
    """This node attempt's events for the metadata store's event log.

    Events are buffered and written in one transaction at each flush: before the task's
    own code runs (so a running node is visible) and when the attempt ends.
    """

    def __init__(self, meta: MetadataStore, run_id: str, node_id: str, attempt: int) -> None:
        self.meta, self.run_id, self.node_id, self.attempt = meta, run_id, node_id, attempt
        self.pending: list[dict[str, Any]] = []

    def emit(self, kind: str, payload: dict[str, Any] | None = None) -> None:
        self.pending.append({"run_id": self.run_id, "kind": kind, "node_id": self.node_id,
                             "attempt": self.attempt, "payload": payload or {}})

    def flush(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.meta.append_events(batch)


def execute_node(
    spec: WorkflowSpec,
    node_id: str,
    run_id: str,
    attempt: int = 1,
    root: str | None = None,
    *,
    item: int | None = None,
    metadata_url: str | None = None,
) -> dict[str, Any]:
    """Run one node of a prepared run and return its published outputs pointer.

    In a run that recovers another (`recovered_from`), a node that succeeded there first
    reuses its outputs, once verified (`runtime/recovery.py`). Cached tasks then look up
    their key; a verified hit publishes the cached outputs without running the task.
    Every state change is appended to the event log.

    A map node runs one element per call (`item`), published as node `id[item]`. A
    dynamic node runs its body: the graph it builds becomes a child run, and the
    returned record names it (see runtime/control.py for the rest).
    """
    store = BlobStore(root or default_root())
    try:
        node = spec.node(node_id)
        task = spec.task_of(node)
    except KeyError as exc:
        known = ", ".join(n.id for n in spec.nodes)
        raise FlytePathUserError(f"{exc.args[0]}; its nodes are: {known}") from None
    if (node.kind == "map") != (item is not None):
        raise FlytePathUserError(
            f"node '{node_id}' is a {node.kind} node: "
            + ("run one element with --item N." if node.kind == "map"
               else "only map nodes take --item.")
        )
    record_id = item_node_id(node_id, item) if item is not None else node_id
    prefix = attempt_key(run_id, record_id, attempt)
    # The suffix names this process, so a runner killed mid-attempt leaves a folder the
    # next start recognizes as dead and removes (runtime/liveness.py).
    scratch = tempfile.mkdtemp(prefix=f"flytepath-{sanitize_run_id(record_id)}-",
                               suffix=scratch_suffix())
    blobs = NodeBlobContext(store, prefix, scratch=os.path.join(scratch, "blobs"))
    try:
        meta = metadata_store(metadata_url)
        events = _Events(meta, run_id, record_id, attempt)
        if attempt > 1:
            events.emit("retried", {"attempt": attempt})
        events.emit("running", {"task": task.name, "version": spec.version})
        run = _NodeRun(spec, node_id, task, run_id, attempt, store, prefix, blobs, scratch,
                       meta, events, item=item)
        # The attempt's row (docs/data-plane.md): written here, where every runner (local
        # process, pod, in-process map element, the local backend) passes.
        meta.record_node_execution(run_id=run_id, node_id=record_id, attempt=attempt,
                                   status="running")
        try:
            pointer = run.execute()
        except TaskExecutionError as exc:
            _record_attempt_end(meta, run_id, record_id, attempt, "failed",
                                error=exc.task_message, cache_status=run.cache_status)
            raise
        finally:
            events.flush()
        _record_attempt_end(meta, run_id, record_id, attempt, "succeeded",
                            cache_status=(pointer.get("cache") or {}).get("status"),
                            outputs=pointer.get("outputs"))
        return pointer
    except (SQLAlchemyError, FlytePathSystemError) as exc:
        raise _failure(store, prefix, node_id, "system", exc,
                       f"metadata store error: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _record_attempt_end(meta: MetadataStore, run_id: str, record_id: str, attempt: int,
                        status: str, *, error: str | None = None,
                        cache_status: str | None = None,
                        outputs: dict[str, Any] | None = None) -> None:
    """Close the attempt's row; a failure to write it never hides how the attempt ended."""
    try:
        meta.record_node_execution(run_id=run_id, node_id=record_id, attempt=attempt,
                                   status=status, cache_status=cache_status, outputs=outputs,
                                   error=error)
    except SQLAlchemyError:
        logger.warning("could not record the end of %s attempt %s", record_id, attempt,
                       exc_info=True)


class _NodeRun:
    """One attempt of one node: inputs, cache, task, outputs, events."""

    cache_status: str | None = None
    """`miss` once the cache was looked up and missed (a failed attempt keeps it)."""

    fingerprint: str | None = None
    """`recovery.inputs_fingerprint` of this node's inputs, recorded in its pointer."""

    def __init__(self, spec: WorkflowSpec, node_id: str, task: TaskSpec, run_id: str,
                 attempt: int, store: BlobStore, prefix: str, blobs: NodeBlobContext,
                 scratch: str, meta: MetadataStore, events: _Events,
                 item: int | None = None) -> None:
        self.spec, self.task, self.item = spec, task, item
        self.spec_node_id = node_id
        # Everything recorded (pointer, events, cache source) names the element for a map.
        self.node_id = item_node_id(node_id, item) if item is not None else node_id
        self.run_id, self.attempt, self.store, self.prefix = run_id, attempt, store, prefix
        self.blobs, self.scratch, self.meta, self.events = blobs, scratch, meta, events
        self._events_flushed = time.monotonic()

    def fail(self, kind: str, exc: BaseException, message: str) -> TaskExecutionError:
        self.events.emit("failed", {"kind": kind, "message": message})
        return _failure(self.store, self.prefix, self.node_id, kind, exc, message)

    def execute(self) -> dict[str, Any]:
        spec, task, node = self.spec, self.task, self.spec.node(self.spec_node_id)
        try:
            # inputs.json holds the workflow inputs and the run options; read it once.
            run_doc = self.store.read_json(f"{run_key(self.run_id)}/inputs.json")
            self.options: dict[str, Any] = dict(run_doc.get("options") or {})
            failure_node = spec.on_failure is not None and node.id == spec.on_failure.id
            literals = _node_literals(node, task, self.store, self.run_id, run_doc["inputs"],
                                      self.item, failure_node)
            if failure_node:
                if task.interface.input("err") is not None:
                    literals["err"] = failure_literal(self.store, self.run_id)
        except (BlobIntegrityError, OSError) as exc:
            raise self.fail("system", exc, f"reading inputs: {exc}") from exc
        except FlytePathUserError as exc:
            raise self.fail("user", exc, str(exc)) from exc
        try:
            self.fingerprint = inputs_fingerprint(task, literals)
        except (LiteralValueError, KeyError, TypeError):
            self.fingerprint = None  # the task reports a bad value itself; nothing to reuse
        source = self.options.get(RECOVERED_FROM)
        # A dynamic node's pointer comes from collecting its child run, which recovers on
        # its own (`control.start_dynamic_child`); the failure node reports this run's
        # failure, so it always runs.
        if source and self.fingerprint and task.kind != "dynamic" and not failure_node:
            reused = self.reuse(str(source), literals)
            if reused is not None:
                return reused
        ctx = ExecutionContext(
            project=spec.tenant.project, domain=spec.tenant.domain, workflow=spec.name,
            version=spec.version, run_id=self.run_id, node_id=self.node_id,
            task_name=task.name, attempt=self.attempt, working_dir=self.scratch,
            blobs=self.blobs, checkpoint=self.checkpoint(),
        )
        if task.kind == "airflow":
            kept = task.operator.class_path if task.operator else "?"
            refused = FlytePathUserError(
                f"node '{node.id}' keeps the Airflow operator {kept}, which runs only as an "
                "Airflow task, not through flytepath-execute."
            )
            raise self.fail("user", refused, str(refused))
        prepared = self.prepare_python(literals, ctx) \
            if task.kind in ("python", "dynamic") else None
        if task.kind == "dynamic":
            assert prepared is not None
            return self.run_dynamic_body(prepared)

        key = None
        replace_entry = False
        owner = None
        try:
            if task.cache is not None:
                hashes = {}
                if prepared is not None:
                    hashes = cache.hash_method_inputs(prepared.interface.inputs, prepared.values,
                                                      task.cache.ignore_inputs)
                key = cache.compute_key(spec, task, literals, hashes)
                replace_entry = bool(self.options.get("overwrite_cache"))
                if replace_entry:
                    logger.info("cache overwrite requested for %s (key=%s)", self.node_id,
                                key.key)
                else:
                    entry = self.meta.get_cache_entry(key.key)
                    if entry is None and task.cache.serialize:
                        owner = cache.reservation_owner()
                        held = key.key
                        entry = cache.wait_for_entry_or_reservation(
                            self.meta, key.key, owner, cache.RESERVATION_TTL,
                            on_takeover=lambda previous: self.events.emit(
                                "cache_reservation_taken_over",
                                {"key": held, "previous_owner": previous}))
                        if entry is not None:  # someone else computed it; we hold nothing
                            owner = None
                    if entry is not None:
                        reason = cache.verify_entry(self.store, task, entry)
                        if reason is None:
                            return self.publish_hit(key, entry, literals)
                        logger.warning("cached value for %s (key=%s) is unusable (%s); "
                                       "recomputing", self.node_id, key.key, reason)
                        replace_entry = True
                    self.cache_status = "miss"
                    self.events.emit("cache_miss", {"key": key.key})
                    logger.info("cache miss for %s (key=%s)", self.node_id, key.key)

            if owner is not None:
                assert key is not None
                with cache.heartbeat(self.meta, key.key, owner, cache.RESERVATION_TTL):
                    output_literals = self.run_task(literals, ctx, prepared)
            else:
                output_literals = self.run_task(literals, ctx, prepared)
            pointer = self.publish(
                output_literals, {"status": "miss", "key": key.key} if key else None)
            if key is not None:
                written = self.meta.put_cache_entry(
                    key=key.key, project=key.project, domain=key.domain, task=key.task,
                    cache_version=key.cache_version, interface_hash=key.interface_hash,
                    inputs_hash=key.inputs_hash, outputs=pointer["outputs"],
                    run_id=self.run_id, node_id=self.node_id, overwrite=replace_entry,
                )
                if written:
                    self.events.emit("cache_write", {"key": key.key})
                    logger.info("cache write for %s (key=%s)", self.node_id, key.key)
            self.events.emit("succeeded", self.lineage(pointer, literals, key))
            return pointer
        finally:
            if owner is not None and key is not None:
                self.meta.release_reservation(key.key, owner)

    def checkpoint(self) -> Checkpoint | DisabledCheckpoint:
        """This attempt's checkpoint, which reads earlier attempts' and saves its own."""
        policy = self.task.checkpoint
        if policy is not None and not policy.enabled:
            return DisabledCheckpoint(self.task.name)
        return Checkpoint(
            self.store, self.run_id, self.node_id, self.attempt, task_name=self.task.name,
            policy=policy, options_of=lambda run: self.options if run == self.run_id
            else read_run_options(self.store, run),
            scratch=os.path.join(self.scratch, "checkpoint"), on_event=self.checkpoint_event)

    def checkpoint_event(self, kind: str, payload: dict[str, Any]) -> None:
        """Log a checkpoint event; written at once when restored, else at most every few
        seconds, so a killed attempt's saves still show in the history."""
        self.events.emit(kind, payload)
        now = time.monotonic()
        if kind == "checkpoint_restored" or now - self._events_flushed >= EVENT_FLUSH_SECONDS:
            self._events_flushed = now
            try:
                self.events.flush()
            except SQLAlchemyError:  # the checkpoint itself is saved; its event can wait
                logger.warning("could not record a %s event for %s", kind, self.node_id,
                               exc_info=True)

    def run_dynamic_body(self, prepared: PreparedCall) -> dict[str, Any]:
        """Trace the body with real values; its graph becomes this node's child run."""
        self.events.flush()
        body = prepared.task_object
        try:
            if not isinstance(body, DynamicBody):
                raise FlytePathUserError(
                    f"task '{self.task.name}' is a dynamic task, but {self.task.fn} is not "
                    "decorated with @dynamic where the task runs. Decorate it with @dynamic, "
                    "or register the code the version was compiled from."
                )
            child = body.build_graph(prepared.values, parent=self.spec, node_id=self.node_id)
        except CompileError as exc:
            raise self.fail("user", exc, f"the dynamic body built an invalid graph: "
                            f"{exc}") from exc
        except FlytePathUserError as exc:
            raise self.fail("user", exc, str(exc)) from exc
        except Exception as exc:
            raise self.fail("user", exc, f"{type(exc).__name__}: {exc}") from exc
        try:
            plan = start_dynamic_child(self.spec, self.node_id, child, self.run_id,
                                       self.store, self.options)
        except OSError as exc:
            raise self.fail("system", exc, f"starting the generated graph: {exc}") from exc
        self.events.emit("dynamic_graph", {"child_run_id": plan["child_run_id"],
                                           "nodes": len(child.nodes),
                                           "levels": len(plan["levels"])})
        return plan

    def lineage(self, pointer: dict[str, Any], literals: dict[str, Any],
                key: cache.CacheKey | None) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        hashes: dict[str, str] = {}
        for var in self.task.interface.inputs:
            lit = literals.get(var.name)
            small = len(json.dumps(lit, default=str)) <= 256
            hashes[var.name] = hash_literal(lit, var.type)
            inputs[var.name] = {"hash": hashes[var.name], **({"value": lit} if small else {})}
        # The cache key's own inputs hash when there is a key, so a hit shows the hash of
        # the run that computed the entry; the same function over these hashes otherwise.
        inputs_hash = key.inputs_hash if key else cache.inputs_hash(self.task, literals, hashes)
        return {"task": self.task.name, "version": self.spec.version,
                "workflow": self.spec.name, "inputs": inputs, "inputs_hash": inputs_hash,
                "outputs": pointer["outputs"], "cache": pointer.get("cache"),
                "cache_key": key.key if key else None}

    def publish(self, output_literals: dict[str, Any], cache_record: dict[str, Any] | None,
                raw_outputs: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            outputs = raw_outputs if raw_outputs is not None else {
                name: pointer_entry(self.store, f"{self.prefix}/outputs/{name}.json", lit)
                for name, lit in output_literals.items()
            }
            pointer: dict[str, Any] = {
                "run_id": self.run_id, "node": self.node_id, "attempt": self.attempt,
                "task": self.task.name, "version": self.spec.version, "outputs": outputs,
                "inputs_hash": self.fingerprint,
            }
            if cache_record is not None:
                pointer["cache"] = cache_record
            self.store.write_json(pointer_key(self.run_id, self.node_id), pointer)
        except OSError as exc:
            raise self.fail("system", exc, f"publishing outputs: {exc}") from exc
        return pointer

    def publish_hit(self, key: cache.CacheKey, entry: CacheEntryRecord,
                    literals: dict[str, Any]) -> dict[str, Any]:
        source = {"source_run_id": entry.run_id, "source_node_id": entry.node_id}
        pointer = self.publish({}, {"status": "hit", "key": key.key, **source},
                               raw_outputs=entry.outputs)
        logger.info("cache hit for %s (key=%s): outputs produced by run %s node %s",
                    self.node_id, key.key, entry.run_id, entry.node_id)
        self.events.emit("cache_hit", {"key": key.key, **source})
        self.events.emit("succeeded", self.lineage(pointer, literals, key))
        return pointer

    def reuse(self, source_run_id: str, literals: dict[str, Any]) -> dict[str, Any] | None:
        """Publish this node's outputs from the recovered run, if they can be trusted.

        None when the node did not succeed there, or its outputs fail a check (logged as
        a warning): then the node runs as in any run.
        """
        assert self.fingerprint is not None
        found, reason = reusable_pointer(self.store, source_run_id, self.node_id, self.spec,
                                         self.task, self.fingerprint)
        if found is None:
            if reason is not None:
                logger.warning("not reusing %s from run %s: %s; running it", self.node_id,
                               source_run_id, reason)
                self.events.emit("recovery_refused", {"source_run_id": source_run_id,
                                                      "reason": reason})
            return None
        source = {"source_run_id": source_run_id, "source_node_id": self.node_id}
        pointer = self.publish({}, {"status": RECOVERED, **source},
                               raw_outputs=found["outputs"])
        logger.info("recovered %s: outputs of run %s reused, the task did not run",
                    self.node_id, source_run_id)
        self.events.emit(RECOVERED, source)
        self.events.emit("succeeded", self.lineage(pointer, literals, None))
        return pointer

    def prepare_python(self, literals: dict[str, Any],
                       ctx: ExecutionContext | None = None) -> PreparedCall:
        engine = default_engine()
        assert self.task.fn is not None
        try:
            bundle = self.options.get("code_bundle")
            if bundle:
                try:
                    activate_code_bundle(self.store, bundle)
                except BlobIntegrityError as exc:
                    # Retrying reads the same bytes: fail now, and say how to repair it.
                    raise FlytePathUserError(
                        f"the code registered with version {self.spec.version} of "
                        f"{self.spec.name!r} cannot be used: {exc}. Nothing of it ran. "
                        "Register the workflow's code again (`flytepath register`) and run "
                        "the new version, or restore the bundle in the store."
                    ) from exc
            task_object = load_task_object(self.task.fn)
            fn = unwrap_task(task_object)
            if self.task.code_digest and code_digest(fn) != self.task.code_digest:
                raise FlytePathUserError(
                    f"the code of task '{self.task.name}' where it runs differs from the "
                    f"code version {self.spec.version} was compiled from, so running it "
                    "would not reproduce that version. Register the current code as a new "
                    "version (`flytepath register`), or run a registered version, whose "
                    "code is stored with it."
                )
            py = python_interface(fn)
            values = {}
            # Inside the task's context, so checks that run on load can attach reports.
            with execution_context(ctx) if ctx is not None else nullcontext():
                for name, lit in literals.items():
                    if name not in py.inputs:
                        continue
                    try:
                        values[name] = engine.to_python(lit, py.inputs[name], self.blobs)
                    except LiteralValueError as exc:
                        # Input checks that run on load (a pandera schema, a GX suite) say
                        # what failed; this says which input of which task.
                        raise LiteralValueError(
                            f"input {name!r} of task '{self.task.name}': {exc}"
                        ) from exc
        except FlytePathUserError as exc:
            if ctx is not None:
                self.publish_decks(ctx, failing=True)  # the failed check's report
            raise self.fail("user", exc, str(exc)) from exc
        except BlobIntegrityError as exc:
            raise self.fail("system", exc, str(exc)) from exc
        return PreparedCall(fn=fn, interface=py, values=values, task_object=task_object)

    def run_task(self, literals: dict[str, Any], ctx: ExecutionContext,
                 prepared: PreparedCall | None) -> dict[str, Any]:
        self.events.flush()
        try:
            if prepared is None:
                result = run_process_task(self.task, self.node_id, literals, ctx, self.fail)
            else:
                result = _call_python(self, prepared, ctx)
        except BaseException:
            # A failed attempt's report (a validation that failed) is kept too.
            self.publish_decks(ctx, failing=True)
            raise
        self.publish_decks(ctx, failing=False)
        return result

    def publish_decks(self, ctx: ExecutionContext, *, failing: bool) -> None:
        """Store the pages the task attached (runtime/decks.py); a deck that cannot be
        stored fails a succeeding attempt, and never hides why a failing one failed."""
        try:
            stored = publish_decks(self.store, self.run_id, self.node_id, self.attempt,
                                   ctx.decks)
        except (DeckError, OSError) as exc:
            if failing:
                logger.warning("could not store the decks of %s: %s", self.node_id, exc)
                return
            kind = "user" if isinstance(exc, DeckError) else "system"
            raise self.fail(kind, exc, f"storing decks: {exc}") from exc
        if stored:
            self.events.emit("decks_published", {"decks": [d.name for d in stored]})


def _failure(
    store: BlobStore, prefix: str, node_id: str, kind: str, exc: BaseException, message: str
) -> TaskExecutionError:
    _record_failure(store, prefix, kind, exc, message)
    return TaskExecutionError(node_id, message, kind=kind)


def read_run_options(store: BlobStore, run_id: str) -> dict[str, Any]:
    """Per-run options recorded by prepare_run (e.g. overwrite_cache)."""
    try:
        doc = store.read_json(f"runs/{run_id}/inputs.json")
    except FileNotFoundError:
        return {}
    return dict(doc.get("options") or {})


def _call_python(run: _NodeRun, prepared: PreparedCall,
                 ctx: ExecutionContext) -> dict[str, Any]:
    fn, py, values = prepared.fn, prepared.interface, prepared.values
    task = run.task
    engine = default_engine()
    logger.info("running %s (%s) attempt %s", run.node_id, task.fn, ctx.attempt)
    try:
        secrets = resolve_secrets(task, os.environ)
    except FlytePathUserError as exc:
        raise run.fail("user", exc, str(exc)) from exc
    if task.enable_deck:
        ctx.decks.append(Deck("Inputs", summary_html("Inputs", values, py.inputs),
                              auto_add=False))
    try:
        with execution_context(ctx), secret_environment(secrets):
            result = fn(**values)
    except RecoverableError as exc:
        raise run.fail("system", exc, f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise run.fail("user", exc, f"{type(exc).__name__}: {exc}") from exc

    try:
        raw = split_outputs(py, result, task.name)
        if task.enable_deck:
            ctx.decks.append(Deck("Outputs", summary_html("Outputs", raw, py.outputs),
                                  auto_add=False))
        # Inside the task's context, so checks on outputs can attach reports.
        with execution_context(ctx):
            return {
                name: engine.to_literal(raw[name], py.outputs[name], ctx.blobs, name)
                for name in py.outputs
            }
    except (FlytePathUserError, TypeError, ValueError) as exc:
        message = f"task '{task.name}' returned a value that does not match its outputs: {exc}"
        raise run.fail("user", exc, message) from exc
    except OSError as exc:
        raise run.fail("system", exc, str(exc)) from exc


__all__ = ["DynamicBody", "PreparedCall", "execute_node", "read_run_options", "user_traceback"]
