"""`flytepath checkpoints list|clear`: what tasks saved to resume from, and retention.

Checkpoints live in the blob store beside the attempts that saved them
(runtime/checkpoint.py; docs/checkpoints.md). A run's status comes from the metadata
store: a run that is still going keeps its checkpoints whatever the command says.

Retention is applied here, not where runs close: `clear --expired` deletes the checkpoints of
succeeded runs whose last save is older than the `[flytepath] checkpoint_retention` option
(FLYTEPATH_CHECKPOINT_RETENTION; default 7d). Run it from cron or an Airflow DAG; a run's
close never pays for a sweep of the store. Failed runs keep theirs for `flytepath recover`
until cleared by run id or `--older-than`.

This module declares the commands (typer only) and imports the store when one runs, so
`flytepath --help` stays fast.

Must not import at module level: airflow, kubernetes, sqlalchemy, rich, the runtime or the
stores.
"""

from __future__ import annotations

import json
import time
from typing import Any

import typer

from flytepath_airflow.cli.data_commands import METADATA_URL_HELP, parse_duration
from flytepath_airflow.config import flytepath_option
from flytepath_airflow.errors import FlytePathUserError

DEFAULT_RETENTION = "7d"
"""How long a succeeded run's checkpoints stay when `checkpoint_retention` is not set."""

OPEN_STATES = frozenset({"queued", "running"})


def _statuses(run_ids: list[str], metadata_url: str | None) -> dict[str, str]:
    from flytepath_airflow.stores.metadata import MetadataStore

    with MetadataStore(metadata_url) as meta:
        found = {run: meta.get_execution(run) for run in run_ids}
    return {run: (rec.status if rec is not None else "unknown") for run, rec in found.items()}


def _age(written_at: float | None, now: float) -> str:
    if written_at is None:
        return "incomplete"
    seconds = max(0.0, now - written_at)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit} ago"
    return f"{seconds:.0f}s ago"


def checkpoints_list(
    run_id: str | None = typer.Argument(None, help="one run (default: every run that has "
                                        "checkpoints)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    metadata_url: str | None = typer.Option(None, "--metadata-url", help=METADATA_URL_HELP),
) -> None:
    """List checkpoints: per run (size, attempts, last save), or per attempt of one run."""
    # Lazy: the runtime loads pydantic and the store; `flytepath --help` imports only typer.
    from flytepath_airflow.ir.names import check_name
    from flytepath_airflow.runtime.checkpoint import run_checkpoints, runs_with_checkpoints
    from flytepath_airflow.stores.blob import BlobStore, default_root

    store = BlobStore(default_root())
    now = time.time()
    if run_id is not None:
        check_name(run_id, "run_id", where="flytepath checkpoints list RUN_ID")
        rows = run_checkpoints(store, run_id)
        if as_json:
            typer.echo(json.dumps([{"run_id": r.run_id, "node": r.record_id,
                                    "attempt": r.attempt, "bytes": r.size,
                                    "written_at": r.written_at} for r in rows], indent=1))
            return
        if not rows:
            typer.echo(f"run {run_id} has no checkpoints in {store.root}", err=True)
            return
        _table(("node", "attempt", "bytes", "last save"),
               [(r.record_id, str(r.attempt), str(r.size), _age(r.written_at, now))
                for r in rows])
        return
    runs = runs_with_checkpoints(store)
    statuses = _statuses(runs, metadata_url) if runs else {}
    summary: list[dict[str, Any]] = []
    for run in runs:
        rows = run_checkpoints(store, run)
        times = [r.written_at for r in rows if r.written_at is not None]
        summary.append({"run_id": run, "status": statuses.get(run, "unknown"),
                        "attempts": len(rows), "bytes": sum(r.size for r in rows),
                        "last_save": max(times) if times else None})
    if as_json:
        typer.echo(json.dumps(summary, indent=1))
        return
    if not summary:
        typer.echo(f"no checkpoints in {store.root}", err=True)
        return
    _table(("run", "status", "attempts", "bytes", "last save"),
           [(s["run_id"], s["status"], str(s["attempts"]), str(s["bytes"]),
             _age(s["last_save"], now)) for s in summary])


def _table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def retention_seconds() -> float:
    """The configured retention of succeeded runs' checkpoints, in seconds."""
    text = flytepath_option("checkpoint_retention") or DEFAULT_RETENTION
    try:
        return parse_duration(text, "checkpoint_retention").total_seconds()
    except FlytePathUserError:
        raise FlytePathUserError(
            f"the checkpoint_retention setting {text!r} (FLYTEPATH_CHECKPOINT_RETENTION or "
            "[flytepath] checkpoint_retention) is not a duration; write a number and a unit, "
            "e.g. 7d, 12h or 0s.") from None


def checkpoints_clear(
    run_id: str | None = typer.Argument(None, help="clear every checkpoint of this run"),
    older_than: str | None = typer.Option(
        None, "--older-than", help="clear runs (not running) whose last save is older than "
        "this (e.g. 7d, 12h)"),
    expired: bool = typer.Option(
        False, "--expired", help="clear succeeded runs whose last save is older than the "
        f"checkpoint_retention setting (default {DEFAULT_RETENTION})"),
    metadata_url: str | None = typer.Option(None, "--metadata-url", help=METADATA_URL_HELP),
) -> None:
    """Delete checkpoints (a run's outputs and errors stay).

    Give a RUN_ID, or --older-than DURATION, or --expired. A run that is still queued or
    running keeps its checkpoints: its tasks may be resuming from them.
    """
    chosen = [name for name, given in (("RUN_ID", run_id is not None),
                                       ("--older-than", older_than is not None),
                                       ("--expired", expired)) if given]
    if len(chosen) != 1:
        raise FlytePathUserError(
            "flytepath checkpoints clear takes exactly one of RUN_ID, --older-than DURATION "
            f"or --expired (got {', '.join(chosen) or 'none'}); e.g. "
            "`flytepath checkpoints clear --older-than 7d`.")
    age = parse_duration(older_than).total_seconds() if older_than is not None else None
    if expired:
        age = retention_seconds()
    # Lazy: the runtime loads pydantic and the store; `flytepath --help` imports only typer.
    from flytepath_airflow.ir.names import check_name
    from flytepath_airflow.runtime.checkpoint import (
        clear_checkpoints,
        run_checkpoints,
        runs_with_checkpoints,
    )
    from flytepath_airflow.stores.blob import BlobStore, default_root

    store = BlobStore(default_root())
    if run_id is not None:
        check_name(run_id, "run_id", where="flytepath checkpoints clear RUN_ID")
        candidates = [run_id]
    else:
        candidates = runs_with_checkpoints(store)
    statuses = _statuses(candidates, metadata_url) if candidates else {}
    now = time.time()
    cleared_runs, attempts, freed = 0, 0, 0
    for run in candidates:
        status = statuses.get(run, "unknown")
        if status in OPEN_STATES:
            if run_id is not None:
                raise FlytePathUserError(
                    f"run {run} is {status}: its tasks may be resuming from these checkpoints. "
                    "Clear them after it ends.")
            continue
        if expired and status != "succeeded":
            continue
        if age is not None:
            times = [r.written_at or 0.0 for r in run_checkpoints(store, run)]
            if not times or now - max(times) < age:
                continue
        n, size = clear_checkpoints(store, run)
        if n:
            cleared_runs, attempts, freed = cleared_runs + 1, attempts + n, freed + size
    typer.echo(f"cleared {attempts} attempts' checkpoints in {cleared_runs} runs "
               f"({freed} bytes)")


def register(app: typer.Typer) -> None:
    """Add `checkpoints list|clear` to the CLI."""
    group = typer.Typer(name="checkpoints", no_args_is_help=True,
                        help="List and clear the checkpoints tasks saved to resume from.")
    group.command("list")(checkpoints_list)
    group.command("clear")(checkpoints_clear)
    app.add_typer(group, name="checkpoints")


__all__ = ["register", "retention_seconds"]
