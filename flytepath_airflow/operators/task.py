"""`FlytePathTaskOperator`: runs one FlytePath node as a child process on the Airflow worker.

This is the "local" runner. It starts `flytepath-execute` with the interpreter Airflow runs
on (`python -m flytepath_airflow.runtime.entrypoint`, so no PATH lookup can pick another
installation), streams the child's output line by line into the task log, and pushes only
the node's small outputs.json pointer to XCom. The child's environment is built
(`runtime.task_env`), never the worker's, so the worker's own secrets stay with it. Exit
codes follow DESIGN.md section 4: a user error fails the task without retry, a system error
is retried by Airflow.

`__init__` stores arguments only; all I/O happens in `execute()`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from airflow.sdk import BaseOperator

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.operators.node import (
    ENTRYPOINT_MODULE,
    EXIT_OK,
    FlytePathNodeMixin,
    NodeArgs,
    NodeInvocation,
)

KILL_GRACE_SECONDS = 10.0


class FlytePathTaskOperator(FlytePathNodeMixin, BaseOperator):
    """Run one node of a compiled FlytePath spec in a child process on the worker.

    The nine node arguments (`flytepath_node`, `spec_uri`, `spec_version`, `input_names`,
    `store_root`, `flytepath_item`, `dynamic_parent`, `guarded`, `failure_node`) are the
    node's `NodeArgs`, documented there.

    :param python: interpreter for the child process; defaults to the worker's own.
    :param in_process: run the node in the task's own process instead of a child process
        (map elements: Airflow already gives each task instance its own process, and a
        child interpreter per element would dominate a large map's run time).
    :param kwargs: BaseOperator arguments (task_id, retries, pool, ...).
    """

    def __init__(
        self,
        *,
        flytepath_node: str,
        spec_uri: str | None,
        spec_version: str,
        input_names: tuple[str, ...] = (),
        store_root: str | None = None,
        flytepath_item: Any = None,
        dynamic_parent: str | None = None,
        guarded: bool = False,
        failure_node: bool = False,
        python: str | None = None,
        in_process: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._init_node(NodeArgs(
            flytepath_node=flytepath_node,
            spec_uri=spec_uri,
            spec_version=spec_version,
            input_names=input_names,
            store_root=store_root,
            flytepath_item=flytepath_item,
            dynamic_parent=dynamic_parent,
            guarded=guarded,
            failure_node=failure_node,
        ))
        self.python = python
        self.in_process = in_process
        self._process: subprocess.Popen[str] | None = None

    def command(self, invocation: NodeInvocation) -> list[str]:
        """The child's full command line."""
        return [self.python or sys.executable, "-m", ENTRYPOINT_MODULE, *invocation.argv()]

    def execute(self, context: Any) -> dict[str, Any]:
        """Run the node; return its outputs.json pointer (pushed to XCom)."""
        invocation = self.node_invocation(context)
        self.log.info(
            "FlytePath node %s (spec version %s), run %s, attempt %d",
            invocation.node_id, self.spec_version, invocation.run_id, invocation.attempt,
        )
        if self.in_process:
            exit_code = run_in_process(invocation)
        else:
            exit_code = self._run_child(self.command(invocation),
                                        child_environment(invocation))
        if exit_code != EXIT_OK:
            self.raise_for_exit(invocation, exit_code)
        pointer = self.read_pointer(invocation)
        self.log.info("node %s published outputs: %s", invocation.node_id,
                      ", ".join(sorted(pointer.get("outputs", {}))) or "(none)")
        return self.finish(invocation, pointer)

    def _run_child(self, cmd: list[str], env: dict[str, str]) -> int:
        # A new session makes the child and anything it starts one process group, so a
        # timeout or a kill of this task reaches all of them.
        process = self._process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=env,
            start_new_session=True,
        )
        try:
            assert process.stdout is not None
            for line in process.stdout:
                self.log.info("%s", line.rstrip("\n"))
            return process.wait()
        finally:
            # Reached with the child still alive when Airflow's timeout fires or the task
            # is killed: never leave an orphan running the user's code.
            _stop(process)
            if process.stdout is not None:
                process.stdout.close()
            self._process = None

    def on_kill(self) -> None:
        """Stop the child process group when Airflow kills the task."""
        if self._process is not None:
            _stop(self._process)


def child_environment(invocation: NodeInvocation) -> dict[str, str]:
    """The child's environment, built from the node's task (`task_env`), not the worker's.

    :param invocation: the attempt (its spec, node and store root).
    :raises AirflowFailException: the task's env or a secret would set a FLYTEPATH_* variable.
    """
    from airflow.sdk.exceptions import AirflowFailException

    # Lazy: execute-time only, like run_in_process below.
    from flytepath_airflow.ir.spec_io import load_spec
    from flytepath_airflow.runtime.task_env import python_task_environment

    try:
        spec = load_spec(invocation.spec_uri)
        node = spec.node(invocation.node_id)
        task = spec.task_of(node) if node.task else None
    except (FlytePathUserError, KeyError, OSError):
        task = None  # the child reports an unreadable spec or an unknown node itself
    try:
        return python_task_environment(task, os.environ, invocation.root)
    except FlytePathUserError as exc:
        raise AirflowFailException(str(exc)) from None


def run_in_process(invocation: NodeInvocation) -> int:
    """Run `flytepath-execute`'s work in this process; returns the exit code it would give."""
    # Lazy: execute-time only; the DAG processor imports this module when it parses DAG files.
    from flytepath_airflow.runtime.entrypoint import main

    return main(invocation.argv())


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM the child's process group, then SIGKILL it after a grace period."""
    try:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
