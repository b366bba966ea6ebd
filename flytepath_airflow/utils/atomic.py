"""Write a local file atomically: readers see the old content or the new, never a part.

The bytes go to a temporary file with a unique name in the same folder (so two writers
never share one), are flushed to disk when durability matters, and replace the target
with one `os.replace`. A failure (a full disk included) removes the temporary file and
leaves the target as it was; a full disk or quota (ENOSPC, EDQUOT) is then raised as
`DiskFullError`, naming the folder.

Blob-store objects are published by `stores.blob.BlobStore`, which does the same on any
fsspec filesystem; this module is for the local files around it (the specs folder, DAG
loader files, generated schemas, converted DAGs).

Must not import: any other FlytePath module but `errors`, airflow, kubernetes.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from flytepath_airflow.errors import DiskFullError

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
"""The errors of a full disk or an exhausted quota."""


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc` (or an error it was raised from) says a disk or quota is full.

    :param exc: an exception raised while writing.
    """
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _current_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it: set, then restore at once
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> None:
    """Replace `path` with `data` atomically, creating its folder if needed.

    :param path: the file to write.
    :param data: its new content.
    :param durable: fsync the file and its folder, so the new content survives a crash of
        the machine (not only of the process). Off for scratch files.
    :raises DiskFullError: the disk or quota is full; `path` is unchanged and no temporary
        file remains.
    :raises OSError: the write failed otherwise, with the same guarantee.
    """
    try:
        _atomic_write_bytes(Path(path), data, durable)
    except OSError as exc:
        if isinstance(exc, DiskFullError) or not is_disk_full(exc):
            raise
        raise DiskFullError(
            f"the disk holding {Path(path).parent} is full ({exc.strerror or exc}) while "
            f"writing {Path(path).name}: free space there and try again"
        ) from exc


def _atomic_write_bytes(target: Path, data: bytes, durable: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would, so a
        # DAG processor running as another user can still read the specs folder.
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        _fsync_folder(target.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, durable: bool = True) -> None:
    """`atomic_write_bytes` for UTF-8 text.

    :param path: the file to write.
    :param text: its new content.
    :param durable: as for `atomic_write_bytes`.
    """
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def write_if_changed(path: str | os.PathLike[str], text: str) -> bool:
    """Atomically write `text` to `path` unless it already holds exactly that.

    Returns True when the file was written. Unchanged files keep their modification time,
    so a folder watcher (Airflow's DAG processor) does not reparse them.

    :param path: the file to write.
    :param text: its new content.
    """
    target = Path(path)
    try:
        if target.read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    atomic_write_text(target, text)
    return True


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open a folder; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["FULL_ERRNOS", "atomic_write_bytes", "atomic_write_text", "is_disk_full",
           "write_if_changed"]
