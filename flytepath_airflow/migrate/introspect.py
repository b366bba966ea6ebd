"""Reading a loaded Airflow task: its operator class, init arguments, callable and XComArgs.

Everything here reads the real objects a DagBag built (never the DAG file's text) and
judges nothing: whether a task converts is `classify`'s business. It owns:
- the operator classes the converter recognizes by class path;
- `InitArguments`: the arguments each operator was built with, as the user wrote them
  (not the ones a subclass passes to its base), read once per task;
- the XComArg helpers (which upstream task and key a value reads) and Jinja detection;
- the order tasks are converted in (`topological`).

Imports airflow, lazily inside the functions that need it. Must not import the other
converter modules (`classify`, `encode`, `tasks`, ...): they all build on this one.
"""

from __future__ import annotations

import ast
import functools
import heapq
import inspect
import re
import textwrap
from collections.abc import Callable
from enum import Enum
from typing import Any

PYTHON_CLASSES = frozenset({
    "airflow.providers.standard.operators.python.PythonOperator",
    "airflow.providers.standard.decorators.python._PythonDecoratedOperator",
})
BASH_CLASS = "airflow.providers.standard.operators.bash.BashOperator"
KPO_CLASS = "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator"
BRANCH_CLASSES = frozenset({
    "airflow.providers.standard.operators.python.BranchPythonOperator",
    "airflow.providers.standard.decorators.branch_python._BranchPythonDecoratedOperator",
})
"""Branch operators whose callable may convert to a FlytePath conditional (branches.py)."""

TEMPLATE = re.compile(r"\{\{|\{%")
"""The start of a Jinja expression or statement, which Airflow renders before running."""


def class_path(cls: type) -> str:
    """"module.QualName" of a class.

    :param cls: the class.
    """
    return f"{cls.__module__}.{cls.__qualname__}"


def operator_class(op: Any) -> type:
    """The operator class of a task (the underlying class of a mapped operator).

    :param op: the task.
    """
    cls = getattr(op, "operator_class", None)
    return cls if isinstance(cls, type) else type(op)


def is_mapped(op: Any) -> bool:
    """True for a mapped operator (`partial(...).expand(...)`).

    :param op: the task.
    """
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    return isinstance(op, MappedOperator)


def expand_input(op: Any) -> Any:
    """What a mapped operator expands over (a decorated one keeps it apart).

    :param op: a mapped task.
    """
    specified = getattr(op, "_get_specified_expand_input", None)
    return specified() if specified is not None else op.expand_input


def callable_of(op: Any) -> Any:
    """The `python_callable` of a task (of a mapped one too), or None.

    :param op: the task.
    """
    fn = getattr(op, "python_callable", None)
    if fn is None and is_mapped(op):
        fn = op.partial_kwargs.get("python_callable")
    return fn


def enum_text(value: Any) -> str:
    """An Airflow enum (TriggerRule, WeightRule) or text as its plain value; a custom
    priority weight strategy as its class path (Airflow loads registered ones by it).

    :param value: the enum member, text or strategy object.
    """
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, str):
        return value
    return class_path(type(value))


def in_mapped_group(op: Any) -> bool:
    """True when the task sits, at any depth, inside a mapped task group.

    :param op: the task.
    """
    from airflow.sdk.definitions.taskgroup import MappedTaskGroup

    group = op.task_group
    while group is not None:
        if isinstance(group, MappedTaskGroup):
            return True
        group = group.parent_group
    return False


def topological(dag: Any) -> list[Any]:
    """Tasks upstream-first; ties keep the DAG's own (sorted task id) order.

    :param dag: the loaded DAG.
    """
    tasks = {t.task_id: t for t in dag.tasks}
    indegree = {tid: len(t.upstream_task_ids & tasks.keys()) for tid, t in tasks.items()}
    ready = sorted(tid for tid, n in indegree.items() if n == 0)
    order: list[Any] = []
    heapq.heapify(ready)
    while ready:
        tid = heapq.heappop(ready)
        order.append(tasks[tid])
        for down in sorted(tasks[tid].downstream_task_ids):
            if down in indegree:
                indegree[down] -= 1
                if indegree[down] == 0:
                    heapq.heappush(ready, down)
    return order


# ------------------------------------------------------------------ init arguments


class InitArguments:
    """The arguments each task's operator was built with, read once per task id."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, Any]] = {}

    def of(self, op: Any) -> dict[str, Any]:
        """The task's own init arguments (a mapped task's partial arguments).

        :param op: the task.
        """
        cached = self._cache.get(op.task_id)
        if cached is None:
            cached = self._cache[op.task_id] = _read_init_kwargs(op)
        return cached


def _read_init_kwargs(op: Any) -> dict[str, Any]:
    if is_mapped(op):
        return _mapped_partial(op)
    kwargs = dict(getattr(op, "_BaseOperator__init_kwargs", {}) or {})
    # Airflow records the arguments of every __init__ in the class chain, so values a
    # subclass passes to its base itself (ApprovalOperator's options) are there too.
    for key in _supplied_by_subclass(type(op), kwargs):
        kwargs.pop(key, None)
    return kwargs


def _mapped_partial(op: Any) -> dict[str, Any]:
    from airflow.sdk.bases.operator import BaseOperator

    defaults = {name: p.default for name, p in
                inspect.signature(BaseOperator.__init__).parameters.items()}
    kwargs: dict[str, Any] = {}
    for key, value in op.partial_kwargs.items():
        if key in defaults and (value == defaults[key] or value in ([], {}, None)):
            continue
        kwargs[key] = value
    fn = getattr(op, "python_callable", None)
    if fn is not None:
        kwargs["python_callable"] = fn
    if getattr(op, "multiple_outputs", False):
        kwargs["multiple_outputs"] = True
    return kwargs


def _supplied_by_subclass(cls: type, kwargs: dict[str, Any]) -> list[str]:
    """Keys a class's own __init__ passes to its base as `key=...` (not the user's)."""
    passed = _passed_to_base(cls)
    return [key for key in kwargs if key in passed]


@functools.cache
def _passed_to_base(cls: type) -> frozenset[str]:
    out: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass.__module__.startswith("airflow.sdk"):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
            own = set(inspect.signature(init).parameters)
        except (OSError, TypeError, ValueError, SyntaxError):
            continue
        passed = {kw.arg for node in ast.walk(tree) if isinstance(node, ast.Call)
                  and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
                  for kw in node.keywords if kw.arg}
        out |= passed - own
    return frozenset(out)


# ---------------------------------------------------------------- XComArgs, Jinja


def xcom_parts(value: Any) -> tuple[str, str] | None:
    """(task id, key) of a plain XComArg; None for anything else (a derived one too).

    :param value: an argument value.
    """
    from airflow.sdk.definitions.xcom_arg import PlainXComArg

    if isinstance(value, PlainXComArg):
        return value.operator.task_id, value.key
    return None


def is_xcom(value: Any) -> bool:
    """True for any XComArg (plain or derived, e.g. `.map()` or `zip()`).

    :param value: an argument value.
    """
    from airflow.sdk.definitions.xcom_arg import XComArg

    return isinstance(value, XComArg)


def is_templated(value: Any) -> bool:
    """True for text holding a Jinja template.

    :param value: an argument value.
    """
    return isinstance(value, str) and bool(TEMPLATE.search(value))


def contains(value: Any, predicate: Callable[[Any], bool]) -> bool:
    """True when the value, or any item nested in its dicts, lists, tuples and sets, matches.

    :param value: an argument value.
    :param predicate: the test.
    """
    if predicate(value):
        return True
    if isinstance(value, dict):
        return any(contains(v, predicate) for v in value.values())
    if isinstance(value, list | tuple | set):
        return any(contains(v, predicate) for v in value)
    return False


def xcom_sources(value: Any) -> list[str]:
    """The task ids whose XCom the value (or anything nested in it) reads.

    :param value: an argument value.
    """
    from airflow.sdk.definitions.xcom_arg import XComArg

    out: list[str] = []
    if isinstance(value, XComArg):
        for op, _ in value.iter_references():
            out.append(op.task_id)
    elif isinstance(value, dict):
        for item in value.values():
            out += xcom_sources(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            out += xcom_sources(item)
    return out


def iter_xcoms(value: Any) -> list[tuple[str, str]]:
    """(task id, key) of every XComArg nested in the value; ("", "derived") for a derived one.

    :param value: an argument value.
    """
    ref = xcom_parts(value)
    if ref is not None:
        return [ref]
    if is_xcom(value):
        return [("", "derived")]
    if isinstance(value, dict):
        return [r for v in value.values() for r in iter_xcoms(v)]
    if isinstance(value, list | tuple | set):
        return [r for v in value for r in iter_xcoms(v)]
    return []
