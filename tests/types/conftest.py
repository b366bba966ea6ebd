"""Fixtures for the type engine tests: real local-disk blob storage over a tmp dir."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from flytepath_airflow.types import BlobRef, TypeEngine, builtin_engine


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def directory_digest(root: Path) -> str:
    """sha256 of the sorted manifest "relpath<TAB>sha256" of every file under root."""
    lines = sorted(
        f"{p.relative_to(root).as_posix()}\t{_sha256_file(p)}"
        for p in root.rglob("*")
        if p.is_file()
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class LocalDirBlobContext:
    """A BlobContext that publishes into `<root>/store` and downloads into `<root>/scratch`.

    Writes are atomic (temporary name, then rename); reads verify the sha256.
    """

    def __init__(self, root: Path) -> None:
        self.store = root / "store"
        self.scratch = root / "scratch"
        self.store.mkdir(parents=True, exist_ok=True)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.writes: list[str] = []

    def _target(self, name: str) -> Path:
        assert "/" not in name and name not in ("", ".", ".."), name
        return self.store / name

    def _publish(self, tmp: Path, name: str, sha: str) -> BlobRef:
        target = self._target(name)
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(tmp, target)
        self.writes.append(name)
        return {"uri": target.as_uri(), "sha256": sha}

    def write_bytes(self, name: str, data: bytes) -> BlobRef:
        tmp = Path(tempfile.mkstemp(dir=self.store, prefix=".tmp-")[1])
        tmp.write_bytes(data)
        return self._publish(tmp, name, hashlib.sha256(data).hexdigest())

    def write_file(self, name: str, local_path: str) -> BlobRef:
        tmp = Path(tempfile.mkstemp(dir=self.store, prefix=".tmp-")[1])
        shutil.copyfile(local_path, tmp)
        return self._publish(tmp, name, _sha256_file(tmp))

    def write_directory(self, name: str, local_dir: str) -> BlobRef:
        tmp = Path(tempfile.mkdtemp(dir=self.store, prefix=".tmp-")) / "d"
        shutil.copytree(local_dir, tmp)
        ref = self._publish(tmp, name, directory_digest(tmp))
        tmp.parent.rmdir()
        return ref

    def _path(self, ref: BlobRef) -> Path:
        from urllib.parse import urlsplit
        from urllib.request import url2pathname

        return Path(url2pathname(urlsplit(ref["uri"]).path))

    def read_bytes(self, ref: BlobRef) -> bytes:
        data = self._path(ref).read_bytes()
        if hashlib.sha256(data).hexdigest() != ref["sha256"]:
            raise OSError(f"blob {ref['uri']} does not match its sha256")
        return data

    def download_file(self, ref: BlobRef) -> str:
        target = self.scratch / ref["sha256"] / self._path(ref).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._path(ref), target)
        if _sha256_file(target) != ref["sha256"]:
            raise OSError(f"blob {ref['uri']} does not match its sha256")
        return str(target)

    def download_directory(self, ref: BlobRef) -> str:
        target = self.scratch / ref["sha256"] / self._path(ref).name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self._path(ref), target)
        if directory_digest(target) != ref["sha256"]:
            raise OSError(f"directory {ref['uri']} does not match its sha256")
        return str(target)

    def scratch_dir(self) -> str:
        return str(self.scratch)


@pytest.fixture
def ctx(tmp_path: Path) -> LocalDirBlobContext:
    """Blob storage over a fresh temporary directory."""
    return LocalDirBlobContext(tmp_path / "blobs")


@pytest.fixture
def engine() -> TypeEngine:
    """A fresh engine with the builtins (no plugins), so registrations do not leak."""
    return builtin_engine()
