"""`flytepath`: the user CLI. Presentation only; the work happens in the stages it calls.

Exit codes: 0 success, 2 user error (one message on stderr, no traceback), 1 a task failed
(its own message shown).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from flytepath_airflow.errors import FlytePathError, FlytePathUserError, TaskExecutionError
from flytepath_airflow.utils.atomic import atomic_write_text

app = typer.Typer(
    name="flytepath",
    help="Typed, versioned ML workflows on Apache Airflow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

TARGET_HELP = ("FILE.py:WORKFLOW (or :LAUNCH_PLAN), package.module:WORKFLOW, spec.yaml or a "
               "compiled spec.json")


def _err(message: str) -> None:
    typer.echo(message, err=True)


@app.command()
def compile(
    target: str = typer.Argument(..., help=TARGET_HELP),
    output: Path | None = typer.Option(None, "-o", "--output", help="write the spec JSON here"),
    project: str | None = typer.Option(None, "--project", help="project (default: default)"),
    domain: str | None = typer.Option(None, "--domain", help="domain (default: development)"),
) -> None:
    """Compile a workflow (or a launch plan) into its versioned, type-checked JSON spec."""
    from flytepath_airflow.ir.models import LaunchPlanSpec
    from flytepath_airflow.ir.spec_io import dump_launch_plan, dump_spec
    from flytepath_airflow.sdk.targets import load_target
    spec = load_target(target, project=project, domain=domain, allow_launch_plan=True)
    text = dump_launch_plan(spec) if isinstance(spec, LaunchPlanSpec) else dump_spec(spec)
    if output is None:
        sys.stdout.write(text)
        return
    atomic_write_text(output, text)
    _err(f"compiled {spec.name} version {spec.version} -> {output}")


def parse_inputs(spec: Any, pairs: list[str]) -> dict[str, Any]:
    """Parse `-i name=value` pairs by the workflow's declared input types."""
    from flytepath_airflow.types.cli_values import parse_cli_value

    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise FlytePathUserError(f"input {pair!r} is not of the form name=value.")
        var = spec.interface.input(name)
        if var is None:
            known = ", ".join(v.name for v in spec.interface.inputs) or "(none)"
            raise FlytePathUserError(
                f"workflow '{spec.name}' has no input '{name}'; its inputs are: {known}."
            )
        try:
            values[name] = parse_cli_value(text, var.type)
        except FlytePathUserError as exc:
            raise FlytePathUserError(f"input '{name}': {exc}") from None
    return values


def _progress(node: str, state: str, detail: str) -> None:
    marks = {"running": "..", "succeeded": "ok", "failed": "!!", "retrying": "~~",
             "skipped": "--", "cached": "=="}
    _err(f"  [{marks.get(state, '  ')}] {node:<28} {state:<10} {detail}".rstrip())


def launch_plan_inputs(plan: Any, given: dict[str, Any]) -> dict[str, Any]:
    """A launch plan's inputs for one run: defaults, then `given`, then the fixed inputs.

    Overriding a fixed input with another value is a user error; the kickoff time input,
    when not given, is the time of the launch (UTC).
    """
    for name, value in given.items():
        if name in plan.fixed_inputs and plan.fixed_inputs[name] != value:
            raise FlytePathUserError(
                f"launch plan '{plan.name}' fixes input '{name}' to "
                f"{json.dumps(plan.fixed_inputs[name])}; a run cannot override it. Drop "
                f"-i {name}=..., or run the workflow '{plan.workflow.name}' itself."
            )
    values = {**plan.default_inputs, **given, **plan.fixed_inputs}
    kickoff = plan.schedule.kickoff_time_input if plan.schedule else None
    if kickoff and values.get(kickoff) is None:
        from datetime import datetime, timezone

        values[kickoff] = datetime.now(timezone.utc).isoformat()
    return values


def _execute(spec: Any, values: dict[str, Any], *, local: bool, run_id: str | None,
             as_json: bool, overwrite_cache: bool,
             code_bundle: dict[str, str] | None = None, launch_plan: Any = None) -> None:
    from flytepath_airflow.stores.blob import default_home, default_root

    if launch_plan is not None:
        _err(f"launch plan {launch_plan.name}:")
    _err(f"running {spec.name} version {spec.version} "
         f"({spec.tenant.project}/{spec.tenant.domain}) "
         f"on {'the local backend' if local else 'Airflow'}")
    options: dict[str, Any] = {}
    if overwrite_cache:
        options["overwrite_cache"] = True
    if code_bundle:
        options["code_bundle"] = code_bundle
    if local:
        from flytepath_airflow.runtime.local import run_local

        # A stored code bundle must win over modules this process already imported.
        result = run_local(spec, values, root=default_root(), run_id=run_id,
                           progress=_progress, options=options or None,
                           isolate=code_bundle is not None)
    else:
        try:
            from flytepath_airflow.cli.airflow_commands import run_with_airflow
        except ImportError as exc:
            raise FlytePathUserError(
                f"running through Airflow needs the [airflow] extra ({exc}). Install it with "
                "pip install 'airflow-provider-flytepath[airflow]', or pass --local."
            ) from None
        result = run_with_airflow(spec, values, root=default_root(), home=str(default_home()),
                                  run_id=run_id, progress=_progress,
                                  options=options or None, launch_plan=launch_plan)
    if not result.succeeded:
        _err(f"run {result.run_id} failed at node '{result.failed_node}': {result.error}")
        raise typer.Exit(code=1)
    _err(f"run {result.run_id} succeeded")
    if as_json:
        sys.stdout.write(json.dumps(result.outputs, sort_keys=True) + "\n")
        return
    for name, value in result.outputs.items():
        typer.echo(f"{name} = {json.dumps(value, sort_keys=True)}")


def _resolve_spec(target: str, project: str | None, domain: str | None,
                  version: str | None) -> tuple[Any, dict[str, str] | None]:
    """The spec (or launch plan) to run, and the code bundle of a registered version."""
    from flytepath_airflow.ir.models import LaunchPlanSpec
    from flytepath_airflow.runtime.registry import load_registered, registered_code_bundle
    from flytepath_airflow.sdk.targets import load_target
    from flytepath_airflow.stores.blob import default_root

    looks_like_name = ":" not in target and not target.lower().endswith(
        (".py", ".yaml", ".yml", ".json"))
    if looks_like_name:
        spec = load_registered(target, project=project or "default",
                               domain=domain or "development", version=version)
    else:
        loaded = load_target(target, project=project, domain=domain, allow_launch_plan=True)
        if isinstance(loaded, LaunchPlanSpec):
            if version is not None and version != loaded.workflow.version:
                raise FlytePathUserError(
                    f"--version is not supported with launch plan '{loaded.name}'; run the "
                    f"registered workflow '{loaded.workflow.name}' with --version instead."
                )
            return loaded, None
        spec = loaded
        if version is None or version == spec.version:
            return spec, None
        spec = load_registered(spec.name, project=spec.tenant.project,
                               domain=spec.tenant.domain, version=version)
    return spec, registered_code_bundle(spec, root=default_root())


@app.command()
def run(
    target: str = typer.Argument(..., help=TARGET_HELP + ", or a registered workflow name"),
    inputs: list[str] = typer.Option([], "-i", "--input", help="name=value (repeatable)"),
    project: str | None = typer.Option(None, "--project"),
    domain: str | None = typer.Option(None, "--domain"),
    version: str | None = typer.Option(None, "--version",
                                       help="run this registered version"),
    local: bool = typer.Option(False, "--local", help="run with the local backend, no Airflow"),
    as_json: bool = typer.Option(False, "--json", help="print outputs as one JSON line"),
    run_id: str | None = typer.Option(None, "--run-id", help="use this run id"),
    overwrite_cache: bool = typer.Option(False, "--overwrite-cache",
                                         help="recompute cached tasks and replace entries"),
) -> None:
    """Compile and run a workflow or launch plan: through Airflow by default, or --local."""
    from flytepath_airflow.ir.models import LaunchPlanSpec

    resolved, code_bundle = _resolve_spec(target, project, domain, version)
    plan = resolved if isinstance(resolved, LaunchPlanSpec) else None
    spec = plan.workflow if plan is not None else resolved
    values = parse_inputs(spec, inputs)
    if plan is not None:
        values = launch_plan_inputs(plan, values)
    _execute(spec, values, local=local, run_id=run_id, as_json=as_json,
             overwrite_cache=overwrite_cache, code_bundle=code_bundle, launch_plan=plan)


@app.command()
def register(
    target: str = typer.Argument(..., help="FILE.py, package.module, FILE.py:WF or spec.yaml"),
    project: str = typer.Option("default", "--project"),
    domain: str = typer.Option("development", "--domain"),
) -> None:
    """Store immutable versions of workflows and refresh the specs the DAG loader reads."""
    from flytepath_airflow.ir.models import LaunchPlanSpec
    from flytepath_airflow.runtime.registry import register_launch_plan, register_spec
    from flytepath_airflow.sdk.targets import (
        code_root_of,
        load_module_launch_plans,
        load_module_workflows,
        load_target,
    )
    from flytepath_airflow.stores.blob import default_root

    plans: list[LaunchPlanSpec] = []
    if target.lower().endswith((".yaml", ".yml", ".json")) or ":" in target:
        loaded = load_target(target, project=project, domain=domain, allow_launch_plan=True)
        specs = [] if isinstance(loaded, LaunchPlanSpec) else [loaded]
        plans = [loaded] if isinstance(loaded, LaunchPlanSpec) else []
    else:
        specs = load_module_workflows(target, project=project, domain=domain)
        plans = load_module_launch_plans(target, project=project, domain=domain)
    for spec in specs:
        reg = register_spec(spec, root=default_root(), code_root=code_root_of(spec))
        state = "registered" if reg.created else "already registered (no change)"
        typer.echo(f"{spec.name} version {spec.version} {state} in {project}/{domain}")
    for plan in plans:
        reg = register_launch_plan(plan, root=default_root(),
                                   code_root=code_root_of(plan.workflow))
        typer.echo(f"launch plan {plan.name} ({plan.workflow.name} version "
                   f"{plan.workflow.version}) registered in {project}/{domain}: "
                   f"{reg.loader_path}")


@app.command()
def rerun(
    run_id: str = typer.Argument(..., help="the run to reproduce"),
    local: bool = typer.Option(False, "--local", help="run with the local backend, no Airflow"),
    as_json: bool = typer.Option(False, "--json", help="print outputs as one JSON line"),
) -> None:
    """Run again with exactly the spec version and inputs a past run used."""
    from flytepath_airflow.runtime.executor import read_run_options
    from flytepath_airflow.runtime.run import load_run_spec, read_run_inputs
    from flytepath_airflow.stores.blob import BlobStore, default_root

    root = default_root()
    try:
        spec = load_run_spec(run_id, root)
        values = read_run_inputs(run_id, root)
        code_bundle = read_run_options(BlobStore(root), run_id).get("code_bundle")
    except (FileNotFoundError, FlytePathError):
        raise FlytePathUserError(
            f"run '{run_id}' is not in the store at {root}; list runs with "
            "`flytepath executions`."
        ) from None
    _execute(spec, values, local=local, run_id=None, as_json=as_json, overwrite_cache=False,
             code_bundle=code_bundle)


def _register_optional_commands() -> None:
    from flytepath_airflow.cli import airflow_commands, convert_commands, data_commands

    airflow_commands.register(app)
    data_commands.register(app)
    convert_commands.register(app)


_register_optional_commands()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps errors onto exit codes without tracebacks.

    Typer (standalone mode) handles usage errors itself: exit 2 with its message.
    """
    try:
        app(args=argv, prog_name="flytepath")
    except TaskExecutionError as exc:
        _err(f"error: {exc}")
        sys.exit(1)
    except FlytePathUserError as exc:
        _err(f"error: {exc}")
        sys.exit(2)
    except FlytePathError as exc:
        _err(f"error: {exc}")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
