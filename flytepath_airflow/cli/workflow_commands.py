"""The work behind `flytepath run|register|rerun`: run specs and register versions.

`execute_run` is the one way a run starts from the CLI; `flytepath recover`
(`cli/recover_commands.py`) starts its runs through it too.

`cli/main.py` declares these commands and imports this module only when one of them runs,
so `flytepath --help` stays at typer alone; here the compiler, the runtime and the stores
are imported at module level. A run through Airflow goes to `cli/airflow_commands.py`
(imported when such a run starts, see `execute_run`). `flytepath compile` has its own module,
`cli/compile_commands.py`, so compiling does not load the runtime and SQLAlchemy.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import typer

from flytepath_airflow.cli.name_options import check_name_options
from flytepath_airflow.cli.progress import ProgressDisplay
from flytepath_airflow.errors import FlytePathError, FlytePathUserError
from flytepath_airflow.ir.models import LaunchPlanSpec
from flytepath_airflow.ir.names import check_name
from flytepath_airflow.runtime.executor import read_run_options
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.runtime.registry import (
    load_registered,
    register_launch_plan,
    register_spec,
    registered_code_bundle,
    unregister,
)
from flytepath_airflow.runtime.run import (
    RECOVERED_FROM,
    RunResult,
    last_node_error,
    load_run_spec,
    node_error_key,
    read_run_inputs,
)
from flytepath_airflow.sdk.targets import (
    code_root_of,
    load_module_launch_plans,
    load_module_workflows,
    load_target,
)
from flytepath_airflow.stores.blob import BlobStore, default_home, default_root
from flytepath_airflow.types.cli_values import parse_cli_value
from flytepath_airflow.utils.suggest import did_you_mean


def _err(message: str) -> None:
    typer.echo(message, err=True)


def parse_inputs(spec: Any, pairs: list[str]) -> dict[str, Any]:
    """Parse `-i name=value` pairs by the workflow's declared input types.

    :param spec: the workflow whose interface types the values.
    :param pairs: the `-i` values, in the order given.
    :raises FlytePathUserError: a pair is not `name=value`, names no input of the workflow
        (with the closest input name), gives an input a second time, or its value does
        not parse as the input's type.
    """
    values: dict[str, Any] = {}
    given: dict[str, str] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise FlytePathUserError(f"input {pair!r} is not of the form name=value.")
        var = spec.interface.input(name)
        if var is None:
            names = [v.name for v in spec.interface.inputs]
            raise FlytePathUserError(
                f"workflow '{spec.name}' has no input '{name}'.{did_you_mean(name, names)} "
                f"Its inputs are: {', '.join(names) or '(none)'}."
            )
        if name in given:
            # The last value silently winning would run something the user did not mean.
            raise FlytePathUserError(
                f"input '{name}' is given twice (-i {given[name]} and -i {pair}); give "
                "each input once."
            )
        given[name] = pair
        try:
            values[name] = parse_cli_value(text, var.type)
        except FlytePathUserError as exc:
            raise FlytePathUserError(f"input '{name}': {exc}") from None
    return values


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
        values[kickoff] = datetime.now(timezone.utc).isoformat()
    return values


def execute_run(spec: Any, values: dict[str, Any], *, local: bool, run_id: str | None,
                as_json: bool, overwrite_cache: bool,
                code_bundle: dict[str, str] | None = None, launch_plan: Any = None,
                recovered_from: str | None = None) -> None:
    """Start one run, show its progress on stderr, then its outputs or its failure.

    :param spec: the workflow to run.
    :param values: its input values (literals).
    :param local: run with the local backend instead of Airflow.
    :param run_id: the run id to use (a new one when None).
    :param as_json: print the run as one JSON object (`run_document`).
    :param overwrite_cache: recompute cached tasks and replace their entries.
    :param code_bundle: the code registered with the version, run instead of local code.
    :param launch_plan: the launch plan run, if any.
    :param recovered_from: the failed run this run recovers (`flytepath recover`): its
        succeeded nodes are reused (`runtime/recovery.py`).
    :raises typer.Exit: code 1 when the run failed.
    """
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
    if recovered_from is not None:
        options[RECOVERED_FROM] = recovered_from
    root = default_root()
    # A stored code bundle must win over modules this process already imported, so its
    # tasks run in child processes, which print their own failure (`runtime.entrypoint`).
    isolate = local and code_bundle is not None
    started = time.monotonic()
    with ProgressDisplay() as display:
        result = _run_on(spec, values, display, local=local, root=root, run_id=run_id,
                         options=options or None, isolate=isolate, launch_plan=launch_plan)
    duration = time.monotonic() - started
    failure = None if result.succeeded else _failure_of(spec, result, root)
    if as_json:
        document = run_document(spec, result, backend="local" if local else "airflow",
                                duration_seconds=duration, launch_plan=launch_plan,
                                failure=failure, recovered_from=recovered_from)
        sys.stdout.write(json.dumps(document, sort_keys=True) + "\n")
    if not result.succeeded:
        _report_failure(result, failure, shown_by_child=isolate)
        raise typer.Exit(code=1)
    _err(f"run {result.run_id} succeeded in {duration:.2f}s")
    if not as_json:
        for name, value in result.outputs.items():
            typer.echo(f"{name} = {json.dumps(value, sort_keys=True)}")


def _run_on(spec: Any, values: dict[str, Any], display: ProgressDisplay, *, local: bool,
            root: str, run_id: str | None, options: dict[str, Any] | None, isolate: bool,
            launch_plan: Any) -> RunResult:
    """Run on the chosen backend, both feeding the same progress display."""
    if local:
        return run_local(spec, values, root=root, run_id=run_id, progress=display,
                         options=options, isolate=isolate)
    try:
        # Lazy: only a run through Airflow needs the embedded Airflow (operators, DAG
        # builder), and a broken [airflow] extra must read as a user error.
        from flytepath_airflow.cli.airflow_commands import run_with_airflow
    except ImportError as exc:
        raise FlytePathUserError(
            f"running through Airflow needs the [airflow] extra ({exc}). Install it with "
            "pip install 'airflow-provider-flytepath[airflow]', or pass --local."
        ) from None
    return run_with_airflow(spec, values, root=root, home=str(default_home()),
                            run_id=run_id, progress=display, stage=display.stage,
                            options=options, launch_plan=launch_plan,
                            code_root=code_root_of(spec))


@dataclass(frozen=True)
class FailureRecord:
    """What the failed node's last attempt recorded, as `flytepath run` shows it.

    :param attempt: the attempt's number, from 1.
    :param traceback: the user's traceback (their frames only), None when FlytePath raised.
    :param record: URI of the attempt's error.json (with FlytePath's own frames).
    """

    attempt: int
    traceback: str | None
    record: str


def _failure_of(spec: Any, result: RunResult, root: str) -> FailureRecord | None:
    """The failed node's last error record, or None when it left none.

    A control step (a conditional with no case, a map below its min_success_ratio) and a
    node of a graph a dynamic task built leave no record of the failed node itself: their
    message says what failed.
    """
    if result.failed_node is None:
        return None
    try:
        node = spec.node(result.failed_node)
    except KeyError:  # a record id such as a map element's, not a node of the spec
        return None
    task = spec.task_of(node) if node.task is not None else None
    try:
        found = last_node_error(result.run_id, node.id, (task.retries if task else 0) + 1,
                                root)
    except (OSError, ValueError, FlytePathError):
        return None  # the run's own message still says what failed
    if found is None:
        return None
    attempt, record = found
    shown = record.get("user_traceback")
    return FailureRecord(attempt=attempt, traceback=str(shown) if shown else None,
                         record=BlobStore(root).uri(node_error_key(result.run_id, node.id,
                                                                   attempt)))


def _report_failure(result: RunResult, failure: FailureRecord | None, *,
                    shown_by_child: bool) -> None:
    """On stderr: the user's traceback (their frames only), the failure, the full record."""
    if failure is not None and failure.traceback and not shown_by_child:
        _err(failure.traceback.rstrip("\n"))
    _err(f"run {result.run_id} failed at node '{result.failed_node}': {result.error}")
    if failure is not None and not shown_by_child:
        _err(f"the full record of attempt {failure.attempt} (with FlytePath's own frames) "
             f"is {failure.record}")


def run_document(spec: Any, result: RunResult, *, backend: str, duration_seconds: float,
                 launch_plan: Any = None, failure: FailureRecord | None = None,
                 recovered_from: str | None = None) -> dict[str, Any]:
    """What `flytepath run|rerun|recover --json` print: one JSON object.

    Every key is always present (null when it does not apply); keys are only ever added.
    Documented in docs/airflow.md ("`flytepath run --json`").

    :param spec: the workflow that ran.
    :param result: how the run ended.
    :param backend: "local" or "airflow".
    :param duration_seconds: the run's wall time as the CLI measured it.
    :param launch_plan: the launch plan run, if any.
    :param failure: the failed node's record (`_failure_of`), if it left one.
    :param recovered_from: the failed run this run recovers, if any.
    """
    error = None
    if not result.succeeded:
        error = {
            "node": result.failed_node,
            "kind": result.error_kind or "user",
            "message": result.error,
            "attempt": failure.attempt if failure else None,
            "traceback": failure.traceback if failure else None,
            "record": failure.record if failure else None,
        }
    return {
        "run_id": result.run_id,
        "status": "succeeded" if result.succeeded else "failed",
        "workflow": spec.name,
        "version": spec.version,
        "project": spec.tenant.project,
        "domain": spec.tenant.domain,
        "launch_plan": launch_plan.name if launch_plan is not None else None,
        "backend": backend,
        "duration_seconds": round(duration_seconds, 3),
        "outputs": result.outputs if result.succeeded else None,
        "error": error,
        "recovered_from": recovered_from,
    }


def _resolve_spec(target: str, project: str | None, domain: str | None,
                  version: str | None) -> tuple[Any, dict[str, str] | None]:
    """The spec (or launch plan) to run, and the code bundle of a registered version."""
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


def run_target(target: str, inputs: list[str], *, project: str | None, domain: str | None,
               version: str | None, local: bool, as_json: bool, run_id: str | None,
               overwrite_cache: bool) -> None:
    """`flytepath run`: resolve the target, parse its inputs and run it.

    :param target: a workflow, launch plan, spec file or registered workflow name.
    :param inputs: `name=value` pairs, parsed by the workflow's input types.
    :param project: the project (default: default).
    :param domain: the domain (default: development).
    :param version: run this registered version instead of the target as it is now.
    :param local: run with the local backend instead of Airflow.
    :param as_json: print the run as one JSON object (`run_document`) instead of the outputs.
    :param run_id: the run id to use (a new one when None).
    :param overwrite_cache: recompute cached tasks and replace their entries.
    """
    check_name_options(project=project, domain=domain, version=version, run_id=run_id)
    resolved, code_bundle = _resolve_spec(target, project, domain, version)
    plan = resolved if isinstance(resolved, LaunchPlanSpec) else None
    spec = plan.workflow if plan is not None else resolved
    values = parse_inputs(spec, inputs)
    if plan is not None:
        values = launch_plan_inputs(plan, values)
    execute_run(spec, values, local=local, run_id=run_id, as_json=as_json,
                overwrite_cache=overwrite_cache, code_bundle=code_bundle, launch_plan=plan)


def register_target(target: str, project: str, domain: str) -> None:
    """`flytepath register`: store the target's workflows and launch plans as versions.

    :param target: a file, module, `FILE.py:WF` or spec file.
    :param project: the project to register in.
    :param domain: the domain to register in.
    """
    check_name_options(project=project, domain=domain)
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


def unregister_target(name: str, project: str, domain: str, version: str | None) -> None:
    """`flytepath unregister`: remove a workflow or launch plan from the specs folder.

    :param name: the workflow or launch plan name.
    :param project: its project.
    :param domain: its domain.
    :param version: remove only if the folder holds this version.
    """
    check_name_options(project=project, domain=domain, version=version)
    removed = unregister(name, project=project, domain=domain, version=version)
    typer.echo(f"removed {removed}; its DAG disappears at the DAG processor's next pass. "
               "Registered versions and past runs are kept.")


def rerun(run_id: str, *, local: bool, as_json: bool) -> None:
    """`flytepath rerun`: run the spec version and inputs of a past run again.

    :param run_id: the run to reproduce.
    :param local: run with the local backend instead of Airflow.
    :param as_json: print the run as one JSON object (`run_document`) instead of the outputs.
    """
    check_name(run_id, "run_id", where="flytepath rerun RUN_ID")
    past = load_past_run(run_id)
    execute_run(past.spec, past.values, local=local, run_id=None, as_json=as_json,
                overwrite_cache=False, code_bundle=past.code_bundle)


@dataclass(frozen=True)
class PastRun:
    """What a past run ran: its spec version, its inputs and its registered code.

    :param spec: the spec the run was prepared with (its version is the run's).
    :param values: the run's validated input literals.
    :param code_bundle: the code registered with that version, if the run used one.
    """

    spec: Any
    values: dict[str, Any]
    code_bundle: dict[str, str] | None


def load_past_run(run_id: str) -> PastRun:
    """Read what run `run_id` ran from the blob store, to run it again or recover it.

    :param run_id: a checked run id.
    :raises FlytePathUserError: the store holds no such run (or not all of it).
    """
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
    return PastRun(spec=spec, values=values, code_bundle=code_bundle)
