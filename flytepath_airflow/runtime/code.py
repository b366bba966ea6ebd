"""Code bundles: the Python source a registered version was compiled from.

`flytepath register` zips the .py files (and the .ipynb notebooks that notebook tasks
run) under the workflow's import root into the blob store (content-addressed), so any
registered version can be run later with exactly its own code, as an image pins code in
production. A run that names a bundle extracts it
once per machine under `$FLYTEPATH_HOME/code/<sha256>/` and puts it first on sys.path.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import os
import shutil
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.stores.blob import BlobStore, default_home, sha256_bytes

MAX_BUNDLE_BYTES = 64 << 20
_CODE_SUFFIXES = (".py", ".ipynb")
_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "env"}


def build_code_bundle(import_root: str | Path) -> bytes:
    """A deterministic zip of every .py and .ipynb file under `import_root` (hidden
    folders and virtualenvs skipped); notebooks are a notebook task's code."""
    root = Path(import_root)
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and d not in _SKIP_DIRS
                             and not (Path(dirpath, d) / "pyvenv.cfg").exists())
        files += [Path(dirpath, f) for f in sorted(filenames) if f.endswith(_CODE_SUFFIXES)]
    buffer = io.BytesIO()
    size = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            data = path.read_bytes()
            size += len(data)
            if size > MAX_BUNDLE_BYTES:
                raise FlytePathUserError(
                    f"the Python code under {root} is over {MAX_BUNDLE_BYTES >> 20} MiB; "
                    "register from a folder that holds only the workflow's code."
                )
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buffer.getvalue()


def store_code_bundle(store: BlobStore, data: bytes) -> dict[str, str]:
    """Publish a bundle under `code/<sha256>.zip` (once) and return its reference."""
    digest = sha256_bytes(data)
    key = f"code/{digest}.zip"
    if not store.exists(key):
        store.write_bytes(key, data)
    return {"uri": store.uri(key), "sha256": digest}


def activate_code_bundle(store: BlobStore, ref: dict[str, Any]) -> str:
    """Extract a bundle (verified, once per machine) and put it first on sys.path."""
    target = default_home() / "code" / ref["sha256"]
    if not target.exists():
        data = store.read_uri(ref["uri"], ref["sha256"])
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            zf.extractall(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process extracted it first; theirs is identical
            shutil.rmtree(tmp, ignore_errors=True)
    path = str(target)
    if path not in sys.path:
        sys.path.insert(0, path)
    return path


def code_digest(fn: Callable[..., Any]) -> str:
    """sha256 of a function's source (its bytecode when the source is not available).

    The compiler records it in the task spec and the executor compares it where the task
    runs, so both must compute it the same way: this is the one place that does.

    A function that stands for other code (a notebook task's) says what its code is
    through `__flytepath_code__()`, so the notebook is digested, not the wrapper.

    :param fn: the task's plain function.
    """
    own = getattr(fn, "__flytepath_code__", None)
    if callable(own):
        return hashlib.sha256(str(own()).encode()).hexdigest()
    try:
        text = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        code = fn.__code__
        text = repr((code.co_code, code.co_consts, code.co_names))
    return hashlib.sha256(text.encode()).hexdigest()
