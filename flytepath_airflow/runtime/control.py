"""Control-flow steps of a run that need no user code: map fan-out and collection,
conditional decisions and merges, dynamic sub-graphs, skipped cases and failure info.

Each step reads what upstream nodes published and publishes one record, atomically, in
the same layout as task nodes (runs/<run>/nodes/<node>/...), so the local backend and
the Airflow operators call the same functions and get the same results.

- map node `m`: elements publish as nodes `m[0]`, `m[1]`, ...; `collect_map` publishes
  `m` with one list per output (None for failed elements when min_success_ratio < 1).
- branch node `b`: `decide_branch` publishes `b` with {"branch": {"case": i}}; a node
  guarded by (b, j != i), or by a branch that never decided, is skipped.
- merge node: `merge_outputs` publishes the outputs of the case its branch took.
- dynamic node `d`: its body (executor) builds a graph that runs as the child run
  `<run>--d`; `collect_dynamic` publishes `d` with the child run's outputs. In a run that
  recovers run `r`, the child run recovers `r--d` (`runtime/recovery.py`).

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import json
import logging
import operator
import time
from typing import Any

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.graph import levels_of
from flytepath_airflow.ir.models import (
    ComparisonSpec,
    ConditionSpec,
    ConjunctionSpec,
    NodeSpec,
    WorkflowSpec,
)
from flytepath_airflow.runtime.metadata import metadata_store
from flytepath_airflow.runtime.recovery import RECOVERED_FROM, child_recovery_options
from flytepath_airflow.runtime.run import (
    attempt_key,
    collect_outputs,
    load_run_spec,
    node_key,
    pointer_entry,
    pointer_key,
    prepare_run,
    read_entry,
    resolve_binding,
    run_key,
    sanitize_run_id,
)
from flytepath_airflow.stores.blob import BlobStore

logger = logging.getLogger(__name__)


class ControlFlowError(FlytePathUserError):
    """A control-flow step failed for a reason the user must fix (or chose: `.fail`)."""


def item_node_id(node_id: str, item: int) -> str:
    """The record id of one element of a map node."""
    return f"{node_id}[{item}]"


def _run_inputs(store: BlobStore, run_id: str) -> dict[str, Any]:
    return dict(store.read_json(f"{run_key(run_id)}/inputs.json")["inputs"])


def _publish(store: BlobStore, run_id: str, node_id: str, outputs: dict[str, Any],
             extra: dict[str, Any] | None = None, version: str = "") -> dict[str, Any]:
    prefix = attempt_key(run_id, node_id, 1)
    pointer = {
        "run_id": run_id, "node": node_id, "attempt": 1, "version": version,
        "outputs": {name: pointer_entry(store, f"{prefix}/outputs/{name}.json", lit)
                    for name, lit in outputs.items()},
        **(extra or {}),
    }
    store.write_json(pointer_key(run_id, node_id), pointer)
    detail: dict[str, Any] = {key: pointer[key] for key in ("map", "branch", "merge", "dynamic")
              if key in pointer}
    _event(run_id, node_id, "succeeded", {"version": version, "outputs": pointer["outputs"],
                                          **detail})
    return pointer


def _event(run_id: str, node_id: str, kind: str, payload: dict[str, Any]) -> None:
    """Append a control step's event to the run's event log (like a task node's)."""
    metadata_store().append_event(run_id=run_id, kind=kind, node_id=node_id, attempt=1,
                                 payload=payload)


def _pointer(store: BlobStore, run_id: str, node_id: str) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = store.read_json(pointer_key(run_id, node_id))
    except FileNotFoundError:
        return None
    return doc


# ---------------------------------------------------------------------------- maps


def map_size(spec: WorkflowSpec, node_id: str, run_id: str, root: str) -> int:
    """How many elements map node `node_id` runs; the mapped lists must have one length."""
    store = BlobStore(root)
    node = spec.node(node_id)
    assert node.map is not None
    inputs = _run_inputs(store, run_id)
    lengths: dict[str, int] = {}
    for name in node.map.mapped:
        value = resolve_binding(node.inputs[name], store=store, run_id=run_id,
                                workflow_inputs=inputs)
        if not isinstance(value, list):
            raise ControlFlowError(
                f"map node '{node_id}': input '{name}' is {type(value).__name__}, not a list; "
                "bind a list to every mapped input."
            )
        lengths[name] = len(value)
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ControlFlowError(
            f"map node '{node_id}': its mapped lists have different lengths ({shown}); "
            "element-wise mapping needs lists of one length. Pad or trim them upstream, or "
            "fix the value with functools.partial if it is the same for every element."
        )
    return next(iter(lengths.values()), 0)


def fan_out_map(spec: WorkflowSpec, node_id: str, run_id: str, root: str) -> int:
    """Check map node `node_id`'s lists and record how many elements it runs.

    `collect_map` reads the recorded size instead of resolving the lists again.
    """
    size = map_size(spec, node_id, run_id, root)
    BlobStore(root).write_json(_fanout_key(run_id, node_id), {"size": size})
    return size


def _fanout_key(run_id: str, node_id: str) -> str:
    return f"{node_key(run_id, node_id)}/fanout.json"


def item_error(store: BlobStore, run_id: str, node_id: str, item: int,
               attempts: int) -> str | None:
    """The last recorded error message of element `item` over its attempts, if any."""
    message = None
    for attempt in range(1, attempts + 1):
        key = f"{attempt_key(run_id, item_node_id(node_id, item), attempt)}/error.json"
        if store.exists(key):
            message = str(store.read_json(key).get("message") or "")
    return message


def collect_map(spec: WorkflowSpec, node_id: str, run_id: str, root: str,
                size: int | None = None) -> dict[str, Any]:
    """Publish map node `node_id`: one list per output from its elements' pointers.

    Raises ControlFlowError when fewer elements succeeded than min_success_ratio allows.
    """
    store = BlobStore(root)
    node = spec.node(node_id)
    assert node.map is not None
    task = spec.task_of(node)
    if size is None:
        try:
            size = int(store.read_json(_fanout_key(run_id, node_id))["size"])
        except FileNotFoundError:
            size = map_size(spec, node_id, run_id, root)
    names = [v.name for v in task.interface.outputs]
    lists: dict[str, list[Any]] = {name: [] for name in names}
    failed: list[int] = []
    cached = 0
    for item in range(size):
        pointer = _pointer(store, run_id, item_node_id(node_id, item))
        if pointer is None:
            failed.append(item)
            for name in names:
                lists[name].append(None)
            continue
        if (pointer.get("cache") or {}).get("status") == "hit":
            cached += 1
        for name in names:
            lists[name].append(read_entry(store, pointer["outputs"][name]))
    succeeded = size - len(failed)
    needed = _needed(size, node.map.min_success_ratio)
    if succeeded < needed:
        first = failed[0]
        reason = item_error(store, run_id, node_id, first, task.retries + 1) or \
            "it did not finish"
        shown = ", ".join(str(i) for i in failed[:10]) + (" ..." if len(failed) > 10 else "")
        message = (
            f"map node '{node_id}': {len(failed)} of {size} elements failed (items {shown}); "
            f"min_success_ratio {node.map.min_success_ratio:g} needs {needed} to succeed. "
            f"Item {first} failed with: {reason}"
        )
        _event(run_id, node_id, "failed", {"kind": "user", "message": message,
                                           "map": {"size": size, "failed": failed}})
        raise ControlFlowError(message)
    extra = {"map": {"size": size, "failed": failed, "cached": cached}}
    return _publish(store, run_id, node_id, lists, extra, spec.version)


def _needed(size: int, ratio: float) -> int:
    import math

    return math.ceil(size * ratio - 1e-9)


# ----------------------------------------------------------------------- branches

_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


def _evaluate(condition: ConditionSpec, value_of: Any) -> bool:
    if isinstance(condition, ComparisonSpec):
        left, right = value_of(condition.left), value_of(condition.right)
        try:
            return bool(_COMPARE[condition.op](left, right))
        except TypeError as exc:
            raise ControlFlowError(
                f"cannot compare {left!r} {condition.op} {right!r}: {exc}"
            ) from None
    if isinstance(condition, ConjunctionSpec):
        if condition.kind == "and":
            return _evaluate(condition.left, value_of) and _evaluate(condition.right, value_of)
        return _evaluate(condition.left, value_of) or _evaluate(condition.right, value_of)
    return not _evaluate(condition.operand, value_of)


def decide_branch(spec: WorkflowSpec, node_id: str, run_id: str, root: str) -> int:
    """Evaluate branch node `node_id`'s cases in order; publish and return the case taken.

    A `.fail(message)` case, or no case at all, raises ControlFlowError.
    """
    store = BlobStore(root)
    node = spec.node(node_id)
    assert node.branch is not None
    inputs = _run_inputs(store, run_id)
    pointers: dict[str, dict[str, Any]] = {}

    def value_of(binding: Any) -> Any:
        return resolve_binding(binding, store=store, run_id=run_id, workflow_inputs=inputs,
                               pointers=pointers)

    for index, case in enumerate(node.branch.cases):
        if case.condition is not None and not _evaluate(case.condition, value_of):
            continue
        if case.fail is not None:
            message = f"conditional '{node_id}' failed: {case.fail}"
            _event(run_id, node_id, "failed", {"kind": "user", "message": message,
                                               "branch": {"case": index}})
            raise ControlFlowError(message)
        _publish(store, run_id, node_id, {}, {"branch": {"case": index}}, spec.version)
        return index
    raise ControlFlowError(
        f"conditional '{node_id}': no case matched and it has no else_; add "
        ".else_().then(...) or .else_().fail(...)."
    )


def branch_case(store: BlobStore, run_id: str, branch_id: str) -> int | None:
    """The case branch node `branch_id` took in this run, or None if it did not decide."""
    pointer = _pointer(store, run_id, branch_id)
    if pointer is None or "branch" not in pointer:
        return None
    return int(pointer["branch"]["case"])


def guarded_out(spec: WorkflowSpec, node: NodeSpec, run_id: str, root: str) -> bool:
    """True when `node` belongs to a conditional case that was not taken."""
    if node.guard is None:
        return False
    return branch_case(BlobStore(root), run_id, node.guard.branch) != node.guard.case


def merge_outputs(spec: WorkflowSpec, node_id: str, run_id: str,
                  root: str) -> dict[str, Any]:
    """Publish merge node `node_id` with the outputs of the case its branch took."""
    store = BlobStore(root)
    node = spec.node(node_id)
    assert node.merge is not None
    case = branch_case(store, run_id, node.merge.branch)
    if case is None:
        raise ControlFlowError(
            f"merge node '{node_id}': conditional '{node.merge.branch}' did not decide"
        )
    inputs = _run_inputs(store, run_id)
    outputs = {
        name: resolve_binding(binding, store=store, run_id=run_id, workflow_inputs=inputs)
        for name, binding in node.merge.cases[case].items()
    }
    return _publish(store, run_id, node_id, outputs, {"merge": {"case": case}},
                    spec.version)


# ------------------------------------------------------------------------ dynamic


def child_run_id(run_id: str, node_id: str) -> str:
    """The run id of the graph dynamic node `node_id` built in run `run_id`."""
    return sanitize_run_id(f"{run_id}--{node_id}")


def dynamic_plan_key(run_id: str, node_id: str) -> str:
    """Where a dynamic node records the child run its body started."""
    return f"{node_key(run_id, node_id)}/dynamic.json"


def start_dynamic_child(spec: WorkflowSpec, node_id: str, child: WorkflowSpec,
                        run_id: str, store: BlobStore,
                        options: dict[str, Any]) -> dict[str, Any]:
    """Prepare the child run of a dynamic node and record its plan (levels of node ids)."""
    task = spec.task_of(spec.node(node_id))
    max_levels = task.dynamic.max_levels if task.dynamic else 8
    levels = levels_of(child)
    if len(levels) > max_levels:
        raise ControlFlowError(
            f"dynamic node '{node_id}' built a graph {len(levels)} levels deep; its task "
            f"allows {max_levels}. Raise max_levels in @dynamic(max_levels=...) or build a "
            "flatter graph."
        )
    child_id = child_run_id(run_id, node_id)
    source = options.get(RECOVERED_FROM)
    if source:
        # The rebuilt graph recovers the graph this node built in the recovered run.
        options = child_recovery_options(options, child_run_id(str(source), node_id))
    prepare_run(child, {}, store.root, child_id, options=options, backend="dynamic")
    plan = {"child_run_id": child_id, "levels": levels,
            "spec_uri": store.uri(f"{run_key(child_id)}/spec.json"), "time": time.time()}
    store.write_json(dynamic_plan_key(run_id, node_id), plan)
    return plan


class GraphNotBuilt(ControlFlowError):
    """A dynamic node's body has not built its graph (it was skipped or failed)."""


def read_dynamic_plan(run_id: str, node_id: str, root: str) -> dict[str, Any]:
    """The plan a dynamic node's body recorded (GraphNotBuilt when it has not run)."""
    try:
        doc: dict[str, Any] = BlobStore(root).read_json(dynamic_plan_key(run_id, node_id))
    except FileNotFoundError:
        raise GraphNotBuilt(
            f"dynamic node '{node_id}' of run '{run_id}' has not built its graph"
        ) from None
    return doc


def collect_dynamic(spec: WorkflowSpec, node_id: str, run_id: str,
                    root: str) -> dict[str, Any]:
    """Publish dynamic node `node_id` with the outputs of the child run it started."""
    plan = read_dynamic_plan(run_id, node_id, root)
    child_id = plan["child_run_id"]
    child = load_run_spec(child_id, root)
    outputs = collect_outputs(child, child_id, root)
    return _publish(BlobStore(root), run_id, node_id, outputs,
                    {"dynamic": {"child_run_id": child_id}}, spec.version)


# ------------------------------------------------------------------------ failure

FAILURE_KEY = "failure.json"


def record_failure(store: BlobStore, run_id: str, node_id: str, message: str,
                   kind: str) -> None:
    """Record which node failed the run, for the workflow's failure node."""
    store.write_json(f"{run_key(run_id)}/{FAILURE_KEY}",
                     {"failed_node": node_id, "message": message, "kind": kind})


def failure_literal(store: BlobStore, run_id: str) -> dict[str, Any]:
    """The `err` value a failure node receives (failed_node, message, kind)."""
    try:
        doc = store.read_json(f"{run_key(run_id)}/{FAILURE_KEY}")
    except FileNotFoundError:
        doc = {"failed_node": "", "message": "the run failed", "kind": "user"}
    return {k: str(doc.get(k, "")) for k in ("failed_node", "message", "kind")}


def describe(pointer: dict[str, Any]) -> str:
    """A one-line summary of a control step's record, for logs."""
    for key in ("map", "branch", "merge", "dynamic"):
        if key in pointer:
            return f"{key}: {json.dumps(pointer[key], sort_keys=True)}"
    return ""
