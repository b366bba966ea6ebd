"""The work behind `flytepath convert`: existing Airflow DAG files become typed FlytePath specs.

Presentation only: the work is `flytepath_airflow.migrate.convert.convert_folder`.
`cli/main.py` declares the command and imports this module only when it runs, turning an
ImportError here into the message that says which extra to install. Importing this module
does not import Airflow; converting does (the converter imports the DAG files).

Exit codes: 0 converted (DAGs that failed are in the report), 1 `--check` found an
undeclared difference, 2 a user error (bad folders, Airflow not installed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from flytepath_airflow.migrate.convert import ConvertOptions, convert_folder
from flytepath_airflow.migrate.report import render_markdown, summary_lines
from flytepath_airflow.utils.atomic import write_if_changed


def _progress_bar() -> tuple[Any, Any]:
    """A rich progress bar on stderr when it is a terminal, else (None, a no-op)."""
    if not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=Console(stderr=True), transient=True)
    tasks: dict[str, Any] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            label = "converting DAG files" if phase == "convert" else "building specs back"
            tasks[phase] = bar.add_task(label, total=total)
        bar.update(tasks[phase], completed=done)

    return bar, update


def convert(source: Path, output: Path, *, report: Path | None, check: bool, package: str,
            timeout: float, jobs: int) -> None:
    """Convert the DAGs under `source` into specs, task modules and a report in `output`.

    :param source: the DAG folder (or one DAG file).
    :param output: folder for the specs and task modules.
    :param report: where to write the markdown report (None: only conversion.json).
    :param check: build the specs back and compare them with the DAGs.
    :param package: package name of the generated task modules.
    :param timeout: seconds one DAG file may take to import.
    :param jobs: files at a time (0: one per CPU).
    """
    options = ConvertOptions(source=source, output=output, package=package,
                             timeout=timeout, check=check)
    if jobs > 0:
        options.jobs = jobs
    bar, update = _progress_bar()
    if bar is not None:
        with bar:
            run = convert_folder(options, progress=update)
    else:
        run = convert_folder(options)
    if report is not None:
        write_if_changed(report, render_markdown(run.report))
    for line in summary_lines(run.report):
        typer.echo(line, err=True)
    tasks = max(1, run.summary["tasks"])
    typer.echo(f"converted in {run.seconds:.1f} s ({1000 * run.seconds / tasks:.2f} s per "
               "1,000 tasks)" + (f"; check {run.check_seconds:.1f} s" if check else ""),
               err=True)
    typer.echo(f"specs in {output}" + (f", report in {report}" if report else ""),
               err=True)
    if check and run.summary.get("check_differs", 0) + run.summary.get("check_failed", 0):
        typer.echo("check failed: some DAGs differ in ways the report does not declare "
                   "(marked **undeclared** in the report).", err=True)
        raise typer.Exit(code=1)
