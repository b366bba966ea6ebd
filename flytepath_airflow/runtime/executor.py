"""Execute one node of a run: inputs -> run -> outputs, the same on a laptop and in a pod.

`execute_node` reads the node's input literals (constants, workflow inputs, upstream
pointers), decodes them with the type engine, runs the task, encodes its outputs into the
blob store under the attempt's own prefix, and publishes the node's `outputs.json`
pointer last, atomically. A failure writes the attempt's `error.json` and raises
TaskExecutionError with kind "user" (not retried) or "system" (retried).

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any

from flytepath_airflow.errors import (
    FlytePathUserError,
    RecoverableError,
    TaskExecutionError,
)
from flytepath_airflow.ir.models import NodeSpec, TaskSpec, WorkflowSpec
from flytepath_airflow.runtime.context import ExecutionContext, execution_context
from flytepath_airflow.runtime.resolver import load_callable
from flytepath_airflow.runtime.run import (
    attempt_key,
    pointer_entry,
    pointer_key,
    read_run_inputs,
    resolve_binding,
)
from flytepath_airflow.stores.blob import BlobIntegrityError, BlobStore, NodeBlobContext

logger = logging.getLogger(__name__)


def _engine() -> Any:
    from flytepath_airflow.types import default_engine

    return default_engine()


def _node_literals(
    spec: WorkflowSpec, node: NodeSpec, task: TaskSpec, store: BlobStore, run_id: str
) -> dict[str, Any]:
    workflow_inputs = read_run_inputs(run_id, store.root)
    pointers: dict[str, dict[str, Any]] = {}
    literals: dict[str, Any] = {}
    for var in task.interface.inputs:
        binding = node.inputs.get(var.name)
        if binding is not None:
            literals[var.name] = resolve_binding(
                binding, store=store, run_id=run_id, workflow_inputs=workflow_inputs,
                pointers=pointers,
            )
        elif not var.required:
            literals[var.name] = var.default
        else:  # the compiler rejects this; a hand-edited spec can still get here
            raise FlytePathUserError(
                f"node '{node.id}' has no binding for required input '{var.name}'"
            )
    return literals


def _record_failure(
    store: BlobStore, prefix: str, kind: str, exc: BaseException, message: str
) -> None:
    doc = {
        "kind": kind,
        "type": type(exc).__name__,
        "message": message,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        "time": time.time(),
    }
    try:
        store.write_json(f"{prefix}/error.json", doc)
    except OSError:  # the store itself is failing; the exit code still carries the kind
        logger.exception("could not record the error of %s", prefix)


def execute_node(
    spec: WorkflowSpec,
    node_id: str,
    run_id: str,
    attempt: int = 1,
    root: str | None = None,
) -> dict[str, Any]:
    """Run one node of a prepared run and return its published outputs pointer."""
    from flytepath_airflow.stores.blob import default_root

    store = BlobStore(root or default_root())
    try:
        node = spec.node(node_id)
        task = spec.task_of(node)
    except KeyError as exc:
        known = ", ".join(n.id for n in spec.nodes)
        raise FlytePathUserError(f"{exc.args[0]}; its nodes are: {known}") from None
    prefix = attempt_key(run_id, node_id, attempt)
    scratch = tempfile.mkdtemp(prefix=f"flytepath-{node_id}-")
    blobs = NodeBlobContext(store, prefix, scratch=os.path.join(scratch, "blobs"))
    try:
        try:
            literals = _node_literals(spec, node, task, store, run_id)
        except (BlobIntegrityError, OSError) as exc:
            raise _failure(store, prefix, node_id, "system", exc, f"reading inputs: {exc}") from exc
        except FlytePathUserError as exc:
            raise _failure(store, prefix, node_id, "user", exc, str(exc)) from exc
        ctx = ExecutionContext(
            project=spec.tenant.project, domain=spec.tenant.domain, workflow=spec.name,
            version=spec.version, run_id=run_id, node_id=node_id, task_name=task.name,
            attempt=attempt, working_dir=scratch, blobs=blobs,
        )
        if task.kind == "python":
            output_literals = _run_python(task, literals, ctx, store, prefix, node_id)
        else:
            output_literals = _run_process(task, literals, ctx, store, prefix, node_id)
        try:
            outputs = {
                name: pointer_entry(store, f"{prefix}/outputs/{name}.json", lit)
                for name, lit in output_literals.items()
            }
            pointer = {
                "run_id": run_id, "node": node_id, "attempt": attempt, "task": task.name,
                "version": spec.version, "outputs": outputs,
            }
            store.write_json(pointer_key(run_id, node_id), pointer)
        except OSError as exc:
            raise _failure(store, prefix, node_id, "system", exc, f"publishing outputs: {exc}") \
                from exc
        return pointer
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _failure(
    store: BlobStore, prefix: str, node_id: str, kind: str, exc: BaseException, message: str
) -> TaskExecutionError:
    _record_failure(store, prefix, kind, exc, message)
    return TaskExecutionError(node_id, message, kind=kind)


def _run_python(
    task: TaskSpec,
    literals: dict[str, Any],
    ctx: ExecutionContext,
    store: BlobStore,
    prefix: str,
    node_id: str,
) -> dict[str, Any]:
    from flytepath_airflow.sdk.interface import python_interface, split_outputs

    engine = _engine()
    assert task.fn is not None
    try:
        fn = load_callable(task.fn)
        py = python_interface(fn)
        values = {
            name: engine.to_python(lit, py.inputs[name], ctx.blobs)
            for name, lit in literals.items()
            if name in py.inputs
        }
    except FlytePathUserError as exc:
        raise _failure(store, prefix, node_id, "user", exc, str(exc)) from exc
    except BlobIntegrityError as exc:
        raise _failure(store, prefix, node_id, "system", exc, str(exc)) from exc

    logger.info("running %s (%s) attempt %s", node_id, task.fn, ctx.attempt)
    try:
        with execution_context(ctx):
            result = fn(**values)
    except RecoverableError as exc:
        raise _failure(store, prefix, node_id, "system", exc,
                       f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise _failure(store, prefix, node_id, "user", exc,
                       f"{type(exc).__name__}: {exc}") from exc

    try:
        raw = split_outputs(py, result, task.name)
        return {
            name: engine.to_literal(raw[name], py.outputs[name], ctx.blobs, name)
            for name in py.outputs
        }
    except (FlytePathUserError, TypeError, ValueError) as exc:
        message = f"task '{task.name}' returned a value that does not match its outputs: {exc}"
        raise _failure(store, prefix, node_id, "user", exc, message) from exc
    except OSError as exc:
        raise _failure(store, prefix, node_id, "system", exc, str(exc)) from exc


_TEMPLATE = re.compile(r"\{\{\s*inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


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

    return _TEMPLATE.sub(sub, text)


def _run_process(
    task: TaskSpec,
    literals: dict[str, Any],
    ctx: ExecutionContext,
    store: BlobStore,
    prefix: str,
    node_id: str,
) -> dict[str, Any]:
    """Shell and container tasks: inputs as env vars and templates, outputs as files."""
    from flytepath_airflow.types.literals import parse_cli_value

    out_dir = os.path.join(ctx.working_dir, "outputs")
    os.makedirs(out_dir, exist_ok=True)
    env = dict(os.environ)
    env.update(task.env)
    env.update({f"FLYTEPATH_INPUT_{k.upper()}": _as_text(v) for k, v in literals.items()})
    env["FLYTEPATH_OUTPUT_DIR"] = out_dir
    try:
        if task.kind == "shell":
            assert task.script is not None
            argv = ["bash", "-euo", "pipefail", "-c", _render(task.script, literals, node_id)]
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
        raise _failure(store, prefix, node_id, "user", exc, str(exc)) from exc

    try:
        proc = subprocess.run(argv, env=env, cwd=ctx.working_dir, stdout=sys.stdout.fileno()
                              if _has_fileno(sys.stdout) else None,
                              stderr=subprocess.PIPE, text=True, check=False,
                              timeout=task.timeout)
    except FileNotFoundError as exc:
        raise _failure(store, prefix, node_id, "user", exc,
                       f"command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise _failure(store, prefix, node_id, "user", exc,
                       f"timed out after {task.timeout} s") from exc
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        err = RuntimeError(tail)
        raise _failure(store, prefix, node_id, "user", err,
                       f"command exited with code {proc.returncode}" +
                       (f": {tail}" if tail else ""))
    results: dict[str, Any] = {}
    for var in task.interface.outputs:
        path = os.path.join(out_dir, var.name)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError as exc:
            raise _failure(store, prefix, node_id, "user", exc,
                           f"the task did not write output '{var.name}' to "
                           f"$FLYTEPATH_OUTPUT_DIR/{var.name}") from exc
        text = text[:-1] if text.endswith("\n") else text
        try:
            results[var.name] = parse_cli_value(text, var.type)
        except FlytePathUserError as exc:
            raise _failure(store, prefix, node_id, "user", exc,
                           f"output '{var.name}': {exc}") from exc
    return results


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


__all__ = ["execute_node"]
