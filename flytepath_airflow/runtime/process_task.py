"""Shell and container tasks run as a process: inputs in, output files back as literals.

Inputs reach the command as `FLYTEPATH_INPUT_<NAME>` environment variables; a `{{inputs.x}}`
placeholder becomes a reference to that variable in a shell script (`shell_template`) and the
input's text in one container argument, never shell code. Each output is a file the command
writes under `$FLYTEPATH_OUTPUT_DIR`, parsed as its declared type.

The process gets a built environment, not the worker's (`task_env.task_environment`): the
allow-list, the task's `env`, its secrets, then its inputs and outputs folder.

Must not import: airflow, kubernetes, the sdk.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from flytepath_airflow.errors import FlytePathUserError, TaskExecutionError
from flytepath_airflow.ir.models import TaskSpec
from flytepath_airflow.runtime.context import ExecutionContext
from flytepath_airflow.runtime.shell_template import TEMPLATE, render_shell_script
from flytepath_airflow.runtime.task_env import ALLOWED_ENV, task_environment
from flytepath_airflow.types import parse_cli_value
from flytepath_airflow.utils.processes import (
    GUARD_START_FAILED,
    START_FAILED_MARK,
    guarded_argv,
    kill_group,
)

logger = logging.getLogger(__name__)

Fail = Callable[[str, BaseException, str], TaskExecutionError]
"""Records an attempt's failure (kind, exception, message) and returns the error to raise."""


def _as_text(literal: Any) -> str:
    return literal if isinstance(literal, str) else json.dumps(literal, sort_keys=True)


def _render(text: str, literals: dict[str, Any], node_id: str) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in literals:
            raise FlytePathUserError(
                f"node '{node_id}' refers to {{{{inputs.{name}}}}}, which is not an input "
                f"of its task (inputs: {', '.join(sorted(literals)) or 'none'})."
            )
        return _as_text(literals[name])

    return TEMPLATE.sub(sub, text)


def run_process_task(task: TaskSpec, node_id: str, literals: dict[str, Any],
                     ctx: ExecutionContext, fail: Fail) -> dict[str, Any]:
    """Run a shell or container task's command; returns its output literals.

    :param task: the shell or container task.
    :param node_id: the node (or map element) being run, for messages.
    :param literals: the node's input literals.
    :param ctx: the attempt's context (its working directory holds the outputs folder).
    :param fail: records the attempt's failure and returns the error to raise.
    """

    out_dir = os.path.join(ctx.working_dir, "outputs")
    os.makedirs(out_dir, exist_ok=True)
    try:
        env = task_environment(task, literals, out_dir, os.environ)
        if task.kind == "shell":
            assert task.script is not None
            argv = ["bash", "-euo", "pipefail", "-c",
                    render_shell_script(task.script, literals, node_id)]
        else:
            assert task.container is not None
            argv = [_render(a, literals, node_id)
                    for a in (*task.container.command, *task.container.args)]
            if task.container.image:
                logger.info("local run of container task %s: running its command on this "
                            "machine; the image %s is used only on Kubernetes",
                            node_id, task.container.image)
            if not argv:
                raise FlytePathUserError(f"container task '{task.name}' has no command")
    except FlytePathUserError as exc:
        raise fail("user", exc, str(exc)) from exc

    try:
        proc = _run_guarded(argv, env, ctx.working_dir, task.timeout)
    except FileNotFoundError as exc:
        raise fail("user", exc,
                       f"command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise fail("user", exc,
                       f"timed out after {task.timeout} s") from exc
    if proc.returncode == GUARD_START_FAILED and START_FAILED_MARK in proc.stderr:
        reason = proc.stderr.split(START_FAILED_MARK, 1)[1].strip()
        raise fail("user", FileNotFoundError(reason), f"command not found: {argv[0]}" if
                   "No such file" in reason else f"cannot start {argv[0]}: {reason}")
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        err = RuntimeError(tail)
        raise fail("user", err,
                       f"command exited with code {proc.returncode}" +
                       (f": {tail}" if tail else ""))
    results: dict[str, Any] = {}
    for var in task.interface.outputs:
        path = os.path.join(out_dir, var.name)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError as exc:
            raise fail("user", exc,
                           f"the task did not write output '{var.name}' to "
                           f"$FLYTEPATH_OUTPUT_DIR/{var.name}") from exc
        text = text[:-1] if text.endswith("\n") else text
        try:
            results[var.name] = parse_cli_value(text, var.type)
        except FlytePathUserError as exc:
            raise fail("user", exc,
                           f"output '{var.name}': {exc}") from exc
    return results


def _run_guarded(argv: list[str], env: dict[str, str], cwd: str,
                 timeout: float | None) -> subprocess.CompletedProcess[str]:
    """Run the command in its own process group under a guard (`utils.processes`): on a
    timeout the whole group is killed, and if this process dies (even by SIGKILL) the
    guard kills the group, so no process of the task outlives its runner."""
    with subprocess.Popen(guarded_argv(argv), env=env, cwd=cwd,
                          stdout=sys.stdout.fileno() if _has_fileno(sys.stdout) else None,
                          stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.communicate()
            raise
        except BaseException:
            kill_group(proc.pid)
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, None, stderr)


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


__all__ = ["ALLOWED_ENV", "Fail", "run_process_task", "task_environment"]
