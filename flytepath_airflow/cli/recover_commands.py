"""`flytepath recover RUN_ID`: finish a failed run without redoing the work that succeeded.

A recovery is a new run of the same spec version, inputs and registered code as the failed
run, started like every CLI run (`workflow_commands.execute_run`) with the run option
`recovered_from`. Its nodes that succeeded in the failed run reuse their verified outputs
instead of running (`runtime/recovery.py`); the rest run. Only a run that ended `failed`
can be recovered, once: an unknown, still running or succeeded run, and a run another
recovery finished (or is finishing), are refused, saying why and what to do instead.

This module declares the command and imports only typer at module level, so `flytepath
--help` stays fast; the runtime and the stores are imported when the command runs.

Must not import: airflow, kubernetes; at module level: sqlalchemy, pydantic (nor the
runtime or the stores, which load them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from flytepath_airflow.errors import FlytePathUserError

if TYPE_CHECKING:
    from flytepath_airflow.stores.metadata import ExecutionRecord

JSON_HELP = ("print the new run as one JSON object on stdout: run_id, status, workflow, "
             "version, outputs, error, recovered_from (see docs/recover.md)")


def failed_execution(run_id: str) -> ExecutionRecord:
    """The execution row of `run_id`, when it is a failed run a recovery can finish.

    Runs whose local runner died are closed (as failed) first, so they can be recovered.

    :param run_id: a checked run id.
    :raises FlytePathUserError: the run is unknown, is the graph a dynamic node built,
        is still running, succeeded, or a recovery of it succeeded or is still running.
    """
    # Lazy: the metadata store loads SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.runtime.liveness import close_dead_runs
    from flytepath_airflow.stores.metadata import MetadataStore, redact_url

    with MetadataStore() as meta:
        close_dead_runs(meta)
        row = meta.get_execution(run_id)
        where = redact_url(meta.url)
        recoveries = [meta.get_execution(str(ev.payload.get("run_id")))
                      for ev in meta.events(run_id) if ev.kind == "recovered_by"]
    if row is None:
        raise FlytePathUserError(
            f"run '{run_id}' is not in the metadata store ({where}), so there is nothing to "
            "recover; list runs and their status with `flytepath executions`."
        )
    if row.backend == "dynamic":
        raise FlytePathUserError(
            f"run '{run_id}' is the graph a dynamic node built, not a run of its own; "
            "recover the run whose dynamic node built it (its id is the part before '--')."
        )
    if row.status == "succeeded":
        raise FlytePathUserError(
            f"run '{run_id}' succeeded, so there is nothing to recover; to run it again "
            f"with the same version and inputs, use `flytepath rerun {run_id}`."
        )
    if row.status != "failed":
        raise FlytePathUserError(
            f"run '{run_id}' is still {row.status}, and only a failed run can be "
            f"recovered; wait for it to end (`flytepath history {run_id}` shows where it "
            "is), then recover it if it failed."
        )
    for other in recoveries:
        if other is not None and other.status == "succeeded":
            raise FlytePathUserError(
                f"run '{run_id}' was already recovered by run '{other.run_id}', which "
                f"succeeded: its outputs are this run's (`flytepath history {other.run_id}`)."
                f" To compute everything again, use `flytepath rerun {run_id}`."
            )
        if other is not None and other.status != "failed":
            raise FlytePathUserError(
                f"run '{run_id}' is being recovered by run '{other.run_id}', which is still "
                f"{other.status}; wait for it to end, then recover '{other.run_id}' if it "
                "failed."
            )
    return row


def recover(
    run_id: str = typer.Argument(..., metavar="RUN_ID", help="the failed run to recover"),
    local: bool = typer.Option(False, "--local",
                               help="recover on this machine with the local backend"),
    airflow: bool = typer.Option(False, "--airflow", help="recover through Airflow"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    new_run_id: str | None = typer.Option(None, "--run-id", metavar="RUN_ID",
                                          help="use this run id for the new run"),
) -> None:
    """Finish a failed run: reuse what succeeded, run the rest.

    A new run of the failed run's version and inputs; nodes that succeeded reuse outputs.

    It runs on the failed run's backend unless --local or --airflow says otherwise.
    """
    # Lazy: the runtime loads pydantic and SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli.name_options import check_name_options
    from flytepath_airflow.cli.workflow_commands import execute_run, load_past_run
    from flytepath_airflow.ir.names import check_name

    check_name(run_id, "run_id", where="flytepath recover RUN_ID")
    check_name_options(run_id=new_run_id)
    if local and airflow:
        raise FlytePathUserError(
            "--local and --airflow ask for two backends; give one, or neither to recover "
            f"run '{run_id}' on the backend it ran on."
        )
    row = failed_execution(run_id)
    past = load_past_run(run_id)
    # The backend it ran on by default, so the recovery behaves as the failed run did.
    on_local = local or (not airflow and row.backend == "local")
    execute_run(past.spec, past.values, local=on_local, run_id=new_run_id, as_json=as_json,
                overwrite_cache=False, code_bundle=past.code_bundle, recovered_from=run_id)


def register(app: typer.Typer) -> None:
    """Add `recover` to the CLI."""
    app.command("recover")(recover)


__all__ = ["failed_execution", "recover", "register"]
