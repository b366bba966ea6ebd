"""The work behind `flytepath run` through Airflow and `flytepath up`.

`cli/main.py` declares the commands and imports this module only when one of them runs.
Importing it does not import Airflow (a test checks): `run_with_airflow` runs Airflow in a
child process (`flytepath_airflow.backends.airflow.embedded`, ADR 0006), `up` starts
`airflow standalone` (`cli/render_commands.py` prints a DAG without Airflow at all).
Our own modules it uses (naming, settings, the DAG builder's ids) are imported at module
level; none of them imports Airflow at module level.

Everything lives under FLYTEPATH_HOME/airflow: airflow.cfg and the SQLite metadata DB
(created and migrated on first use), the dags folder with the FlytePath DAG file, and the
specs folder that file reads.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from flytepath_airflow.backends.airflow.dag_builder import launch_plan_dag_id
from flytepath_airflow.backends.airflow.dag_files import dag_file_sources
from flytepath_airflow.config import load_settings
from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.names import check_name
from flytepath_airflow.ir.spec_io import load_spec
from flytepath_airflow.operators.node import OPTIONS_CONF_KEY, RUN_ID_CONF_KEY
from flytepath_airflow.platform.naming import dag_id_for, task_id_for
from flytepath_airflow.platform.settings import AirflowBackendSettings
from flytepath_airflow.runtime.closing import close_run, run_failure
from flytepath_airflow.runtime.progress import NodeEvent, Progress
from flytepath_airflow.runtime.registry import register_launch_plan, register_spec
from flytepath_airflow.runtime.run import (
    RunResult,
    collect_outputs,
    new_run_id,
    node_key,
    read_node_error,
    read_pointer,
    validate_inputs,
)
from flytepath_airflow.stores.blob import BlobStore, default_home, default_root
from flytepath_airflow.stores.metadata import default_metadata_url
from flytepath_airflow.utils.atomic import write_if_changed
from flytepath_airflow.utils.process_tree import stop_tree

if TYPE_CHECKING:
    from flytepath_airflow.ir.models import LaunchPlanSpec, WorkflowSpec

StageFn = Callable[[str | None], None]
"""stage(text): the embedded Airflow's start-up stage as it begins; None when it is over."""

STAGE_TEXT = {
    "process": "starting Airflow: process (imports)",
    "database": "starting Airflow: database",
    "parse": "starting Airflow: parsing the DAG",
    "run": "starting Airflow: running the DAG",
}
"""What the user reads for each start-up stage the embedded Airflow reports."""


class EmbeddedAirflow:
    """The folders and environment of the Airflow that FlytePath runs on one machine.

    :param home: FLYTEPATH_HOME; Airflow lives in its `airflow` subfolder.
    :param root: store root URI the tasks write to.
    """

    def __init__(self, home: str | Path, root: str) -> None:
        self.home = Path(home).expanduser().resolve()
        self.root = root
        self.airflow_home = self.home / "airflow"
        self.dags_dir = self.airflow_home / "dags"
        # The one specs folder `flytepath register` writes and a deployed Airflow reads.
        self.specs_dir = load_settings(home=str(self.home)).specs_dir

    def prepare(self) -> None:
        """Create the folders and (re)write the FlytePath DAG files."""
        for folder in (self.airflow_home, self.dags_dir, self.specs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        # The same files a deployment writes with `flytepath dags-file`.
        for name, source in dag_file_sources().items():
            write_if_changed(self.dags_dir / name, source)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment Airflow must see (set before it is imported)."""
        env = dict(os.environ if base is None else base)
        env.update({
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_dir),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # Map nodes expand one task instance per element (ADR 0013).
            "AIRFLOW__CORE__MAX_MAP_LENGTH": str(EMBEDDED_MAX_MAP_LENGTH),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.airflow_home}/airflow.db",
            "AIRFLOW__FLYTEPATH__SPECS_DIR": str(self.specs_dir),
            "AIRFLOW__FLYTEPATH__STORE_ROOT": self.root,
            "FLYTEPATH_SPECS_DIR": str(self.specs_dir),
            "FLYTEPATH_HOME": str(self.home),
            "FLYTEPATH_STORE_ROOT": self.root,
        })
        return env

    def publish_spec(self, spec: WorkflowSpec, code_root: str | Path | None = None) -> Path:
        """Register `spec` (with its code) and put it where the DAG file finds it.

        What `flytepath run` runs through Airflow is a registered version, as with
        `pyflyte run --remote`: the UI can run it again later, with the same code.

        :param spec: the compiled spec.
        :param code_root: the folder its Python tasks are imported from; its .py files are
            stored with the version, so workers need nothing on their PYTHONPATH.
        """
        reg = register_spec(spec, root=self.root, specs_dir=str(self.specs_dir),
                            code_root=code_root)
        assert reg.loader_path is not None
        return Path(reg.loader_path)

    def publish_launch_plan(self, plan: LaunchPlanSpec,
                            code_root: str | Path | None = None) -> Path:
        """Register a launch plan's workflow and put the plan where the DAG file finds it.

        :param plan: the compiled launch plan (its own DAG).
        :param code_root: as for `publish_spec`.
        """
        reg = register_launch_plan(plan, root=self.root, specs_dir=str(self.specs_dir),
                                   code_root=code_root)
        assert reg.loader_path is not None
        return Path(reg.loader_path)


EMBEDDED_MAX_MAP_LENGTH = 100_000
"""`[core] max_map_length` of the embedded Airflow: the largest map node it runs."""


def run_with_airflow(
    spec: WorkflowSpec,
    inputs: dict[str, Any],
    *,
    root: str,
    home: str,
    progress: Progress | None = None,
    stage: StageFn | None = None,
    run_id: str | None = None,
    options: dict[str, Any] | None = None,
    launch_plan: LaunchPlanSpec | None = None,
    code_root: str | Path | None = None,
) -> RunResult:
    """Run a workflow through a real Airflow (`dag.test()`, SQLite metadata DB).

    With `launch_plan`, the launch plan's own DAG (its schedule, fixed inputs) runs.

    :param spec: the compiled spec.
    :param inputs: workflow input values (validated before Airflow starts).
    :param root: the store root URI.
    :param home: FLYTEPATH_HOME; Airflow's files go to its `airflow` subfolder.
    :param progress: called with each node's events while tasks run (the same events the
        local runner reports, so one display shows both).
    :param stage: called as Airflow starts (database, parsing, running), before any task.
    :param run_id: FlytePath run id to use (a new one when None).
    :param options: run options (overwrite_cache, code_bundle) recorded with the run.
    :param code_root: the folder the spec's Python tasks are imported from, stored with the
        registered version (see `EmbeddedAirflow.publish_spec`).
    :returns: the run's status, the failed node and its error, and the outputs.
    """
    values = validate_inputs(spec, inputs)  # a bad value fails here, before Airflow starts
    run_id = check_name(run_id, "run_id", where="run id") if run_id is not None \
        else new_run_id()
    embedded = EmbeddedAirflow(home, root)
    embedded.prepare()
    if launch_plan is not None:
        embedded.publish_launch_plan(launch_plan, code_root)
        dag_id = launch_plan_dag_id(launch_plan)
    else:
        embedded.publish_spec(spec, code_root)
        dag_id = dag_id_for(spec)
    pool = AirflowBackendSettings().pool_for(spec.tenant.project, spec.tenant.domain)
    conf = {**values, RUN_ID_CONF_KEY: run_id}
    if options:
        conf[OPTIONS_CONF_KEY] = options

    log_dir = embedded.airflow_home / "logs" / "flytepath-run"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{run_id}.log"
    read_fd, write_fd = os.pipe()
    cmd = [
        sys.executable, "-m", "flytepath_airflow.backends.airflow.embedded",
        "--dag-id", dag_id, "--progress-fd", str(write_fd), "--conf", json.dumps(conf),
        "--pool", pool.pool, "--pool-slots", str(pool.slots),
    ]
    events: list[dict[str, Any]] = []
    translate = _EventTranslator(spec, root, run_id)
    if stage is not None:
        stage(STAGE_TEXT["process"])  # importing Airflow takes seconds before the child speaks
    with open(log_path, "w", encoding="utf-8") as log_file:
        child = subprocess.Popen(
            cmd, env=embedded.env(), stdout=log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, pass_fds=(write_fd,),
        )
        os.close(write_fd)
        with os.fdopen(read_fd, "r", encoding="utf-8") as stream:
            for line in stream:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                events.append(event)
                if event.get("event") == "stage" and stage is not None:
                    stage(STAGE_TEXT.get(str(event.get("stage")), str(event.get("stage"))))
                if event.get("event") == "task" and progress is not None:
                    for node_event in translate(event):
                        progress(node_event)
        child.wait()
    if stage is not None:
        stage(None)

    done = next((e for e in reversed(events) if e.get("event") == "done"), None)
    states = {tid: st for tid, st in (done or {}).get("task_states", {}).items()}
    if progress is not None:
        # Airflow skips tasks after a skipped one without running them: no event came.
        shown = {e["task_id"] for e in events
                 if e.get("event") == "task" and e.get("state") == "skipped"}
        for task_id, state in sorted(states.items()):
            if state == "skipped" and task_id not in shown:
                for skipped in translate({"task_id": task_id, "state": "skipped",
                                          "map_index": -1}):
                    progress(replace(skipped, message="upstream skipped"))
    node_states = {node.id: states.get(_exit_task_id(node), "not run") for node in spec.nodes}
    if done is not None and done.get("state") == "success":
        result = RunResult(run_id=run_id, succeeded=True,
                           outputs=collect_outputs(spec, run_id, root), node_states=node_states)
    else:
        failed_node, message, kind = _failure(spec, events, root, run_id)
        if message is None:
            message = (done or {}).get("error") or (
                f"Airflow exited with code {child.returncode} before the run finished; "
                f"see {log_path}")
        result = RunResult(run_id=run_id, succeeded=False, failed_node=failed_node,
                           error=message, error_kind=kind, node_states=node_states)
    # The FlytePath listener in the embedded Airflow has closed the run when its DAG run
    # ended; this closes it only if Airflow died before (closing twice is a no-op). The
    # same metadata store the task processes used (they run with this home).
    close_run(run_id, root, succeeded=result.succeeded,
              metadata_url=default_metadata_url(home), error=result.error,
              failed_node=result.failed_node, error_kind=result.error_kind)
    return result


def _exit_task_id(node: Any) -> str:
    """The Airflow task whose state is the node's: a map's or dynamic node's `collect`."""
    if node.kind in ("map", "dynamic"):
        return f"{task_id_for(node.id)}.collect"
    return task_id_for(node.id)


def _record_of(event: dict[str, Any]) -> str:
    """The FlytePath record id an Airflow task event is about (a map element: `m[i]`)."""
    task_id = str(event["task_id"])
    index = event.get("map_index", -1)
    for suffix in (".fanout", ".collect", ".items", ".build"):
        if task_id.endswith(suffix):
            base = task_id[: -len(suffix)]
            if suffix == ".items" and index is not None and index >= 0:
                return f"{base}[{index}]"
            return base
    return task_id


class _EventTranslator:
    """Turns the embedded Airflow's task events into the runtime's `NodeEvent`s.

    Airflow runs a map node as `fanout`, mapped `items` and `collect` tasks and a dynamic
    node as `build`, per level `plan_k` and mapped `run_k`, and `collect`; the user knows
    only the node. So the map's start (with its size, read from what `fanout` recorded),
    its elements and its end are reported under the node's id, a generated node as
    `parent/child` (the id the grid shows as the mapped instance's label), as the local
    runner reports them; an internal step is shown only when it fails or retries. A cache
    hit, which Airflow sees as a success, is reported as `cached`.

    :param spec: the workflow that runs.
    :param root: the store root the tasks write to.
    :param run_id: the FlytePath run id.
    """

    def __init__(self, spec: WorkflowSpec, root: str, run_id: str) -> None:
        self.root, self.run_id = root, run_id
        nodes = [*spec.nodes, *([spec.on_failure] if spec.on_failure is not None else [])]
        self.by_task = {task_id_for(node.id): node for node in nodes}
        self.attempts = {node.id: spec.task_of(node).retries + 1 for node in nodes
                         if node.task is not None}

    def __call__(self, event: dict[str, Any]) -> list[NodeEvent]:
        task_id = str(event["task_id"])
        index = event.get("map_index", -1)
        element = None if index is None or int(index) < 0 else int(index)
        node = self.by_task.get(task_id)
        if node is not None:  # a task node, a conditional's step, a mapped Airflow operator
            return [self._event(node.id, event, element, record=_record_of(event)
                                if element is None else f"{node.id}[{element}]")]
        base, _, step = task_id.rpartition(".")
        node = self.by_task.get(base)
        internal = step in ("fanout", "items", "collect", "build") or \
            step.startswith(("plan_", "run_"))
        if node is None or not internal:
            shown = task_id if element is None else f"{task_id}[{element}]"
            return [self._event(shown, event, None, record=shown)]
        state = str(event["state"])
        if step == "items" and element is not None:
            return [self._event(node.id, event, element, record=f"{node.id}[{element}]")]
        if step == "fanout" and state == "succeeded":
            return [NodeEvent(node.id, "running", size=self._map_size(node.id))]
        if step == "build":
            return [self._event(node.id, event, None, record=node.id)]
        if step.startswith("run_") and element is not None:
            label = event.get("label") or f"{step}[{element}]"
            # The generated node records under the graph's own run: Airflow's error says why.
            return [self._event(f"{node.id}/{label}", event, None, record=None,
                                attempts=self.attempts.get(node.id))]
        if step == "collect" and state in ("succeeded", "skipped"):
            return [NodeEvent(node.id, state)]
        if state in ("failed", "retrying"):  # fanout, plan_k, collect: only when they fail
            return [self._event(node.id, event, None, record=node.id, attempts=1)]
        return []

    def _event(self, node: str, event: dict[str, Any], element: int | None, *,
               record: str | None, attempts: int | None = None) -> NodeEvent:
        state = str(event["state"])
        attempt = event.get("attempt")
        attempt = int(attempt) if isinstance(attempt, int) and attempt > 0 else None
        attempts = attempts or self.attempts.get(node)
        message = ""
        cached_from = None
        if state in ("failed", "retrying"):
            error = _node_error(self.root, self.run_id, record, attempt) if record else None
            message = str(error["message"]) if error else str(event.get("error") or "")
        elif state == "succeeded" and record is not None:
            cache = _node_cache(self.root, self.run_id, record)
            if cache.get("status") == "hit":
                state, cached_from = "cached", cache.get("source_run_id")
            elif cache.get("status") == "recovered":
                state, cached_from = "recovered", cache.get("source_run_id")
        return NodeEvent(node, state, element=element, attempt=attempt, attempts=attempts,
                         message=message, cached_from=cached_from)

    def _map_size(self, node_id: str) -> int | None:
        try:
            return int(BlobStore(self.root).read_json(
                f"{node_key(self.run_id, node_id)}/fanout.json")["size"])
        except Exception:  # progress is best effort; the map still runs and ends
            return None


def _node_cache(root: str, run_id: str, node: str) -> dict[str, Any]:
    try:
        return dict(read_pointer(BlobStore(root), run_id, node).get("cache") or {})
    except Exception:  # progress is best effort; the run's result says what happened
        return {}


def _node_error(root: str, run_id: str, node: str, attempt: Any) -> dict[str, Any] | None:
    try:
        return read_node_error(run_id, node, int(attempt or 1), root)
    except Exception:
        return None


def _failure(
    spec: WorkflowSpec, events: list[dict[str, Any]], root: str, run_id: str
) -> tuple[str | None, str | None, str | None]:
    by_task = {task_id_for(node.id): node.id for node in spec.nodes}
    failed = [e for e in events if e.get("event") == "task" and e.get("state") == "failed"]
    # The first failure is the cause; a failure node fails after it, and says so.
    # A map element's failure is the map's cause only through its collect task, which
    # knows whether min_success_ratio tolerated it.
    failed.sort(key=lambda e: (e.get("task_id") == "on_failure",
                               str(e.get("task_id", "")).endswith(".items")))
    for event in failed:
        record = _record_of(event)
        node = by_task.get(record, record)
        error = _node_error(root, run_id, record, event.get("attempt"))
        if error:
            return node, str(error.get("message", "")), str(error.get("kind", "user"))
        text = str(event.get("error") or "the task failed; see the Airflow log")
        # A control step (a conditional's .fail, a map below min_success_ratio) records
        # the run's failure with its kind instead of an attempt's error.json.
        cause = run_failure(run_id, root)
        if cause.get("failed_node") == node:
            return node, text, str(cause.get("kind") or "user")
        return node, text, "system"
    return None, None, None


# ------------------------------------------------------------------------------- up


def setup_standalone(embedded: EmbeddedAirflow) -> None:
    """Create or migrate the metadata DB and the tenant pools of every published spec."""
    subprocess.run(
        [sys.executable, "-m", "flytepath_airflow.backends.airflow.embedded", "--setup-only"],
        env=embedded.env(), check=True, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def standalone_command(embedded: EmbeddedAirflow, port: int) -> tuple[list[str], dict[str, str]]:
    """The `airflow standalone` command line and environment for `flytepath up`."""
    airflow_bin = Path(sys.executable).with_name("airflow")
    cmd = [str(airflow_bin) if airflow_bin.exists() else "airflow", "standalone"]
    env = embedded.env()
    # standalone starts its components as `airflow ...` found on PATH: use this one.
    env["PATH"] = os.pathsep.join([str(airflow_bin.parent), env.get("PATH", "")])
    env["AIRFLOW__API__PORT"] = str(port)
    env.setdefault("AIRFLOW__API__HOST", "127.0.0.1")
    # Workers reach the execution API on the API server; its default assumes port 8080.
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
    # One machine runs the API server, scheduler, processor and tasks: be patient under load.
    env.setdefault("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", "60")
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(
        embedded.airflow_home / "simple_auth_manager_passwords.json.generated")
    return cmd, env


def read_admin_password(embedded: EmbeddedAirflow, timeout: float = 120.0) -> str | None:
    """The admin password `airflow standalone` generates (waits for the file to appear)."""
    path = embedded.airflow_home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                data = json.loads(path.read_text() or "{}")
            except json.JSONDecodeError:
                data = {}
            if data.get("admin"):
                return str(data["admin"])
        time.sleep(0.5)
    return None


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """True once the API server reports every component healthy; False if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5) as resp:
                health = json.load(resp)
            if all(health.get(part, {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "dag_processor")):
                return True
        except (OSError, ValueError):
            pass
        time.sleep(2)
    return False


def stop_airflow(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """Stop `airflow standalone` and every process it started.

    Its scheduler's LocalExecutor workers and its task runners (which sit in process groups
    of their own) outlive it when only it, or only its group, is stopped, so its whole
    process tree gets SIGTERM, then SIGKILL after `grace` seconds (`utils/process_tree.py`).
    A second Ctrl+C while it waits skips to SIGKILL.

    :param proc: `airflow standalone`, started with `start_new_session=True`.
    :param grace: seconds to wait after SIGTERM.
    """
    try:
        left = stop_tree(proc.pid, grace=grace, reap=proc.poll)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a third Ctrl+C must not stop this
        left = stop_tree(proc.pid, grace=0.0, reap=proc.poll)
    if left:
        typer.echo(f"could not stop processes {sorted(left)} that Airflow started; stop them "
                   "with `kill -9`.", err=True)


def up(port: int, specs: list[str]) -> None:
    """`flytepath up`: start `airflow standalone` with the FlytePath DAGs until Ctrl+C.

    :param port: port of the Airflow UI.
    :param specs: compiled spec JSON files to publish first.
    """
    if not _port_is_free(port):
        raise FlytePathUserError(
            f"port {port} on 127.0.0.1 is already in use (another Airflow or flytepath up?). "
            "Stop it, or choose another port with --port."
        )
    embedded = EmbeddedAirflow(default_home(), default_root())
    embedded.prepare()
    for path in specs:
        embedded.publish_spec(load_spec(path))
    typer.echo("preparing the Airflow metadata DB and tenant pools ...")
    setup_standalone(embedded)
    cmd, env = standalone_command(embedded, port)
    # Airflow's log servers default to fixed ports; another Airflow on this machine would
    # take them, so pick free ones unless they are configured.
    for key in ("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"):
        env.setdefault(key, str(_free_port()))
    typer.echo(f"starting Airflow (AIRFLOW_HOME={embedded.airflow_home}); "
               f"specs folder: {embedded.specs_dir}")
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        if not _wait_healthy(base, proc, timeout=300.0):
            raise FlytePathUserError(
                f"Airflow did not become healthy on {base} (exit code {proc.poll()}); its "
                f"output is above, and its files are under {embedded.airflow_home}."
            )
        password = read_admin_password(embedded)
        typer.echo(f"Airflow UI: {base}  login: admin / "
                   f"{password or '(see simple_auth_manager_passwords.json.generated)'}")
        typer.echo("FlytePath DAGs are tagged 'flytepath'. Press Ctrl+C to stop.")
        code = proc.wait()
    except KeyboardInterrupt:
        typer.echo("stopping Airflow ...")
        code = 0
    finally:
        stop_airflow(proc)
    raise typer.Exit(code)
