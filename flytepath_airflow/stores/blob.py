"""The blob store: bytes under a root URI (a local directory or any fsspec URL).

Every write is an atomic publish: bytes go to a temporary key next to the final one and
are moved into place only when complete, so a reader never sees half a blob. Every blob
has a sha256 recorded by its writer and verified by its reader.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from fsspec.core import url_to_fs

from flytepath_airflow.config import load_settings
from flytepath_airflow.errors import DiskFullError, FlytePathSystemError, FlytePathUserError
from flytepath_airflow.types.context import BlobRef
from flytepath_airflow.utils.atomic import is_disk_full

logger = logging.getLogger(__name__)

T = TypeVar("T")

_CHUNK = 1 << 20
_PARALLEL_HASH_MIN = 16 << 20
"""From this size on, hashing runs in a thread beside the write or the decode
(hashlib releases the GIL), so the sha256 costs little wall time on a second core."""


class BlobIntegrityError(FlytePathSystemError):
    """A blob is missing, or its bytes do not match the sha256 its writer recorded."""


MAX_SEGMENT_BYTES = 200
"""Longest key segment: 255 bytes a file name may have, less the `.tmp-<uuid>-` prefix."""


class UnsafeKeyError(FlytePathUserError):
    """A key could name something outside the store root (`..`, absolute, `\\`, NUL)."""


def check_key(key: str, root: str) -> str:
    """`key` when it is a relative, '/'-separated path that stays under the root.

    Names are validated where they enter (`ir.names`, ADR 0033); this is the second line:
    whatever a key is made of, the store never resolves it outside its root.

    :param key: the key, e.g. `runs/<run_id>/nodes/<node>/outputs.json`.
    :param root: the store root, for the message.
    :raises UnsafeKeyError: the key is empty, absolute, has an empty, `.` or `..` segment,
        a segment over MAX_SEGMENT_BYTES, a backslash or a control character.
    """
    problem = None
    if not isinstance(key, str) or not key:
        problem = "it is empty"
    elif key.startswith("/") or (len(key) > 1 and key[1] == ":"):
        problem = "it is absolute"
    elif "\\" in key:
        problem = "it contains a backslash"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        problem = "it contains a control character (NUL, newline, ...)"
    else:
        segments = key.split("/")
        if ".." in segments:
            problem = "it has a '..' segment"
        elif "." in segments or "" in segments[:-1] or segments[-1] == "":
            problem = "it has an empty or '.' segment"
        elif any(len(s.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES
                 for s in segments):
            problem = (f"a segment is longer than {MAX_SEGMENT_BYTES} bytes (filesystems "
                       "allow 255, and publishing adds a temporary prefix)")
    if problem is None:
        return key
    shown = key if not isinstance(key, str) or len(key) <= 120 else key[:117] + "..."
    raise UnsafeKeyError(
        f"blob key {shown!r} is refused by the store at {root}: {problem}, so it could name "
        "a path outside the store. Keys are relative paths of validated names; check the "
        "project, domain, workflow, node and run id names that built it (see 'Names' in "
        "docs/concepts.md)."
    )


def sha256_bytes(data: bytes | memoryview) -> str:
    """The sha256 hex digest of `data`."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str) -> str:
    """The sha256 hex digest of a local file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_home() -> Path:
    """The FlytePath home (`config.load_settings`: FLYTEPATH_HOME, ..., ~/.flytepath)."""
    return load_settings().home


def default_root() -> str:
    """The configured store root (`config.load_settings`: FLYTEPATH_STORE_ROOT, ...)."""
    return load_settings().store_root


class BlobStore:
    """Keys (slash-separated, relative) under a root URI, published atomically.

    A write into a full store (ENOSPC, EDQUOT) removes its temporary key and raises
    `DiskFullError`, which names the store and what to do.
    """

    def __init__(self, root: str) -> None:
        if "://" not in root:
            root = str(Path(root).expanduser().resolve())
        self.root = root.rstrip("/")
        self.fs, self._root_path = url_to_fs(self.root)
        self._local = "file" in _protocols(self.fs)

    # -- addressing -------------------------------------------------------------
    def path(self, key: str) -> str:
        """The filesystem path (without protocol) of a key.

        :raises UnsafeKeyError: the key could name something outside the root.
        """
        return f"{self._root_path}/{check_key(key, self.root)}"

    def uri(self, key: str) -> str:
        """The full URI of a key, as recorded in pointers; the empty key gives the root's."""
        if key == "":
            return str(self.fs.unstrip_protocol(self._root_path))
        return str(self.fs.unstrip_protocol(self.path(key)))

    # -- writing ------------------------------------------------------------------
    @contextmanager
    def _full_store_is_an_error(self) -> Iterator[None]:
        """Turn a full disk under the store into one clear error (temp keys are removed by
        the write methods before it gets here)."""
        try:
            yield
        except OSError as exc:
            if isinstance(exc, DiskFullError) or not is_disk_full(exc):
                raise
            raise DiskFullError(
                f"the store at {self.root} is full ({exc.strerror or exc}): free space or "
                "point FLYTEPATH_STORE_ROOT elsewhere"
            ) from exc

    def _publish(self, tmp_path: str, final_path: str) -> None:
        if self._local:
            os.replace(tmp_path, final_path)
        else:
            self.fs.mv(tmp_path, final_path)

    def _tmp_for(self, final_path: str) -> str:
        parent, _, name = final_path.rpartition("/")
        return f"{parent}/.tmp-{uuid.uuid4().hex}-{name}"

    def write_bytes(self, key: str, data: bytes | memoryview) -> BlobRef:
        """Publish `data` at `key` atomically and return its reference."""
        with self._full_store_is_an_error():
            return self._write_bytes(key, data)

    def _write_bytes(self, key: str, data: bytes | memoryview) -> BlobRef:
        final = self.path(key)
        self.fs.makedirs(final.rpartition("/")[0], exist_ok=True)
        tmp = self._tmp_for(final)
        with ThreadPoolExecutor(max_workers=1) as pool:
            digest = pool.submit(sha256_bytes, data) if len(data) >= _PARALLEL_HASH_MIN \
                else None
            try:
                with self.fs.open(tmp, "wb") as fh:
                    fh.write(data)
                self._publish(tmp, final)
            except BaseException:
                _remove_quietly(self.fs, tmp)
                raise
            sha = digest.result() if digest is not None else sha256_bytes(data)
        return BlobRef(uri=self.uri(key), sha256=sha)

    @contextmanager
    def open_for_write(self, key: str) -> Iterator[HashingWriter]:
        """A file-like writer that hashes what it is given; published when the block ends.

        On an exception nothing is published. The reference is `writer.ref` afterwards.
        """
        with self._full_store_is_an_error():
            with self._open_for_write(key) as writer:
                yield writer

    @contextmanager
    def _open_for_write(self, key: str) -> Iterator[HashingWriter]:
        final = self.path(key)
        self.fs.makedirs(final.rpartition("/")[0], exist_ok=True)
        tmp = self._tmp_for(final)
        try:
            with self.fs.open(tmp, "wb") as fh:
                writer = HashingWriter(fh)
                yield writer
            self._publish(tmp, final)
        except BaseException:
            _remove_quietly(self.fs, tmp)
            raise
        writer.ref = BlobRef(uri=self.uri(key), sha256=writer.digest.hexdigest())

    def write_file(self, key: str, local_path: str) -> BlobRef:
        """Publish a local file at `key` atomically and return its reference."""
        with self._full_store_is_an_error():
            return self._write_file(key, local_path)

    def _write_file(self, key: str, local_path: str) -> BlobRef:
        final = self.path(key)
        self.fs.makedirs(final.rpartition("/")[0], exist_ok=True)
        tmp = self._tmp_for(final)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # A large file is hashed beside the copy (both read it from the page cache).
            hashing = pool.submit(sha256_file, local_path) \
                if os.path.getsize(local_path) >= _PARALLEL_HASH_MIN else None
            digest = sha256_file(local_path) if hashing is None else None
            try:
                if self._local:
                    shutil.copyfile(local_path, tmp)
                else:
                    self.fs.put_file(local_path, tmp)
                digest = digest or (hashing.result() if hashing is not None else None)
                self._publish(tmp, final)
            except BaseException:
                _remove_quietly(self.fs, tmp)
                raise
        assert digest is not None
        return BlobRef(uri=self.uri(key), sha256=digest)

    def write_directory(self, key: str, local_dir: str) -> BlobRef:
        """Publish a directory tree; its sha256 is that of a sorted manifest, written last."""
        base = Path(local_dir)
        manifest: dict[str, str] = {}
        for file in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = file.relative_to(base).as_posix()
            manifest[rel] = self.write_file(f"{key}/{rel}", str(file))["sha256"]
        data = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        self.write_bytes(f"{key}/.flytepath-manifest.json", data)
        return BlobRef(uri=self.uri(key), sha256=sha256_bytes(data))

    def write_json(self, key: str, doc: Any) -> BlobRef:
        """Publish a JSON document atomically."""
        return self.write_bytes(key, json.dumps(doc, sort_keys=True, indent=1).encode())

    # -- reading --------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        """Whether a key has been published."""
        return bool(self.fs.exists(self.path(key)))

    def read_json(self, key: str) -> Any:
        """Read a published JSON document (FileNotFoundError when absent)."""
        with self.fs.open(self.path(key), "rb") as fh:
            return json.loads(fh.read())

    def read_uri(self, uri: str, sha256: str | None = None) -> bytes:
        """Read a blob by URI, verifying its sha256 when given."""
        fs, path = url_to_fs(uri)
        try:
            with fs.open(path, "rb") as fh:
                data: bytes = fh.read()
        except FileNotFoundError:
            raise BlobIntegrityError(f"blob {uri} is missing from the store") from None
        if sha256 is not None and sha256_bytes(data) != sha256:
            raise BlobIntegrityError(_mismatch(uri))
        return data

    def read_and_decode(self, uri: str, sha256: str, decode: Callable[[Any], T]) -> T:
        """Decode a blob while its sha256 is verified in a thread beside the decode.

        `decode` receives a local path when the blob is on a local filesystem, else a
        binary file object. The decoded value is returned only when the bytes match;
        otherwise BlobIntegrityError, and the decoded value is dropped.
        """
        fs, path = url_to_fs(uri)
        local = "file" in _protocols(fs)
        # Locally the hash and the decode read the file separately; published blobs are
        # never rewritten in place (publishing is a rename), so both see the same bytes.
        if local:
            if not os.path.exists(path):
                raise BlobIntegrityError(f"blob {uri} is missing from the store")
            hashing: Callable[[], str] = lambda: sha256_file(path)  # noqa: E731
            source: Any = path
        else:
            data = self.read_uri(uri)
            hashing = lambda: sha256_bytes(data)  # noqa: E731
            source = io.BytesIO(data)
        with ThreadPoolExecutor(max_workers=1) as pool:
            digest = pool.submit(hashing)
            try:
                value = decode(source)
            except Exception:
                if digest.result() != sha256:
                    raise BlobIntegrityError(_mismatch(uri)) from None
                raise
            if digest.result() != sha256:
                raise BlobIntegrityError(_mismatch(uri))
        return value

    def download_uri(self, uri: str, sha256: str, dest: str) -> str:
        """Copy a blob to a local path, verifying its sha256."""
        fs, path = url_to_fs(uri)
        try:
            fs.get_file(path, dest)
        except FileNotFoundError:
            raise BlobIntegrityError(f"blob {uri} is missing from the store") from None
        if sha256_file(dest) != sha256:
            raise BlobIntegrityError(f"blob {uri} does not match its recorded sha256")
        return dest

    def download_directory(self, uri: str, sha256: str, dest: str) -> str:
        """Copy a published directory to `dest`, verifying the manifest and every file."""
        manifest_bytes = self.read_uri(f"{uri}/.flytepath-manifest.json", sha256)
        manifest: dict[str, str] = json.loads(manifest_bytes)
        for rel, digest in manifest.items():
            check_key(rel, f"{uri} (manifest entry)")
            target = Path(dest) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            self.download_uri(f"{uri}/{rel}", digest, str(target))
        return dest

    def delete_prefix(self, key: str) -> None:
        """Remove everything under a key prefix (used by eviction and cleanup)."""
        path = self.path(key)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)


class HashingWriter(io.RawIOBase):
    """A write-only file object that computes the sha256 of everything written to it."""

    def __init__(self, target: Any) -> None:
        super().__init__()
        self._target = target
        self.digest = hashlib.sha256()
        self.ref: BlobRef | None = None
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self._target.write(view)
        self._size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self._size


class NodeBlobContext:
    """A `BlobContext` for one node attempt: writes go under its attempt prefix."""

    def __init__(self, store: BlobStore, prefix: str, scratch: str | None = None) -> None:
        self.store = store
        self.prefix = prefix.strip("/")
        self._scratch = scratch

    def write_bytes(self, name: str, data: bytes | memoryview) -> BlobRef:
        """Publish bytes as `<prefix>/<name>`."""
        return self.store.write_bytes(f"{self.prefix}/{name}", data)

    @contextmanager
    def open_for_write(self, name: str) -> Iterator[HashingWriter]:
        """Stream a new blob `<prefix>/<name>`; see BlobStore.open_for_write."""
        with self.store.open_for_write(f"{self.prefix}/{name}") as writer:
            yield writer

    def write_file(self, name: str, local_path: str) -> BlobRef:
        """Publish a local file as `<prefix>/<name>`."""
        return self.store.write_file(f"{self.prefix}/{name}", local_path)

    def write_directory(self, name: str, local_dir: str) -> BlobRef:
        """Publish a local directory as `<prefix>/<name>/`."""
        return self.store.write_directory(f"{self.prefix}/{name}", local_dir)

    def read_bytes(self, ref: BlobRef) -> bytes:
        """Read and verify a blob."""
        return self.store.read_uri(ref["uri"], ref["sha256"])

    def read_and_decode(self, ref: BlobRef, decode: Callable[[Any], T]) -> T:
        """Read a blob and decode it, verifying its sha256 beside the decode."""
        return self.store.read_and_decode(ref["uri"], ref["sha256"], decode)

    def download_file(self, ref: BlobRef) -> str:
        """Download and verify a file into scratch."""
        name = ref["uri"].rstrip("/").rpartition("/")[2] or "file"
        dest = os.path.join(self.scratch_dir(), f"{ref['sha256'][:12]}-{name}")
        if not os.path.exists(dest):
            self.store.download_uri(ref["uri"], ref["sha256"], dest)
        return dest

    def download_directory(self, ref: BlobRef) -> str:
        """Download and verify a directory into scratch."""
        dest = os.path.join(self.scratch_dir(), f"dir-{ref['sha256'][:12]}")
        if not os.path.exists(dest):
            self.store.download_directory(ref["uri"], ref["sha256"], dest)
        return dest

    def scratch_dir(self) -> str:
        """A private local temporary directory (created on first use)."""
        if self._scratch is None:
            self._scratch = tempfile.mkdtemp(prefix="flytepath-")
        os.makedirs(self._scratch, exist_ok=True)
        return self._scratch


def _mismatch(uri: str) -> str:
    return (f"blob {uri} does not match its recorded sha256 (it was truncated or modified "
            "after it was written)")


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = fs.protocol
    return tuple(proto) if isinstance(proto, (tuple, list)) else (proto,)


def _remove_quietly(fs: Any, path: str) -> None:
    try:
        if fs.exists(path):
            fs.rm(path)
    except OSError:  # best effort: a leftover temp key is never read
        logger.debug("could not remove temporary blob %s", path)


__all__ = [
    "BlobIntegrityError",
    "BlobStore",
    "NodeBlobContext",
    "default_home",
    "default_root",
    "sha256_bytes",
    "sha256_file",
]
