"""`flytepath`: the user CLI. Presentation only; the work happens in the stages it calls.

This module declares the commands (their options and help) and imports only typer and
light modules of ours, so `flytepath --help` and `flytepath CMD --help` stay fast. Each
command imports the one module that does its work when it runs: `cli/compile_commands.py`,
`cli/workflow_commands.py`, `cli/airflow_commands.py`, `cli/convert_commands.py`;
`cli/data_commands.py`, `cli/recover_commands.py` and `cli/fairshare_commands.py`
(`fairshare`, `tenants`) declare their commands the same way, and
`cli/help_format.py` makes every command's help read by command-line conventions.

Exit codes: 0 success, 2 user error (one message on stderr, no traceback), 1 a task failed
(its own message shown).

Must not import at module level: airflow, kubernetes, pydantic, sqlalchemy, rich (nor the
spec, the SDK, the runtime or the stores, which load them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from flytepath_airflow import __version__
from flytepath_airflow.cli import (
    checkpoint_commands,
    dags_file_commands,
    data_commands,
    deck_commands,
    fairshare_commands,
    recover_commands,
)
from flytepath_airflow.cli.help_format import ConventionalGroup
from flytepath_airflow.errors import FlytePathError, FlytePathUserError, TaskExecutionError

app = typer.Typer(
    name="flytepath",
    help="Typed, versioned ML workflows on Apache Airflow.",
    cls=ConventionalGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"flytepath {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="print the version of FlytePath and exit"),
) -> None:
    """Typed, versioned ML workflows on Apache Airflow."""


JSON_RUN_HELP = ("print one JSON object on stdout: run_id, status, workflow, version, "
                 "duration_seconds, outputs, error (see docs/airflow.md)")

TARGET_HELP = ("FILE.py:WORKFLOW (or :LAUNCH_PLAN), package.module:WORKFLOW, spec.yaml or a "
               "compiled spec.json")


@app.command()
def compile(
    target: str = typer.Argument(..., metavar="TARGET", help=TARGET_HELP),
    output: Path | None = typer.Option(None, "-o", "--output", metavar="FILE",
                                       help="write the spec JSON here"),
    project: str | None = typer.Option(None, "--project", metavar="NAME",
                                       help="project (default: default)"),
    domain: str | None = typer.Option(None, "--domain", metavar="NAME",
                                      help="domain (default: development)"),
) -> None:
    """Compile a workflow (or a launch plan) into its versioned, type-checked JSON spec."""
    # Lazy: the compiler loads pydantic and the SDK; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import compile_commands

    compile_commands.compile_target(target, output, project, domain)


@app.command()
def run(
    target: str = typer.Argument(..., metavar="TARGET",
                                 help=TARGET_HELP + ", or a registered workflow name"),
    inputs: list[str] = typer.Option([], "-i", "--input", metavar="NAME=VALUE",
                                     help="a workflow input (repeat for each input)"),
    project: str | None = typer.Option(None, "--project", metavar="NAME",
                                       help="project (default: default)"),
    domain: str | None = typer.Option(None, "--domain", metavar="NAME",
                                      help="domain (default: development)"),
    version: str | None = typer.Option(None, "--version", metavar="VERSION",
                                       help="run this registered version"),
    local: bool = typer.Option(False, "--local",
                               help="run on this machine with the local backend, no Airflow"),
    as_json: bool = typer.Option(False, "--json", help=JSON_RUN_HELP),
    run_id: str | None = typer.Option(None, "--run-id", metavar="RUN_ID",
                                      help="use this run id"),
    overwrite_cache: bool = typer.Option(False, "--overwrite-cache",
                                         help="recompute cached tasks and replace entries"),
) -> None:
    """Compile and run a workflow or launch plan: through Airflow by default, or --local."""
    # Lazy: the runtime loads pydantic and SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import workflow_commands

    workflow_commands.run_target(target, inputs, project=project, domain=domain,
                                 version=version, local=local, as_json=as_json, run_id=run_id,
                                 overwrite_cache=overwrite_cache)


@app.command()
def register(
    target: str = typer.Argument(..., metavar="TARGET",
                                 help="FILE.py, package.module, FILE.py:WF or spec.yaml"),
    project: str = typer.Option("default", "--project", metavar="NAME"),
    domain: str = typer.Option("development", "--domain", metavar="NAME"),
) -> None:
    """Store immutable versions of workflows and refresh the specs the DAG loader reads."""
    # Lazy: the registry loads pydantic and SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import workflow_commands

    workflow_commands.register_target(target, project, domain)


@app.command()
def unregister(
    name: str = typer.Argument(..., metavar="NAME",
                               help="workflow or launch plan name (last part if unique)"),
    project: str = typer.Option("default", "--project", metavar="NAME"),
    domain: str = typer.Option("development", "--domain", metavar="NAME"),
    version: str | None = typer.Option(None, "--version", metavar="VERSION",
                                       help="remove only if the folder holds this version"),
) -> None:
    """Take a workflow or launch plan out of the specs folder; its DAG goes away.

    Its registered versions and past runs stay; `flytepath register` brings it back.
    """
    # Lazy: the registry loads pydantic and SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import workflow_commands

    workflow_commands.unregister_target(name, project, domain, version)


@app.command()
def rerun(
    run_id: str = typer.Argument(..., metavar="RUN_ID", help="the run to reproduce"),
    local: bool = typer.Option(False, "--local",
                               help="run on this machine with the local backend, no Airflow"),
    as_json: bool = typer.Option(False, "--json", help=JSON_RUN_HELP),
) -> None:
    """Run again with exactly the spec version and inputs a past run used."""
    # Lazy: the runtime loads pydantic and SQLAlchemy; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import workflow_commands

    workflow_commands.rerun(run_id, local=local, as_json=as_json)


recover_commands.register(app)  # after rerun: `flytepath --help` lists them together


@app.command()
def render(
    target: str = typer.Argument(..., help=TARGET_HELP),
    project: str | None = typer.Option(None, "--project", help="project (default: default)"),
    domain: str | None = typer.Option(None, "--domain", help="domain (default: development)"),
) -> None:
    """Print the Airflow DAG a workflow becomes (tasks, cache, edges, pools); runs nothing."""
    # Lazy: the spec and the DAG builder load pydantic; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import render_commands

    render_commands.render(target, project, domain)


@app.command()
def up(
    port: int = typer.Option(8080, "--port", metavar="PORT", help="port of the Airflow UI"),
    specs: list[str] = typer.Option(
        [], "--spec", metavar="FILE", help="compiled spec JSON to publish (repeatable)"),
) -> None:
    """Start `airflow standalone` with the FlytePath DAGs and print the UI address."""
    # Lazy: the spec and the DAG builder load pydantic; `flytepath --help` imports only typer.
    from flytepath_airflow.cli import airflow_commands

    airflow_commands.up(port, specs)


# After render and up, before convert: `flytepath --help` lists commands in this order.
data_commands.register(app)
deck_commands.register(app)
checkpoint_commands.register(app)
dags_file_commands.register(app)
fairshare_commands.register(app)


@app.command()
def convert(
    source: Path = typer.Argument(..., help="the DAG folder (or one DAG file)"),
    output: Path = typer.Option(..., "-o", "--output", metavar="FOLDER",
                                help="folder for the specs and task modules"),
    report: Path | None = typer.Option(
        None, "--report", help="write the markdown report here (conversion.json, the "
        "same report for tools, is always written into the output folder)"),
    check: bool = typer.Option(False, "--check",
                               help="build the specs back and compare with the DAGs"),
    package: str = typer.Option("flytepath_converted", "--package",
                                help="package name of the generated task modules"),
    timeout: float = typer.Option(60.0, "--timeout", metavar="SECONDS",
                                  help="seconds one DAG file may take to import"),
    jobs: int = typer.Option(0, "--jobs", metavar="N", help="files at a time (0: one per CPU)"),
) -> None:
    """Convert Airflow DAGs into typed specs, task modules and a report."""
    try:
        # Lazy: the converter is only for `flytepath convert`, and an ImportError here must
        # read as a missing [airflow] extra.
        from flytepath_airflow.cli import convert_commands
    except ImportError as exc:
        raise FlytePathUserError(
            f"flytepath convert reads DAGs with Airflow, which is not installed ({exc}). "
            "Install it with pip install 'airflow-provider-flytepath[airflow]'."
        ) from None
    convert_commands.convert(source, output, report=report, check=check, package=package,
                             timeout=timeout, jobs=jobs)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps errors onto exit codes without tracebacks.

    Typer (standalone mode) handles usage errors itself: exit 2 with its message.
    """
    try:
        app(args=argv, prog_name="flytepath")
    except TaskExecutionError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except FlytePathUserError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except FlytePathError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
