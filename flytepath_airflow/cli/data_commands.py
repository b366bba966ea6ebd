"""`flytepath cache|versions|executions|history`: the metadata store, as people read it.

This module declares the commands (their options and help) and imports only typer, so
`flytepath --help` stays fast; each command imports `cli/data_views.py`, which reads the
store and draws the tables, when it runs.

Mistakes in arguments raise FlytePathUserError (exit code 2 from `flytepath`), so they
read the same as every other user error. A workflow name may be its last part when that is
unique (`runtime.registry.resolve_workflow_name`). Every command takes `--metadata-url` (default:
FLYTEPATH_METADATA_URL, else the SQLite file under FLYTEPATH_HOME) and most take `--json`.

Must not import: airflow, kubernetes, sqlalchemy, rich (nor `stores.metadata`).
"""

from __future__ import annotations

import math
from datetime import timedelta

import typer

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.utils import durations

METADATA_URL_HELP = (
    "metadata database URL (default: FLYTEPATH_METADATA_URL, else "
    "sqlite:///$FLYTEPATH_HOME/metadata.db)"
)
JSON_HELP = "print JSON instead of a table"


def parse_duration(text: str, option: str = "--older-than") -> timedelta:
    """Parse `90s`, `15m`, `12h`, `7d`, `2w` or a sum such as `1d12h`.

    The grammar is `utils.durations`, shared with YAML specs and CLI input values, except
    that an age needs its unit: a bare `7` is refused rather than read as seconds, since
    a user who types it most likely means days.

    :param text: the option's value.
    :param option: the option's name, for the message.
    """
    try:
        seconds = durations.parse_duration(text)
    except durations.DurationError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0 or text.strip()[-1:].isdigit():
        raise FlytePathUserError(
            f"{option} {text!r} is not a duration; write a number and a unit "
            "(s, m, h, d, w), e.g. 7d, 12h or 1d12h."
        )
    return timedelta(seconds=seconds)


# --------------------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------------------


def cache_ls(
    task: str | None = typer.Option(None, "--task", help="only this task"),
    version: str | None = typer.Option(None, "--version", help="only this cache version"),
    project: str | None = typer.Option(None, "--project", help="only this project ('*': global)"),
    domain: str | None = typer.Option(None, "--domain", help="only this domain ('*': global)"),
    older_than: str | None = typer.Option(None, "--older-than",
                                          help="only entries older than this (e.g. 7d, 12h)"),
    limit: int = typer.Option(100, "--limit", min=1, help="show at most this many"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    metadata_url: str | None = typer.Option(None, "--metadata-url", help=METADATA_URL_HELP),
) -> None:
    """List cache entries, newest first."""
    age = parse_duration(older_than) if older_than else None
    # Lazy: the store loads SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import data_views

    data_views.cache_ls(task=task, version=version, project=project, domain=domain,
                        older_than=age, limit=limit, as_json=as_json,
                        metadata_url=metadata_url)


def cache_inspect(
    key: str = typer.Argument(..., help="a cache key, or a unique prefix of one"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    metadata_url: str | None = typer.Option(None, "--metadata-url", help=METADATA_URL_HELP),
) -> None:
    """Show one cache entry: what it is for, where its outputs are, who computed it."""
    # Lazy: the store loads SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import data_views

    data_views.cache_inspect(key=key, as_json=as_json, metadata_url=metadata_url)


def cache_evict(
    task: str | None = typer.Option(None, "--task", help="only this task"),
    version: str | None = typer.Option(None, "--version", help="only this cache version"),
    project: str | None = typer.Option(None, "--project", help="only this project ('*': global)"),
    domain: str | None = typer.Option(None, "--domain", help="only this domain ('*': global)"),
    older_than: str | None = typer.Option(None, "--older-than",
                                          help="only entries older than this (e.g. 7d, 12h)"),
    key: str | None = typer.Option(None, "--key", help="exactly this entry (key or unique prefix)"),
    evict_all: bool = typer.Option(False, "--all", help="every entry (no filter needed)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    metadata_url: str | None = typer.Option(None, "--metadata-url", help=METADATA_URL_HELP),
) -> None:
    """Delete cache entries so the next run with those inputs computes again.

    Only the entries go; the blobs they point to stay with the runs that wrote them.
    """
    age = parse_duration(older_than) if older_than else None
    # Lazy: the store loads SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import data_views

    data_views.cache_evict(task=task, version=version, project=project, domain=domain,
                           older_than=age, key=key, evict_all=evict_all, yes=yes,
                           metadata_url=metadata_url)


# --------------------------------------------------------------------------------------
# versions, executions and history
# --------------------------------------------------------------------------------------


def versions(
    name: str = typer.Argument(..., help="workflow name (its last part, when unique)"),
    project: str | None = typer.Option(None, "--project", help="only this project"),
    domain: str | None = typer.Option(None, "--domain", help="only this domain"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    metadata_url: str | None = typer.Option(None, "--metadata-url", help=METADATA_URL_HELP),
) -> None:
    """List the registered versions of a workflow, newest first."""
    # Lazy: the store loads SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import data_views

    data_views.versions(name=name, project=project, domain=domain, as_json=as_json,
                        metadata_url=metadata_url)


def executions(
    workflow: str | None = typer.Option(None, "--workflow",
                                        help="only runs of this workflow (its last part, "
                                        "when unique)"),
    project: str | None = typer.Option(None, "--project", help="only this project"),
    domain: str | None = typer.Option(None, "--domain", help="only this domain"),
    limit: int = typer.Option(50, "--limit", min=1, help="show at most this many"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    metadata_url: str | None = typer.Option(None, "--metadata-url", help=METADATA_URL_HELP),
) -> None:
    """List runs, newest first."""
    # Lazy: the store loads SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import data_views

    data_views.executions(workflow=workflow, project=project, domain=domain, limit=limit,
                          as_json=as_json, metadata_url=metadata_url)


def history(
    run_id: str = typer.Argument(..., help="the run id"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    metadata_url: str | None = typer.Option(None, "--metadata-url", help=METADATA_URL_HELP),
) -> None:
    """Print a run's timeline and each output's lineage, rebuilt from its events alone."""
    # Lazy: the store loads SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import data_views

    data_views.history(run_id=run_id, as_json=as_json, metadata_url=metadata_url)


# --------------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add `cache ls|inspect|evict`, `versions`, `executions` and `history` to the CLI."""
    cache_app = typer.Typer(name="cache", no_args_is_help=True,
                            help="List, inspect and evict cache entries of every tenant "
                                 "(an administrator's tool; tenants use the FlytePath "
                                 "view).")
    cache_app.command("ls")(cache_ls)
    cache_app.command("inspect")(cache_inspect)
    cache_app.command("evict")(cache_evict)
    app.add_typer(cache_app, name="cache")
    app.command("versions")(versions)
    app.command("executions")(executions)
    app.command("history")(history)


__all__ = ["parse_duration", "register"]
