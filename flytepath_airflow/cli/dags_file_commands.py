"""`flytepath dags-file`: write FlytePath's two DAG files into an Airflow DAGs folder.

A deployed Airflow needs `flytepath_dags.py` and `flytepath_spec_errors.py` in its DAGs
folder (docs/deployment.md). They ship inside the provider
(`flytepath_airflow/backends/airflow/dag_files/`), so a `pip install` is all it takes to
get them; this command copies them out.

Each file is written atomically and only when its content differs. A file of the same name
that holds something else (edited by hand, or from another FlytePath version) is never
replaced silently: the command refuses, before writing anything, unless `--force` is given.

Must not import at module level: airflow, kubernetes, pydantic (the shipped files are read
through `backends.airflow.dag_files`, imported when the command runs).
"""

from __future__ import annotations

from pathlib import Path

import typer

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.utils.atomic import write_if_changed


def write_dag_files(output: Path, *, force: bool = False) -> dict[Path, bool]:
    """Write the shipped DAG files into `output`; returns each path and whether it was written.

    :param output: the DAGs folder (created when missing).
    :param force: replace files of the same name whose content differs.
    :raises FlytePathUserError: `output` is not a folder, a file there differs and `force`
        is off (nothing is written then), or the folder cannot be written.
    """
    # Lazy: importing the backends package loads pydantic; `flytepath --help` must not.
    from flytepath_airflow.backends.airflow.dag_files import dag_file_sources

    sources = dag_file_sources()
    if output.exists() and not output.is_dir():
        raise FlytePathUserError(
            f"--output {output} is a file, not a folder; give the Airflow DAGs folder "
            "(`airflow config get-value core dags_folder` prints it)."
        )
    if not force:
        differing = [name for name, text in sources.items()
                     if _differs(output / name, text)]
        if differing:
            names = " and ".join(differing)
            which = "it" if len(differing) == 1 else "them"
            raise FlytePathUserError(
                f"{output} already has {names} with other content (edited by hand, or "
                "written by another FlytePath version); nothing was written. Compare with "
                "the shipped files (`flytepath dags-file --output SOME_EMPTY_FOLDER`), then "
                f"run again with --force to replace {which}."
            )
    written: dict[Path, bool] = {}
    for name, text in sources.items():
        target = output / name
        if target.is_dir():
            raise FlytePathUserError(
                f"{target} is a folder; FlytePath's DAG file {name} cannot be written there. "
                "Move the folder away or choose another --output."
            )
        try:
            written[target] = write_if_changed(target, text)
        except PermissionError as exc:
            raise FlytePathUserError(
                f"cannot write {target}: {exc.strerror}. Run as a user who may write the "
                "DAGs folder, or choose another --output."
            ) from None
    return written


def _differs(path: Path, text: str) -> bool:
    """Whether `path` exists and holds something other than `text`."""
    if not path.is_file():
        return False
    try:
        return path.read_text(encoding="utf-8") != text
    except UnicodeDecodeError:
        return True


def dags_file(
    output: Path = typer.Option(Path("."), "-o", "--output",
                                help="the Airflow DAGs folder to write into (default: here)"),
    force: bool = typer.Option(False, "--force",
                               help="replace DAG files of the same name that differ"),
) -> None:
    """Write FlytePath's DAG files (flytepath_dags.py, flytepath_spec_errors.py) into a folder."""
    for path, changed in write_dag_files(output, force=force).items():
        typer.echo(f"{'wrote' if changed else 'unchanged'} {path}")


def register(app: typer.Typer) -> None:
    """Add `flytepath dags-file` to the CLI."""
    app.command("dags-file")(dags_file)


__all__ = ["dags_file", "register", "write_dag_files"]
