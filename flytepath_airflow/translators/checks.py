"""Static checks of a workflow graph, shared by every front-end (Python, YAML, Airflow DAG).

`check_workflow(spec, locate)` raises the first problem it finds as a `CompileError` (or
`TypeMismatchError`) whose message says what is wrong, where, why, and how to fix it.
The checks run in a fixed order so the same spec always gives the same error:

1. node ids are unique;
2. every task, map and dynamic node runs a task the workflow defines (a dynamic node a
   dynamic task, a map node a Python task), and shell or container tasks declare no
   File, Directory, DataFrame or pickled outputs (they return text);
3. every explicit upstream dependency names an existing node; every guard names a branch
   node and one of its cases; every branch ends with an `else_` case (condition None,
   possibly a fail case); every merge names a branch node and binds, for each of its
   cases, every merged output (fail cases bind nothing);
4. every node input exists on its task (a map node's mapped inputs are among its inputs),
   and every reference in a binding, a condition or a merge names an existing node and
   output, or an existing workflow input;
5. every workflow output binding names a declared output, with valid references;
6. the graph has no cycle;
7. node by node: every binding's type is castable to the input it feeds (a mapped input
   feeds a list of the task input's type; literals are validated against the type), every
   required task input is bound, every comparison compares comparable types, and every
   merged binding is castable to the merge output;
8. every declared workflow output is bound, with a castable type;
9. the failure node (`on_failure`) runs a defined task, reads only workflow inputs and
   literals, and binds every required input but `err` (which the runtime fills in).

Outputs of a node: a task or dynamic node has its task's outputs; a map node has
`list[O]` per task output (`list[Optional[O]]` when min_success_ratio < 1); a merge node
has its `outputs`; a branch node has none (see `node_outputs`).

`locate(path)` lets a front-end put a source position in messages. `path` is the field path
inside the spec, e.g. `("nodes", 2, "inputs", "x")`, `("nodes", 2, "inputs", "xs", "items",
0)`, `("nodes", 2, "task")`, `("nodes", 2, "upstream", 0)`, `("nodes", 2, "id")`,
`("nodes", 2)`, `("on_failure",)`, `("outputs", "total")` or `("interface", "outputs", 0)`;
it returns a
"file:line" string or None. When a path is not known, its shorter prefixes are tried.

Graph order, cycles and node outputs come from `ir.graph`.

Must not import: airflow, kubernetes, the sdk, or user code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from flytepath_airflow.errors import CompileError, LiteralValueError, TypeMismatchError
from flytepath_airflow.ir.graph import chain_text, find_cycle, node_outputs
from flytepath_airflow.ir.models import (
    BindingSpec,
    BlobType,
    ComparisonSpec,
    ConditionSpec,
    ConjunctionSpec,
    DataFrameType,
    EnumType,
    InputRef,
    ListBinding,
    ListType,
    LiteralBinding,
    LiteralType,
    MapBinding,
    MapType,
    NodeSpec,
    OutputRef,
    PickledType,
    SimpleType,
    StructType,
    UnionType,
    WorkflowSpec,
)
from flytepath_airflow.types.casting import castability_error
from flytepath_airflow.types.render import render_type
from flytepath_airflow.types.validate import validate_literal
from flytepath_airflow.utils.suggest import did_you_mean

FieldPath = tuple[str | int, ...]
"""A path to a field inside a spec, e.g. ("nodes", 2, "inputs", "x")."""

Locate = Callable[[FieldPath], str | None]
"""Maps a spec field path to a "file:line" string, or None when unknown."""

_JSON = SimpleType(name="json")


def _listing(names: Iterable[str]) -> str:
    items = [f"'{n}'" for n in names]
    return ", ".join(items) if items else "none"


def _literal_text(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def binding_type(spec: WorkflowSpec, binding: BindingSpec,
                 nodes: Mapping[str, NodeSpec] | None = None) -> LiteralType | None:
    """The type a reference binding produces, or None (a literal, a collection, or a bad ref).

    :param spec: the workflow the binding belongs to.
    :param binding: the binding.
    :param nodes: the spec's nodes by id, when the caller has them (saves a scan per call).
    """
    if isinstance(binding, InputRef):
        var = spec.interface.input(binding.name)
        return var.type if var is not None else None
    if isinstance(binding, OutputRef):
        node = (nodes.get(binding.node) if nodes is not None
                else next((n for n in spec.nodes if n.id == binding.node), None))
        if node is None:
            return None
        outs = node_outputs(spec, node)
        out = next((v for v in outs or () if v.name == binding.output), None)
        return out.type if out is not None else None
    return None


def _leaves(binding: BindingSpec, path: FieldPath, label: str
            ) -> Iterator[tuple[BindingSpec, FieldPath, str]]:
    """Every reference and literal inside a binding with its field path and display label."""
    if isinstance(binding, ListBinding):
        for i, item in enumerate(binding.items):
            yield from _leaves(item, (*path, "items", i), f"{label}[{i}]")
    elif isinstance(binding, MapBinding):
        for key, value in binding.entries.items():
            yield from _leaves(value, (*path, "entries", key), f"{label}[{json.dumps(key)}]")
    else:
        yield binding, path, label


class _Checker:
    def __init__(self, spec: WorkflowSpec, locate: Locate | None) -> None:
        self.spec = spec
        self.locate = locate
        self.node_ids = [n.id for n in spec.nodes]
        self.by_id: dict[str, NodeSpec] = {}
        for node in spec.nodes:
            self.by_id.setdefault(node.id, node)

    # ----------------------------------------------------------------- reporting

    def where(self, path: FieldPath) -> str:
        """" (file:line)" for the longest known prefix of `path`, or ""."""
        if self.locate is None:
            return ""
        for end in range(len(path), 0, -1):
            found = self.locate(path[:end])
            if found:
                return f" ({found})"
        return ""

    def fail(self, what: str, path: FieldPath, rest: str,
             error: type[CompileError] = CompileError) -> CompileError:
        return error(f"{what}{self.where(path)}. {rest}")

    # -------------------------------------------------------------------- checks

    def run(self) -> None:
        self.check_unique_ids()
        for index, node in enumerate(self.spec.nodes):
            self.check_task(index, node)
        self.check_process_outputs()
        for index, node in enumerate(self.spec.nodes):
            self.check_upstream(index, node)
            self.check_control(index, node)
        for index, node in enumerate(self.spec.nodes):
            self.check_node_references(index, node)
        self.check_output_references()
        cycle = find_cycle(self.spec)
        if cycle is not None:
            raise self.cycle_error(cycle)
        for index, node in enumerate(self.spec.nodes):
            self.check_node_types(index, node)
            self.check_required_inputs(index, node)
        self.check_outputs_bound()
        self.check_failure_node()

    def check_unique_ids(self) -> None:
        first: dict[str, int] = {}
        for index, node in enumerate(self.spec.nodes):
            if node.id in first:
                earlier = first[node.id]
                at = self.where(("nodes", earlier, "id")).strip(" ()") or f"position {earlier}"
                raise self.fail(
                    f"Node id '{node.id}' is used twice, by nodes {earlier} and {index}",
                    ("nodes", index, "id"),
                    f"The first one is at {at}. Give every node of a workflow its own id.",
                )
            first[node.id] = index

    def check_task(self, index: int, node: NodeSpec) -> None:
        if node.kind in ("branch", "merge"):
            return
        if node.task is None:
            raise self.fail(
                f"Node '{node.id}' runs nothing", ("nodes", index),
                "Name the task it runs in its 'task' field.",
            )
        if node.task not in self.spec.tasks:
            raise self.fail(
                f"Node '{node.id}' runs task '{node.task}', which workflow "
                f"'{self.spec.name}' does not define",
                ("nodes", index, "task"),
                f"Defined tasks: {_listing(sorted(self.spec.tasks))}."
                f"{did_you_mean(node.task, self.spec.tasks)} "
                "Define the task or correct the name.",
            )
        task = self.spec.tasks[node.task]
        if (node.kind == "dynamic") != (task.kind == "dynamic"):
            raise self.fail(
                f"Node '{node.id}' is a {node.kind} node but task '{task.name}' is a "
                f"{task.kind} task",
                ("nodes", index, "task"),
                "A dynamic task runs only in a node of kind 'dynamic', and a dynamic node "
                "runs only a dynamic task. Make the two agree.",
            )
        if node.kind == "map" and task.kind != "python":
            raise self.fail(
                f"Map node '{node.id}' maps task '{task.name}', a {task.kind} task",
                ("nodes", index, "task"),
                "Only Python tasks can be mapped. Map a @task instead.",
            )

    def check_upstream(self, index: int, node: NodeSpec) -> None:
        for k, dep in enumerate(node.upstream):
            if dep not in self.by_id:
                raise self.fail(
                    f"Node '{node.id}' waits for node '{dep}', which does not exist",
                    ("nodes", index, "upstream", k),
                    f"Nodes: {_listing(self.node_ids)}.{did_you_mean(dep, self.node_ids)} "
                    "Correct the id or remove the dependency.",
                )

    def branch_node(self, name: str, path: FieldPath, subject: str) -> NodeSpec:
        """The branch node `name`, or a CompileError saying `subject` names a non-branch."""
        target = self.by_id.get(name)
        if target is None or target.branch is None:
            branches = [n.id for n in self.spec.nodes if n.branch is not None]
            what = ("does not exist" if target is None
                    else f"is a {target.kind} node, not a branch")
            raise self.fail(
                f"{subject} names branch node '{name}', which {what}",
                path,
                f"Branch nodes: {_listing(branches)}.{did_you_mean(name, branches)} "
                "Name the branch node of the conditional.",
            )
        return target

    def check_control(self, index: int, node: NodeSpec) -> None:
        """Guards, branches and merges fit together (before references and types)."""
        if node.guard is not None:
            branch = self.branch_node(node.guard.branch, ("nodes", index, "guard"),
                                      f"Node '{node.id}' guard")
            assert branch.branch is not None
            count = len(branch.branch.cases)
            if node.guard.case >= count:
                raise self.fail(
                    f"Node '{node.id}' is guarded by case {node.guard.case} of branch "
                    f"'{branch.id}', which has only {count} cases",
                    ("nodes", index, "guard"),
                    f"Cases are numbered from 0 to {count - 1}. Correct the case number.",
                )
        if node.branch is not None:
            last = node.branch.cases[-1]
            if last.condition is not None:
                raise self.fail(
                    f"Branch '{node.id}' has no else case",
                    ("nodes", index, "branch"),
                    "When no condition holds, no case would run and the conditional would "
                    "have no value. End the cases with one whose condition is empty "
                    "(.else_().then(...) or .else_().fail(...)).",
                )
            for k, case in enumerate(node.branch.cases[:-1]):
                if case.condition is None:
                    raise self.fail(
                        f"Branch '{node.id}' case {k} has no condition but is not last",
                        ("nodes", index, "branch"),
                        "Cases after it could never be taken. Only the last case (the "
                        "else_) may have no condition.",
                    )
        if node.merge is not None:
            branch = self.branch_node(node.merge.branch, ("nodes", index, "merge"),
                                      f"Merge node '{node.id}'")
            assert branch.branch is not None
            cases = branch.branch.cases
            if len(node.merge.cases) != len(cases):
                raise self.fail(
                    f"Merge node '{node.id}' lists {len(node.merge.cases)} cases but branch "
                    f"'{branch.id}' has {len(cases)}",
                    ("nodes", index, "merge"),
                    "Give one entry per case of the branch, in order (an empty one for a "
                    "fail case).",
                )
            names = [v.name for v in node.outputs]
            for k, (case, bound) in enumerate(zip(cases, node.merge.cases, strict=True)):
                if case.fail is not None:
                    continue
                missing = [n for n in names if n not in bound]
                extra = [n for n in bound if n not in names]
                if missing or extra:
                    problem = (f"does not bind output {_listing(missing)}" if missing
                               else f"binds {_listing(extra)}, which it does not declare")
                    raise self.fail(
                        f"Merge node '{node.id}' case {k} {problem}",
                        ("nodes", index, "merge"),
                        f"Every case that does not fail binds exactly the merged outputs "
                        f"({_listing(names)}).",
                    )

    def check_reference(self, leaf: BindingSpec, path: FieldPath, subject: str) -> None:
        spec = self.spec
        if isinstance(leaf, InputRef):
            if spec.interface.input(leaf.name) is None:
                names = [v.name for v in spec.interface.inputs]
                raise self.fail(
                    f"{subject} refers to workflow input '{leaf.name}', which workflow "
                    f"'{spec.name}' does not declare",
                    path,
                    f"Workflow inputs: {_listing(names)}.{did_you_mean(leaf.name, names)} "
                    "Declare the input or correct the reference.",
                )
        elif isinstance(leaf, OutputRef):
            node = self.by_id.get(leaf.node)
            if node is None:
                raise self.fail(
                    f"{subject} refers to node '{leaf.node}', which does not exist",
                    path,
                    f"Nodes: {_listing(self.node_ids)}."
                    f"{did_you_mean(leaf.node, self.node_ids)} "
                    "Correct the node id in the reference.",
                )
            outputs = node_outputs(spec, node) or ()
            if not any(v.name == leaf.output for v in outputs):
                outs = [v.name for v in outputs]
                owner = (f"its task '{node.task}'" if node.kind in ("task", "dynamic")
                         else f"this {node.kind} node")
                raise self.fail(
                    f"{subject} refers to output '{leaf.output}' of node '{leaf.node}', "
                    f"but {owner} has no such output",
                    path,
                    f"Outputs of '{leaf.node}': {_listing(outs)}."
                    f"{did_you_mean(leaf.output, outs)} Correct the output name.",
                )

    def check_node_references(self, index: int, node: NodeSpec) -> None:
        if node.branch is not None:
            for k, case in enumerate(node.branch.cases):
                if case.condition is not None:
                    for leaf, leaf_path in _condition_leaves(
                            case.condition, ("nodes", index, "branch", "cases", k)):
                        self.check_reference(leaf, leaf_path,
                                             f"Branch '{node.id}' case {k} condition")
        if node.merge is not None:
            for k, bound in enumerate(node.merge.cases):
                for name, binding in bound.items():
                    at: FieldPath = ("nodes", index, "merge", "cases", k, name)
                    for leaf, leaf_path, label in _leaves(binding, at, name):
                        self.check_reference(leaf, leaf_path,
                                             f"Merge node '{node.id}' case {k} output '{label}'")
        if node.kind in ("branch", "merge"):
            if node.inputs:
                raise self.fail(
                    f"{node.kind.capitalize()} node '{node.id}' has inputs",
                    ("nodes", index, "inputs"),
                    f"A {node.kind} node reads values through its "
                    f"{'conditions' if node.kind == 'branch' else 'merge cases'}. Remove "
                    "its inputs.",
                )
            return
        task = self.spec.task_of(node)
        known = [v.name for v in task.interface.inputs]
        for name, binding in node.inputs.items():
            path: FieldPath = ("nodes", index, "inputs", name)
            if name not in known:
                raise self.fail(
                    f"Node '{node.id}' sets input '{name}', which task '{task.name}' "
                    "does not have",
                    path,
                    f"Inputs of '{task.name}': {_listing(known)}.{did_you_mean(name, known)} "
                    "Remove the binding or correct its name.",
                )
            for leaf, leaf_path, label in _leaves(binding, path, name):
                self.check_reference(leaf, leaf_path, f"Node '{node.id}' input '{label}'")
        if node.map is not None:
            for name in node.map.mapped:
                if name not in node.inputs:
                    raise self.fail(
                        f"Map node '{node.id}' maps over input '{name}', which it does not "
                        "bind",
                        ("nodes", index, "map", "mapped"),
                        f"Bind '{name}' to a list, or remove it from 'mapped'.",
                    )

    def check_output_references(self) -> None:
        declared = [v.name for v in self.spec.interface.outputs]
        for name, binding in self.spec.outputs.items():
            path: FieldPath = ("outputs", name)
            if name not in declared:
                raise self.fail(
                    f"Workflow '{self.spec.name}' binds output '{name}', which its "
                    "interface does not declare",
                    path,
                    f"Declared outputs: {_listing(declared)}."
                    f"{did_you_mean(name, declared)} Declare the output or remove the binding.",
                )
            for leaf, leaf_path, label in _leaves(binding, path, name):
                self.check_reference(leaf, leaf_path, f"Workflow output '{label}'")

    def cycle_error(self, cycle: list[str]) -> CompileError:
        index = self.node_ids.index(cycle[0])
        return self.fail(
            f"Nodes form a cycle: {chain_text(cycle)}",
            ("nodes", index),
            "Each node in it needs the one before it, so none can start. "
            "Remove one of these dependencies (a binding or an upstream entry).",
        )

    # --------------------------------------------------------------------- types

    def source_text(self, leaf: BindingSpec, src: LiteralType) -> str:
        if isinstance(leaf, OutputRef):
            return f"'{leaf.node}.{leaf.output}' produces {render_type(src)}"
        assert isinstance(leaf, InputRef)
        return f"workflow input '{leaf.name}' is {render_type(src)}"

    def fix_text(self, leaf: BindingSpec, target_side: str) -> str:
        if isinstance(leaf, OutputRef):
            node = self.by_id[leaf.node]
            source_side = (f"output '{leaf.output}' of task '{node.task}'"
                           if node.kind in ("task", "dynamic") and node.task
                           else f"output '{leaf.output}' of node '{node.id}'")
        else:
            assert isinstance(leaf, InputRef)
            source_side = f"workflow input '{leaf.name}'"
        return (f"Change the type of {source_side} or of {target_side}, "
                "or insert a conversion task.")

    def check_binding_type(self, binding: BindingSpec, target: LiteralType, path: FieldPath,
                           owner: str, label: str, target_side: str) -> None:
        """Raise TypeMismatchError unless `binding` can feed a value of type `target`.

        `owner` and `label` name the target in messages ("Node 'score' input" and "df[0]");
        `target_side` names what the fix would change ("input 'df' of task 'score'").
        """
        subject = f"{owner} '{label}'"
        if isinstance(binding, (ListBinding, MapBinding)):
            self.check_collection(binding, target, path, owner, label, target_side)
        elif isinstance(binding, LiteralBinding):
            try:
                validate_literal(binding.value, target, label)
            except LiteralValueError as exc:
                why = str(exc).rstrip(".")
                if why.startswith(f"{label}: "):
                    why = why[len(label) + 2:]
                    why = why[:1].upper() + why[1:]
                raise self.fail(
                    f"{subject} expects {render_type(target)} but is given the literal "
                    f"{_literal_text(binding.value)}",
                    path,
                    f"{why}. Change the value, or the type of {target_side}.",
                    TypeMismatchError,
                ) from None
        else:
            src = binding_type(self.spec, binding, self.by_id)
            assert src is not None, "references are checked before types"
            reason = castability_error(src, target)
            if reason is not None:
                raise self.fail(
                    f"{subject} expects {render_type(target)} but "
                    f"{self.source_text(binding, src)}",
                    path,
                    f"{reason.rstrip('.')}. {self.fix_text(binding, target_side)}",
                    TypeMismatchError,
                )

    def check_collection(self, binding: ListBinding | MapBinding, target: LiteralType,
                         path: FieldPath, owner: str, label: str, target_side: str) -> None:
        is_list = isinstance(binding, ListBinding)
        candidates: list[LiteralType]
        if isinstance(target, SimpleType) and target.name == "json":
            candidates = [ListType(item=_JSON) if is_list else MapType(value=_JSON)]
        else:
            options = target.variants if isinstance(target, UnionType) else (target,)
            candidates = [v for v in options
                          if isinstance(v, ListType if is_list else MapType)]
        if not candidates:
            shape = "a list" if is_list else "a map"
            raise self.fail(
                f"{owner} '{label}' expects {render_type(target)} but is given {shape} of "
                "bindings",
                path,
                "A list binding feeds only a list type, and a map binding only a dict type. "
                f"Change the binding, or the type of {target_side}.",
                TypeMismatchError,
            )
        first_error: TypeMismatchError | None = None
        for candidate in candidates:
            try:
                self.check_items(binding, candidate, path, owner, label, target_side)
                return
            except TypeMismatchError as exc:
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    def check_items(self, binding: ListBinding | MapBinding, target: LiteralType,
                    path: FieldPath, owner: str, label: str, target_side: str) -> None:
        if isinstance(binding, ListBinding):
            assert isinstance(target, ListType)
            for i, item in enumerate(binding.items):
                self.check_binding_type(item, target.item, (*path, "items", i), owner,
                                        f"{label}[{i}]", target_side)
        else:
            assert isinstance(target, MapType)
            for key, value in binding.entries.items():
                self.check_binding_type(value, target.value, (*path, "entries", key), owner,
                                        f"{label}[{json.dumps(key)}]", target_side)

    def check_node_types(self, index: int, node: NodeSpec) -> None:
        if node.branch is not None:
            for k, case in enumerate(node.branch.cases):
                if case.condition is not None:
                    self.check_condition(node, case.condition,
                                         ("nodes", index, "branch", "cases", k), k)
            return
        if node.merge is not None:
            for k, bound in enumerate(node.merge.cases):
                for out in node.outputs:
                    if out.name in bound:
                        self.check_binding_type(
                            bound[out.name], out.type,
                            ("nodes", index, "merge", "cases", k, out.name),
                            f"Merge node '{node.id}' case {k} output", out.name,
                            f"output '{out.name}' of merge node '{node.id}'")
            return
        task = self.spec.task_of(node)
        mapped = node.map.mapped if node.map is not None else ()
        for name, binding in node.inputs.items():
            var = task.interface.input(name)
            assert var is not None, "input names are checked before types"
            target = ListType(item=var.type) if name in mapped else var.type
            self.check_binding_type(binding, target, ("nodes", index, "inputs", name),
                                    f"Node '{node.id}' input", name,
                                    f"input '{name}' of task '{task.name}'"
                                    + (" (mapped: it takes a list)" if name in mapped else ""))

    def operand_type(self, binding: BindingSpec) -> LiteralType | None:
        if isinstance(binding, (OutputRef, InputRef)):
            return binding_type(self.spec, binding, self.by_id)
        return None

    def check_condition(self, node: NodeSpec, condition: ConditionSpec, path: FieldPath,
                        case: int) -> None:
        if isinstance(condition, ConjunctionSpec):
            self.check_condition(node, condition.left, path, case)
            self.check_condition(node, condition.right, path, case)
            return
        if not isinstance(condition, ComparisonSpec):
            self.check_condition(node, condition.operand, path, case)
            return
        subject = f"Branch '{node.id}' case {case} compares"
        sides = []
        for side in (condition.left, condition.right):
            if isinstance(side, (ListBinding, MapBinding)):
                raise self.fail(f"{subject} a collection of bindings", path,
                                "Compare single values: node outputs, workflow inputs or "
                                "constants.", TypeMismatchError)
            lt = self.operand_type(side)
            if lt is not None:
                reason = _comparable(lt, condition.op)
                if reason is not None:
                    raise self.fail(
                        f"{subject} {_operand_text(side)}, which is {render_type(lt)}", path,
                        f"{reason} Compare a scalar output instead, or compute a bool in a "
                        "@task and compare it with True.", TypeMismatchError)
            sides.append((side, lt))
        (left, lt_left), (right, lt_right) = sides
        if lt_left is not None and lt_right is not None:
            if (castability_error(lt_left, lt_right) is not None
                    and castability_error(lt_right, lt_left) is not None):
                raise self.fail(
                    f"{subject} {_operand_text(left)} ({render_type(lt_left)}) with "
                    f"{_operand_text(right)} ({render_type(lt_right)})", path,
                    "Values of these types are never equal or ordered. Compare values of "
                    "the same type.", TypeMismatchError)
        for ref_side, lt, other in ((left, lt_left, right), (right, lt_right, left)):
            if lt is not None and isinstance(other, LiteralBinding) and other.value is not None:
                try:
                    validate_literal(other.value, lt, "constant")
                except LiteralValueError:
                    raise self.fail(
                        f"{subject} {_operand_text(ref_side)} ({render_type(lt)}) with the "
                        f"constant {_literal_text(other.value)}", path,
                        f"The constant is not a {render_type(lt)}. Compare with a value of "
                        "the same type.", TypeMismatchError) from None

    def check_required_inputs(self, index: int, node: NodeSpec) -> None:
        if node.kind in ("branch", "merge"):
            return
        task = self.spec.task_of(node)
        for var in task.interface.inputs:
            if var.required and var.name not in node.inputs:
                raise self.fail(
                    f"Node '{node.id}' does not bind required input '{var.name}' "
                    f"({render_type(var.type)}) of task '{task.name}'",
                    ("nodes", index),
                    f"A task input without a default needs a value. Bind '{var.name}' on "
                    f"node '{node.id}', or give the task input a default.",
                )

    def check_process_outputs(self) -> None:
        """Shell and container tasks write outputs as text; blobs cannot come back that way."""
        for name, task in self.spec.tasks.items():
            if task.kind == "python":
                continue
            for j, var in enumerate(task.interface.outputs):
                if _holds_blob(var.type):
                    raise self.fail(
                        f"Task '{name}' ({task.kind}) declares output '{var.name}' as "
                        f"{render_type(var.type)}",
                        ("tasks", name, "interface", "outputs", j),
                        "Shell and container tasks return outputs as text in "
                        "$FLYTEPATH_OUTPUT_DIR, so they cannot produce File, Directory, "
                        "DataFrame or pickled values yet. Return text (a path or JSON), or "
                        "produce the value in a python task.",
                    )

    def check_outputs_bound(self) -> None:
        for j, var in enumerate(self.spec.interface.outputs):
            binding = self.spec.outputs.get(var.name)
            if binding is None:
                raise self.fail(
                    f"Workflow '{self.spec.name}' declares output '{var.name}' "
                    f"({render_type(var.type)}) but never binds it",
                    ("interface", "outputs", j),
                    "Every declared output needs a value. Bind it to a node output, or "
                    "remove it from the interface.",
                )
            self.check_binding_type(binding, var.type, ("outputs", var.name),
                                    "Workflow output", var.name,
                                    f"workflow output '{var.name}'")


    def check_failure_node(self) -> None:
        node = self.spec.on_failure
        if node is None:
            return
        path: FieldPath = ("on_failure",)
        if node.kind != "task" or node.task is None or node.task not in self.spec.tasks:
            raise self.fail(
                f"The failure node '{node.id}' runs task '{node.task}', which workflow "
                f"'{self.spec.name}' does not define" if node.kind == "task" else
                f"The failure node '{node.id}' is a {node.kind} node",
                path, "The failure node is a plain task node; define its task in 'tasks'.",
            )
        task = self.spec.tasks[node.task]
        for name, binding in node.inputs.items():
            var = task.interface.input(name)
            if var is None:
                known = [v.name for v in task.interface.inputs]
                raise self.fail(
                    f"The failure node sets input '{name}', which task '{task.name}' does "
                    "not have", (*path, "inputs", name),
                    f"Inputs of '{task.name}': {_listing(known)}. Remove the binding.",
                )
            for leaf, leaf_path, label in _leaves(binding, (*path, "inputs", name), name):
                if isinstance(leaf, OutputRef):
                    raise self.fail(
                        f"The failure node input '{label}' reads output '{leaf.output}' of "
                        f"node '{leaf.node}'", leaf_path,
                        "The failure node runs when the workflow failed, when outputs may "
                        "not exist. Bind it to workflow inputs or constants only.",
                    )
                self.check_reference(leaf, leaf_path, f"The failure node input '{label}'")
            self.check_binding_type(binding, var.type, (*path, "inputs", name),
                                    "The failure node input", name,
                                    f"input '{name}' of task '{task.name}'")
        for var in task.interface.inputs:
            if var.required and var.name not in node.inputs and var.name != FAILURE_INPUT:
                raise self.fail(
                    f"The failure node does not bind required input '{var.name}' of task "
                    f"'{task.name}'", path,
                    f"Bind it to a workflow input of the same name, or give it a default "
                    f"('{FAILURE_INPUT}' alone is filled in by the runtime).",
                )


FAILURE_INPUT = "err"
"""The failure node input the runtime fills with the failure (a FailureInfo struct)."""

_ORDERED = {"int", "float", "str", "datetime", "date", "duration"}
_EQUATABLE = _ORDERED | {"bool", "none"}


def _comparable(lt: LiteralType, op: str) -> str | None:
    """Why values of `lt` cannot be compared with `op`, or None when they can."""
    if isinstance(lt, UnionType):
        for variant in lt.variants:
            if isinstance(variant, SimpleType) and variant.name == "none":
                if op in ("==", "!="):
                    continue
                return (f"An optional value may be None, which {op} cannot order; compare "
                        "it with == or != only, or make it non-optional.")
            reason = _comparable(variant, op)
            if reason is not None:
                return reason
        return None
    if isinstance(lt, EnumType):
        return None if op in ("==", "!=") else f"Enums are compared with == and != only, not {op}."
    if isinstance(lt, SimpleType):
        allowed = _ORDERED if op not in ("==", "!=") else _EQUATABLE
        if lt.name in allowed:
            return None
        return f"{render_type(lt)} values cannot be compared with {op}."
    return f"{render_type(lt)} values cannot be compared in a condition."


def _operand_text(binding: BindingSpec) -> str:
    if isinstance(binding, OutputRef):
        return f"'{binding.node}.{binding.output}'"
    if isinstance(binding, InputRef):
        return f"workflow input '{binding.name}'"
    if isinstance(binding, LiteralBinding):
        return f"the constant {_literal_text(binding.value)}"
    return "a collection"


def _condition_leaves(condition: ConditionSpec, path: FieldPath
                      ) -> Iterator[tuple[BindingSpec, FieldPath]]:
    if isinstance(condition, ComparisonSpec):
        yield condition.left, (*path, "condition", "left")
        yield condition.right, (*path, "condition", "right")
    elif isinstance(condition, ConjunctionSpec):
        yield from _condition_leaves(condition.left, path)
        yield from _condition_leaves(condition.right, path)
    else:
        yield from _condition_leaves(condition.operand, path)


def _holds_blob(lt: LiteralType) -> bool:
    if isinstance(lt, (BlobType, DataFrameType, PickledType)):
        return True
    if isinstance(lt, ListType):
        return _holds_blob(lt.item)
    if isinstance(lt, MapType):
        return _holds_blob(lt.value)
    if isinstance(lt, UnionType):
        return any(_holds_blob(v) for v in lt.variants)
    if isinstance(lt, StructType):
        return any(_holds_blob(f.type) for f in lt.fields)
    return False


def check_workflow(spec: WorkflowSpec, locate: Locate | None = None) -> None:
    """Run every static graph check on `spec`; raise the first problem found.

    :param spec: the workflow to check (not modified).
    :param locate: maps a spec field path such as ("nodes", 2, "inputs", "x") to a
        "file:line" string (or None) so messages can point at the source.

    :raises TypeMismatchError: a binding's type cannot feed its target, or a literal does not
        match its declared type.
    :raises CompileError: any other problem (duplicate ids, unknown tasks, nodes, inputs or
        outputs, missing required inputs, unbound workflow outputs, cycles).
    """
    _Checker(spec, locate).run()


__all__ = [
    "FAILURE_INPUT",
    "FieldPath",
    "Locate",
    "binding_type",
    "check_workflow",
]
