"""Runs and scratch folders of a dead local runner: found and closed at the next start.

The local runner records itself as the owner of each run it starts (`utils.processes`:
`host:pid:start`), and each attempt's scratch folder carries its process's owner in its
name. `close_dead_runs` runs whenever runs are listed (`flytepath executions`) or a local
run starts: every open run whose owner is provably gone (this host, pid gone or reused)
is closed as `failed` ("runner process died"), with its `failed` event, and every scratch
folder of a dead process is removed.

Only runs with an owner are touched: runs started through Airflow have none, and
Airflow's own state (the run listener) closes them. A run owned by a process on another
host is never closed from here: nothing proves that process dead.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.stores.metadata import MetadataStore
from flytepath_airflow.utils.processes import owner_gone, owner_id

logger = logging.getLogger(__name__)

RUNNER_DIED = "runner process died"
"""The error recorded on a run whose local runner died before closing it."""

SCRATCH_PREFIX = "flytepath-"
_SCRATCH_OWNER = re.compile(r"\.owner-(\d+)-(\d+)$")


def scratch_suffix() -> str:
    """The suffix of this process's scratch folders: it names their owner (pid, start)."""
    _, pid, start = owner_id().rsplit(":", 2)
    return f".owner-{pid}-{start}"


def close_dead_runs(meta: MetadataStore) -> list[str]:
    """Close every open run whose local runner is provably gone; returns their run ids.

    Each is closed once (`close_execution`), as `failed` with the error "runner process
    died" and a `failed` event naming the dead owner, so a run that another process
    closes at the same moment is not closed twice.

    :param meta: the metadata store.
    """
    closed: list[str] = []
    remove_dead_scratch()
    try:
        for run in meta.open_owned_executions():
            if not owner_gone(run.owner):
                continue
            error = (f"{RUNNER_DIED} (owner {run.owner}) before the run ended; rerun it "
                     f"with `flytepath rerun {run.run_id}`")
            if meta.close_execution(run.run_id, status="failed", error=error, event={
                    "error": error, "error_kind": "system", "reason": RUNNER_DIED,
                    "owner": run.owner, "failed_node": None, "outputs": None}):
                logger.warning("closed run %s: %s", run.run_id, error)
                closed.append(run.run_id)
    except FlytePathUserError as exc:
        # A role without write rights can still list runs; any other failure is the
        # store's, and the caller would meet it next anyway.
        logger.debug("could not close the runs of dead local runners: %s", exc)
    return closed


def remove_dead_scratch(folder: str | None = None) -> list[str]:
    """Remove the scratch folders (under the temp folder) of processes that are gone.

    :param folder: where scratch folders are made; default `tempfile.gettempdir()`.
    :returns: the folders removed.
    """
    folder = folder or tempfile.gettempdir()
    host = socket.gethostname()
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _SCRATCH_OWNER.search(name)
        if not name.startswith(SCRATCH_PREFIX) or match is None:
            continue
        if owner_gone(f"{host}:{match.group(1)}:{match.group(2)}"):
            path = os.path.join(folder, name)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


__all__ = ["RUNNER_DIED", "close_dead_runs", "remove_dead_scratch", "scratch_suffix"]
