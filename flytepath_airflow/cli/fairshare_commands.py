"""`flytepath fairshare` and `flytepath tenants`: fair share of the tenant pools, applied and shown.

`fairshare` is the controller of ADR 0038: it resizes the tenant pools of a running
Airflow every period from their demand (`backends/airflow/fair_share.py` does the work).
`tenants` reads the same pools and shows each tenant's weight, fair share, slots, running
and queued tasks, and the slots it borrows or lends. Both talk to Airflow's REST API only.

The platform's settings (`tenant_pools`, `pool_template`, `tenant_weights`,
`fair_share_capacity`) come from Airflow's configuration, read the way the DAG file reads
them, so the controller and the DAGs agree on which pool is whose.

This module imports only typer at module level, so `flytepath --help` stays fast; a
command imports Airflow's configuration and the controller when it runs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from flytepath_airflow.errors import FlytePathUserError

if TYPE_CHECKING:
    from flytepath_airflow.backends.airflow.fair_share import PeriodResult, PoolPlan
    from flytepath_airflow.backends.airflow.rest import AirflowRestClient
    from flytepath_airflow.platform.settings import AirflowBackendSettings

API_URL_ENV = "FLYTEPATH_AIRFLOW_API_URL"
API_URL_HELP = ("base URL of Airflow's API server (default: FLYTEPATH_AIRFLOW_API_URL, else "
                "base_url in the api section of airflow.cfg)")
CAPACITY_HELP = ("slots the tenant pools share (default: the fair_share_capacity setting, "
                 "else Airflow's parallelism)")
TIMEOUT_HELP = "seconds each request to the API server may take"
TOKEN_FILE_HELP = ("file holding an API token (default: FLYTEPATH_AIRFLOW_TOKEN_FILE; "
                   "else FLYTEPATH_AIRFLOW_USERNAME and _PASSWORD log in)")


def _connect(api_url: str | None, token_file: Path | None, timeout: float,
             ) -> tuple[AirflowRestClient, AirflowBackendSettings]:
    """The API client and the platform's settings, both from Airflow's configuration."""
    # Lazy: Airflow's configuration and pydantic are loaded only when a command runs.
    from flytepath_airflow.backends.airflow.rest import AirflowCredentials, AirflowRestClient
    from flytepath_airflow.platform.settings import AirflowBackendSettings

    try:
        from airflow.configuration import conf
    except ImportError as exc:
        raise FlytePathUserError(
            f"flytepath reads the tenant policy from Airflow's configuration, and Airflow "
            f"is not installed ({exc}). Install it with pip install "
            "'airflow-provider-flytepath[airflow]'.") from None
    try:
        settings = AirflowBackendSettings.from_airflow_config()
    except ValueError as exc:
        raise FlytePathUserError(f"the [flytepath] settings cannot be used: {exc}") from None
    url = api_url or os.environ.get(API_URL_ENV) or conf.get("api", "base_url", fallback="")
    if not url:
        raise FlytePathUserError(
            "the API server's address is not known: pass --api-url URL, set "
            f"{API_URL_ENV}, or set [api] base_url in airflow.cfg.")
    client = AirflowRestClient(url, AirflowCredentials.from_env(token_file=token_file),
                               timeout=timeout)
    return client, settings


def _setup_logging() -> None:
    logger = logging.getLogger("flytepath.fairshare")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def fairshare(
    once: bool = typer.Option(False, "--once", help="run one period and exit (for cron)"),
    period: float = typer.Option(10.0, "--period", metavar="SECONDS", min=1.0,
                                 help="seconds between two periods"),
    capacity: int | None = typer.Option(None, "--capacity", metavar="N", min=1,
                                        help=CAPACITY_HELP),
    api_url: str | None = typer.Option(None, "--api-url", metavar="URL", help=API_URL_HELP),
    token_file: Path | None = typer.Option(None, "--token-file", metavar="FILE",
                                           help=TOKEN_FILE_HELP),
    timeout: float = typer.Option(10.0, "--timeout", metavar="SECONDS", min=1.0, max=300.0,
                                  help=TIMEOUT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="print the pool sizes it would set; change nothing"),
    as_json: bool = typer.Option(False, "--json",
                                 help="print each period as one JSON object (a line) on stdout"),
) -> None:
    """Resize the tenant pools every period: weighted fair share of C, lending idle slots."""
    from flytepath_airflow.backends.airflow import fair_share  # Lazy: see the docstring.

    _setup_logging()
    log = logging.getLogger("flytepath.fairshare")
    client, settings = _connect(api_url, token_file, timeout)

    def report(result: PeriodResult) -> None:
        if as_json:
            typer.echo(json.dumps(result.as_json(), sort_keys=True))

    if once:
        known = fair_share.resolve_capacity(client, settings, capacity)
        result = fair_share.run_period(client, settings, known, dry_run=dry_run)
        report(result)
        if not any(plan.changed for plan in result.plans):
            # A cron job's log should say the period ran even when it changed nothing.
            log.info("no pool changes: %d tenant pools share %d slots", len(result.plans),
                     known)
        return
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    log.info("fair share of the tenant pools every %gs on %s%s", period, client.api_url,
             " (dry run)" if dry_run else "")
    try:
        fair_share.run_controller(client, settings, capacity=capacity, period=period,
                                  stop=stop, dry_run=dry_run, report=report)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("stopped")


def tenants(
    capacity: int | None = typer.Option(None, "--capacity", metavar="N", min=1,
                                        help=CAPACITY_HELP),
    api_url: str | None = typer.Option(None, "--api-url", metavar="URL", help=API_URL_HELP),
    token_file: Path | None = typer.Option(None, "--token-file", metavar="FILE",
                                           help=TOKEN_FILE_HELP),
    timeout: float = typer.Option(10.0, "--timeout", metavar="SECONDS", min=1.0, max=300.0,
                                  help=TIMEOUT_HELP),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Show each tenant's weight, fair share, slots, running and queued, borrowed or lent."""
    from flytepath_airflow.backends.airflow import fair_share  # Lazy: see the docstring.

    client, settings = _connect(api_url, token_file, timeout)
    known = fair_share.resolve_capacity(client, settings, capacity)
    plans = fair_share.plan_period(settings, known, client.pools())
    if as_json:
        typer.echo(json.dumps({"capacity": known, "tenants": [_tenant_row(p) for p in plans]},
                              indent=2, sort_keys=True))
        return
    for line in tenants_table(plans, known):
        typer.echo(line)


def tenants_table(plans: list[PoolPlan], capacity: int) -> list[str]:
    """The lines `flytepath tenants` prints: one row per tenant pool, then the capacity."""
    if not plans:
        return ["no tenant pools in Airflow (see tenant_pools and pool_template in the "
                "flytepath section of airflow.cfg)"]
    header = ("TENANT", "POOL", "WEIGHT", "MIN", "SHARE", "SLOTS", "RUNNING", "QUEUED",
              "BORROWED")
    rows = [header] + [
        (p.tenant, p.pool, f"{p.weight:g}", str(p.minimum), str(p.target), str(p.slots),
         str(p.running), str(p.queued), f"{p.borrowed:+d}") for p in plans]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in rows]
    return [*lines, f"capacity {capacity} slots; SHARE is the weighted fair share now, "
                    "BORROWED the slots over (+) or under (-) a static weighted split"]


def _tenant_row(plan: PoolPlan) -> dict[str, Any]:
    return {"tenant": plan.tenant, "pool": plan.pool, "weight": plan.weight,
            "minimum": plan.minimum, "fair_share": plan.target, "slots": plan.slots,
            "running": plan.running, "queued": plan.queued, "demand": plan.demand,
            "static_share": plan.static_share, "borrowed": plan.borrowed}


def register(app: typer.Typer) -> None:
    """Add `flytepath fairshare` and `flytepath tenants` to the CLI."""
    app.command("fairshare")(fairshare)
    app.command("tenants")(tenants)


__all__ = ["fairshare", "register", "tenants", "tenants_table"]
