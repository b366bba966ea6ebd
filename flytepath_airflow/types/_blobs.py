"""Helpers shared by the transformers that store blobs (files, data frames, pickles).

Must not import: airflow, kubernetes, pandas, pyarrow, stores.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flytepath_airflow.types.context import BlobContext, BlobRef
from flytepath_airflow.types.engine import MissingBlobContextError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 80


def blob_name(name: str, ext: str = "") -> str:
    """A safe blob name from a name hint (`o0`, `o0[2].model`) and an extension (`.parquet`).

    Names that had to be changed to be safe get a short hash of the original, so two
    different hints never map to the same blob.
    """
    safe = _UNSAFE.sub("_", name).strip("._") or "value"
    if safe != name or len(safe) > _MAX_STEM:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        safe = f"{safe[:_MAX_STEM]}-{digest}"
    ext = _UNSAFE.sub("_", ext)
    if ext and not ext.startswith("."):
        ext = "." + ext
    return safe + ext


def need_ctx(ctx: BlobContext | None, what: str, name: str, action: str) -> BlobContext:
    """Return `ctx`, or raise MissingBlobContextError explaining what needed it."""
    if ctx is None:
        raise MissingBlobContextError(
            f"{name}: {action} a {what} needs blob storage (a BlobContext), but none was "
            f"given. The runtime passes one for every task; when calling the type engine "
            f"yourself, pass ctx=... (for example a context over a temporary directory). "
            f"Values stored as blobs cannot be spec constants or defaults."
        )
    return ctx


def ref_of(literal: dict[str, Any]) -> BlobRef:
    """The BlobRef inside a (validated) blob literal."""
    return {"uri": literal["uri"], "sha256": literal["sha256"]}
