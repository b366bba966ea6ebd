"""The blob store: bytes under a root URI (a local directory or any fsspec URL).

Every write is an atomic publish: bytes go to a temporary key next to the final one and
are moved into place only when complete, so a reader never sees half a blob. Every blob
has a sha256 recorded by its writer and verified by its reader.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from fsspec.core import url_to_fs

from flytepath_airflow.errors import FlytePathSystemError
from flytepath_airflow.types.context import BlobRef

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


class BlobIntegrityError(FlytePathSystemError):
    """A blob is missing, or its bytes do not match the sha256 its writer recorded."""


def sha256_bytes(data: bytes) -> str:
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
    """FLYTEPATH_HOME, defaulting to ~/.flytepath."""
    return Path(os.environ.get("FLYTEPATH_HOME") or Path.home() / ".flytepath").expanduser()


def default_root() -> str:
    """The default store root: FLYTEPATH_STORE_ROOT, else $FLYTEPATH_HOME/store."""
    return os.environ.get("FLYTEPATH_STORE_ROOT") or str(default_home() / "store")


class BlobStore:
    """Keys (slash-separated, relative) under a root URI, published atomically."""

    def __init__(self, root: str) -> None:
        if "://" not in root:
            root = str(Path(root).expanduser().resolve())
        self.root = root.rstrip("/")
        self.fs, self._root_path = url_to_fs(self.root)
        self._local = "file" in _protocols(self.fs)

    # -- addressing -------------------------------------------------------------
    def path(self, key: str) -> str:
        """The filesystem path (without protocol) of a key."""
        return f"{self._root_path}/{key.lstrip('/')}"

    def uri(self, key: str) -> str:
        """The full URI of a key, as recorded in pointers."""
        return str(self.fs.unstrip_protocol(self.path(key)))

    # -- writing ------------------------------------------------------------------
    def _publish(self, tmp_path: str, final_path: str) -> None:
        if self._local:
            os.replace(tmp_path, final_path)
        else:
            self.fs.mv(tmp_path, final_path)

    def _tmp_for(self, final_path: str) -> str:
        parent, _, name = final_path.rpartition("/")
        return f"{parent}/.tmp-{uuid.uuid4().hex}-{name}"

    def write_bytes(self, key: str, data: bytes) -> BlobRef:
        """Publish `data` at `key` atomically and return its reference."""
        final = self.path(key)
        self.fs.makedirs(final.rpartition("/")[0], exist_ok=True)
        tmp = self._tmp_for(final)
        try:
            with self.fs.open(tmp, "wb") as fh:
                fh.write(data)
            self._publish(tmp, final)
        except BaseException:
            _remove_quietly(self.fs, tmp)
            raise
        return BlobRef(uri=self.uri(key), sha256=sha256_bytes(data))

    def write_file(self, key: str, local_path: str) -> BlobRef:
        """Publish a local file at `key` atomically and return its reference."""
        final = self.path(key)
        self.fs.makedirs(final.rpartition("/")[0], exist_ok=True)
        tmp = self._tmp_for(final)
        digest = sha256_file(local_path)
        try:
            if self._local:
                shutil.copyfile(local_path, tmp)
            else:
                self.fs.put_file(local_path, tmp)
            self._publish(tmp, final)
        except BaseException:
            _remove_quietly(self.fs, tmp)
            raise
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
            raise BlobIntegrityError(
                f"blob {uri} does not match its recorded sha256 (it was truncated or "
                "modified after it was written)"
            )
        return data

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
            target = Path(dest) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            self.download_uri(f"{uri}/{rel}", digest, str(target))
        return dest

    def delete_prefix(self, key: str) -> None:
        """Remove everything under a key prefix (used by eviction and cleanup)."""
        path = self.path(key)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)


class NodeBlobContext:
    """A `BlobContext` for one node attempt: writes go under its attempt prefix."""

    def __init__(self, store: BlobStore, prefix: str, scratch: str | None = None) -> None:
        self.store = store
        self.prefix = prefix.strip("/")
        self._scratch = scratch

    def write_bytes(self, name: str, data: bytes) -> BlobRef:
        """Publish bytes as `<prefix>/<name>`."""
        return self.store.write_bytes(f"{self.prefix}/{name}", data)

    def write_file(self, name: str, local_path: str) -> BlobRef:
        """Publish a local file as `<prefix>/<name>`."""
        return self.store.write_file(f"{self.prefix}/{name}", local_path)

    def write_directory(self, name: str, local_dir: str) -> BlobRef:
        """Publish a local directory as `<prefix>/<name>/`."""
        return self.store.write_directory(f"{self.prefix}/{name}", local_dir)

    def read_bytes(self, ref: BlobRef) -> bytes:
        """Read and verify a blob."""
        return self.store.read_uri(ref["uri"], ref["sha256"])

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
