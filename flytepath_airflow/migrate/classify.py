"""What each task of a loaded DAG becomes, and why a kept one is kept.

Kinds: "python", "shell", "container", "branch" (a FlytePath conditional) or "airflow"
(a pass-through task running the original operator). `TaskClassifier.settle` first judges
each task on its own (`_classify`), then repeats until nothing changes:
- a branch whose DAG shape guards cannot express becomes "airflow" (`branch_problem`);
- a task exchanging XCom with a kept task is kept too, since a FlytePath task's XCom holds
  a pointer, not the value (a python task may still feed a python task or a branch).

Imports airflow lazily (the known context keys). Must not import `tasks`, `document` or
`extract`: they read its verdicts.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from flytepath_airflow.migrate.branch_operators import branch_problem, read_cases
from flytepath_airflow.migrate.branches import BranchCase, NotExpressible
from flytepath_airflow.migrate.encode import CannotEncode, json_literal
from flytepath_airflow.migrate.introspect import (
    BASH_CLASS,
    BRANCH_CLASSES,
    KPO_CLASS,
    PYTHON_CLASSES,
    TEMPLATE,
    InitArguments,
    callable_of,
    class_path,
    contains,
    expand_input,
    in_mapped_group,
    is_mapped,
    is_templated,
    is_xcom,
    iter_xcoms,
    operator_class,
    xcom_sources,
)

_CONTEXT_HINT = re.compile(r"\bget_current_context\b|\bcontext\[")
_XCOM_TEMPLATE = re.compile(r"xcom_pull|\bti\.|task_instance")
_BRANCHING = ("Branch", "ShortCircuit", "HITLBranch")


class TaskClassifier:
    """Decides the kind of every task of one DAG.

    :param dag: the loaded DAG.
    :param args: the init arguments of its tasks.
    """

    def __init__(self, dag: Any, args: InitArguments) -> None:
        self.dag = dag
        self.args = args
        self.kinds: dict[str, str] = {}
        """Task id -> its kind."""
        self.reasons: dict[str, list[str]] = {}
        """Task id -> why it is kept as an Airflow task (empty when it converts)."""
        self.branch_cases: dict[str, list[BranchCase]] = {}
        """Branch task id -> its readable cases."""
        self._context_cache: dict[Any, str | None] = {}

    def settle(self, order: list[Any]) -> None:
        """Classify every task, then keep what must stay with kept tasks, until stable.

        :param order: the DAG's tasks, upstream first.
        """
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
                    problem = branch_problem(op, self.branch_cases[tid], self.dag, self.args)
                    if problem is not None:
                        self.kinds[tid] = "airflow"
                        self.reasons[tid] = [f"its decision is Python code run by Airflow "
                                             f"({problem}); kept as a branch task"]
                        changed = True
                sources = set(xcom_sources(self.args.of(op)))
                if is_mapped(op):
                    sources |= set(xcom_sources(expand_input(op).value))
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

    def _classify(self, op: Any) -> tuple[str, list[str]]:
        """(kind, reasons it is kept as airflow), judging the task on its own."""
        cls = operator_class(op)
        path = class_path(cls)
        kwargs = self.args.of(op)
        if kwargs.get("outlets") or kwargs.get("inlets"):
            return "airflow", ["it declares asset inlets/outlets"]
        if getattr(op, "is_setup", False) or getattr(op, "is_teardown", False):
            return "airflow", ["it is a setup/teardown task"]
        if in_mapped_group(op):
            return "airflow", ["it is inside a mapped task group"]
        if path in PYTHON_CLASSES:
            fn = callable_of(op)
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
                if contains(value, is_templated):
                    return "airflow", ["an argument is a Jinja template, rendered by Airflow"]
                if contains(value, is_xcom):
                    for ref in iter_xcoms(value):
                        if ref[1] != "return_value":
                            return "airflow", [f"it reads XCom key {ref[1]!r}"]
                    continue
                try:
                    json_literal(value)
                except CannotEncode as exc:
                    return "airflow", [f"an argument has no JSON form ({exc})"]
            return "python", []
        if path == BASH_CLASS and not is_mapped(op):
            command = kwargs.get("bash_command")
            if not isinstance(command, str):
                return "airflow", ["its bash_command is computed at run time"]
            if TEMPLATE.search(command):
                return "airflow", ["its bash_command is a Jinja template, rendered by Airflow"]
            if command.strip().endswith((".sh", ".bash")):
                return "airflow", ["its bash_command names a script file read by Airflow"]
            env = kwargs.get("env") or {}
            if not isinstance(env, dict) or any(is_templated(v) or not isinstance(v, str)
                                                 for v in env.values()):
                return "airflow", ["its env is templated or not plain text"]
            return "shell", []
        if path == KPO_CLASS and not is_mapped(op):
            for key in ("image", "cmds", "arguments"):
                if contains(kwargs.get(key), is_templated):
                    return "airflow", [f"its {key} is a Jinja template, rendered by Airflow"]
            if not isinstance(kwargs.get("image"), str):
                return "airflow", ["it has no image"]
            return "container", []
        if path in BRANCH_CLASSES and not is_mapped(op):
            try:
                self.branch_cases[op.task_id] = read_cases(op, self.dag, self.args)
            except NotExpressible as exc:
                return "airflow", [f"its decision is Python code run by Airflow ({exc}); "
                                   "kept as a branch task"]
            return "branch", []
        if any(word in cls.__name__ for word in _BRANCHING):
            return "airflow", ["its decision is Python code run by Airflow; kept as a branch "
                               "task"]
        return "airflow", ["no typed FlytePath equivalent; the original operator runs as is"]

    def _uses_context(self, fn: Any) -> str | None:
        """Why the callable needs the Airflow context (None: it does not), read once per
        function body."""
        key = getattr(inspect.unwrap(fn), "__code__", fn)
        if key not in self._context_cache:
            self._context_cache[key] = _read_uses_context(fn)
        return self._context_cache[key]

    def _reads_xcom(self, op: Any) -> bool:
        kwargs = self.args.of(op)
        if contains(kwargs, is_xcom):
            return True
        if contains(kwargs, lambda v: isinstance(v, str) and bool(_XCOM_TEMPLATE.search(v))):
            return True
        fn = callable_of(op)
        return fn is not None and self._uses_context(fn) is not None


def _read_uses_context(fn: Any) -> str | None:
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
