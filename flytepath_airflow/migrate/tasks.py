"""The TaskSpec (and NodeSpec) of each converted task kind, with the notes of what changed.

- `python_task`: a TaskFlow `@task` / PythonOperator callable, carried into the task module
  and typed from its hints (XComArg arguments become bindings; a mapped one a map node);
- `shell_task`: a BashOperator's command; `container_task`: a KubernetesPodOperator's
  image, command, env, resources and pod overrides;
- `passthrough_task`: any kept operator, its class path and encoded arguments;
- what every kind shares: the Airflow node options, the task's base fields
  (`task_base`) and its task group path.
Which kind a task gets is decided before (`classify`); this module only builds.

Imports airflow lazily (BaseOperator defaults, the default queue). Must not import
`classify`, `document` or `extract`.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import typing
from datetime import timedelta
from typing import Any

from flytepath_airflow.backends.airflow.passthrough import EXPAND_KWARGS_INPUT
from flytepath_airflow.ir.models import (
    AirflowNodeOptions,
    BindingSpec,
    ContainerSpec,
    MapSpec,
    NodeSpec,
    OperatorSpec,
    PodOverridesSpec,
    ResourceList,
    ResourcesSpec,
    TaskSpec,
    TolerationSpec,
    TypedInterface,
    Variable,
)
from flytepath_airflow.migrate.encode import (
    ArgumentEncoder,
    CannotEncode,
    json_literal,
    literal_type,
    typed_binding,
)
from flytepath_airflow.migrate.introspect import (
    callable_of,
    class_path,
    enum_text,
    expand_input,
    is_mapped,
    operator_class,
)
from flytepath_airflow.migrate.source import CannotCarry, ModuleBuilder

AIRFLOW_KEYS = frozenset({
    "task_id", "dag", "task_group", "retries", "retry_delay", "execution_timeout", "pool",
    "pool_slots", "trigger_rule", "priority_weight", "weight_rule", "queue", "owner",
    "task_display_name", "doc_md", "doc", "doc_rst", "doc_json", "doc_yaml", "default_args",
    "kwargs_to_upstream", "params",
})
"""BaseOperator arguments the DAG builder sets; never kept in a pass-through's kwargs."""

_PYTHON_OWN = frozenset({"python_callable", "op_args", "op_kwargs", "multiple_outputs",
                         "templates_dict", "templates_exts", "show_return_value_in_logs"})
_BASH_OWN = frozenset({"bash_command", "env", "append_env"})
_KPO_OWN = frozenset({"image", "cmds", "arguments", "env_vars", "container_resources",
                      "namespace", "node_selector", "tolerations", "labels", "annotations",
                      "name", "get_logs", "in_cluster", "do_xcom_push"})


# ------------------------------------------------------------------ shared by every kind


def airflow_options(op: Any) -> AirflowNodeOptions:
    """The task's BaseOperator settings that differ from Airflow's defaults.

    :param op: the task.
    """
    from airflow.sdk.bases.operator import BaseOperator

    defaults = {name: p.default for name, p in
                inspect.signature(BaseOperator.__init__).parameters.items()}
    trigger = enum_text(op.trigger_rule)
    weight = enum_text(op.weight_rule)
    display = getattr(op, "task_display_name", None)
    return AirflowNodeOptions(
        trigger_rule=trigger if trigger != "all_success" else None,
        pool=str(op.pool) if op.pool else None,
        pool_slots=int(op.pool_slots) if op.pool_slots not in (None, 1) else None,
        priority_weight=int(op.priority_weight) if op.priority_weight != 1 else None,
        weight_rule=weight if weight != enum_text(defaults.get("weight_rule")) and
        weight != "downstream" else None,
        queue=str(op.queue) if op.queue and op.queue != _default_queue() else None,
        owner=str(op.owner) if op.owner else None,
        task_display_name=str(display) if display and display != op.task_id else None,
    )


def task_base(op: Any, name: str) -> dict[str, Any]:
    """The TaskSpec fields every kind shares: name, retries, timeouts and docs.

    :param op: the task.
    :param name: the task's name in the spec.
    """
    docs = getattr(op, "doc_md", None) or getattr(op, "doc", None)
    fn = callable_of(op)
    if not docs and fn is not None:
        docs = inspect.getdoc(inspect.unwrap(fn))
    docs = inspect.cleandoc(docs) if isinstance(docs, str) else None
    return {
        "name": name,
        "retries": int(op.retries or 0),
        "retry_delay": _seconds(op.retry_delay),
        "timeout": _seconds(op.execution_timeout) or None,
        "docs": docs or None,
    }


def group_path(op: Any, notes: list[str]) -> tuple[str, ...]:
    """The labels of the task groups around the task, outermost first.

    :param op: the task.
    :param notes: the DAG's report notes (a group that does not prefix its ids is noted).
    """
    path: list[str] = []
    group = op.task_group
    while group is not None and group.group_id is not None:
        if not group.prefix_group_id:
            notes.append(f"task group {group.group_id!r} does not prefix its task ids; "
                         "the converted DAG keeps the task ids and the group")
        path.append(str(group.label))
        group = group.parent_group
    return tuple(reversed(path))


# ----------------------------------------------------------------------- per kind


def python_task(op: Any, kwargs: dict[str, Any], builder: ModuleBuilder,
                base: dict[str, Any], notes: list[str]) -> tuple[NodeSpec, TaskSpec]:
    """A typed python task from the task's callable, and its node's bindings.

    :param op: the task (kind "python").
    :param kwargs: its init arguments.
    :param builder: the task module its callable is carried into.
    :param base: its shared TaskSpec fields (`task_base`).
    :param notes: its report notes.
    :raises CannotEncode: an argument has no value or no JSON form.
    :raises CannotCarry: the callable cannot be copied out of the DAG file.
    """
    fn = inspect.unwrap(callable_of(op))
    path = builder.carry(fn, op.task_id)
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = {}
        notes.append("its type hints cannot be resolved; its values are typed json")
    params = [p for p in sig.parameters.values()
              if p.kind not in (inspect.Parameter.VAR_POSITIONAL,)]
    bound: dict[str, Any] = {}
    for param, value in zip(params, kwargs.get("op_args") or (), strict=False):
        bound[param.name] = value
    for key, value in (kwargs.get("op_kwargs") or {}).items():
        bound[key] = value
    mapped: tuple[str, ...] = ()
    if is_mapped(op):
        mapped = tuple(expand_input(op).value)
        bound.update(expand_input(op).value)
    inputs: list[Variable] = []
    bindings: dict[str, BindingSpec] = {}
    for param in params:
        lt = literal_type(hints.get(param.name), f"input {param.name!r}", notes)
        if param.name in bound:
            bindings[param.name] = typed_binding(bound[param.name])
            inputs.append(Variable(name=param.name, type=lt))
        elif param.default is not inspect.Parameter.empty:
            inputs.append(Variable(name=param.name, type=lt, required=False,
                                   default=json_literal(param.default)))
        else:
            raise CannotEncode(f"argument {param.name!r} is never given a value")
    outputs: tuple[Variable, ...] = ()
    untyped = [p.name for p in params if p.name not in hints]
    if "return" in hints:
        ret = hints["return"]
        if ret is not type(None):
            outputs = (Variable(name="o0", type=literal_type(ret, "its output", notes)),)
    elif _returns_value(fn):
        outputs = (Variable(name="o0", type=literal_type(None, "its output", notes)),)
        untyped.append("return")
    builder.type_as_json(path, tuple(untyped),
                         returns_none="return" not in hints and not outputs)
    _note_lost(kwargs, _PYTHON_OWN, notes)
    task = TaskSpec(kind="python", fn=path,
                    interface=TypedInterface(inputs=tuple(inputs), outputs=outputs), **base)
    node = NodeSpec(id=op.task_id, task=op.task_id, inputs=bindings,
                    kind="map" if mapped else "task",
                    map=MapSpec(mapped=mapped) if mapped else None)
    return node, task


def shell_task(kwargs: dict[str, Any], base: dict[str, Any], notes: list[str]) -> TaskSpec:
    """A shell task from a BashOperator's command and env.

    :param kwargs: the task's init arguments.
    :param base: its shared TaskSpec fields (`task_base`).
    :param notes: its report notes.
    """
    notes.append("runs with bash -euo pipefail (stricter than BashOperator's bash -c); "
                 "exit code 99 no longer skips the task")
    if kwargs.get("append_env"):
        notes.append("append_env: the task's env is added to the runner's environment")
    _note_lost(kwargs, _BASH_OWN, notes)
    return TaskSpec(kind="shell", script=kwargs["bash_command"],
                    env={str(k): str(v) for k, v in (kwargs.get("env") or {}).items()},
                    **base)


def container_task(kwargs: dict[str, Any], base: dict[str, Any], notes: list[str]
                   ) -> TaskSpec:
    """A container task from a KubernetesPodOperator's arguments.

    :param kwargs: the task's init arguments.
    :param base: its shared TaskSpec fields (`task_base`).
    :param notes: its report notes.
    """
    env: dict[str, str] = {}
    raw_env = kwargs.get("env_vars") or {}
    items = raw_env.items() if isinstance(raw_env, dict) else \
        [(getattr(e, "name", None), getattr(e, "value", None)) for e in raw_env]
    for name, value in items:
        if value is None:
            notes.append(f"env {name!r} comes from a secret or field reference; add it "
                         "as a task secret")
            continue
        env[str(name)] = str(value)
    namespace = kwargs.get("namespace")
    if namespace:
        notes.append(f"namespace {namespace!r}: FlytePath places pods in the tenant's "
                     "namespace; map the tenant to it in the tenant policy")
    tolerations = []
    for tol in kwargs.get("tolerations") or []:
        data = tol if isinstance(tol, dict) else {
            "key": tol.key, "operator": tol.operator, "value": tol.value,
            "effect": tol.effect}
        tolerations.append(TolerationSpec(
            key=str(data.get("key") or ""), operator=data.get("operator") or "Equal",
            value=data.get("value"), effect=data.get("effect")))
    overrides = PodOverridesSpec(
        node_selector={str(k): str(v) for k, v in (kwargs.get("node_selector") or {}).items()},
        tolerations=tuple(tolerations),
        labels={str(k): str(v) for k, v in (kwargs.get("labels") or {}).items()},
        annotations={str(k): str(v) for k, v in (kwargs.get("annotations") or {}).items()},
    )
    _note_lost(kwargs, _KPO_OWN, notes)
    return TaskSpec(
        kind="container", image=kwargs["image"],
        container=ContainerSpec(image=kwargs["image"],
                                command=tuple(str(c) for c in kwargs.get("cmds") or ()),
                                args=tuple(str(a) for a in kwargs.get("arguments") or ())),
        env=env, resources=_resources(kwargs.get("container_resources")),
        pod_overrides=overrides if overrides != PodOverridesSpec() else None, **base)


def passthrough_task(op: Any, kwargs: dict[str, Any], encoder: ArgumentEncoder,
                     base: dict[str, Any], notes: list[str]) -> tuple[NodeSpec, TaskSpec]:
    """A pass-through task building the original operator, and its node (a map node for a
    mapped operator, expanding over the same inputs).

    :param op: the task.
    :param kwargs: its init arguments.
    :param encoder: encodes its arguments (and carries classes defined in the DAG file).
    :param base: its shared TaskSpec fields (`task_base`).
    :param notes: its report notes (an argument that cannot be kept is noted).
    :raises CannotEncode: what a mapped operator expands over has no JSON form.
    """
    cls = operator_class(op)
    if cls.__module__.startswith("unusual_prefix_"):
        path = encoder.builder.carry(cls, cls.__name__).replace(":", ".")
    else:
        path = class_path(cls)
    encoded: dict[str, Any] = {}
    for key, value in sorted(kwargs.items()):
        if key in AIRFLOW_KEYS:
            continue
        try:
            encoded[key] = encoder.encode(value, op.task_id)
        except (CannotEncode, CannotCarry) as exc:
            if key in ("op_args", "op_kwargs"):
                encoded[key] = encoder.encode_items(value, op.task_id, key, notes)
                continue
            notes.append(f"argument {key!r} is not kept ({exc}); set it again in the "
                         "converted spec")
    inputs: dict[str, BindingSpec] = {}
    mapped: tuple[str, ...] = ()
    if is_mapped(op):
        expand = expand_input(op)
        if type(expand).__name__ == "DictOfListsExpandInput":
            for name, value in expand.value.items():
                inputs[name] = encoder.raw_binding(value, op.task_id)
        else:
            inputs[EXPAND_KWARGS_INPUT] = encoder.raw_binding(expand.value, op.task_id)
        mapped = tuple(inputs)
    task = TaskSpec(kind="airflow", operator=OperatorSpec(class_path=path, kwargs=encoded),
                    **base)
    node = NodeSpec(id=op.task_id, task=op.task_id, inputs=inputs,
                    kind="map" if mapped else "task",
                    map=MapSpec(mapped=mapped) if mapped else None)
    return node, task


# ------------------------------------------------------------------------ helpers


def _note_lost(kwargs: dict[str, Any], own: frozenset[str], notes: list[str]) -> None:
    """Note the arguments a typed task has no field for (neither BaseOperator's nor `own`)."""
    lost = sorted(k for k, v in kwargs.items()
                  if k not in AIRFLOW_KEYS | own and v not in (None, False, {}, []))
    if lost:
        notes.append(f"arguments not kept on a FlytePath task: {', '.join(lost)}")


def _returns_value(fn: Any) -> bool:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            return True
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
    return False


def _resources(value: Any) -> ResourcesSpec:
    if value is None:
        return ResourcesSpec()

    def one(raw: Any) -> ResourceList:
        raw = raw or {}
        return ResourceList(cpu=_q(raw.get("cpu")), mem=_q(raw.get("memory")),
                            gpu=_q(raw.get("nvidia.com/gpu")),
                            ephemeral_storage=_q(raw.get("ephemeral-storage")))

    requests = getattr(value, "requests", None) if not isinstance(value, dict) \
        else value.get("requests")
    limits = getattr(value, "limits", None) if not isinstance(value, dict) \
        else value.get("limits")
    return ResourcesSpec(requests=one(requests), limits=one(limits))


def _q(value: Any) -> str | None:
    return None if value is None else str(value)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _default_queue() -> str:
    from airflow.configuration import conf

    return str(conf.get("operators", "default_queue", fallback="default"))
