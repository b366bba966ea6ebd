"""`File` and `Directory` handles, and the transformers that store them as blobs.

A task returns `File("/local/path")` and the engine uploads it through the BlobContext;
the literal is `{"uri": ..., "sha256": ...}` (for a directory the sha256 covers a sorted
manifest of its files). A task that receives a File gets a handle that downloads on first
use of `.path` (or `.open()`), through the context it was decoded with. Passing a
received File on as an output re-uses the stored blob without copying it.

`File("s3://bucket/key")` (any fsspec URI that is not in the blob store yet) is copied
into the blob store when it is encoded, so that it gets a content hash.

Must not import: airflow, kubernetes, pandas, pyarrow, stores.
"""

from __future__ import annotations

import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from flytepath_airflow.errors import FlytePathUserError, LiteralValueError
from flytepath_airflow.ir.models import LiteralType
from flytepath_airflow.types._blobs import blob_name, need_ctx, ref_of
from flytepath_airflow.types._make import blob_type
from flytepath_airflow.types.context import BlobContext, BlobRef
from flytepath_airflow.types.engine import TypeEngine, TypeTransformer

__all__ = ["Directory", "DirectoryTransformer", "File", "FileTransformer"]

_WRITE_MODES = set("wax+")


def _split_location(path_or_uri: str | os.PathLike[str]) -> tuple[str | None, str | None]:
    """(local path, remote URI): exactly one is set."""
    text = os.fspath(path_or_uri)
    if not isinstance(text, str):
        raise TypeError(f"expected a path or URI string, got {type(text).__name__}")
    scheme = urllib.parse.urlsplit(text).scheme if "://" in text else ""
    if scheme == "file":
        return urllib.request.url2pathname(urllib.parse.urlsplit(text).path), None
    if scheme:
        return None, text
    return text, None


class _BlobHandle(os.PathLike[str]):
    """What File and Directory share: where the data is, and lazy local access."""

    _kind = "blob"

    def __init__(self, path_or_uri: str | os.PathLike[str]) -> None:
        self._source, self._remote = _split_location(path_or_uri)
        self._ref: BlobRef | None = None
        self._ctx: BlobContext | None = None
        self._local: str | None = None

    @classmethod
    def from_ref(cls, ref: BlobRef, ctx: BlobContext) -> Any:
        """A handle to published data, downloaded through `ctx` on first local access."""
        handle = cls.__new__(cls)
        handle._source = None
        handle._remote = None
        handle._ref = {"uri": ref["uri"], "sha256": ref["sha256"]}
        handle._ctx = ctx
        handle._local = None
        return handle

    @property
    def uri(self) -> str | None:
        """Where the data is stored: the blob-store URI once published, the remote URI it
        was created with, or None for local data that is not uploaded yet."""
        if self._ref is not None:
            return self._ref["uri"]
        return self._remote

    @property
    def sha256(self) -> str | None:
        """The content digest once published (None before)."""
        return None if self._ref is None else self._ref["sha256"]

    @property
    def ref(self) -> BlobRef | None:
        """The published pointer (`uri` + `sha256`), or None before publishing."""
        return None if self._ref is None else dict(self._ref)  # type: ignore[return-value]

    @property
    def path(self) -> str:
        """A local path to the data; published or remote data is downloaded on first access."""
        if self._source is not None:
            return self._source
        if self._local is None:
            if self._ref is not None:
                assert self._ctx is not None  # from_ref always sets it
                self._local = self._download(self._ctx, self._ref)
            else:
                assert self._remote is not None
                self._local = self._fetch_remote(tempfile.mkdtemp(prefix="flytepath-"))
        return self._local

    def __fspath__(self) -> str:
        return self.path

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _BlobHandle)
        if self.sha256 is not None and other.sha256 is not None:
            return self.sha256 == other.sha256
        if self._source is not None and other._source is not None:
            return os.path.abspath(self._source) == os.path.abspath(other._source)
        if self._remote is not None and self._remote == other._remote:
            return True
        return self is other

    __hash__ = None  # type: ignore[assignment]  # equality can change when published

    def __repr__(self) -> str:
        where = self.uri or self._source
        return f"{type(self).__name__}({where!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Let pydantic models hold handles without `arbitrary_types_allowed`."""
        from pydantic_core import core_schema

        return core_schema.is_instance_schema(cls)

    # Subclasses say how data moves.
    def _download(self, ctx: BlobContext, ref: BlobRef) -> str:
        raise NotImplementedError

    def _fetch_remote(self, into: str) -> str:
        raise NotImplementedError

    def _publish(self, ctx: BlobContext, name: str) -> BlobRef:
        raise NotImplementedError

    def _encode(self, ctx: BlobContext | None, name: str) -> dict[str, Any]:
        if self._source is None and self._ref is not None:
            return dict(self._ref)  # already published: pass it on, no copy
        ctx = need_ctx(ctx, type(self).__name__, name, "storing")
        ref = self._publish(ctx, name)
        self._ref = {"uri": ref["uri"], "sha256": ref["sha256"]}
        return dict(self._ref)


class File(_BlobHandle):
    """A file: a local path a task produced, or a handle to a stored file.

    :param path_or_uri: a local path, a `file://` URI, or any fsspec URI (`s3://...`).

    `path` gives a local path (downloading a stored file on first access), `uri` where it
    is stored, `open(mode)` opens it.
    """

    _kind = "file"

    def open(self, mode: str = "r", **kwargs: Any) -> IO[Any]:
        """Open the file. Writing is for files the task creates; stored files are immutable."""
        if _WRITE_MODES & set(mode) and self._source is None:
            raise FlytePathUserError(
                f"{self!r} is stored and immutable, so it cannot be opened with mode "
                f"{mode!r}. Write a new local file and return File(path) instead."
            )
        if self._source is not None and _WRITE_MODES & set(mode):
            Path(self._source).parent.mkdir(parents=True, exist_ok=True)
        return open(self.path, mode, **kwargs)

    def _download(self, ctx: BlobContext, ref: BlobRef) -> str:
        return ctx.download_file(ref)

    def _fetch_remote(self, into: str) -> str:
        import fsspec.core

        assert self._remote is not None
        fs, remote_path = fsspec.core.url_to_fs(self._remote)
        local = os.path.join(into, os.path.basename(remote_path.rstrip("/")) or "file")
        fs.get_file(remote_path, local)
        return local

    def _publish(self, ctx: BlobContext, name: str) -> BlobRef:
        local = self._source
        if local is None:
            local = self._fetch_remote(tempfile.mkdtemp(dir=ctx.scratch_dir()))
        if not os.path.isfile(local):
            hint = " It is a directory: use Directory." if os.path.isdir(local) else ""
            raise LiteralValueError(
                f"{name}: the File {local!r} does not exist or is not a regular file.{hint}"
            )
        return ctx.write_file(blob_name(name, Path(local).suffix), local)


class Directory(_BlobHandle):
    """A directory tree: a local directory a task produced, or a handle to a stored one.

    :param path_or_uri: a local path, a `file://` URI, or any fsspec URI (`s3://...`).

    `path` gives a local directory (downloading on first access); iterating yields a
    `File` for every file in it, recursively, sorted by relative path.
    """

    _kind = "directory"

    def __iter__(self) -> Iterator[File]:
        root = Path(self.path)
        files = (p for p in root.rglob("*") if p.is_file())
        for p in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
            yield File(str(p))

    def _download(self, ctx: BlobContext, ref: BlobRef) -> str:
        return ctx.download_directory(ref)

    def _fetch_remote(self, into: str) -> str:
        import fsspec.core

        assert self._remote is not None
        fs, root = fsspec.core.url_to_fs(self._remote)
        root = root.rstrip("/")
        for remote_file in fs.find(root):
            rel = remote_file[len(root) :].lstrip("/")
            local = os.path.join(into, *rel.split("/"))
            os.makedirs(os.path.dirname(local), exist_ok=True)
            fs.get_file(remote_file, local)
        return into

    def _publish(self, ctx: BlobContext, name: str) -> BlobRef:
        local = self._source
        if local is None:
            local = self._fetch_remote(tempfile.mkdtemp(dir=ctx.scratch_dir()))
        if not os.path.isdir(local):
            raise LiteralValueError(
                f"{name}: the Directory {local!r} does not exist or is not a directory."
            )
        return ctx.write_directory(blob_name(name), local)


class _HandleTransformer(TypeTransformer[Any]):
    handle: type[_BlobHandle] = _BlobHandle

    def matches(self, py_type: Any) -> bool:
        return isinstance(py_type, type) and issubclass(py_type, self.handle)

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return blob_type(self.handle._kind)

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        if not isinstance(value, self.handle):
            kind = self.handle.__name__
            hint = f" Return {kind}(path) rather than a bare path." if isinstance(
                value, (str, os.PathLike)
            ) else ""
            raise LiteralValueError(
                f"{name}: expected {kind}, got {type(value).__name__} {value!r}.{hint}"
            )
        return value._encode(ctx, name)

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> Any:
        kind = self.handle.__name__
        if not isinstance(literal, dict) or "uri" not in literal or "sha256" not in literal:
            raise LiteralValueError(
                f'cannot decode {literal!r} as {kind}: expected {{"uri": ..., "sha256": ...}}.'
            )
        ctx = need_ctx(ctx, kind, str(literal["uri"]), "reading")
        return self.handle.from_ref(ref_of(literal), ctx)


class FileTransformer(_HandleTransformer):
    """`File` <-> `{"uri", "sha256"}` (BlobType dimensionality "file")."""

    name = "file"
    handle = File


class DirectoryTransformer(_HandleTransformer):
    """`Directory` <-> `{"uri", "sha256"}` (BlobType dimensionality "directory")."""

    name = "directory"
    handle = Directory
