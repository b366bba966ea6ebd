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

`DagConverter` runs the stages in order and owns only what they share (the task module,
the DAG's notes, the guards of branch cases): `classify` decides each task's kind,
`tasks` and `branch_operators` build its node and task, `document` wraps them in a
workflow or launch plan (`schedule`), `results` holds what is reported. `introspect`
reads the Airflow objects and `encode` turns their values into literals and types.

Imports airflow through those modules. Nothing in the converter imports this module; the
loader does.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from flytepath_airflow.ir.models import GuardSpec, NodeSpec, TaskSpec
from flytepath_airflow.migrate.branch_operators import branch_node, case_guards
from flytepath_airflow.migrate.classify import TaskClassifier
from flytepath_airflow.migrate.document import spec_document
from flytepath_airflow.migrate.encode import ArgumentEncoder, CannotEncode
from flytepath_airflow.migrate.introspect import (
    InitArguments,
    in_mapped_group,
    operator_class,
    topological,
)
from flytepath_airflow.migrate.results import DagResult, TaskEntry, find_line, task_line
from flytepath_airflow.migrate.source import CannotCarry, ModuleBuilder, module_name_for
from flytepath_airflow.migrate.structure import structure_of
from flytepath_airflow.migrate.tasks import (
    airflow_options,
    container_task,
    group_path,
    passthrough_task,
    python_task,
    shell_task,
    task_base,
)
from flytepath_airflow.platform.settings import DEFAULT_POOL


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
        self.args = InitArguments()
        self.encoder = ArgumentEncoder(self.builder)
        self.classifier = TaskClassifier(dag, self.args)
        self.entries: dict[str, TaskEntry] = {}
        self.notes: list[str] = []
        self.declared: list[str] = []
        self.guards: dict[str, GuardSpec] = {}

    def _dag_module(self) -> str:
        """The name DagBag imported the DAG file under (its "unusual prefix" module)."""
        target = os.path.abspath(self.path)
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if file and name.startswith("unusual_prefix_") and os.path.abspath(file) == target:
                return name
        return "unusual_prefix_unknown"

    def result(self) -> DagResult:
        """Convert the DAG; a failure is a DagResult with status "failed"."""
        dag = self.dag
        line = find_line(self.source, dag.dag_id) or 1
        result = DagResult(dag_id=dag.dag_id, file=self.path, line=line, status="failed")
        try:
            result.structure = structure_of(dag)
        except Exception as exc:  # the original must serialize, or Airflow would refuse it
            result.error = f"Airflow cannot serialize the DAG: {exc}"
            return result
        order = topological(dag)
        self.classifier.settle(order)
        nodes: list[NodeSpec] = []
        tasks: dict[str, TaskSpec] = {}
        for op in order:
            node, task = self._convert(op)
            nodes.append(node)
            if task is not None:
                tasks[node.id] = task
        spec_doc = spec_document(dag, nodes, tasks, self.notes, self.declared)
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
        self.entries[op.task_id] = TaskEntry(
            task_id=op.task_id, operator=operator_class(op).__name__, status=status,
            kind=kind, line=task_line(op, self.source), notes=notes)

    def _convert(self, op: Any) -> tuple[NodeSpec, TaskSpec | None]:
        tid = op.task_id
        kind = self.classifier.kinds[tid]
        reasons = self.classifier.reasons[tid]
        notes: list[str] = []
        options = airflow_options(op)
        if options.pool is not None:
            # Pools are the platform's to decide (ADR 0037): a spec naming one is refused.
            if options.pool != DEFAULT_POOL:
                notes.append(f"pool {options.pool!r} is not kept: the task runs in its "
                             "tenant's pool, which the platform sets ([flytepath] "
                             "tenant_pools)")
            options = options.model_copy(update={"pool": None})
        if options.queue is not None:
            notes.append(f"queue {options.queue!r} is kept: the DAG builds only where the "
                         "platform lists it for the tenant ([flytepath] tenant_queues)")
        base = task_base(op, tid)
        group = group_path(op, self.notes)
        upstream = tuple(sorted(op.upstream_task_ids))
        kwargs = self.args.of(op)
        if kind == "branch":
            cases = self.classifier.branch_cases[tid]
            self.guards.update(case_guards(op, cases))
            branch, branch_notes = branch_node(op, cases, options, group, upstream,
                                               self.declared)
            self._entry(op, "changed", "branch", notes + branch_notes)
            return branch, None
        try:
            if kind == "python":
                node, task = python_task(op, kwargs, self.builder, base, notes)
            elif kind == "shell":
                node, task = None, shell_task(kwargs, base, notes)
            elif kind == "container":
                node, task = None, container_task(kwargs, base, notes)
            else:
                node, task = None, None
        except (CannotCarry, CannotEncode) as exc:
            reasons = [str(exc)]
            kind, node, task = "airflow", None, None
        if kind == "airflow":
            node, task = passthrough_task(op, kwargs, self.encoder, base, notes)
            notes[:0] = [f"kept as an Airflow task: {'; '.join(reasons)}"]
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
        if in_mapped_group(op):
            self.declared.append(f"task:{tid}:mapped")
            notes.append("its mapped task group is not converted: it runs once, unmapped")
        status = "kept" if kind == "airflow" else "changed" if notes else "converted"
        self._entry(op, status, task.kind if final.kind == "task" else f"map/{task.kind}", notes)
        return final, task
