"""Pass-through nodes: an Airflow operator from a converted DAG, built unchanged.

`flytepath convert` keeps every operator it does not turn into a typed task as a task of
kind "airflow": `OperatorSpec(class_path, kwargs)`, the operator's own arguments as JSON.
Values JSON cannot hold are written as tagged objects `{"__flytepath__": tag, ...}`:

- `callable`: a function named by "module:qualname" (imported when the DAG is built)
- `xcom`: an upstream task's XCom (`{"task_id", "key"}`), rebuilt as an XComArg
- `timedelta` (seconds), `datetime`, `date`, `time` (ISO 8601), `tuple`, `set`
- `enum`: a member of an Enum class (`{"class", "value"}`)
- `dag_param`: a reference to a DAG param (`{"name", "default"}`), resolved at run time
- `k8s`: a Kubernetes client model (`{"type": "V1EnvVar", "value": {...}}`)
- `dict`: a plain dict whose own keys include "__flytepath__"

A map node (`NodeSpec.kind == "map"`) is built with `partial(...).expand(...)` over the
node's mapped inputs, the way the original DAG built it.

Imports airflow (this is the Airflow backend); imports a pass-through task's callables
and operator class only when the DAG is built.
"""

from __future__ import annotations

import importlib
from typing import Any

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import (
    BindingSpec,
    InputRef,
    ListBinding,
    LiteralBinding,
    MapBinding,
    NodeSpec,
    OutputRef,
    TaskSpec,
)
from flytepath_airflow.platform.naming import task_id_for

TAG = "__flytepath__"
"""Key of a tagged (non-JSON) value inside OperatorSpec.kwargs."""

EXPAND_KWARGS_INPUT = "__expand_kwargs__"
"""The single mapped input of a node that came from `expand_kwargs(...)`."""

FLYTEPATH_ONLY_KWARGS = frozenset({"guarded", "in_process", "expand", "dynamic_parent",
                                   "failure_node"})
"""Arguments the DAG builder gives FlytePath runners; an Airflow operator takes none of them."""

XCOM_OUTPUT_PREFIX = "xcom:"
"""OutputRef.output of a pass-through node's XCom: "xcom:<key>" ("xcom:return_value")."""


class PassthroughError(FlytePathUserError):
    """A pass-through node cannot be built (class or callable not importable, bad kwargs)."""


def import_path(path: str, what: str) -> Any:
    """Import "module:qualname" (or "module.attr"); PassthroughError says which and why."""
    if ":" in path:
        module_name, _, qualname = path.partition(":")
    else:
        module_name, _, qualname = path.rpartition(".")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PassthroughError(
            f"{what} {path!r} cannot be imported ({exc}). Install the package that provides "
            "it where the DAG is parsed, or put the converted task modules on PYTHONPATH."
        ) from None
    return obj


def decode_value(value: Any, dag: Any = None) -> Any:
    """Turn a JSON kwargs value (with tagged objects) back into the Python value."""
    if isinstance(value, list):
        return [decode_value(item, dag) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag is None:
        return {key: decode_value(item, dag) for key, item in value.items()}
    if tag == "callable":
        return import_path(str(value["path"]), "callable")
    if tag == "xcom":
        return _xcom_arg(dag, str(value["task_id"]), str(value.get("key", "return_value")))
    if tag == "timedelta":
        from datetime import timedelta

        return timedelta(seconds=float(value["seconds"]))
    if tag == "datetime":
        from datetime import datetime

        return datetime.fromisoformat(str(value["iso"]))
    if tag == "date":
        from datetime import date

        return date.fromisoformat(str(value["iso"]))
    if tag == "time":
        from datetime import time

        return time.fromisoformat(str(value["iso"]))
    if tag == "enum":
        return import_path(str(value["class"]), "enum")(decode_value(value["value"], dag))
    if tag == "tuple":
        return tuple(decode_value(item, dag) for item in value["items"])
    if tag == "set":
        return {decode_value(item, dag) for item in value["items"]}
    if tag == "dict":
        return {key: decode_value(item, dag) for key, item in value["value"].items()}
    if tag == "dag_param":
        if dag is None:
            raise PassthroughError("a pass-through task reads a DAG param but has no DAG.")
        return dag.param(str(value["name"]), *([decode_value(value["default"], dag)]
                                                if "default" in value else []))
    if tag == "k8s":
        from kubernetes.client import ApiClient

        client = ApiClient()
        return client._ApiClient__deserialize(value["value"], str(value["type"]))
    raise PassthroughError(f"unknown tagged value {tag!r} in a pass-through task's arguments.")


def _xcom_arg(dag: Any, task_id: str, key: str) -> Any:
    from airflow.sdk.definitions.xcom_arg import XComArg

    if dag is None or not dag.has_task(task_id):
        raise PassthroughError(
            f"a pass-through task reads the XCom of task {task_id!r}, which is not built yet. "
            "List the node after the nodes it reads from."
        )
    return XComArg(dag.get_task(task_id), key=key)


def decode_binding(binding: BindingSpec, dag: Any) -> Any:
    """A node input binding as the value a mapped Airflow operator expands over."""
    if isinstance(binding, LiteralBinding):
        return decode_value(binding.value, dag)
    if isinstance(binding, OutputRef):
        key = binding.output
        key = key[len(XCOM_OUTPUT_PREFIX):] if key.startswith(XCOM_OUTPUT_PREFIX) else key
        return _xcom_arg(dag, task_id_for(binding.node), key)
    if isinstance(binding, ListBinding):
        return [decode_binding(item, dag) for item in binding.items]
    if isinstance(binding, MapBinding):
        return {key: decode_binding(item, dag) for key, item in binding.entries.items()}
    assert isinstance(binding, InputRef)
    return "{{ params." + binding.name + " }}"


def build_passthrough_operator(node: NodeSpec, task: TaskSpec, **airflow_kwargs: Any) -> Any:
    """Build the Airflow operator a converted DAG kept as is.

    :param node: the node (kind "task", or "map" for a mapped operator).
    :param task: its task, of kind "airflow" with `operator` set.
    :param airflow_kwargs: BaseOperator arguments the DAG builder decided (task_id, dag,
        task_group, retries, retry_delay, execution_timeout, pool, trigger_rule, ...);
        they win over the same names in the operator's kwargs.
    :returns: the operator (a MappedOperator for a map node).
    :raises PassthroughError: when the class, a callable or an argument cannot be rebuilt.
    """
    if task.kind != "airflow" or task.operator is None:
        raise PassthroughError(
            f"node {node.id!r}: task {task.name!r} is of kind {task.kind!r}, not a "
            "pass-through (kind 'airflow') task."
        )
    dag = airflow_kwargs.get("dag")
    operator_cls = import_path(task.operator.class_path, "operator class")
    kwargs = {key: decode_value(value, dag) for key, value in task.operator.kwargs.items()}
    kwargs.update({k: v for k, v in airflow_kwargs.items() if k not in FLYTEPATH_ONLY_KWARGS})
    try:
        if node.kind != "map":
            return operator_cls(**kwargs)
        mapped = {name: decode_binding(node.inputs[name], dag) for name in node.map.mapped} \
            if node.map is not None else {}
        return _mapped(operator_cls, kwargs, mapped)
    except PassthroughError:
        raise
    except (TypeError, ValueError) as exc:
        raise PassthroughError(
            f"node {node.id!r}: {task.operator.class_path} refused its kept arguments ({exc}). "
            "Edit the task's operator.kwargs in the converted spec."
        ) from None


def _mapped(operator_cls: Any, kwargs: dict[str, Any], mapped: dict[str, Any]) -> Any:
    from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory

    if issubclass(operator_cls, DecoratedOperator):
        # A mapped @task is expanded over its function's arguments, not the operator's.
        fn = kwargs.pop("python_callable")
        fixed = dict(kwargs.pop("op_kwargs", None) or {})
        kwargs.pop("op_args", None)
        decorator: Any = task_decorator_factory(
            fn, multiple_outputs=kwargs.pop("multiple_outputs", None),
            decorated_operator_class=operator_cls, **kwargs)
        partial: Any = decorator.partial(**fixed) if fixed else decorator
        if EXPAND_KWARGS_INPUT in mapped:
            return partial.expand_kwargs(mapped[EXPAND_KWARGS_INPUT])
        return partial.expand(**mapped)
    partial = operator_cls.partial(**kwargs)
    if EXPAND_KWARGS_INPUT in mapped:
        return partial.expand_kwargs(mapped[EXPAND_KWARGS_INPUT])
    return partial.expand(**mapped)
