"""Promises: what a task call returns while a workflow body is traced.

A promise stands for a value that exists only when the workflow runs. Passing it to
another task records a typed binding; using it in Python control flow (`if`, `and`,
`or`, `not`, `bool()`) is a compile error, because the body runs once, at compile time.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import os
import sys
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flytepath_airflow.errors import CompileError, FlytePathUserError, TypeMismatchError
from flytepath_airflow.ir.models import (
    BindingSpec,
    BranchSpec,
    CaseSpec,
    ComparisonSpec,
    ConditionSpec,
    ConjunctionSpec,
    GuardSpec,
    InputRef,
    ListBinding,
    ListType,
    LiteralBinding,
    LiteralType,
    MapBinding,
    MapType,
    MergeSpec,
    NegationSpec,
    NodeSpec,
    OutputRef,
    TaskSpec,
    TypedInterface,
    UnionType,
    Variable,
)
from flytepath_airflow.types import default_engine
from flytepath_airflow.types.casting import castability_error
from flytepath_airflow.types.render import render_type
from flytepath_airflow.types.validate import validate_literal
from flytepath_airflow.utils.suggest import closest

if TYPE_CHECKING:
    from flytepath_airflow.sdk.task import PythonTask
    from flytepath_airflow.sdk.workflow import PythonWorkflow

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def caller_location() -> str:
    """file:line of the first frame outside FlytePath (the user's call site)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_PACKAGE_DIR + os.sep):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "<unknown>"


_CONTROL_FLOW_HINT = (
    "The workflow body runs once, at compile time, so Python control flow cannot see "
    "values that exist only at run time. Use conditional(...) with &, | and ~ to combine "
    "conditions, or move the logic into a @task."
)


class _NoBool:
    """Mixin: truth-testing raises a compile error that explains the alternative."""

    def _describe(self) -> str:
        raise NotImplementedError

    def __bool__(self) -> bool:
        raise CompileError(
            f"{self._describe()} was used as a Python bool (in `if`, `and`, `or`, `not` or "
            f"bool()) at {caller_location()}. {_CONTROL_FLOW_HINT}"
        )


@dataclass(frozen=True, eq=False)
class ComparisonExpression(_NoBool):
    """`promise <op> value`: usable only as a conditional's condition."""

    left: Any
    op: str
    right: Any

    def _describe(self) -> str:
        return f"the comparison ({self.left!r} {self.op} {self.right!r})"

    def __and__(self, other: Any) -> ComparisonExpression:
        return ComparisonExpression(self, "&", other)

    def __or__(self, other: Any) -> ComparisonExpression:
        return ComparisonExpression(self, "|", other)

    def __invert__(self) -> ComparisonExpression:
        return ComparisonExpression(self, "~", None)


class Promise(_NoBool):
    """The future value of a workflow input or of one node output.

    `ref` is usually an OutputRef or an InputRef; a subworkflow output that passes one of
    its inputs straight through carries the caller's binding (possibly a constant).
    """

    def __init__(self, ref: BindingSpec, type_: LiteralType, location: str) -> None:
        self.ref = ref
        self.type = type_
        self.location = location

    @property
    def source_name(self) -> str:
        """`node.output` or `input 'x'`, as messages show it."""
        if isinstance(self.ref, OutputRef):
            return f"'{self.ref.node}.{self.ref.output}'"
        if isinstance(self.ref, InputRef):
            return f"workflow input '{self.ref.name}'"
        if isinstance(self.ref, LiteralBinding):
            return f"the constant {self.ref.value!r}"
        return "a collection of values"

    def is_true(self) -> ComparisonExpression:
        """`promise == True`, for a bool promise used as a conditional's condition."""
        return ComparisonExpression(self, "==", True)

    def is_false(self) -> ComparisonExpression:
        """`promise == False`, for a bool promise used as a conditional's condition."""
        return ComparisonExpression(self, "==", False)

    def _describe(self) -> str:
        return f"the promise {self.source_name}"

    def __repr__(self) -> str:
        return f"Promise({self.source_name})"

    def __iter__(self) -> Any:
        raise CompileError(
            f"{self._describe()} is a single value and cannot be unpacked or iterated at "
            f"{caller_location()}. Declare a tuple or NamedTuple return type to get several "
            "outputs, or iterate inside a @task."
        )

    def _compare(self, op: str, other: Any) -> ComparisonExpression:
        return ComparisonExpression(self, op, other)

    def __eq__(self, other: Any) -> ComparisonExpression:  # type: ignore[override]
        return self._compare("==", other)

    def __ne__(self, other: Any) -> ComparisonExpression:  # type: ignore[override]
        return self._compare("!=", other)

    def __lt__(self, other: Any) -> ComparisonExpression:
        return self._compare("<", other)

    def __le__(self, other: Any) -> ComparisonExpression:
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> ComparisonExpression:
        return self._compare(">", other)

    def __ge__(self, other: Any) -> ComparisonExpression:
        return self._compare(">=", other)

    __hash__ = object.__hash__

    def __rshift__(self, other: Any) -> Any:
        return _order(self, other)


class NodeHandle(_NoBool):
    """What a task call with no outputs returns; `a >> b` orders two calls."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id

    def _describe(self) -> str:
        return f"the call '{self.node_id}'"

    def __repr__(self) -> str:
        return f"NodeHandle({self.node_id})"

    def __rshift__(self, other: Any) -> Any:
        return _order(self, other)


class NodeOutputs(tuple[Any, ...]):
    """Several outputs of one call: unpack them, index them, or use their names."""

    _names: tuple[str, ...]
    _missing: dict[str, str]
    node_id: str

    def __new__(cls, node_id: str, promises: dict[str, Promise],
                missing: dict[str, str] | None = None) -> NodeOutputs:
        obj = super().__new__(cls, promises.values())
        obj._names = tuple(promises)
        obj._missing = dict(missing or {})
        obj.node_id = node_id
        return obj

    def __getattr__(self, name: str) -> Promise:
        names = object.__getattribute__(self, "_names")
        if name in names:
            return self[names.index(name)]
        missing = object.__getattribute__(self, "_missing")
        if name in missing:
            raise CompileError(missing[name])
        raise AttributeError(
            f"node '{object.__getattribute__(self, 'node_id')}' has no output '{name}'; "
            f"its outputs are {', '.join(names)}"
        )

    def __rshift__(self, other: Any) -> Any:
        return _order(NodeHandle(self.node_id), other)


def _node_of(x: Any) -> str:
    if isinstance(x, NodeHandle):
        return x.node_id
    if isinstance(x, NodeOutputs):
        return x.node_id
    if isinstance(x, Promise) and isinstance(x.ref, OutputRef):
        return x.ref.node
    raise CompileError(
        f"`>>` orders two task calls; {x!r} is not the result of a task call "
        f"({caller_location()})."
    )


def _order(left: Any, right: Any) -> Any:
    trace = active_trace()
    if trace is None:
        raise CompileError("`>>` between task calls works only inside a @workflow body.")
    trace.add_dependency(_node_of(left), _node_of(right))
    return right


# ------------------------------------------------------------------------- tracing


@dataclass
class TraceContext:
    """Collects nodes and tasks while one workflow body is traced.

    `dynamic` names the `@dynamic` task whose body is being traced at run time (nested
    dynamic tasks are refused there). `open_conditionals` are conditionals whose chain has
    not reached `else_()` yet; the workflow is refused while any is open.
    """

    workflow: str
    nodes: list[NodeSpec] = field(default_factory=list)
    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    dynamic: str | None = None
    open_conditionals: dict[str, str] = field(default_factory=dict)
    reserved: set[str] = field(default_factory=set)
    _extra_deps: dict[str, list[str]] = field(default_factory=dict)
    _calls: dict[str, list[str]] = field(default_factory=dict)

    def new_id(self, base: str) -> str:
        """`base`, or `base_2`, `base_3`, ... when a node or subworkflow call has it."""
        taken = {n.id for n in self.nodes} | set(self._calls) | self.reserved
        if base not in taken:
            return base
        i = 2
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    _new_id = new_id

    def add_node(self, node: NodeSpec, location: str) -> None:
        """Append a node traced at `location`."""
        self.nodes.append(node)
        self.locations[node.id] = location

    def add_task(self, spec: TaskSpec, location: str) -> None:
        """Record a task the graph runs; two different tasks with one name are refused."""
        existing = self.tasks.get(spec.name)
        if existing is not None and existing != spec:
            raise CompileError(f"two different tasks are both named '{spec.name}' ({location}).")
        self.tasks[spec.name] = spec

    def _members(self, node_id: str) -> list[str]:
        return self._calls.get(node_id, [node_id])

    def add_dependency(self, upstream: str, downstream: str) -> None:
        """Record an order-only dependency (`a >> b`); a subworkflow call stands for all
        of its nodes."""
        for down in self._members(downstream):
            deps = self._extra_deps.setdefault(down, [])
            for up in self._members(upstream):
                if up not in deps:
                    deps.append(up)

    def finished_nodes(self) -> tuple[NodeSpec, ...]:
        """The nodes with their order-only dependencies attached."""
        out = []
        for node in self.nodes:
            extra = tuple(d for d in self._extra_deps.get(node.id, ())
                          if d != node.id and d not in node.upstream)
            out.append(node.model_copy(update={"upstream": (*node.upstream, *extra)})
                       if extra else node)
        return tuple(out)

    def check_closed(self, owner: str) -> None:
        """Refuse a traced body that left a conditional without its `else_`."""
        for name, location in self.open_conditionals.items():
            raise CompileError(
                f"conditional '{name}' in {owner} ({location}) has no else_ case, so some "
                "runs would produce no value. Add .else_().then(...) or .else_().fail(...) "
                "at the end of the chain."
            )

    def outputs_of(self, node_id: str, outputs: tuple[Variable, ...], location: str,
                   multiple: bool) -> Any:
        """What a call returns: a Promise, NodeOutputs, or a NodeHandle (no outputs)."""
        promises = {
            v.name: Promise(OutputRef(node=node_id, output=v.name), v.type, location)
            for v in outputs
        }
        if not promises:
            return NodeHandle(node_id)
        if not multiple:
            return promises[outputs[0].name]
        return NodeOutputs(node_id, promises)

    def bind_inputs(self, owner: str, node_id: str, interface: TypedInterface,
                    py_inputs: dict[str, Any], kwargs: dict[str, Any], location: str,
                    fixed: dict[str, Any] | None = None) -> dict[str, BindingSpec]:
        """Type-check and bind call arguments against `interface` (task or subworkflow).

        `owner` names the callee in messages ("task 'add'"); `fixed` are arguments a
        partial already binds (they may not be passed again).
        """
        inputs: dict[str, BindingSpec] = {}
        for name, value in kwargs.items():
            var = interface.input(name)
            if var is None:
                known = [v.name for v in interface.inputs]
                close = closest(name, known)
                raise CompileError(
                    f"node '{node_id}' ({location}): {owner} has no input '{name}'"
                    + (f"; did you mean '{close}'?" if close else "") +
                    f" Its inputs are: {', '.join(known) or '(none)'}."
                )
            inputs[name] = self.bind(
                value, var.type, py_inputs[name], what=f"node '{node_id}' input '{name}'",
                location=location, castability_error=castability_error,
                render_type=render_type,
            )
        missing = [v.name for v in interface.inputs
                   if v.required and v.name not in inputs and v.name not in (fixed or {})]
        if missing:
            raise CompileError(
                f"node '{node_id}' ({location}): {owner} needs input "
                f"{', '.join(repr(m) for m in missing)}, which the call does not pass. "
                "Pass it as a keyword argument or give the parameter a default."
            )
        return inputs

    def call_task(self, task: PythonTask, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Record a node for `task(**kwargs)` and return its promises."""
        location = caller_location()
        if args:
            raise CompileError(
                f"task '{task.fn.__name__}' was called with positional arguments at "
                f"{location}; FlytePath calls take keyword arguments only, e.g. "
                f"{task.fn.__name__}("
                f"{', '.join(f'{n}=...' for n in task.python_interface.inputs)})."
            )
        spec = task.to_spec()
        is_dynamic = spec.kind == "dynamic"
        if is_dynamic and self.dynamic is not None:
            raise CompileError(
                f"@dynamic task '{task.fn.__name__}' is called at {location} inside the body "
                f"of @dynamic task '{self.dynamic}'; nested dynamic tasks are not supported. "
                "Call its tasks directly in the outer body, or call it from a @workflow."
            )
        self.add_task(spec, location)
        node_id = self.new_id(task.fn.__name__)
        inputs = self.bind_inputs(f"task '{task.fn.__name__}'", node_id, spec.interface,
                                  task.python_interface.inputs, kwargs, location)
        self.add_node(NodeSpec(id=node_id, kind="dynamic" if is_dynamic else "task",
                               task=spec.name, inputs=inputs), location)
        return self.outputs_of(node_id, spec.interface.outputs, location,
                               task.python_interface.multiple_outputs)

    def call_workflow(self, wf: PythonWorkflow, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> Any:
        """Inline a subworkflow call: its nodes join this graph under `<call_id>.`.

        The subworkflow's input references become the caller's bindings (type-checked
        like a task call), its nodes join the group `(call_id,)`, and its outputs become
        promises of the inlined nodes.
        """
        # Function-level: workflow.py imports this module to trace a body (a cycle in the SDK).
        from flytepath_airflow.sdk.workflow import trace_body

        location = caller_location()
        short = wf.fn.__name__
        if args:
            raise CompileError(
                f"workflow '{short}' was called with positional arguments at {location}; "
                f"FlytePath calls take keyword arguments only, e.g. {short}("
                f"{', '.join(f'{n}=...' for n in wf.python_interface.inputs)})."
            )
        call_id = self.new_id(short)
        iface = wf.interface
        inputs = self.bind_inputs(f"workflow '{short}'", call_id, iface,
                                  wf.python_interface.inputs, kwargs, location)
        for var in iface.inputs:
            if var.name not in inputs:
                inputs[var.name] = LiteralBinding(value=var.default)
        child = TraceContext(wf.name, dynamic=self.dynamic)
        results = trace_body(wf, child)
        for spec in child.tasks.values():
            self.add_task(spec, location)
        members = []
        for node in child.finished_nodes():
            inlined = inline_node(node, call_id, inputs)
            self.add_node(inlined, child.locations.get(node.id, location))
            members.append(inlined.id)
        self._calls[call_id] = members
        promises = {
            var.name: Promise(substitute(promise.ref, call_id, inputs), var.type,
                              promise.location)
            for var, promise in results
        }
        if not promises:
            return NodeHandle(call_id)
        if not wf.python_interface.multiple_outputs:
            return next(iter(promises.values()))
        return NodeOutputs(call_id, promises)

    def bind(self, value: Any, target: LiteralType, py_type: Any, *, what: str, location: str,
             castability_error: Any, render_type: Any) -> BindingSpec:
        """The binding for `value` flowing into a slot of type `target`."""
        if isinstance(value, NodeOutputs) and not value._names and value._missing:
            raise CompileError(f"{what} ({location}): {next(iter(value._missing.values()))}")
        if isinstance(value, NodeOutputs):
            raise CompileError(
                f"{what} ({location}) was given all outputs of node '{value.node_id}' "
                f"({', '.join(value._names)}); pass one of them, e.g. "
                f"{value.node_id}_result.{value._names[0]}."
            )
        if isinstance(value, NodeHandle):
            raise CompileError(
                f"{what} ({location}) was given the call '{value.node_id}', whose task has "
                "no outputs. Use `a >> b` to order calls without passing data."
            )
        if isinstance(value, ComparisonExpression):
            raise CompileError(
                f"{what} ({location}) was given a comparison of promises; comparisons are "
                "only for conditional(...). Compute the boolean inside a @task."
            )
        if isinstance(value, Promise):
            reason = castability_error(value.type, target)
            if reason is not None:
                raise TypeMismatchError(
                    f"{what} expects {render_type(target)} but {value.source_name} produces "
                    f"{render_type(value.type)} ({location}): {reason}. Change the "
                    "annotation of one side, or insert a task that converts the value."
                )
            return value.ref
        if _contains_promise(value):
            if isinstance(value, (list, tuple)):
                item_type = _collection_item(target, ListType, "item")
                if item_type is None:
                    raise TypeMismatchError(
                        f"{what} expects {render_type(target)} but was given a list "
                        f"({location}). Pass a value of type {render_type(target)}."
                    )
                return ListBinding(items=tuple(
                    self.bind(v, item_type, None, what=f"{what}[{i}]", location=location,
                              castability_error=castability_error, render_type=render_type)
                    for i, v in enumerate(value)
                ))
            if isinstance(value, dict):
                value_type = _collection_item(target, MapType, "value")
                if value_type is None:
                    raise TypeMismatchError(
                        f"{what} expects {render_type(target)} but was given a dict "
                        f"({location}). Pass a value of type {render_type(target)}."
                    )
                return MapBinding(entries={
                    str(k): self.bind(v, value_type, None, what=f"{what}[{k!r}]",
                                      location=location, castability_error=castability_error,
                                      render_type=render_type)
                    for k, v in value.items()
                })
            raise CompileError(
                f"{what} ({location}): promises can be passed directly or inside a list or "
                f"dict, not inside a {type(value).__name__}."
            )
        unfinished = getattr(type(value), "unfinished_message", None)
        if unfinished is not None:
            raise CompileError(f"{what} ({location}): {unfinished(value)}")
        return LiteralBinding(value=self._constant(value, target, py_type, what, location))

    @staticmethod
    def _constant(value: Any, target: LiteralType, py_type: Any, what: str,
                  location: str) -> Any:
        try:
            if py_type is not None:
                return default_engine().to_literal(value, py_type, None, "constant")
            literal = default_engine().to_literal(value, type(value), None, "constant")
            return validate_literal(literal, target)
        except FlytePathUserError as exc:
            raise TypeMismatchError(
                f"{what} expects {render_type(target)} but was given the constant "
                f"{value!r} ({location}): {exc}"
            ) from None


def _collection_item(target: LiteralType, kind: type, attr: str) -> LiteralType | None:
    if isinstance(target, kind):
        return getattr(target, attr)
    if isinstance(target, UnionType):
        for variant in target.variants:
            if isinstance(variant, kind):
                return getattr(variant, attr)
    return None


def _contains_promise(value: Any) -> bool:
    if isinstance(value, (Promise, NodeOutputs, NodeHandle)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_contains_promise(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_promise(v) for v in value.values())
    return False


def substitute(binding: BindingSpec, call_id: str,
               inputs: dict[str, BindingSpec]) -> BindingSpec:
    """A subworkflow's binding as seen from its caller: inputs replaced, nodes prefixed."""
    if isinstance(binding, InputRef):
        return inputs[binding.name]
    if isinstance(binding, OutputRef):
        return OutputRef(node=f"{call_id}.{binding.node}", output=binding.output)
    if isinstance(binding, ListBinding):
        return ListBinding(items=tuple(substitute(b, call_id, inputs) for b in binding.items))
    if isinstance(binding, MapBinding):
        return MapBinding(entries={k: substitute(b, call_id, inputs)
                                   for k, b in binding.entries.items()})
    return binding


def _substitute_condition(condition: ConditionSpec, call_id: str,
                          inputs: dict[str, BindingSpec]) -> ConditionSpec:
    if isinstance(condition, ComparisonSpec):
        return ComparisonSpec(op=condition.op, left=substitute(condition.left, call_id, inputs),
                              right=substitute(condition.right, call_id, inputs))
    if isinstance(condition, ConjunctionSpec):
        return ConjunctionSpec(kind=condition.kind,
                               left=_substitute_condition(condition.left, call_id, inputs),
                               right=_substitute_condition(condition.right, call_id, inputs))
    return NegationSpec(operand=_substitute_condition(condition.operand, call_id, inputs))


def inline_node(node: NodeSpec, call_id: str, inputs: dict[str, BindingSpec]) -> NodeSpec:
    """A subworkflow's node, renamed `<call_id>.<id>` and grouped under `call_id`."""
    update: dict[str, Any] = {
        "id": f"{call_id}.{node.id}",
        "group": (call_id, *node.group),
        "inputs": {k: substitute(b, call_id, inputs) for k, b in node.inputs.items()},
        "upstream": tuple(f"{call_id}.{u}" for u in node.upstream),
    }
    if node.guard is not None:
        update["guard"] = GuardSpec(branch=f"{call_id}.{node.guard.branch}",
                                    case=node.guard.case)
    if node.branch is not None:
        update["branch"] = BranchSpec(cases=tuple(
            CaseSpec(condition=(None if c.condition is None
                                else _substitute_condition(c.condition, call_id, inputs)),
                     fail=c.fail)
            for c in node.branch.cases))
    if node.merge is not None:
        update["merge"] = MergeSpec(
            branch=f"{call_id}.{node.merge.branch}",
            cases=tuple({k: substitute(b, call_id, inputs) for k, b in case.items()}
                        for case in node.merge.cases))
    return node.model_copy(update=update)


_ACTIVE: ContextVar[TraceContext | None] = ContextVar("flytepath_trace", default=None)


def active_trace() -> TraceContext | None:
    """The trace of the workflow body being compiled right now, if any."""
    return _ACTIVE.get()


def set_trace(trace: TraceContext | None) -> Any:
    """Make `trace` active; returns a token for reset_trace."""
    return _ACTIVE.set(trace)


def reset_trace(token: Any) -> None:
    """Restore the trace that was active before set_trace."""
    _ACTIVE.reset(token)
