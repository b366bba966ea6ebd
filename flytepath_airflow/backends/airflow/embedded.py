"""The embedded Airflow: one spec run through `dag.test()` against a private SQLite DB.

`flytepath run` starts this module as a child process (see
`flytepath_airflow.cli.airflow_commands.run_with_airflow`): Airflow reads AIRFLOW_HOME and
its configuration once, when it is first imported, and configures logging, signal handlers
and the ORM for the whole process, so the CLI keeps Airflow out of its own process
(ADR 0006). The parent sets the environment; this child:

1. creates and migrates the SQLite metadata DB on first use (and after an Airflow upgrade);
2. creates the tenant pool if it does not exist;
3. loads the DAG through the same DAG file a real deployment uses (DagBag over the dags
   folder), so what runs here is what the scheduler would run;
4. runs `dag.test()` and reports task progress and the final state as JSON lines on the
   file descriptor it was given.

Run as: python -m flytepath_airflow.backends.airflow.embedded --dag-id ID --progress-fd N
        [--conf JSON] [--pool NAME --pool-slots N]
    or: python -m flytepath_airflow.backends.airflow.embedded --setup-only
        (DB and the tenant pools of every spec in the specs folder; used by `flytepath up`)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from flytepath_airflow.backends.airflow.loader import scan_specs
from flytepath_airflow.platform.settings import AirflowBackendSettings

DB_MARKER_PREFIX = ".flytepath-db-ready-"


class _ProgressWriter:
    def __init__(self, fd: int) -> None:
        self._fh = os.fdopen(fd, "w", buffering=1)

    def emit(self, **event: Any) -> None:
        self._fh.write(json.dumps(event, default=str) + "\n")
        self._fh.flush()


def ensure_database(airflow_home: Path) -> None:
    """Create or migrate the metadata DB once per Airflow version (a marker file records it)."""
    from airflow import __version__ as airflow_version
    from airflow.utils.db import initdb

    marker = airflow_home / f"{DB_MARKER_PREFIX}{airflow_version}"
    if marker.exists():
        return
    initdb()
    marker.write_text("ok\n")


def ensure_pool(name: str, slots: int) -> None:
    """Create the tenant pool when missing; an existing pool keeps its size."""
    from airflow.models.pool import Pool

    if not name or name == "default_pool" or Pool.get_pool(name) is not None:
        return
    Pool.create_or_update_pool(
        name, slots, "FlytePath tenant pool (created by flytepath run)", include_deferred=False
    )


def ensure_spec_pools() -> None:
    """Create the tenant pool of every good spec in the specs folder."""
    settings = AirflowBackendSettings.from_airflow_config()
    for item in scan_specs():
        if item.spec is not None:
            pool = settings.pool_for(item.spec.tenant.project, item.spec.tenant.domain)
            ensure_pool(pool.pool, pool.slots)


def _listener(progress: _ProgressWriter) -> Any:
    from airflow.listeners import hookimpl
    from airflow.sdk.exceptions import AirflowFailException

    class ProgressListener:
        @hookimpl
        def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
            progress.emit(event="task", task_id=task_instance.task_id, state="running",
                          attempt=task_instance.try_number, **_where(task_instance))

        @hookimpl
        def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
            progress.emit(event="task", task_id=task_instance.task_id, state="succeeded",
                          attempt=task_instance.try_number, **_where(task_instance))

        @hookimpl
        def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
            progress.emit(event="task", task_id=task_instance.task_id, state="skipped",
                          attempt=task_instance.try_number, **_where(task_instance))

        @hookimpl
        def on_task_instance_failed(
            self, previous_state: Any, task_instance: Any, error: Any
        ) -> None:
            retries = getattr(getattr(task_instance, "task", None), "retries", 0) or 0
            final = isinstance(error, AirflowFailException) or task_instance.try_number > retries
            progress.emit(event="task", task_id=task_instance.task_id,
                          state="failed" if final else "retrying",
                          attempt=task_instance.try_number, error=str(error or ""),
                          **_where(task_instance))

    return ProgressListener()


def _where(task_instance: Any) -> dict[str, Any]:
    """The mapped instance's index and label (a dynamic node's run_k labels each instance
    with the id of the node it runs), so the CLI can show the node, not the index."""
    index = getattr(task_instance, "map_index", -1)
    label = getattr(task_instance, "rendered_map_index", None)
    return {"map_index": -1 if index is None else int(index),
            "label": str(label) if label else None}


def main(argv: list[str] | None = None) -> int:
    """Run one DAG with dag.test(); returns 0 when the run succeeded, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="flytepath-embedded-airflow")
    parser.add_argument("--dag-id", default=None)
    parser.add_argument("--progress-fd", type=int, default=None)
    parser.add_argument("--setup-only", action="store_true",
                        help="create the DB and the pools of every spec, then exit")
    parser.add_argument("--conf", default="{}")
    parser.add_argument("--pool", default="")
    parser.add_argument("--pool-slots", type=int, default=16)
    args = parser.parse_args(argv)
    airflow_home = Path(os.environ["AIRFLOW_HOME"])
    if args.setup_only:
        ensure_database(airflow_home)
        ensure_spec_pools()
        return 0
    if args.dag_id is None or args.progress_fd is None:
        parser.error("--dag-id and --progress-fd are required unless --setup-only")
    progress = _ProgressWriter(args.progress_fd)

    progress.emit(event="stage", stage="database")
    ensure_database(airflow_home)
    ensure_pool(args.pool, args.pool_slots)

    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.listener import get_listener_manager

    progress.emit(event="stage", stage="parse")
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dag = bag.dags.get(args.dag_id)
    if dag is None:
        problems = "; ".join(f"{k}: {v}" for k, v in bag.import_errors.items()) or "none"
        progress.emit(event="done", state="error",
                      error=f"DAG {args.dag_id!r} was not loaded (import errors: {problems})")
        return 1

    get_listener_manager().add_listener(_listener(progress))
    progress.emit(event="stage", stage="run")
    dag_run = dag.test(run_conf=json.loads(args.conf))
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    progress.emit(event="done", state=str(dag_run.state), airflow_run_id=dag_run.run_id,
                  dag_id=dag.dag_id, task_states=states)
    return 0 if str(dag_run.state) == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
