"""Checkpoints: what a long task saves while it runs, so a later attempt resumes from it.

The API is Flyte's (`current_context().checkpoint`: `prev_exists`, `restore`, `save`,
`read`, `write`) so Flyte code runs unchanged, plus `save_state` / `load_state` for the
common case of a small JSON state object (docs/checkpoints.md).

Layout (ADR "checkpoints live beside their attempt"): an attempt's checkpoints are under

    runs/<run>/nodes/<record>/attempt-<n>/checkpoint/manifest.json
    runs/<run>/nodes/<record>/attempt-<n>/checkpoint/gen-<g>-<token>/...

where `<record>` is the node id, or `node[i]` for a map element. Each save publishes a new
generation, then the manifest (atomically, last), which names the newest generation and the
one before it with their sha256 and size (bytes up to `INLINE_MAX_BYTES` travel inside the
manifest instead of a folder); the manifest's presence marks a complete checkpoint. Older
generations of the attempt are deleted after the manifest moves on.

Lookup: a new attempt sees the newest valid checkpoint of the record's attempts in the same
run, looked up before its own first save (newest by the time its manifest was written, so an
attempt number that starts over, or is run twice, still finds what came before); when the
run has none and its options name `recovered_from`, the source run is searched, and its own
source, up to `MAX_LINEAGE` runs.
A generation whose bytes do not match its manifest is skipped with a warning.

Never through XCom or the metadata database: bytes go to the blob store only; the event log
gets one small event per save and restore.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import CheckpointSpec
from flytepath_airflow.runtime.run import attempt_key, node_key
from flytepath_airflow.stores.blob import (
    BlobIntegrityError,
    BlobStore,
    check_key,
    sha256_bytes,
    sha256_file,
)
from flytepath_airflow.utils.limits import InputLimitError, check_json_value, loads_json

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoint"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
BYTES_NAME = "checkpoint.bin"
"""File name of a checkpoint saved from bytes, when it is restored into a folder."""
STATE_NAME = "state.json"
MAX_LINEAGE = 10
"""Runs searched through `recovered_from` links, the run itself included."""
MAX_STATE_CHARS = 16_000_000
"""Characters of a `save_state` document: state, not data (data goes through `save`)."""
MAX_MANIFEST_BYTES = 1_000_000
INLINE_MAX_BYTES = 64 * 1024
"""Bytes saved with `write()` up to this size go inside the manifest (base64): a task that
saves a small state every step then costs one atomic publish a save, not a folder, a
publish and a deletion."""
DEFAULT_POLICY = CheckpointSpec()

_ATTEMPT = re.compile(r"^attempt-([0-9]{1,9})$")
_CHUNK = 4 << 20

EventSink = Callable[[str, dict[str, Any]], None]


def checkpoint_key(run_id: str, record_id: str, attempt: int) -> str:
    """Key prefix of one attempt's checkpoints (`attempt_key(...)/checkpoint`)."""
    return f"{attempt_key(run_id, record_id, attempt)}/{CHECKPOINT_DIR}"


@dataclass(frozen=True)
class StoredCheckpoint:
    """One published generation of a checkpoint, as its attempt's manifest describes it.

    :param run_id: the run whose attempt wrote it.
    :param record_id: the node (or `node[i]`) it belongs to.
    :param attempt: the attempt that wrote it.
    :param written_at: when the manifest naming it was published (seconds since the epoch).
    :param entry: the manifest's entry: generation, kind, name, sha256, size (and files).
    :param key: the generation's key prefix in the store.
    """

    run_id: str
    record_id: str
    attempt: int
    written_at: float
    entry: dict[str, Any]
    key: str

    @property
    def kind(self) -> str:
        """`bytes`, `file` or `directory`."""
        return str(self.entry["kind"])

    @property
    def size(self) -> int:
        """Bytes the checkpoint holds."""
        return int(self.entry["size"])


def _attempt_numbers(store: BlobStore, run_id: str, record_id: str) -> list[int]:
    """Attempt numbers of a record that have a checkpoint folder, ascending."""
    base = store.path(node_key(run_id, record_id))
    try:
        names = [str(p).rstrip("/").rpartition("/")[2]
                 for p in store.fs.ls(base, detail=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for name in names:
        match = _ATTEMPT.match(name)
        if match and store.exists(f"{node_key(run_id, record_id)}/{name}/{CHECKPOINT_DIR}"):
            found.append(int(match.group(1)))
    return sorted(found)


def read_manifest(store: BlobStore, run_id: str, record_id: str,
                  attempt: int) -> dict[str, Any] | None:
    """An attempt's checkpoint manifest; None when absent or unreadable (with a warning)."""
    key = f"{checkpoint_key(run_id, record_id, attempt)}/{MANIFEST}"
    try:
        with store.fs.open(store.path(key), "rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        return None
    try:
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ValueError(f"longer than {MAX_MANIFEST_BYTES} bytes")
        doc = loads_json(raw.decode("utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
            raise ValueError("no 'entries' list")
        float(doc["written_at"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, InputLimitError) as exc:
        logger.warning("skipping the checkpoint of %s attempt %s in run %s: its manifest "
                       "is unreadable (%s)", record_id, attempt, run_id, exc)
        return None
    return doc


def stored_checkpoints(store: BlobStore, run_id: str, record_id: str,
                       exclude_attempt: int | None = None) -> list[StoredCheckpoint]:
    """Every generation a record's attempts name in one run, newest first.

    Newest means the latest manifest first, then its generations in the manifest's order
    (its newest save, then the one before), so a corrupt newest save falls back to the
    save before it, and then to earlier attempts.

    :param exclude_attempt: leave this attempt out (the attempt that is asking).
    """
    found: list[tuple[float, int, int, StoredCheckpoint]] = []
    for attempt in _attempt_numbers(store, run_id, record_id):
        if attempt == exclude_attempt:
            continue
        doc = read_manifest(store, run_id, record_id, attempt)
        if doc is None:
            continue
        base = checkpoint_key(run_id, record_id, attempt)
        for order, entry in enumerate(doc["entries"][:2]):
            if not isinstance(entry, dict) or not _valid_entry(entry):
                logger.warning("skipping a malformed entry in the checkpoint manifest of %s "
                               "attempt %s in run %s", record_id, attempt, run_id)
                continue
            found.append((float(doc["written_at"]), attempt, -order, StoredCheckpoint(
                run_id=run_id, record_id=record_id, attempt=attempt,
                written_at=float(doc["written_at"]), entry=entry,
                key=f"{base}/{entry['generation']}")))
    found.sort(key=lambda item: item[:3], reverse=True)
    return [item[3] for item in found]


_GENERATION = re.compile(r"^gen-[0-9]{1,9}-[0-9a-f]{8,32}$")


def _valid_entry(entry: dict[str, Any]) -> bool:
    """A manifest entry names a generation folder and a file inside it, nothing else."""
    try:
        return (bool(_GENERATION.match(str(entry["generation"])))
                and entry["kind"] in ("bytes", "file", "directory")
                and isinstance(entry.get("inline", ""), str)
                and isinstance(entry["sha256"], str) and int(entry["size"]) >= 0
                and _safe_name(str(entry["name"])))
    except (KeyError, TypeError, ValueError):
        return False


def _safe_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..") \
        and "\x00" not in name


def lineage(options_of: Callable[[str], dict[str, Any]], run_id: str) -> list[str]:
    """The run, then the runs it was recovered from, up to `MAX_LINEAGE` and without loops.

    :param options_of: reads a run's options (`executor.read_run_options`).
    """
    runs = [run_id]
    while len(runs) < MAX_LINEAGE:
        source = options_of(runs[-1]).get("recovered_from")
        if not isinstance(source, str) or not source or source in runs:
            break
        runs.append(source)
    return runs


def _copy_verified(store: BlobStore, key: str, dest: str, sha256: str, size: int) -> None:
    """Copy one stored file to a local path, hashing it beside the copy; a mismatch
    removes the copy and raises BlobIntegrityError."""
    source = store.path(key)
    if "file" in _protocols(store.fs):
        # Published blobs are never rewritten in place (publishing is a rename), so the
        # hash and the kernel's copy read the same bytes.
        if not os.path.exists(source):
            raise BlobIntegrityError(f"checkpoint file {store.uri(key)} is missing")
        with ThreadPoolExecutor(max_workers=1) as pool:
            hashing = pool.submit(sha256_file, source)
            shutil.copyfile(source, dest)
            copied, digest = os.path.getsize(dest), hashing.result()
    else:
        copied, digest = _stream_verified(store, key, dest)
    if copied != size or digest != sha256:
        os.unlink(dest)
        raise BlobIntegrityError(f"checkpoint file {store.uri(key)} does not match its "
                                 f"manifest ({copied} bytes, expected {size})")


def _stream_verified(store: BlobStore, key: str, dest: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    copied = 0
    try:
        src = store.fs.open(store.path(key), "rb")
    except FileNotFoundError:
        raise BlobIntegrityError(f"checkpoint file {store.uri(key)} is missing") from None
    # hashlib releases the GIL: the hash of one chunk runs while the next is copied.
    with src, open(dest, "wb") as out, ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            copied += len(chunk)
            if pending is not None:
                pending.result()
            pending = pool.submit(digest.update, chunk)
            out.write(chunk)
        if pending is not None:
            pending.result()
    return copied, digest.hexdigest()


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = fs.protocol
    return tuple(proto) if isinstance(proto, (tuple, list)) else (proto,)


def _inline_bytes(found: StoredCheckpoint) -> bytes:
    """The bytes a manifest carries inline, verified against its sha256 and size."""
    try:
        data = base64.b64decode(found.entry["inline"], validate=True)
    except (binascii.Error, ValueError):
        raise BlobIntegrityError("its inline bytes are not base64") from None
    if len(data) != found.size or sha256_bytes(data) != found.entry["sha256"]:
        raise BlobIntegrityError("its inline bytes do not match their recorded sha256")
    return data


def _read_all(source: Any) -> bytes:
    """All bytes of a local path or a binary file object (`read_and_decode`'s decode)."""
    if isinstance(source, str):
        with open(source, "rb") as fh:
            return fh.read()
    return bytes(source.read())


class Checkpoint:
    """The checkpoint of one node attempt: saves go under its own prefix, reads come from
    the newest valid checkpoint of the record's earlier attempts.

    :param store: the run's blob store.
    :param run_id: the run.
    :param record_id: the node id, or `node[i]` for a map element.
    :param attempt: this attempt's number.
    :param task_name: the task, for messages.
    :param policy: the task's checkpoint policy (None: `CheckpointSpec()` defaults).
    :param options_of: reads a run's options, to follow `recovered_from` links.
    :param scratch: a private local folder for restored files.
    :param on_event: receives `checkpoint_written` / `checkpoint_restored` events.
    """

    def __init__(self, store: BlobStore, run_id: str, record_id: str, attempt: int, *,
                 task_name: str, policy: CheckpointSpec | None,
                 options_of: Callable[[str], dict[str, Any]], scratch: str,
                 on_event: EventSink | None = None) -> None:
        self.store, self.run_id, self.record_id, self.attempt = store, run_id, record_id, \
            attempt
        self.task_name = task_name
        self.policy = policy or DEFAULT_POLICY
        self._options_of = options_of
        self._scratch = scratch
        self._on_event = on_event or (lambda kind, payload: None)
        self._candidates: list[StoredCheckpoint] | None = None
        self._restored: StoredCheckpoint | None = None
        self._restored_dir: str | None = None
        self._generations: list[dict[str, Any]] = []
        self._pruned = False
        self._saves = 0

    # -- where ---------------------------------------------------------------------
    @property
    def prefix(self) -> str:
        """The store key under which this attempt saves."""
        return checkpoint_key(self.run_id, self.record_id, self.attempt)

    # -- reading the previous checkpoint -------------------------------------------
    def _previous(self) -> list[StoredCheckpoint]:
        """Candidates, newest first, looked up once per attempt (before its own saves)."""
        if self._candidates is None:
            self._candidates = []
            if self.policy.load == "resume":
                # This attempt's own folder counts too: the lookup runs before its first
                # save, so anything there was left by an earlier process with this number.
                for run in lineage(self._options_of, self.run_id):
                    found = stored_checkpoints(self.store, run, self.record_id)
                    if found:
                        self._candidates = found
                        break
        return self._candidates

    def prev_exists(self) -> bool:
        """Whether an earlier attempt left a checkpoint this attempt can resume from.

        Its presence and size are checked here; its sha256 when it is read or restored,
        which falls back to an older checkpoint (or none) if the bytes do not match.
        """
        for found in self._previous():
            if self._looks_complete(found):
                return True
        return False

    def _looks_complete(self, found: StoredCheckpoint) -> bool:
        if "inline" in found.entry:
            return True
        if found.kind == "directory":
            return self.store.exists(f"{found.key}/dir/.flytepath-manifest.json")
        try:
            return int(self.store.fs.size(self.store.path(f"{found.key}/{found.entry['name']}"))) \
                == found.size
        except FileNotFoundError:
            return False

    def _restore_into(self, found: StoredCheckpoint, dest: str) -> None:
        os.makedirs(dest, exist_ok=True)
        if "inline" in found.entry:
            with open(os.path.join(dest, found.entry["name"]), "wb") as fh:
                fh.write(_inline_bytes(found))
            return
        if found.kind == "directory":
            self.store.download_directory(self.store.uri(f"{found.key}/dir"),
                                          found.entry["sha256"], dest)
            return
        name = found.entry["name"]
        _copy_verified(self.store, f"{found.key}/{name}", os.path.join(dest, name),
                       found.entry["sha256"], found.size)

    def _first_valid(self, use: Callable[[StoredCheckpoint], Any]) -> tuple[
            StoredCheckpoint | None, Any]:
        skipped = 0
        for found in list(self._previous()):
            try:
                value = use(found)
            except (BlobIntegrityError, OSError) as exc:
                skipped += 1
                logger.warning("skipping the checkpoint of %s attempt %s in run %s (%s): %s; "
                               "trying an older one", found.record_id, found.attempt,
                               found.run_id, found.entry["generation"], exc)
                continue
            if self._restored is None:
                self._restored = found
                self._on_event("checkpoint_restored", {
                    "from_run": found.run_id, "from_attempt": found.attempt,
                    "generation": found.entry["generation"], "kind": found.kind,
                    "size": found.size, "sha256": found.entry["sha256"], "skipped": skipped})
                logger.info("%s resumes from the checkpoint of attempt %s in run %s "
                            "(%d bytes)", self.record_id, found.attempt, found.run_id,
                            found.size)
            return found, value
        if skipped:
            logger.warning("no valid checkpoint left for %s: %d skipped; starting fresh",
                           self.record_id, skipped)
        return None, None

    def restore(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Copy the previous checkpoint into a local folder and return that folder.

        A checkpoint saved from bytes appears as `checkpoint.bin`, from a file under its own
        name, from a folder as that folder's contents. None when there is no valid one.

        :param path: the folder to restore into (created); a private scratch folder if None.
        """
        if path is None and self._restored_dir is not None:
            return Path(self._restored_dir)
        dest = str(path) if path is not None else os.path.join(
            self._scratch, f"restored-{uuid.uuid4().hex[:8]}")

        def into(found: StoredCheckpoint) -> str:
            self._restore_into(found, dest)
            return dest

        found, _ = self._first_valid(into)
        if found is None:
            return None
        if path is None:
            self._restored_dir = dest
        return Path(dest)

    def read(self) -> bytes | None:
        """The previous checkpoint's bytes (one file or bytes saved), or None.

        :raises FlytePathUserError: the previous checkpoint is a folder; use `restore()`.
        """
        def as_bytes(found: StoredCheckpoint) -> bytes:
            if found.kind == "directory":
                raise FlytePathUserError(
                    f"task '{self.task_name}': the previous checkpoint of {self.record_id} is "
                    "a folder, which read() cannot return as bytes; use "
                    "current_context().checkpoint.restore(), which returns the folder.")
            if "inline" in found.entry:
                return _inline_bytes(found)
            data = self.store.read_and_decode(
                self.store.uri(f"{found.key}/{found.entry['name']}"), found.entry["sha256"],
                _read_all)
            if len(data) != found.size:
                raise BlobIntegrityError("size does not match its manifest")
            return data

        return self._first_valid(as_bytes)[1]

    def load_state(self, default: Any = None) -> Any:
        """The JSON state `save_state` saved in an earlier attempt, or `default`."""
        data = self.read()
        if data is None:
            return default
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise FlytePathUserError(
                f"task '{self.task_name}': the previous checkpoint of {self.record_id} is not "
                f"the JSON state load_state() expects ({exc}); it was written with write() "
                "or save(); read it with read()."
            ) from None

    # -- saving --------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Save bytes as this attempt's checkpoint (replacing its earlier saves)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FlytePathUserError(
                f"task '{self.task_name}': checkpoint.write() takes bytes, got "
                f"{type(data).__name__}; use save_state() for a JSON value or save() for a "
                "file or folder.")
        if len(data) <= INLINE_MAX_BYTES:
            self._publish("bytes", BYTES_NAME, None, len(data), inline=bytes(data))
            return
        self._publish("bytes", BYTES_NAME, lambda key: self.store.write_bytes(
            f"{key}/{BYTES_NAME}", data)["sha256"], len(data))

    def save_state(self, state: Any) -> None:
        """Save a small JSON-serializable state object (e.g. {"step": 12, "total": 3.5})."""
        try:
            check_json_value(state)
            text = json.dumps(state, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError, InputLimitError) as exc:
            raise FlytePathUserError(
                f"task '{self.task_name}': save_state() needs a JSON value (dicts, lists, "
                f"text, finite numbers, booleans, None): {exc}. Save other data with "
                "save(path) or write(bytes).") from None
        if len(text) > MAX_STATE_CHARS:
            raise FlytePathUserError(
                f"task '{self.task_name}': the state given to save_state() is "
                f"{len(text)} characters, more than {MAX_STATE_CHARS}; save data this large "
                "as a file with save(path).")
        self.write(text.encode("utf-8"))

    def save(self, source: str | os.PathLike[str] | bytes | IO[bytes]) -> None:
        """Save a file, a folder, bytes or a binary stream as this attempt's checkpoint.

        :param source: a path to a file or folder, bytes, or a readable binary file object.
        """
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.write(bytes(source))
            return
        if hasattr(source, "read"):
            self._publish("bytes", BYTES_NAME, lambda key: self._stream(key, source), None)
            return
        path = Path(os.fspath(source))
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            self._publish("directory", "dir", lambda key: self.store.write_directory(
                f"{key}/dir", str(path))["sha256"], size)
            return
        if path.is_file():
            if not _safe_name(path.name):
                raise FlytePathUserError(f"task '{self.task_name}': cannot checkpoint {path}")
            self._publish("file", path.name, lambda key: self.store.write_file(
                f"{key}/{path.name}", str(path))["sha256"], path.stat().st_size)
            return
        raise FlytePathUserError(
            f"task '{self.task_name}': checkpoint.save({str(path)!r}): no such file or "
            "folder. Pass an existing path, bytes, or a binary file object.")

    def _stream(self, key: str, source: Any) -> tuple[str, int]:
        with self.store.open_for_write(f"{key}/{BYTES_NAME}") as writer:
            shutil.copyfileobj(source, writer, _CHUNK)
        assert writer.ref is not None
        return writer.ref["sha256"], writer.tell()

    def _publish(self, kind: str, name: str, write: Callable[[str], Any] | None,
                 size: int | None, inline: bytes | None = None) -> None:
        """Write a new generation (or carry it inline), then the manifest naming it and the
        one before."""
        self._previous()  # look up what came before, before this attempt adds its own
        self._saves += 1
        generation = f"gen-{self._saves}-{uuid.uuid4().hex[:12]}"
        key = f"{self.prefix}/{generation}"
        check_key(key, self.store.root)
        extra: dict[str, Any] = {}
        if inline is not None:
            sha, extra["inline"] = sha256_bytes(inline), base64.b64encode(inline).decode()
        else:
            assert write is not None
            written = write(key)
            sha, size = (written if isinstance(written, tuple) else (written, size))
        entry = {"generation": generation, "kind": kind, "name": name, "sha256": sha,
                 "size": int(size or 0), **extra}
        entries = [entry, *self._generations[-1:]]
        self.store.write_json(f"{self.prefix}/{MANIFEST}", {
            "format": MANIFEST_FORMAT, "run_id": self.run_id, "node": self.record_id,
            "attempt": self.attempt, "written_at": time.time(), "entries": entries})
        for old in self._generations[:-1]:
            if "inline" not in old:
                self.store.delete_prefix(f"{self.prefix}/{old['generation']}")
        self._generations = entries[::-1]
        self._on_event("checkpoint_written", {
            "generation": generation, "kind": kind, "size": entry["size"], "sha256": sha})
        if not self._pruned:
            self._pruned = True
            prune_attempts(self.store, self.run_id, self.record_id, self.policy.keep,
                           keep_attempt=self.attempt)


def prune_attempts(store: BlobStore, run_id: str, record_id: str, keep: int,
                   keep_attempt: int | None = None) -> list[int]:
    """Delete the checkpoints of all but the `keep` newest attempts of a record.

    :param keep_attempt: an attempt that stays whatever its number (the one saving).
    :returns: the attempts whose checkpoints were deleted.
    """
    attempts = _attempt_numbers(store, run_id, record_id)
    kept = set(attempts[-keep:]) | ({keep_attempt} if keep_attempt is not None else set())
    deleted = [a for a in attempts if a not in kept]
    for attempt in deleted:
        store.delete_prefix(checkpoint_key(run_id, record_id, attempt))
    return deleted


@dataclass(frozen=True)
class AttemptCheckpoint:
    """What one attempt keeps in the store: for `flytepath checkpoints list` and retention.

    :param run_id: the run.
    :param record_id: the node, or `node[i]`.
    :param attempt: the attempt.
    :param size: bytes under its checkpoint folder (every generation kept, the manifest).
    :param written_at: when its manifest was last published; None when it has none (a save
        that never finished), which counts as oldest.
    """

    run_id: str
    record_id: str
    attempt: int
    size: int
    written_at: float | None


def _children(store: BlobStore, key: str) -> list[str]:
    try:
        return sorted(str(p).rstrip("/").rpartition("/")[2]
                      for p in store.fs.ls(store.path(key), detail=False))
    except (FileNotFoundError, NotADirectoryError):
        return []


def run_checkpoints(store: BlobStore, run_id: str) -> list[AttemptCheckpoint]:
    """Every attempt with a checkpoint folder in a run, by node then attempt."""
    found = []
    for record in _children(store, f"runs/{run_id}/nodes"):
        for attempt in _attempt_numbers(store, run_id, record):
            prefix = store.path(checkpoint_key(run_id, record, attempt))
            try:
                size = int(store.fs.du(prefix, total=True))
            except FileNotFoundError:
                continue
            doc = read_manifest(store, run_id, record, attempt)
            found.append(AttemptCheckpoint(run_id, record, attempt, size,
                                           float(doc["written_at"]) if doc else None))
    return found


def runs_with_checkpoints(store: BlobStore) -> list[str]:
    """Ids of the runs in the store that hold at least one checkpoint folder."""
    return [run for run in _children(store, "runs") if run_checkpoints(store, run)]


def clear_checkpoints(store: BlobStore, run_id: str) -> tuple[int, int]:
    """Delete every checkpoint of a run; its outputs and errors stay.

    :returns: (attempts cleared, bytes freed).
    """
    found = run_checkpoints(store, run_id)
    for item in found:
        store.delete_prefix(checkpoint_key(run_id, item.record_id, item.attempt))
    return len(found), sum(item.size for item in found)


class DisabledCheckpoint:
    """The checkpoint of a task whose policy turns checkpoints off: every call refuses."""

    def __init__(self, task_name: str) -> None:
        self.task_name = task_name

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise FlytePathUserError(
            f"task '{self.task_name}' has checkpoints turned off (checkpoint=False in its "
            "spec), so current_context().checkpoint cannot be used: every attempt starts "
            "over. Remove checkpoint=False from the task to save and resume.")

    prev_exists = restore = read = write = save = save_state = load_state = _refuse


__all__ = [
    "AttemptCheckpoint",
    "Checkpoint",
    "DisabledCheckpoint",
    "StoredCheckpoint",
    "checkpoint_key",
    "clear_checkpoints",
    "lineage",
    "prune_attempts",
    "read_manifest",
    "run_checkpoints",
    "runs_with_checkpoints",
    "stored_checkpoints",
]
