"""One loaded Airflow DAG becomes a spec, a task module and report entries.

Runs inside the child process that imported the DAG file (`loader`), on the real DAG
objects: the operators' own init arguments, their task groups, mapped expand inputs and
XComArgs, the DAG's timetable and params. Function bodies, type hints and docstrings come
from the DAG file's source (`source.ModuleBuilder`).

Per task, in order of preference:
- TaskFlow `@task` / PythonOperator whose callable needs no Airflow context -> a typed
  python task (its XComArg inputs become bindings; a mapped one a map node);
- BashOperator without Jinja templates -> a shell task;
- KubernetesPodOperator -> a container task (image, command, args, env, resources, node
  selector, tolerations, labels, annotations);
- BranchPythonOperator / `@task.branch` whose decision is a plain comparison -> a branch
  node (a FlytePath conditional, `branches`) guarding its direct downstream tasks;
- anything else -> a pass-through node (task kind "airflow") that builds the original
  operator class with its original arguments.
A task exchanging XCom with a pass-through task stays a pass-through task too, since a
FlytePath task's XCom holds a pointer, not the value.

Imports airflow.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import re
import textwrap
import typing
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any

from flytepath_airflow.backends.airflow.passthrough import (
    EXPAND_KWARGS_INPUT,
    TAG,
    XCOM_OUTPUT_PREFIX,
)
from flytepath_airflow.ir.models import (
    SCHEMA_VERSION,
    AirflowNodeOptions,
    BindingSpec,
    BranchSpec,
    CaseSpec,
    ContainerSpec,
    GuardSpec,
    InputRef,
    LaunchPlanSpec,
    ListType,
    LiteralBinding,
    LiteralType,
    MapSpec,
    MapType,
    NodeSpec,
    OperatorSpec,
    OutputRef,
    PodOverridesSpec,
    ResourceList,
    ResourcesSpec,
    ScheduleSpec,
    SimpleType,
    TaskSpec,
    TolerationSpec,
    TypedInterface,
    UnionType,
    Variable,
    WorkflowSpec,
)
from flytepath_airflow.ir.spec_io import with_version
from flytepath_airflow.migrate.branches import (
    BranchCase,
    NotExpressible,
    Operand,
    read_branch,
)
from flytepath_airflow.migrate.source import CannotCarry, ModuleBuilder, module_name_for

JSON_TYPE = SimpleType(name="json")

PYTHON_CLASSES = frozenset({
    "airflow.providers.standard.operators.python.PythonOperator",
    "airflow.providers.standard.decorators.python._PythonDecoratedOperator",
})
BASH_CLASS = "airflow.providers.standard.operators.bash.BashOperator"
KPO_CLASS = "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator"

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
_CONTEXT_HINT = re.compile(r"\bget_current_context\b|\bcontext\[")
_TEMPLATE = re.compile(r"\{\{|\{%")
_XCOM_TEMPLATE = re.compile(r"xcom_pull|\bti\.|task_instance")
_BRANCHING = ("Branch", "ShortCircuit", "HITLBranch")
BRANCH_CLASSES = frozenset({
    "airflow.providers.standard.operators.python.BranchPythonOperator",
    "airflow.providers.standard.decorators.branch_python._BranchPythonDecoratedOperator",
})
"""Branch operators whose callable may convert to a FlytePath conditional (branches.py)."""
SKIP_TOLERANT = frozenset({"none_failed", "none_failed_min_one_success", "all_done",
                           "all_done_min_one_success", "one_success", "always"})
"""Trigger rules of a join that runs after whichever branch case ran."""
_TYPED_KINDS = ("python", "shell", "container")


@dataclass
class TaskEntry:
    """The report entry of one task."""

    task_id: str
    operator: str
    status: str  # "converted" | "changed" | "kept"
    kind: str
    line: int
    notes: list[str] = field(default_factory=list)


@dataclass
class DagResult:
    """Everything the conversion of one DAG produced (plain data, sent to the parent)."""

    dag_id: str
    file: str
    line: int
    status: str  # "exact" | "changed" | "failed"
    notes: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)
    tasks: list[TaskEntry] = field(default_factory=list)
    spec_document: dict[str, Any] | None = None
    module_name: str | None = None
    module_text: str | None = None
    structure: dict[str, Any] | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data."""
        return asdict(self)


class CannotEncode(Exception):
    """An argument value has no JSON form (the reason is the text)."""


# ------------------------------------------------------------------------- helpers


def class_path(cls: type) -> str:
    """"module.QualName" of a class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def operator_class(op: Any) -> type:
    """The operator class of a task (the underlying class of a mapped operator)."""
    cls = getattr(op, "operator_class", None)
    return cls if isinstance(cls, type) else type(op)


def is_mapped(op: Any) -> bool:
    """True for a mapped operator (`partial(...).expand(...)`)."""
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    return isinstance(op, MappedOperator)


def expand_input(op: Any) -> Any:
    """What a mapped operator expands over (a decorated one keeps it apart)."""
    specified = getattr(op, "_get_specified_expand_input", None)
    return specified() if specified is not None else op.expand_input


def enum_text(value: Any) -> str:
    """An Airflow enum (TriggerRule, WeightRule) or text as its plain value; a custom
    priority weight strategy as its class path (Airflow loads registered ones by it)."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, str):
        return value
    return class_path(type(value))


def _find_line(source: str, *needles: str) -> int:
    for needle in needles:
        for quote in ('"', "'"):
            idx = source.find(f"{quote}{needle}{quote}")
            if idx >= 0:
                return source.count("\n", 0, idx) + 1
    return 0


def _xcom_parts(value: Any) -> tuple[str, str] | None:
    from airflow.sdk.definitions.xcom_arg import PlainXComArg

    if isinstance(value, PlainXComArg):
        return value.operator.task_id, value.key
    return None


def _contains(value: Any, predicate: Any) -> bool:
    if predicate(value):
        return True
    if isinstance(value, dict):
        return any(_contains(v, predicate) for v in value.values())
    if isinstance(value, list | tuple | set):
        return any(_contains(v, predicate) for v in value)
    return False


def _is_xcom(value: Any) -> bool:
    from airflow.sdk.definitions.xcom_arg import XComArg

    return isinstance(value, XComArg)


def _is_templated(value: Any) -> bool:
    return isinstance(value, str) and bool(_TEMPLATE.search(value))


def _xcom_sources(value: Any) -> list[str]:
    from airflow.sdk.definitions.xcom_arg import XComArg

    out: list[str] = []
    if isinstance(value, XComArg):
        for op, _ in value.iter_references():
            out.append(op.task_id)
    elif isinstance(value, dict):
        for item in value.values():
            out += _xcom_sources(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            out += _xcom_sources(item)
    return out


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


# --------------------------------------------------------------------- conversion


class DagConverter:
    """Converts one DAG object; `result()` gives the DagResult.

    :param dag: the loaded DAG.
    :param path: its file.
    :param source: the file's text.
    :param package: the package the generated task modules go into.
    """

    def __init__(self, dag: Any, path: str, source: str, package: str) -> None:
        self.dag = dag
        self.path = path
        self.source = source
        self.package = package
        self.module_name = module_name_for(dag.dag_id)
        self.builder = ModuleBuilder(
            path=path, source=source, module=self._dag_module(),
            target=f"{package}.{self.module_name}")
        self.entries: dict[str, TaskEntry] = {}
        self.notes: list[str] = []
        self.declared: list[str] = []
        self.kinds: dict[str, str] = {}
        self.reasons: dict[str, list[str]] = {}
        self._kwargs_cache: dict[str, dict[str, Any]] = {}
        self._context_cache: dict[Any, str | None] = {}
        self.branch_cases: dict[str, list[BranchCase]] = {}
        self.guards: dict[str, GuardSpec] = {}

    def _dag_module(self) -> str:
        """The name DagBag imported the DAG file under (its "unusual prefix" module)."""
        import os
        import sys

        target = os.path.abspath(self.path)
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if file and name.startswith("unusual_prefix_") and os.path.abspath(file) == target:
                return name
        return "unusual_prefix_unknown"

    # -------------------------------------------------------------------- classify
    def _callable(self, op: Any) -> Any:
        fn = getattr(op, "python_callable", None)
        if fn is None and is_mapped(op):
            fn = op.partial_kwargs.get("python_callable")
        return fn

    def _init_kwargs(self, op: Any) -> dict[str, Any]:
        cached = self._kwargs_cache.get(op.task_id)
        if cached is None:
            cached = self._kwargs_cache[op.task_id] = self._read_init_kwargs(op)
        return cached

    def _read_init_kwargs(self, op: Any) -> dict[str, Any]:
        if is_mapped(op):
            return self._mapped_partial(op)
        kwargs = dict(getattr(op, "_BaseOperator__init_kwargs", {}) or {})
        # Airflow records the arguments of every __init__ in the class chain, so values a
        # subclass passes to its base itself (ApprovalOperator's options) are there too.
        for key in _supplied_by_subclass(type(op), kwargs):
            kwargs.pop(key, None)
        return kwargs

    def _mapped_partial(self, op: Any) -> dict[str, Any]:
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

    def _uses_context(self, fn: Any) -> str | None:
        key = getattr(inspect.unwrap(fn), "__code__", fn)
        if key not in self._context_cache:
            self._context_cache[key] = self._read_uses_context(fn)
        return self._context_cache[key]

    def _read_uses_context(self, fn: Any) -> str | None:
        from airflow.sdk.definitions.context import KNOWN_CONTEXT_KEYS

        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return "its signature cannot be read"
        for param in sig.parameters.values():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                return f"it takes **{param.name} (the Airflow context)"
            if param.name in KNOWN_CONTEXT_KEYS:
                return f"it reads the Airflow context ({param.name})"
        try:
            text = inspect.getsource(inspect.unwrap(fn))
        except (OSError, TypeError):
            return None
        if _CONTEXT_HINT.search(text):
            return "it reads the Airflow context (get_current_context)"
        return None

    def _classify(self, op: Any) -> tuple[str, list[str]]:
        """("python"|"shell"|"container"|"airflow", reasons it is kept as airflow)."""
        cls = operator_class(op)
        path = class_path(cls)
        kwargs = self._init_kwargs(op)
        if kwargs.get("outlets") or kwargs.get("inlets"):
            return "airflow", ["it declares asset inlets/outlets"]
        if getattr(op, "is_setup", False) or getattr(op, "is_teardown", False):
            return "airflow", ["it is a setup/teardown task"]
        if self._in_mapped_group(op):
            return "airflow", ["it is inside a mapped task group"]
        if path in PYTHON_CLASSES:
            fn = self._callable(op)
            reason = self._uses_context(fn) if fn is not None else "it has no callable"
            if reason:
                return "airflow", [reason]
            if kwargs.get("multiple_outputs"):
                return "airflow", ["it returns multiple outputs (multiple_outputs=True)"]
            if kwargs.get("templates_dict"):
                return "airflow", ["it uses templates_dict"]
            if is_mapped(op) and type(expand_input(op)).__name__ != "DictOfListsExpandInput":
                return "airflow", ["it is mapped with expand_kwargs"]
            args = [*(kwargs.get("op_args") or ()), *(kwargs.get("op_kwargs") or {}).values()]
            if is_mapped(op):
                args += list(expand_input(op).value.values())
            for value in args:
                if _contains(value, _is_templated):
                    return "airflow", ["an argument is a Jinja template, rendered by Airflow"]
                if _contains(value, _is_xcom):
                    for ref in _iter_xcoms(value):
                        if ref[1] != "return_value":
                            return "airflow", [f"it reads XCom key {ref[1]!r}"]
                    continue
                try:
                    _json_literal(value)
                except CannotEncode as exc:
                    return "airflow", [f"an argument has no JSON form ({exc})"]
            return "python", []
        if path == BASH_CLASS and not is_mapped(op):
            command = kwargs.get("bash_command")
            if not isinstance(command, str):
                return "airflow", ["its bash_command is computed at run time"]
            if _TEMPLATE.search(command):
                return "airflow", ["its bash_command is a Jinja template, rendered by Airflow"]
            if command.strip().endswith((".sh", ".bash")):
                return "airflow", ["its bash_command names a script file read by Airflow"]
            env = kwargs.get("env") or {}
            if not isinstance(env, dict) or any(_is_templated(v) or not isinstance(v, str)
                                                 for v in env.values()):
                return "airflow", ["its env is templated or not plain text"]
            return "shell", []
        if path == KPO_CLASS and not is_mapped(op):
            for key in ("image", "cmds", "arguments"):
                if _contains(kwargs.get(key), _is_templated):
                    return "airflow", [f"its {key} is a Jinja template, rendered by Airflow"]
            if not isinstance(kwargs.get("image"), str):
                return "airflow", ["it has no image"]
            return "container", []
        if path in BRANCH_CLASSES and not is_mapped(op):
            try:
                self.branch_cases[op.task_id] = self._read_branch(op)
            except NotExpressible as exc:
                return "airflow", [f"its decision is Python code run by Airflow ({exc}); "
                                   "kept as a branch task"]
            return "branch", []
        if any(word in cls.__name__ for word in _BRANCHING):
            return "airflow", ["its decision is Python code run by Airflow; kept as a branch "
                               "task"]
        return "airflow", ["no typed FlytePath equivalent; the original operator runs as is"]

    # ------------------------------------------------------------------- branches
    def _read_branch(self, op: Any) -> list[BranchCase]:
        """The cases of a branch operator's callable (NotExpressible says why not)."""
        from airflow.sdk.definitions.context import KNOWN_CONTEXT_KEYS

        fn = self._callable(op)
        if fn is None:
            raise NotExpressible("it has no callable")
        fn = inspect.unwrap(fn)
        kwargs = self._init_kwargs(op)
        if kwargs.get("templates_dict"):
            raise NotExpressible("it uses templates_dict")
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            raise NotExpressible("its signature cannot be read") from None
        params = [p for p in sig.parameters.values() if p.kind not in
                  (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
        bound: dict[str, Any] = dict(zip((p.name for p in params), kwargs.get("op_args") or (),
                                         strict=False))
        bound.update(kwargs.get("op_kwargs") or {})
        defaults = {p.name: p.default for p in params if p.default is not p.empty}

        def resolve(name: str) -> Operand:
            if name.startswith("params."):
                return self._param_operand(name.removeprefix("params."))
            if name in bound:
                value = bound[name]
            elif name in defaults:
                value = defaults[name]
            elif name in KNOWN_CONTEXT_KEYS:
                raise NotExpressible(f"its condition reads the Airflow context ({name})")
            else:
                raise NotExpressible(f"argument {name!r} is never given a value")
            ref = _xcom_parts(value)
            if ref is not None:
                return self._upstream_operand(*ref)
            if value is None or isinstance(value, bool | int | float | str):
                return Operand(LiteralBinding(value=value), None)
            raise NotExpressible(f"argument {name!r} is a {type(value).__name__}, neither a "
                                 "constant nor an upstream task's value")

        return read_branch(fn, resolve)

    def _param_operand(self, name: str) -> Operand:
        if name not in self.dag.params:
            raise NotExpressible(f"its condition reads param {name!r}, which the DAG does not "
                                 "define")
        schema = dict(getattr(self.dag.params.get_param(name), "schema", {}) or {})
        return Operand(InputRef(name=name), _schema_type(schema))

    def _upstream_operand(self, task_id: str, key: str) -> Operand:
        if key != "return_value":
            raise NotExpressible(f"its condition reads XCom key {key!r} of {task_id!r}")
        up = self.dag.get_task(task_id)
        fn = self._callable(up)
        if class_path(operator_class(up)) not in PYTHON_CLASSES or fn is None \
                or is_mapped(up):
            raise NotExpressible(f"its condition reads the value of {task_id!r}, which is "
                                 "not a typed (unmapped) Python task")
        try:
            hint = typing.get_type_hints(inspect.unwrap(fn)).get("return")
        except Exception:
            hint = None
        lt: LiteralType = JSON_TYPE
        if hint is not None:
            from flytepath_airflow.types import default_engine

            try:
                lt = default_engine().to_literal_type(hint)
            except Exception:
                lt = JSON_TYPE
        return Operand(OutputRef(node=task_id, output="o0"), lt)

    def _branch_problem(self, op: Any) -> str | None:
        """Why a readable branch still cannot be a conditional here (None: it can)."""
        cases = self.branch_cases[op.task_id]
        downstream = set(op.downstream_task_ids)
        case_of: dict[str, int] = {}
        for index, case in enumerate(cases):
            for target in case.targets:
                if target not in downstream:
                    return f"it returns {target!r}, which is not a direct downstream task"
                if case_of.get(target, index) != index:
                    return (f"task {target!r} is returned by cases {case_of[target]} and "
                            f"{index}; one guard cannot express that")
                case_of[target] = index
        for target in sorted(downstream):
            if target not in case_of:
                return f"downstream task {target!r} is returned by no case"
            for later in sorted(self.dag.get_task(target).downstream_task_ids - downstream):
                task = self.dag.get_task(later)
                rule = enum_text(task.trigger_rule)
                if rule not in SKIP_TOLERANT:
                    return (f"task {later!r} after case task {target!r} has trigger rule "
                            f"{rule}; only joins that run after whichever case ran (e.g. "
                            "none_failed_min_one_success) are converted")
                if target in _xcom_sources(self._init_kwargs(task)):
                    return (f"join {later!r} reads the value of case task {target!r}, which "
                            "is skipped when its case is not taken")
        return None

    def _branch(self, op: Any, options: AirflowNodeOptions, group: tuple[str, ...],
                upstream: tuple[str, ...]) -> NodeSpec:
        tid = op.task_id
        cases = self.branch_cases[tid]
        shown = []
        for index, case in enumerate(cases):
            for target in case.targets:
                self.guards[target] = GuardSpec(branch=tid, case=index)
            label = "else" if case.condition is None else f"case {index}"
            shown.append(f"{label} -> {', '.join(case.targets) or 'nothing'}")
        notes = [f"became a FlytePath conditional, decided by a task with the same id "
                 f"({'; '.join(shown)}); its downstream tasks skip themselves when their "
                 "case is not taken"]
        if op.retries:
            notes.append(f"retries={op.retries} is not kept: deciding runs no user code")
            self.declared.append(f"task:{tid}:retries")
        self._entry(op, "changed", "branch", notes)
        return NodeSpec(id=tid, kind="branch",
                        branch=BranchSpec(cases=tuple(CaseSpec(condition=case.condition)
                                                      for case in cases)),
                        upstream=upstream, group=group, airflow=options)

    def _in_mapped_group(self, op: Any) -> bool:
        from airflow.sdk.definitions.taskgroup import MappedTaskGroup

        group = op.task_group
        while group is not None:
            if isinstance(group, MappedTaskGroup):
                return True
            group = group.parent_group
        return False

    def _reads_xcom(self, op: Any) -> bool:
        kwargs = self._init_kwargs(op)
        if _contains(kwargs, _is_xcom):
            return True
        if _contains(kwargs, lambda v: isinstance(v, str) and bool(_XCOM_TEMPLATE.search(v))):
            return True
        fn = self._callable(op)
        return fn is not None and self._uses_context(fn) is not None

    def _settle_kinds(self, order: list[Any]) -> None:
        for op in order:
            kind, reasons = self._classify(op)
            self.kinds[op.task_id] = kind
            self.reasons[op.task_id] = reasons
        changed = True
        while changed:
            changed = False
            for op in order:
                tid = op.task_id
                if self.kinds[tid] == "branch":
                    problem = self._branch_problem(op)
                    if problem is not None:
                        self.kinds[tid] = "airflow"
                        self.reasons[tid] = [f"its decision is Python code run by Airflow "
                                             f"({problem}); kept as a branch task"]
                        changed = True
                sources = set(_xcom_sources(self._init_kwargs(op)))
                if is_mapped(op):
                    sources |= set(_xcom_sources(expand_input(op).value))
                if self.kinds[tid] == "airflow" and self._reads_xcom(op):
                    sources |= set(op.upstream_task_ids)
                for src in sorted(sources):
                    if src not in self.kinds:
                        continue
                    pair = (self.kinds[src], self.kinds[tid])
                    if pair in (("python", "python"), ("airflow", "airflow"),
                                ("python", "branch")):
                        continue
                    if self.kinds[src] != "airflow":
                        self.kinds[src] = "airflow"
                        self.reasons[src] = [f"its XCom is read by kept Airflow task {tid!r}"]
                        changed = True
                    if self.kinds[tid] != "airflow":
                        self.kinds[tid] = "airflow"
                        self.reasons[tid] = [f"it reads the XCom of kept Airflow task {src!r}"]
                        changed = True

    # ----------------------------------------------------------------------- build
    def result(self) -> DagResult:
        """Convert the DAG; a failure is a DagResult with status "failed"."""
        from flytepath_airflow.migrate.structure import structure_of

        dag = self.dag
        line = _find_line(self.source, dag.dag_id) or 1
        result = DagResult(dag_id=dag.dag_id, file=self.path, line=line, status="failed")
        try:
            result.structure = structure_of(dag)
        except Exception as exc:  # the original must serialize, or Airflow would refuse it
            result.error = f"Airflow cannot serialize the DAG: {exc}"
            return result
        order = _topological(dag)
        self._settle_kinds(order)
        nodes: list[NodeSpec] = []
        tasks: dict[str, TaskSpec] = {}
        for op in order:
            node, task = self._convert(op)
            nodes.append(node)
            if task is not None:
                tasks[node.id] = task
        spec_doc = self._document(nodes, tasks)
        result.spec_document = spec_doc
        if not self.builder.empty:
            result.module_name = self.module_name
            result.module_text = self.builder.render(
                f"Task code of DAG {dag.dag_id!r}, carried out of {self.path.rsplit('/', 1)[-1]} "
                "by `flytepath convert`.\n\nEdit freely: the converted spec names these "
                "functions by import path.\n")
        for owner, names in sorted(self.builder.unresolved.items()):
            self.notes.append(
                f"{owner} uses {', '.join(sorted(set(names)))}, which could not be carried "
                f"into {self.package}.{self.module_name}; add them to that module")
        result.tasks = [self.entries[op.task_id] for op in order]
        result.notes = self.notes
        result.declared = sorted(set(self.declared))
        changed = bool(self.notes) or any(e.status == "changed" for e in result.tasks)
        result.status = "changed" if changed else "exact"
        return result

    def _entry(self, op: Any, status: str, kind: str, notes: list[str]) -> None:
        fn = self._callable(op)
        line = 0
        if fn is not None and hasattr(inspect.unwrap(fn), "__code__"):
            line = inspect.unwrap(fn).__code__.co_firstlineno
        local = re.escape(op.task_id.rsplit(".", 1)[-1])
        match = re.search(rf"task_id\s*=\s*[\"']{local}[\"']", self.source)
        if not line and match:
            line = self.source.count("\n", 0, match.start()) + 1
        line = line or _find_line(self.source, op.task_id.rsplit(".", 1)[-1]) or 1
        self.entries[op.task_id] = TaskEntry(
            task_id=op.task_id, operator=operator_class(op).__name__, status=status,
            kind=kind, line=line, notes=notes)

    def _airflow_options(self, op: Any, notes: list[str]) -> AirflowNodeOptions:
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

    def _task_base(self, op: Any, name: str) -> dict[str, Any]:
        docs = getattr(op, "doc_md", None) or getattr(op, "doc", None)
        fn = self._callable(op)
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

    def _group(self, op: Any) -> tuple[str, ...]:
        path: list[str] = []
        group = op.task_group
        while group is not None and group.group_id is not None:
            if not group.prefix_group_id:
                self.notes.append(f"task group {group.group_id!r} does not prefix its task ids; "
                                  "the converted DAG keeps the task ids and the group")
            path.append(str(group.label))
            group = group.parent_group
        return tuple(reversed(path))

    def _convert(self, op: Any) -> tuple[NodeSpec, TaskSpec | None]:
        tid = op.task_id
        kind = self.kinds[tid]
        notes: list[str] = []
        options = self._airflow_options(op, notes)
        base = self._task_base(op, tid)
        group = self._group(op)
        upstream = tuple(sorted(op.upstream_task_ids))
        if kind == "branch":
            return self._branch(op, options, group, upstream), None
        try:
            if kind == "python":
                node, task = self._python(op, base, notes)
            elif kind == "shell":
                node, task = None, self._shell(op, base, notes)
            elif kind == "container":
                node, task = None, self._container(op, base, notes)
            else:
                node, task = None, None
        except (CannotCarry, CannotEncode) as exc:
            self.reasons[tid] = [str(exc)]
            kind, node, task = "airflow", None, None
        if kind == "airflow":
            node, task = self._passthrough(op, base, notes)
            notes[:0] = [f"kept as an Airflow task: {'; '.join(self.reasons[tid])}"]
        assert task is not None
        mapped_node = node if isinstance(node, NodeSpec) else None
        final = NodeSpec(
            id=tid,
            kind=mapped_node.kind if mapped_node else "task",
            task=tid,
            inputs=mapped_node.inputs if mapped_node else {},
            map=mapped_node.map if mapped_node else None,
            upstream=upstream,
            group=group,
            guard=self.guards.get(tid),
            airflow=options,
        )
        if final.kind == "map" and task.kind != "airflow":
            # build_dag runs a typed map node as a task group: fanout, mapped items, collect.
            self.declared += [f"task:{tid}", *(f"task:{tid}.{step}" for step in
                                               ("fanout", "items", "collect"))]
            self.declared += [f"task:{down}:upstream" for down in op.downstream_task_ids]
            notes.append("a typed map task: Airflow runs it as a task group (fanout, items, "
                         "collect) with the same task id as the group")
        if self._in_mapped_group(op):
            self.declared.append(f"task:{tid}:mapped")
            notes.append("its mapped task group is not converted: it runs once, unmapped")
        status = "kept" if kind == "airflow" else "changed" if notes else "converted"
        self._entry(op, status, task.kind if final.kind == "task" else f"map/{task.kind}", notes)
        return final, task

    # ------------------------------------------------------------------ per kind
    def _python(self, op: Any, base: dict[str, Any], notes: list[str]
                ) -> tuple[NodeSpec, TaskSpec]:
        fn = inspect.unwrap(self._callable(op))
        path = self.builder.carry(fn, op.task_id)
        kwargs = self._init_kwargs(op)
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
            lt = self._literal_type(hints.get(param.name), f"input {param.name!r}", notes)
            if param.name in bound:
                bindings[param.name] = self._binding(bound[param.name])
                inputs.append(Variable(name=param.name, type=lt))
            elif param.default is not inspect.Parameter.empty:
                inputs.append(Variable(name=param.name, type=lt, required=False,
                                       default=_json_literal(param.default)))
            else:
                raise CannotEncode(f"argument {param.name!r} is never given a value")
        outputs: tuple[Variable, ...] = ()
        untyped = [p.name for p in params if p.name not in hints]
        if "return" in hints:
            ret = hints["return"]
            if ret is not type(None):
                outputs = (Variable(name="o0", type=self._literal_type(ret, "its output",
                                                                          notes)),)
        elif _returns_value(fn):
            outputs = (Variable(name="o0", type=self._literal_type(None, "its output",
                                                                      notes)),)
            untyped.append("return")
        self.builder.type_as_json(path, tuple(untyped),
                                  returns_none="return" not in hints and not outputs)
        lost = sorted(k for k, v in kwargs.items()
                      if k not in AIRFLOW_KEYS | _PYTHON_OWN and v not in (None, False, {}, []))
        if lost:
            notes.append(f"arguments not kept on a FlytePath task: {', '.join(lost)}")
        task = TaskSpec(kind="python", fn=path,
                        interface=TypedInterface(inputs=tuple(inputs), outputs=outputs), **base)
        node = NodeSpec(id=op.task_id, task=op.task_id, inputs=bindings,
                        kind="map" if mapped else "task",
                        map=MapSpec(mapped=mapped) if mapped else None)
        return node, task

    def _literal_type(self, hint: Any, what: str, notes: list[str]) -> LiteralType:
        if hint is None:
            notes.append(f"{what} has no type hint; typed json (any JSON value)")
            return JSON_TYPE
        from flytepath_airflow.types import default_engine

        try:
            return default_engine().to_literal_type(hint)
        except Exception as exc:
            notes.append(f"{what}: type {hint!r} is not a FlytePath type ({exc}); typed json")
            return JSON_TYPE

    def _binding(self, value: Any) -> BindingSpec:
        ref = _xcom_parts(value)
        if ref is not None:
            return OutputRef(node=ref[0], output="o0")
        return LiteralBinding(value=_json_literal(value))

    def _shell(self, op: Any, base: dict[str, Any], notes: list[str]) -> TaskSpec:
        kwargs = self._init_kwargs(op)
        notes.append("runs with bash -euo pipefail (stricter than BashOperator's bash -c); "
                     "exit code 99 no longer skips the task")
        if kwargs.get("append_env"):
            notes.append("append_env: the task's env is added to the runner's environment")
        lost = sorted(k for k, v in kwargs.items()
                      if k not in AIRFLOW_KEYS | _BASH_OWN and v not in (None, False, {}, []))
        if lost:
            notes.append(f"arguments not kept on a FlytePath task: {', '.join(lost)}")
        return TaskSpec(kind="shell", script=kwargs["bash_command"],
                        env={str(k): str(v) for k, v in (kwargs.get("env") or {}).items()},
                        **base)

    def _container(self, op: Any, base: dict[str, Any], notes: list[str]) -> TaskSpec:
        kwargs = self._init_kwargs(op)
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
        lost = sorted(k for k, v in kwargs.items()
                      if k not in AIRFLOW_KEYS | _KPO_OWN and v not in (None, False, {}, []))
        if lost:
            notes.append(f"arguments not kept on a FlytePath task: {', '.join(lost)}")
        return TaskSpec(
            kind="container", image=kwargs["image"],
            container=ContainerSpec(image=kwargs["image"],
                                    command=tuple(str(c) for c in kwargs.get("cmds") or ()),
                                    args=tuple(str(a) for a in kwargs.get("arguments") or ())),
            env=env, resources=_resources(kwargs.get("container_resources")),
            pod_overrides=overrides if overrides != PodOverridesSpec() else None, **base)

    def _passthrough(self, op: Any, base: dict[str, Any], notes: list[str]
                     ) -> tuple[NodeSpec, TaskSpec]:
        cls = operator_class(op)
        if cls.__module__.startswith("unusual_prefix_"):
            path = self.builder.carry(cls, cls.__name__).replace(":", ".")
        else:
            path = class_path(cls)
        kwargs: dict[str, Any] = {}
        for key, value in sorted(self._init_kwargs(op).items()):
            if key in AIRFLOW_KEYS:
                continue
            try:
                kwargs[key] = self._encode(value, op.task_id)
            except (CannotEncode, CannotCarry) as exc:
                if key in ("op_args", "op_kwargs"):
                    kwargs[key] = self._encode_items(value, op.task_id, key, notes)
                    continue
                notes.append(f"argument {key!r} is not kept ({exc}); set it again in the "
                             "converted spec")
        inputs: dict[str, BindingSpec] = {}
        mapped: tuple[str, ...] = ()
        if is_mapped(op):
            expand = expand_input(op)
            if type(expand).__name__ == "DictOfListsExpandInput":
                for name, value in expand.value.items():
                    inputs[name] = self._raw_binding(value, op.task_id)
            else:
                inputs[EXPAND_KWARGS_INPUT] = self._raw_binding(expand.value, op.task_id)
            mapped = tuple(inputs)
        task = TaskSpec(kind="airflow", operator=OperatorSpec(class_path=path, kwargs=kwargs),
                        **base)
        node = NodeSpec(id=op.task_id, task=op.task_id, inputs=inputs,
                        kind="map" if mapped else "task",
                        map=MapSpec(mapped=mapped) if mapped else None)
        return node, task

    def _encode_items(self, value: Any, owner: str, key: str, notes: list[str]) -> Any:
        """op_args / op_kwargs item by item: an item with no JSON form becomes null."""
        def one(name: str, item: Any) -> Any:
            try:
                return self._encode(item, owner)
            except (CannotEncode, CannotCarry) as exc:
                notes.append(f"{key} {name} is not kept ({exc}); it is null in the converted "
                             "spec")
                return None

        if isinstance(value, dict):
            return {k: one(repr(k), v) for k, v in sorted(value.items())}
        return [one(f"#{i}", v) for i, v in enumerate(value)]

    def _raw_binding(self, value: Any, owner: str) -> BindingSpec:
        ref = _xcom_parts(value)
        if ref is not None:
            return OutputRef(node=ref[0], output=XCOM_OUTPUT_PREFIX + ref[1])
        return LiteralBinding(value=self._encode(value, owner))

    def _encode(self, value: Any, owner: str) -> Any:
        """An argument value as JSON, with tagged objects for what JSON cannot hold."""
        if isinstance(value, Enum):  # before int and str: IntEnum and StrEnum are both
            return {TAG: "enum", "class": class_path(type(value)),
                    "value": self._encode(value.value, owner)}
        if value is None or isinstance(value, bool | int | float | str):
            return value
        ref = _xcom_parts(value)
        if ref is not None:
            return {TAG: "xcom", "task_id": ref[0], "key": ref[1]}
        if _is_xcom(value):
            raise CannotEncode(f"{type(value).__name__} (a derived XComArg)")
        if isinstance(value, list):
            return [self._encode(v, owner) for v in value]
        if isinstance(value, tuple):
            return {TAG: "tuple", "items": [self._encode(v, owner) for v in value]}
        if isinstance(value, set | frozenset):
            items = [self._encode(v, owner) for v in value]
            return {TAG: "set", "items": sorted(items, key=json.dumps)}
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise CannotEncode("a dict with non-text keys")
            encoded = {k: self._encode(v, owner) for k, v in sorted(value.items())}
            return {TAG: "dict", "value": encoded} if TAG in value else encoded
        if isinstance(value, timedelta):
            return {TAG: "timedelta", "seconds": value.total_seconds()}
        if isinstance(value, datetime):
            return {TAG: "datetime", "iso": value.isoformat()}
        if isinstance(value, date):
            return {TAG: "date", "iso": value.isoformat()}
        if isinstance(value, time):
            return {TAG: "time", "iso": value.isoformat()}
        if type(value).__module__.startswith("kubernetes.client.models"):
            from kubernetes.client import ApiClient

            return {TAG: "k8s", "type": type(value).__name__,
                    "value": ApiClient().sanitize_for_serialization(value)}
        if type(value).__name__ == "DagParam":
            default = getattr(value, "_default", None)
            encoded = {TAG: "dag_param", "name": str(getattr(value, "_name", ""))}
            if not _is_unset(default):
                encoded["default"] = self._encode(default, owner)
            return encoded
        if inspect.isfunction(value) or inspect.isclass(value):
            return {TAG: "callable", "path": self.builder.carry(value, owner)}
        raise CannotEncode(f"a {type(value).__module__}.{type(value).__qualname__} value")

    # ------------------------------------------------------------------- document
    def _document(self, nodes: list[NodeSpec], tasks: dict[str, TaskSpec]) -> dict[str, Any]:
        dag = self.dag
        inputs = tuple(self._param_variable(name) for name in sorted(dag.params.keys()))
        labels = {"airflow.dag_id": dag.dag_id}
        if dag.tags:
            labels["airflow.tags"] = ",".join(sorted(dag.tags))
        description = dag.description or (dag.doc_md.strip() if dag.doc_md else None)
        workflow = with_version(WorkflowSpec(
            schema_version=SCHEMA_VERSION, name=module_name_for(dag.dag_id)
            if not _valid_name(dag.dag_id) else dag.dag_id,
            description=description, interface=TypedInterface(inputs=inputs),
            nodes=tuple(nodes), tasks=tasks, labels=labels))
        schedule = self._schedule()
        if schedule is None:
            return _spec_doc(workflow)
        plan = LaunchPlanSpec(schema_version=SCHEMA_VERSION, name=workflow.name,
                              workflow=workflow, schedule=schedule,
                              description=workflow.description)
        return _spec_doc(plan)

    def _param_variable(self, name: str) -> Variable:
        param = self.dag.params.get_param(name)
        schema = dict(getattr(param, "schema", {}) or {})
        value = getattr(param, "value", None)
        lt = _schema_type(schema)
        try:
            default = _json_literal(value)
        except CannotEncode:
            default = str(value)
            self.notes.append(f"param {name!r}: its default has no JSON form; kept as text")
            self.declared.append(f"param:{name}")
        if schema and lt == JSON_TYPE and schema.get("type") not in (None,):
            self.notes.append(f"param {name!r}: schema type {schema.get('type')!r} became json")
        if _is_unset(value):
            return Variable(name=name, type=lt, description=getattr(param, "description", None))
        return Variable(name=name, type=lt, required=False, default=default,
                        description=getattr(param, "description", None))

    def _schedule(self) -> ScheduleSpec | None:
        from flytepath_airflow.migrate.structure import schedule_of

        dag = self.dag
        sched = schedule_of(dag.timetable)
        start = dag.start_date.isoformat() if dag.start_date else None
        kind = sched["kind"]
        timetable = type(dag.timetable).__name__
        if kind == "none":
            if dag.catchup:
                self.notes.append("catchup is set but the DAG has no schedule; dropped")
                self.declared.append("catchup")
            return None
        if "DataInterval" in timetable:
            self.notes.append(f"{timetable}: data intervals become trigger times "
                              "(CronTriggerTimetable / DeltaTriggerTimetable)")
            self.declared.append("schedule")
        if kind == "cron":
            return ScheduleSpec(cron=sched["cron"], timezone=sched["timezone"],
                                catchup=bool(dag.catchup), start_date=start)
        if kind == "rate":
            return ScheduleSpec(fixed_rate=sched["seconds"], catchup=bool(dag.catchup),
                                start_date=start)
        self.notes.append(f"schedule {sched['timetable']} ({sched['summary']}) has no "
                          "FlytePath form; the converted DAG runs when triggered")
        self.declared.extend(["schedule", "catchup"] if dag.catchup else ["schedule"])
        return None


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


def _valid_name(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name))


def _default_queue() -> str:
    from airflow.configuration import conf

    return str(conf.get("operators", "default_queue", fallback="default"))


def _is_unset(value: Any) -> bool:
    return type(value).__name__ == "ArgNotSet"


def _schema_type(schema: dict[str, Any]) -> LiteralType:
    simple = {"integer": "int", "number": "float", "string": "str", "boolean": "bool"}
    kind = schema.get("type")
    if isinstance(kind, list):
        variants = [k for k in kind if k != "null"]
        if len(variants) == 1:
            inner = _schema_type({**schema, "type": variants[0]})
            if "null" in kind and inner != JSON_TYPE:
                return UnionType(variants=(inner, SimpleType(name="none")))
            return inner
        return JSON_TYPE
    if kind in simple:
        return SimpleType(name=simple[kind])  # type: ignore[arg-type]
    if kind == "array":
        return ListType(item=JSON_TYPE)
    if kind == "object":
        return MapType(value=JSON_TYPE)
    return JSON_TYPE


def _json_literal(value: Any) -> Any:
    if _is_unset(value):
        return None
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple):
        value = list(value)
    try:
        text = json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CannotEncode(f"{type(value).__name__}: {exc}") from None
    return json.loads(text)


def _iter_xcoms(value: Any) -> list[tuple[str, str]]:
    ref = _xcom_parts(value)
    if ref is not None:
        return [ref]
    if _is_xcom(value):
        return [("", "derived")]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _iter_xcoms(v)]
    if isinstance(value, list | tuple | set):
        return [r for v in value for r in _iter_xcoms(v)]
    return []


def _returns_value(fn: Any) -> bool:
    try:
        tree = ast.parse(_dedented(fn))
    except (OSError, TypeError, SyntaxError):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            return True
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
    return False


def _dedented(fn: Any) -> str:
    return textwrap.dedent(inspect.getsource(fn))


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


def _spec_doc(model: WorkflowSpec | LaunchPlanSpec) -> dict[str, Any]:
    doc = model.model_dump(mode="json", exclude_defaults=True)
    doc["schema_version"] = SCHEMA_VERSION
    if isinstance(model, LaunchPlanSpec):
        doc["kind"] = "launch_plan"
        doc["workflow"]["schema_version"] = SCHEMA_VERSION
    return dict(doc)


def _topological(dag: Any) -> list[Any]:
    """Tasks upstream-first; ties keep the DAG's own (sorted task id) order."""
    tasks = {t.task_id: t for t in dag.tasks}
    indegree = {tid: len(t.upstream_task_ids & tasks.keys()) for tid, t in tasks.items()}
    ready = sorted(tid for tid, n in indegree.items() if n == 0)
    order: list[Any] = []
    import heapq

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
