"""Run whole nodes of a prepared run on this machine: any node kind, with retries.

The local backend runs every node of a spec through `run_nodes`; `flytepath-execute`
uses `NodeRunner` to run one non-task node whole (a map's elements one after another, a
conditional's decision or merge) where a backend gives it a single process, e.g. a node
of a graph a dynamic task built. Retry semantics match Airflow: a user error fails at
once; a system error (or RecoverableError) is retried up to the task's `retries`.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import replace
from typing import Any

from flytepath_airflow.errors import FlytePathUserError, TaskExecutionError
from flytepath_airflow.ir.graph import topological_order
from flytepath_airflow.ir.models import NodeSpec, WorkflowSpec
from flytepath_airflow.runtime.control import (
    ControlFlowError,
    collect_dynamic,
    collect_map,
    decide_branch,
    fan_out_map,
    guarded_out,
    item_node_id,
    merge_outputs,
    read_dynamic_plan,
    record_failure,
)
from flytepath_airflow.runtime.entrypoint import EXIT_OK, EXIT_SYSTEM_ERROR
from flytepath_airflow.runtime.executor import execute_node
from flytepath_airflow.runtime.progress import NodeEvent, Progress
from flytepath_airflow.runtime.run import (
    RunResult,
    collect_outputs,
    load_run_spec,
    read_node_error,
    read_pointer,
    run_key,
)
from flytepath_airflow.runtime.task_env import python_task_environment
from flytepath_airflow.stores.blob import BlobStore
from flytepath_airflow.utils.processes import guarded_argv, kill_group

logger = logging.getLogger(__name__)



def _attempt_subprocess(spec_uri: str, node_id: str, run_id: str, attempt: int, root: str,
                        timeout: float | None, item: int | None = None,
                        env: dict[str, str] | None = None) -> int:
    argv = [sys.executable, "-m", "flytepath_airflow.runtime.entrypoint", "--spec", spec_uri,
            "--node", node_id, "--run-id", run_id, "--attempt", str(attempt), "--root", root,
            *(["--item", str(item)] if item is not None else [])]
    # Under a guard, in its own process group: a timeout kills the attempt and everything
    # it started, and so does this runner's death (utils/processes.py).
    with subprocess.Popen(guarded_argv(argv), stdout=subprocess.DEVNULL, env=env,
                          start_new_session=True) as proc:
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.wait()
            return EXIT_SYSTEM_ERROR
        except BaseException:
            kill_group(proc.pid)
            raise


def run_nodes(spec: WorkflowSpec, run_id: str, root: str, isolate: bool,
               progress: Progress | None) -> RunResult:
    """Run every node of a prepared run in topological order; returns how it ended."""
    notify = progress or (lambda event: None)
    result = RunResult(run_id=run_id, succeeded=False)
    runner = NodeRunner(spec, run_id, root, isolate, notify)
    order = topological_order(spec)
    for index, node_id in enumerate(order):
        node = spec.node(node_id)
        if guarded_out(spec, node, run_id, root) or _skipped_upstream(result, node):
            notify(NodeEvent(node_id, "skipped", message="conditional case not taken"
                             if node.guard is not None else "upstream skipped"))
            result.node_states[node_id] = "skipped"
            continue
        failure = runner.run(node)
        if failure is None:
            result.node_states[node_id] = runner.last_state
            continue
        kind, message = failure
        notify(NodeEvent(node_id, "failed", message=message or ""))
        result.node_states[node_id] = "failed"
        result.failed_node, result.error, result.error_kind = node_id, message, kind
        for later in order[index + 1:]:
            result.node_states[later] = "upstream_failed"
            notify(NodeEvent(later, "skipped", message="upstream failed"))
        if spec.on_failure is not None:
            record_failure(BlobStore(root), run_id, node_id, message or "", kind)
            handled = runner.run(spec.on_failure)
            result.node_states[spec.on_failure.id] = "failed" if handled else \
                runner.last_state
        return result
    result.outputs = collect_outputs(spec, run_id, root)
    result.succeeded = True
    return result


SKIP_TOLERANT_RULES = frozenset({
    "none_failed", "none_failed_min_one_success", "all_done", "all_done_min_one_success",
    "one_success", "one_done", "always",
})
"""Airflow trigger rules under which a task still runs after a skipped upstream."""


def _skipped_upstream(result: RunResult, node: NodeSpec) -> bool:
    """Skip as Airflow would: a merge whose branch was skipped, or a node after a skipped
    node unless its trigger rule (kept from a converted DAG) tolerates skips."""
    if node.kind == "merge":
        assert node.merge is not None
        return result.node_states.get(node.merge.branch) == "skipped"
    rule = node.airflow.trigger_rule if node.airflow is not None else None
    if rule in SKIP_TOLERANT_RULES:
        return False
    return any(result.node_states.get(dep) == "skipped" for dep in node.dependencies())


class NodeRunner:
    """Runs one node of any kind with the task's retry semantics; returns a failure or None."""

    def __init__(self, spec: WorkflowSpec, run_id: str, root: str, isolate: bool,
                 notify: Progress) -> None:
        self.spec, self.run_id, self.root, self.isolate = spec, run_id, root, isolate
        self.notify = notify
        self.store = BlobStore(root)
        self.spec_uri = self.store.uri(f"{run_key(run_id)}/spec.json")
        self.last_state = "succeeded"

    def run(self, node: NodeSpec) -> tuple[str, str | None] | None:
        """Run `node` whole; returns None on success, else (error kind, message)."""
        try:
            if node.kind == "branch":
                case = decide_branch(self.spec, node.id, self.run_id, self.root)
                self._done(NodeEvent(node.id, "succeeded", message=f"took case {case}"))
                return None
            if node.kind == "merge":
                merge_outputs(self.spec, node.id, self.run_id, self.root)
                self._done(NodeEvent(node.id, "succeeded"))
                return None
            if node.kind == "map":
                return self.run_map(node)
            if node.kind == "dynamic":
                return self.run_dynamic(node)
        except ControlFlowError as exc:
            return "user", str(exc)
        return self.run_task(node.id, None)

    def _done(self, event: NodeEvent) -> None:
        self.last_state = event.state
        self.notify(event)

    def run_task(self, node_id: str, item: int | None) -> tuple[str, str | None] | None:
        task = self.spec.task_of(self.spec.node(node_id))
        shown = item_node_id(node_id, item) if item is not None else node_id
        attempts = task.retries + 1
        for attempt in range(1, attempts + 1):
            self.notify(NodeEvent(node_id, "running", element=item, attempt=attempt,
                                  attempts=attempts))
            kind, message = _attempt(self.spec, self.spec_uri, node_id, self.run_id, attempt,
                                     self.root, self.isolate, task.timeout, item)
            if kind is None:
                cache = {} if self.spec.node(node_id).kind == "dynamic" else \
                    read_pointer(self.store, self.run_id, shown).get("cache") or {}
                if cache.get("status") == "hit":
                    self._done(NodeEvent(node_id, "cached", element=item, attempt=attempt,
                                         attempts=attempts,
                                         cached_from=cache.get("source_run_id")))
                elif cache.get("status") == "recovered":
                    self._done(NodeEvent(node_id, "recovered", element=item, attempt=attempt,
                                         attempts=attempts,
                                         cached_from=cache.get("source_run_id")))
                else:
                    self._done(NodeEvent(node_id, "succeeded", element=item, attempt=attempt,
                                         attempts=attempts))
                return None
            if kind == "system" and attempt < attempts:
                self.notify(NodeEvent(node_id, "retrying", element=item, attempt=attempt,
                                      attempts=attempts, message=message or ""))
                continue
            return kind, message
        raise AssertionError("unreachable")

    def run_map(self, node: Any) -> tuple[str, str | None] | None:
        size = fan_out_map(self.spec, node.id, self.run_id, self.root)
        self.notify(NodeEvent(node.id, "running", size=size))
        for item in range(size):
            failure = self.run_task(node.id, item)
            if failure is not None:
                self.notify(NodeEvent(node.id, "failed", element=item,
                                      message=failure[1] or ""))
        collect_map(self.spec, node.id, self.run_id, self.root, size)
        self._done(NodeEvent(node.id, "succeeded"))
        return None

    def run_dynamic(self, node: Any) -> tuple[str, str | None] | None:
        failure = self.run_task(node.id, None)
        if failure is not None:
            return failure
        plan = read_dynamic_plan(self.run_id, node.id, self.root)
        child_id = plan["child_run_id"]
        child = load_run_spec(child_id, self.root)
        sub = run_nodes(child, child_id, self.root, self.isolate,
                        lambda event: self.notify(replace(event, node=f"{node.id}/{event.node}")))
        if not sub.succeeded:
            return sub.error_kind or "user", \
                f"node '{sub.failed_node}' of the graph it built failed: {sub.error}"
        collect_dynamic(self.spec, node.id, self.run_id, self.root)
        self._done(NodeEvent(node.id, "succeeded",
                             message=f"{len(child.nodes)} generated nodes"))
        return None


def _attempt(spec: WorkflowSpec, spec_uri: str, node_id: str, run_id: str, attempt: int,
             root: str, isolate: bool, timeout: float | None,
             item: int | None = None) -> tuple[str | None, str | None]:
    """Run one attempt; returns (None, None) on success, else (error kind, message)."""
    if not isolate:
        try:
            execute_node(spec, node_id, run_id, attempt, root, item=item)
        except TaskExecutionError as exc:
            return exc.kind, exc.task_message
        return None, None
    node = spec.node(node_id)
    try:
        env = python_task_environment(spec.task_of(node) if node.task else None, os.environ,
                                      root)
    except FlytePathUserError as exc:
        return "user", str(exc)
    code = _attempt_subprocess(spec_uri, node_id, run_id, attempt, root, timeout, item, env)
    if code == EXIT_OK:
        return None, None
    shown = item_node_id(node_id, item) if item is not None else node_id
    record = read_node_error(run_id, shown, attempt, root) or {}
    # A process killed by a signal (OOM killer, a preempted worker) wrote no error: like
    # Airflow, treat it as the system failing, which the task's retries cover.
    kind = record.get("kind") or ("system" if code == EXIT_SYSTEM_ERROR or code < 0
                                  else "user")
    return kind, record.get("message") or f"flytepath-execute exited with code {code}"
