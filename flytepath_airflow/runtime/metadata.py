"""The metadata store a process uses: one per database URL per process, reused by every node.

Node attempts, control steps and run bookkeeping in the same process share one store (and
so one connection pool) instead of opening a new one per call.

Must not import: airflow, kubernetes, the sdk.
"""

from __future__ import annotations

import os

from flytepath_airflow.stores.metadata import MetadataStore, default_metadata_url

_STORES: dict[tuple[str, int], MetadataStore] = {}


def metadata_store(metadata_url: str | None = None) -> MetadataStore:
    """The process's store for `metadata_url` (default: the configured metadata database).

    Keyed by process id too, so a forked child never reuses its parent's connections.

    :param metadata_url: a database URL; None means `default_metadata_url()`.
    """
    key = (metadata_url or default_metadata_url(), os.getpid())
    store = _STORES.get(key)
    if store is None:
        store = _STORES[key] = MetadataStore(key[0])
    return store


__all__ = ["metadata_store"]
