"""The work behind `flytepath compile`: a workflow or launch plan as its JSON spec.

`cli/main.py` declares the command and imports this module only when it runs. Compiling
needs the front-ends and the spec, not the registry, the executor or the metadata store:
keep it that way, since `flytepath compile` runs in CI on every change and should not pay
for SQLAlchemy (which is why it is not in `cli/workflow_commands.py`).

Must not import: airflow, kubernetes, sqlalchemy (`stores.metadata`, `runtime.registry`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from flytepath_airflow.cli.name_options import check_name_options
from flytepath_airflow.ir.models import LaunchPlanSpec
from flytepath_airflow.ir.spec_io import dump_launch_plan, dump_spec
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.utils.atomic import atomic_write_text


def compile_target(target: str, output: Path | None, project: str | None,
                   domain: str | None) -> None:
    """Write the spec (or launch plan) JSON of `target` to `output`, or to stdout.

    :param target: a workflow, launch plan or spec file, as `flytepath compile` takes it.
    :param output: where to write the JSON; stdout when None.
    :param project: the project (default: default).
    :param domain: the domain (default: development).
    """
    check_name_options(project=project, domain=domain)
    spec = load_target(target, project=project, domain=domain, allow_launch_plan=True)
    text = dump_launch_plan(spec) if isinstance(spec, LaunchPlanSpec) else dump_spec(spec)
    if output is None:
        sys.stdout.write(text)
        return
    atomic_write_text(output, text)
    typer.echo(f"compiled {spec.name} version {spec.version} -> {output}", err=True)
