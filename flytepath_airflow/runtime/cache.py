"""Memoization: cache keys, verified hits, and serialized computation.

The key of a cached task execution is the sha256 of:
tenant (project, domain; "*" with global scope) + task name + cache_version + the hash of
the task's interface + the hashes of its input values (ignored inputs left out; an input
annotated `Annotated[T, HashMethod(fn)]` hashes `fn(value)`; blobs count by content).
A global-scope key also holds the task's content digest (`content_digest`), and global
scope is honoured only where there is one and the platform allows it (`global_cache`).

A hit is used only after every value it holds is checked: an inline value against the
sha256 stored beside it, a blob by reading it back against its recorded sha256, and the
value against the task's output types. A row that cannot be read, a missing or corrupt
blob, an edited inline value or a value of the wrong type makes it a miss with a warning.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flytepath_airflow.config import load_settings
from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.models import (
    BlobType,
    DataFrameType,
    ListType,
    LiteralType,
    MapType,
    PickledType,
    StructType,
    TaskSpec,
    UnionType,
    WorkflowSpec,
)
from flytepath_airflow.runtime.run import read_entry
from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore
from flytepath_airflow.stores.metadata import CacheEntryRecord
from flytepath_airflow.types import HashMethod, default_engine
from flytepath_airflow.types.engine import hash_literal
from flytepath_airflow.types.markers import annotated_parts
from flytepath_airflow.types.validate import validate_literal
from flytepath_airflow.utils.processes import owner_gone, owner_id

logger = logging.getLogger(__name__)

RESERVATION_TTL = float(os.environ.get("FLYTEPATH_CACHE_RESERVATION_TTL", "30"))
"""Seconds a cache_serialize reservation lives without a heartbeat."""


def _sha(doc: Any) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def interface_hash(task: TaskSpec) -> str:
    """Hash of the task's typed interface (input and output names and types)."""
    return _sha(task.interface.model_dump(mode="json", exclude_defaults=True,
                                          exclude={"inputs": {"__all__": {"description"}},
                                                   "outputs": {"__all__": {"description"}}}))


@dataclass(frozen=True)
class CacheKey:
    """A computed cache key and the parts it was made from (shown by `cache inspect`)."""

    key: str
    project: str
    domain: str
    task: str
    cache_version: str
    interface_hash: str
    inputs_hash: str


def compute_key(
    spec: WorkflowSpec,
    task: TaskSpec,
    literals: dict[str, Any],
    value_hashes: dict[str, str] | None = None,
) -> CacheKey:
    """The cache key of running `task` on input `literals` in `spec`'s tenant.

    `value_hashes` holds precomputed hashes for inputs with a HashMethod.
    """
    assert task.cache is not None
    content = content_digest(task) if task.cache.scope == "global" else None
    if content is not None and global_cache_allowed():
        # Shared across tenants only when the key pins what the task computes: the same
        # task name in another tenant with other code gets another key (ADR 0037).
        project = domain = "*"
        fields = {"content": content}
    else:
        if task.cache.scope == "global":
            logger.info("cache scope 'global' of task %s is kept in tenant %s/%s: %s",
                        task.name, spec.tenant.project, spec.tenant.domain,
                        "global caching is off on this platform" if content is not None
                        else "its code cannot be pinned (a container task needs an image "
                             "pinned by @sha256 digest; a Python task its code digest)")
        project, domain = spec.tenant.project, spec.tenant.domain
        fields = {}
    iface = interface_hash(task)
    inputs = inputs_hash(task, literals, value_hashes)
    key = _sha({"project": project, "domain": domain, "task": task.name,
                "cache_version": task.cache.version, "interface": iface,
                "inputs": inputs, **fields})
    return CacheKey(key, project, domain, task.name, task.cache.version, iface, inputs)


def content_digest(task: TaskSpec) -> str | None:
    """What a task computes, pinned: the key part that makes a global cache entry safe to
    share across tenants, or None when nothing pins it.

    A Python task is pinned by its code digest, a shell task by its script, image and
    environment, a container task only by an image pinned to a `@sha256:` digest (a tag
    can move) with its command and environment.
    """
    if task.kind in ("python", "dynamic"):
        return task.code_digest
    if task.kind == "shell" and task.script is not None:
        return _sha({"script": task.script, "image": task.image, "env": task.env})
    if task.kind == "container" and task.container is not None:
        image = task.container.image or task.image
        if image and "@sha256:" in image:
            return _sha({"image": image, "command": list(task.container.command),
                         "args": list(task.container.args), "env": task.env})
    return None


def global_cache_allowed() -> bool:
    """The platform's switch for cross-tenant cache entries (`global_cache`, default on)."""
    return load_settings().global_cache


def inputs_hash(task: TaskSpec, literals: dict[str, Any],
                value_hashes: dict[str, str] | None = None) -> str:
    """The hash of a task's input values: the one its cache key is made from, and the one
    the event log records with a node's outputs (`flytepath history`), so a cache hit and
    the run that computed the entry show the same hash.

    Each input counts by `hash_literal` (blobs by content), except those `value_hashes`
    gives (a HashMethod's hash) and those the task's cache ignores.

    :param task: the task.
    :param literals: its input values as literals.
    :param value_hashes: precomputed hashes by input name.
    """
    ignored = set(task.cache.ignore_inputs) if task.cache is not None else set()
    hashes = dict(value_hashes or {})
    for var in task.interface.inputs:
        if var.name in ignored or var.name in hashes:
            continue
        hashes[var.name] = hash_literal(literals.get(var.name), var.type)
    for name in ignored:
        hashes.pop(name, None)
    return _sha(hashes)


def hash_method_inputs(py_inputs: dict[str, Any], values: dict[str, Any],
                       ignored: tuple[str, ...]) -> dict[str, str]:
    """Hashes of the inputs whose annotation carries a HashMethod."""
    engine = default_engine()
    out = {}
    for name, tp in py_inputs.items():
        if name in ignored or name not in values:
            continue
        if any(isinstance(m, HashMethod) for m in annotated_parts(tp)[1]):
            out[name] = engine.hash_value(values[name], tp)
    return out


def _blob_refs(literal: Any, lt: LiteralType) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every blob reference inside a literal, with whether it is a directory."""
    if literal is None:
        return
    if isinstance(lt, (DataFrameType, PickledType)):
        yield literal, False
    elif isinstance(lt, BlobType):
        yield literal, lt.dimensionality == "directory"
    elif isinstance(lt, ListType):
        for item in literal:
            yield from _blob_refs(item, lt.item)
    elif isinstance(lt, MapType):
        for item in literal.values():
            yield from _blob_refs(item, lt.value)
    elif isinstance(lt, StructType):
        types = {f.name: f.type for f in lt.fields}
        for key, item in literal.items():
            if key in types:
                yield from _blob_refs(item, types[key])
    elif isinstance(lt, UnionType):
        for variant in lt.variants:
            if isinstance(variant, (BlobType, DataFrameType, PickledType)) and \
                    isinstance(literal, dict) and "sha256" in literal:
                yield from _blob_refs(literal, variant)
                return


def verify_entry(store: BlobStore, task: TaskSpec, entry: CacheEntryRecord) -> str | None:
    """None when a cache entry can be used; otherwise a short reason it cannot.

    A row the store could not read (`entry.problem`) and anything `verify_outputs`
    refuses are reasons: the caller treats them as a miss, never as a crash.
    """
    if entry.problem is not None:
        return entry.problem
    return verify_outputs(store, task, entry.outputs)


def verify_outputs(store: BlobStore, task: TaskSpec, outputs: Any) -> str | None:
    """None when every cached output reads back intact and fits the task's interface.

    Otherwise a short reason: outputs that are not an object, a missing output, an entry
    of the wrong shape, an inline value without a hash (written before inline values
    carried one: it cannot be checked, so it is recomputed once), a value whose hash does
    not match, a value of the wrong type, or a missing or corrupt blob.
    """
    if not isinstance(outputs, dict):
        return f"its outputs are not a JSON object (found {type(outputs).__name__})"
    for var in task.interface.outputs:
        entry = outputs.get(var.name)
        if entry is None:
            return f"output '{var.name}' is missing from the cache entry"
        if not isinstance(entry, dict) or not ("value" in entry or "uri" in entry):
            return f"output '{var.name}' is not a value or a blob pointer"
        if "value" in entry and "sha256" not in entry:
            return (f"output '{var.name}' is an inline value without a sha256 (written by "
                    "an older FlytePath), so it cannot be verified")
        try:
            literal = read_entry(store, entry)
            validate_literal(literal, var.type, path=f"output '{var.name}'")
            for ref, is_dir in _blob_refs(literal, var.type):
                if is_dir:
                    store.read_uri(f"{ref['uri']}/.flytepath-manifest.json", ref["sha256"])
                else:
                    store.read_uri(ref["uri"], ref["sha256"])
        except LiteralValueError as exc:
            return str(exc)
        except (BlobIntegrityError, OSError, ValueError, KeyError, TypeError,
                AttributeError) as exc:
            return f"output '{var.name}': {exc}"
    return None


def reservation_owner() -> str:
    """An owner id unique to this process and attempt: `host:pid:start:nonce`.

    Its first three parts are `utils.processes.owner_id()`, so a waiter on the same host
    can tell that the holder died and take its claim over at once.
    """
    return f"{owner_id()}:{uuid.uuid4().hex[:8]}"


@contextmanager
def heartbeat(meta: Any, key: str, owner: str, ttl: float) -> Iterator[None]:
    """Keep a reservation alive from a background thread while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(ttl / 3):
            try:
                if not meta.heartbeat_reservation(key, owner, ttl):
                    logger.warning("lost the cache reservation for key %s", key)
                    return
            except Exception:  # a missed beat only shortens the reservation
                logger.warning("cache reservation heartbeat failed for key %s", key,
                               exc_info=True)

    thread = threading.Thread(target=beat, name="flytepath-cache-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def wait_for_entry_or_reservation(meta: Any, key: str, owner: str, ttl: float,
                                  poll: float = 0.2,
                                  on_takeover: Callable[[str], None] | None = None) -> Any:
    """Wait while another process computes `key`.

    Returns the cache entry once it appears, or None once this process holds the
    reservation: the other holder finished without an entry, its claim expired, or it is
    provably dead (same host, its process gone: `utils.processes.owner_gone`), in which
    case its claim is taken over at once and `on_takeover(previous_owner)` is called.
    """
    while True:
        entry = meta.get_cache_entry(key)
        if entry is not None:
            return entry
        acquired = meta.acquire_reservation(key, owner, ttl)
        if not acquired:
            held = meta.get_reservation(key)
            if held is not None and owner_gone(held.owner) and \
                    meta.take_over_reservation(key, held.owner, owner, ttl):
                logger.warning("took over the cache reservation for key %s from %s, "
                               "whose process is gone", key, held.owner)
                if on_takeover is not None:
                    on_takeover(held.owner)
                acquired = True
        if acquired:
            # The previous holder may have written the entry and released between the
            # lookup above and this acquire: look again before computing.
            entry = meta.get_cache_entry(key)
            if entry is not None:
                meta.release_reservation(key, owner)
            return entry
        time.sleep(poll)
