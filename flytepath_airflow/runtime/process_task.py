"""Shell and container tasks run as a process: inputs in, output files back as literals.

Inputs reach the command as `FLYTEPATH_INPUT_<NAME>` environment variables; a `{{inputs.x}}`
placeholder becomes a reference to that variable in a shell script (`shell_template`) and the
input's text in one container argument, never shell code. Each output is a file the command
writes under `$FLYTEPATH_OUTPUT_DIR`, parsed as its declared type.

The process gets a built environment, not the worker's (`task_environment`): the allow-list
below, the task's `env`, its env-mounted secrets taken from the worker's environment, then the
platform's own FLYTEPATH_* variables, which nothing before them may set.

Must not import: airflow, kubernetes, the sdk.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

from flytepath_airflow.errors import FlytePathUserError, TaskExecutionError
from flytepath_airflow.ir.models import TaskSpec
from flytepath_airflow.runtime.context import ExecutionContext
from flytepath_airflow.runtime.shell_template import (
    TEMPLATE,
    input_env_name,
    render_shell_script,
)
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


ALLOWED_ENV = ("PATH", "HOME", "LANG", "TZ", "TMPDIR", "PYTHONPATH")
"""Variables of the worker's environment a local process task inherits (plus every LC_*)."""


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


def task_environment(task: TaskSpec, literals: dict[str, Any], out_dir: str,
                     worker: Mapping[str, str]) -> dict[str, str]:
    """The environment a local process task runs with, built rather than inherited.

    :param task: the task (its `env` and `secrets`).
    :param literals: the node's input literals (each becomes FLYTEPATH_INPUT_<NAME>).
    :param out_dir: the folder the task writes its outputs to.
    :param worker: the worker's environment, read only for the allow-list and secrets.
    :raises FlytePathUserError: the task's env or a secret would set a FLYTEPATH_* variable.
    """
    env = {k: v for k, v in worker.items() if k in ALLOWED_ENV or k.startswith("LC_")}
    for name in (*task.env, *(s.env_name() for s in task.secrets if s.mount == "env")):
        if name.startswith("FLYTEPATH_"):  # compile-time checks refuse this; old specs may not
            raise FlytePathUserError(
                f"task '{task.name}' sets the environment variable {name}, but FLYTEPATH_* "
                "variables belong to the platform. Rename it in the task's env or secrets "
                "and compile the workflow again.")
    env.update(task.env)
    for secret in task.secrets:
        if secret.mount != "env":
            continue
        name = secret.env_name()
        if name in worker:
            env[name] = worker[name]
        else:
            logger.warning("task %s asks for secret %s as $%s, which is not set in this "
                           "worker's environment; set it before the run to provide it",
                           task.name, secret.group + (f"/{secret.key}" if secret.key else ""),
                           name)
    env.update({input_env_name(k): _as_text(v) for k, v in literals.items()})
    env["FLYTEPATH_OUTPUT_DIR"] = out_dir
    return env


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


__all__ = ["ALLOWED_ENV", "Fail", "run_process_task", "task_environment"]
