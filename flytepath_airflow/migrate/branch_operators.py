"""A loaded branch operator as a FlytePath conditional: its cases, its shape, its node.

`branches.read_branch` reads the callable's AST; this module gives it what only the loaded
DAG knows (what each argument is bound to: a constant, a DAG param or an upstream typed
task's output, and their types), checks that the DAG around the branch can be expressed
by guards (`branch_problem`), and builds the branch node with the guards of its cases.

Imports airflow lazily (the known context keys). Must not import `classify`, `tasks` or
`extract`: they call this module.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from flytepath_airflow.ir.models import (
    AirflowNodeOptions,
    BranchSpec,
    CaseSpec,
    GuardSpec,
    InputRef,
    LiteralBinding,
    NodeSpec,
    OutputRef,
)
from flytepath_airflow.migrate.branches import BranchCase, NotExpressible, Operand, read_branch
from flytepath_airflow.migrate.encode import literal_type, schema_type
from flytepath_airflow.migrate.introspect import (
    PYTHON_CLASSES,
    InitArguments,
    callable_of,
    class_path,
    enum_text,
    is_mapped,
    operator_class,
    xcom_parts,
    xcom_sources,
)

SKIP_TOLERANT = frozenset({"none_failed", "none_failed_min_one_success", "all_done",
                           "all_done_min_one_success", "one_success", "always"})
"""Trigger rules of a join that runs after whichever branch case ran."""


def read_cases(op: Any, dag: Any, args: InitArguments) -> list[BranchCase]:
    """The cases of a branch operator's callable (NotExpressible says why not).

    :param op: the branch task.
    :param dag: its DAG (for params and upstream tasks).
    :param args: the init arguments of the DAG's tasks.
    """
    from airflow.sdk.definitions.context import KNOWN_CONTEXT_KEYS

    fn = callable_of(op)
    if fn is None:
        raise NotExpressible("it has no callable")
    fn = inspect.unwrap(fn)
    kwargs = args.of(op)
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
            return _param_operand(dag, name.removeprefix("params."))
        if name in bound:
            value = bound[name]
        elif name in defaults:
            value = defaults[name]
        elif name in KNOWN_CONTEXT_KEYS:
            raise NotExpressible(f"its condition reads the Airflow context ({name})")
        else:
            raise NotExpressible(f"argument {name!r} is never given a value")
        ref = xcom_parts(value)
        if ref is not None:
            return _upstream_operand(dag, *ref)
        if value is None or isinstance(value, bool | int | float | str):
            return Operand(LiteralBinding(value=value), None)
        raise NotExpressible(f"argument {name!r} is a {type(value).__name__}, neither a "
                             "constant nor an upstream task's value")

    return read_branch(fn, resolve)


def _param_operand(dag: Any, name: str) -> Operand:
    if name not in dag.params:
        raise NotExpressible(f"its condition reads param {name!r}, which the DAG does not "
                             "define")
    schema = dict(getattr(dag.params.get_param(name), "schema", {}) or {})
    return Operand(InputRef(name=name), schema_type(schema))


def _upstream_operand(dag: Any, task_id: str, key: str) -> Operand:
    if key != "return_value":
        raise NotExpressible(f"its condition reads XCom key {key!r} of {task_id!r}")
    up = dag.get_task(task_id)
    fn = callable_of(up)
    if class_path(operator_class(up)) not in PYTHON_CLASSES or fn is None \
            or is_mapped(up):
        raise NotExpressible(f"its condition reads the value of {task_id!r}, which is "
                             "not a typed (unmapped) Python task")
    try:
        hint = typing.get_type_hints(inspect.unwrap(fn)).get("return")
    except Exception:
        hint = None
    # The upstream task reports its own untyped output; the condition needs no second note.
    return Operand(OutputRef(node=task_id, output="o0"), literal_type(hint, "", []))


def branch_problem(op: Any, cases: list[BranchCase], dag: Any, args: InitArguments
                   ) -> str | None:
    """Why a readable branch still cannot be a conditional here (None: it can).

    :param op: the branch task.
    :param cases: its cases (`read_cases`).
    :param dag: its DAG.
    :param args: the init arguments of the DAG's tasks.
    """
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
        for later in sorted(dag.get_task(target).downstream_task_ids - downstream):
            task = dag.get_task(later)
            rule = enum_text(task.trigger_rule)
            if rule not in SKIP_TOLERANT:
                return (f"task {later!r} after case task {target!r} has trigger rule "
                        f"{rule}; only joins that run after whichever case ran (e.g. "
                        "none_failed_min_one_success) are converted")
            if target in xcom_sources(args.of(task)):
                return (f"join {later!r} reads the value of case task {target!r}, which "
                        "is skipped when its case is not taken")
    return None


def case_guards(op: Any, cases: list[BranchCase]) -> dict[str, GuardSpec]:
    """The guard of each task a case returns (it runs only when its case is taken).

    :param op: the branch task.
    :param cases: its cases.
    """
    return {target: GuardSpec(branch=op.task_id, case=index)
            for index, case in enumerate(cases) for target in case.targets}


def branch_node(op: Any, cases: list[BranchCase], options: AirflowNodeOptions,
                group: tuple[str, ...], upstream: tuple[str, ...], declared: list[str]
                ) -> tuple[NodeSpec, list[str]]:
    """The branch node of a convertible branch task, and its report notes.

    :param op: the branch task.
    :param cases: its cases.
    :param options: its Airflow node options.
    :param group: its task group path.
    :param upstream: its upstream task ids.
    :param declared: the DAG's declared differences (a dropped retries is added).
    """
    tid = op.task_id
    shown = []
    for index, case in enumerate(cases):
        label = "else" if case.condition is None else f"case {index}"
        shown.append(f"{label} -> {', '.join(case.targets) or 'nothing'}")
    notes = [f"became a FlytePath conditional, decided by a task with the same id "
             f"({'; '.join(shown)}); its downstream tasks skip themselves when their "
             "case is not taken"]
    if op.retries:
        notes.append(f"retries={op.retries} is not kept: deciding runs no user code")
        declared.append(f"task:{tid}:retries")
    node = NodeSpec(id=tid, kind="branch",
                    branch=BranchSpec(cases=tuple(CaseSpec(condition=case.condition)
                                                  for case in cases)),
                    upstream=upstream, group=group, airflow=options)
    return node, notes
