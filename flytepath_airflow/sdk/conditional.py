"""`conditional`: choose between task calls at run time (Flyte's conditional).

    result = (
        conditional("size")
        .if_(n < 10).then(small(n=n))
        .elif_((n >= 10) & (n < 100)).then(medium(n=n))
        .else_().fail("n is too large")
    )

Conditions compare promises with constants or other promises (`==`, `!=`, `<`, `<=`,
`>`, `>=`) and combine with `&`, `|` and `~` (Python's `and`, `or`, `not` and `if` are
refused: the body runs once, at compile time). A bool promise may be used directly.

Compiles to three kinds of node: a branch node with the conditional's name (made unique
like task node ids) that decides the case; the nodes of each `then(...)` call, each with
`guard=(branch, case)`; and a merge node `<name>_out` whose outputs are those every case
that does not fail produces (a single-output call's output is `o0`). The conditional's
result refers to the merge node.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flytepath_airflow.errors import CompileError, FlytePathUserError
from flytepath_airflow.ir.models import (
    BindingSpec,
    BranchSpec,
    CaseSpec,
    ComparisonSpec,
    ConditionSpec,
    ConjunctionSpec,
    GuardSpec,
    LiteralBinding,
    MergeSpec,
    NegationSpec,
    NodeSpec,
    OutputRef,
    SimpleType,
    Variable,
)
from flytepath_airflow.sdk.promise import (
    ComparisonExpression,
    NodeHandle,
    NodeOutputs,
    Promise,
    TraceContext,
    active_trace,
    caller_location,
)
from flytepath_airflow.types import default_engine
from flytepath_airflow.types.casting import castability_error
from flytepath_airflow.types.render import render_type

_BOOL = SimpleType(name="bool")


@dataclass
class _Case:
    condition: ConditionSpec | None
    start: int
    location: str
    fail: str | None = None
    outputs: dict[str, Promise] = field(default_factory=dict)
    single: bool = False
    done: bool = False


class ConditionalSection:
    """A conditional being built: `.if_(...)`, `.elif_(...)`, `.else_()`."""

    def __init__(self, name: str) -> None:
        location = caller_location()
        trace = active_trace()
        if trace is None:
            raise CompileError(
                f"conditional({name!r}) is used outside a @workflow ({location}). Use it "
                "inside a @workflow or @dynamic body; in plain Python code, use `if`."
            )
        if not isinstance(name, str) or not name.isidentifier():
            raise CompileError(
                f"conditional({name!r}) at {location}: the name must be a Python identifier "
                "(letters, digits and underscores), e.g. conditional(\"size_check\")."
            )
        self.trace: TraceContext = trace
        self.name = name
        self.node_id = trace.new_id(name)
        trace.reserved.add(self.node_id)
        self.location = location
        self.cases: list[_Case] = []
        trace.open_conditionals[self.node_id] = location

    def __repr__(self) -> str:
        return f"<conditional {self.node_id}>"

    def unfinished_message(self) -> str:
        """Why this chain cannot be used as a value yet."""
        return (f"conditional '{self.node_id}' ({self.location}) is used before its else_ "
                "case. Add .else_().then(...) or .else_().fail(...) at the end of the chain "
                "and use what that returns.")

    def _pending(self) -> _Case | None:
        return self.cases[-1] if self.cases and not self.cases[-1].done else None

    def _add_case(self, condition: Any, method: str) -> Case:
        location = caller_location()
        pending = self._pending()
        if pending is not None:
            raise CompileError(
                f"conditional '{self.node_id}' ({location}): .{method}(...) follows a case "
                "without .then(...). Give every case a .then(call) or .fail(message)."
            )
        spec = None if condition is None else self._condition(condition, location)
        self.cases.append(_Case(spec, len(self.trace.nodes), location))
        return Case(self, len(self.cases) - 1)

    def if_(self, condition: Any) -> Case:
        """The first case: taken when `condition` holds."""
        if self.cases:
            raise CompileError(
                f"conditional '{self.node_id}' ({caller_location()}) already has an if_; "
                "use .elif_(...) for further cases."
            )
        return self._add_case(condition, "if_")

    def elif_(self, condition: Any) -> Case:
        """A further case: taken when no earlier case holds and `condition` does."""
        if not self.cases:
            raise CompileError(
                f"conditional '{self.node_id}' ({caller_location()}) starts with elif_; "
                "start with .if_(...)."
            )
        return self._add_case(condition, "elif_")

    def else_(self) -> Case:
        """The last case: taken when no condition holds."""
        if not self.cases:
            raise CompileError(
                f"conditional '{self.node_id}' ({caller_location()}) starts with else_; "
                "start with .if_(...)."
            )
        return self._add_case(None, "else_")

    # ------------------------------------------------------------ conditions

    def _condition(self, expr: Any, location: str) -> ConditionSpec:
        if isinstance(expr, Promise):
            if expr.type != _BOOL:
                raise CompileError(
                    f"conditional '{self.node_id}' ({location}): the condition "
                    f"{expr.source_name} is not a bool. Compare it, e.g. `x > 0`, or "
                    "compute a bool in a @task."
                )
            return ComparisonSpec(op="==", left=expr.ref, right=LiteralBinding(value=True))
        if not isinstance(expr, ComparisonExpression):
            raise CompileError(
                f"conditional '{self.node_id}' ({location}): the condition {expr!r} is not a "
                "comparison of promises. Write e.g. `.if_(x > 0)`, combine conditions with "
                "&, | and ~ (in parentheses), and compute other tests in a @task."
            )
        if expr.op in ("&", "|"):
            return ConjunctionSpec(kind="and" if expr.op == "&" else "or",
                                   left=self._condition(expr.left, location),
                                   right=self._condition(expr.right, location))
        if expr.op == "~":
            return NegationSpec(operand=self._condition(expr.left, location))
        return ComparisonSpec(op=expr.op, left=self._operand(expr.left, location),  # type: ignore[arg-type]
                              right=self._operand(expr.right, location))

    def _operand(self, value: Any, location: str) -> BindingSpec:
        if isinstance(value, Promise):
            return value.ref
        if isinstance(value, (ComparisonExpression, NodeOutputs, NodeHandle)):
            raise CompileError(
                f"conditional '{self.node_id}' ({location}): {value!r} cannot be compared. "
                "Compare one output with a constant or another output; combine comparisons "
                "with &, | and ~ (each comparison in parentheses)."
            )
        try:
            literal = default_engine().to_literal(value, type(value), None, "constant")
        except FlytePathUserError as exc:
            raise CompileError(
                f"conditional '{self.node_id}' ({location}): the constant {value!r} cannot be "
                f"compared ({exc}). Compare with an int, float, str, bool, date or enum."
            ) from None
        return LiteralBinding(value=literal)

    # ------------------------------------------------------------ cases

    def _then(self, index: int, result: Any) -> None:
        case = self.cases[index]
        location = caller_location()
        if case.done:
            raise CompileError(
                f"conditional '{self.node_id}' ({location}): this case already has .then() "
                "or .fail()."
            )
        if isinstance(result, Promise):
            case.outputs, case.single = {"o0": result}, True
        elif isinstance(result, NodeOutputs):
            if not result._names and result._missing:
                raise CompileError(f"conditional '{self.node_id}' ({location}): "
                                   f"{next(iter(result._missing.values()))}")
            case.outputs = {n: result[i] for i, n in enumerate(result._names)}
        elif isinstance(result, NodeHandle) or result is None:
            case.outputs = {}
        elif isinstance(result, ConditionalSection):
            raise CompileError(result.unfinished_message())
        else:
            raise CompileError(
                f"conditional '{self.node_id}' ({location}): .then() takes the result of a "
                f"task or subworkflow call, got {result!r}. Call a task inside .then(...); "
                "to return a constant, write a small @task that returns it."
            )
        self._guard(index)
        case.done = True

    def _fail(self, index: int, message: str) -> None:
        case = self.cases[index]
        if not isinstance(message, str) or not message:
            raise CompileError(
                f"conditional '{self.node_id}' ({caller_location()}): .fail() needs a message "
                "saying why the run fails, e.g. .fail(\"n must be positive\")."
            )
        if len(self.trace.nodes) > case.start:
            extra = ", ".join(n.id for n in self.trace.nodes[case.start:])
            raise CompileError(
                f"conditional '{self.node_id}' ({caller_location()}): a failing case runs "
                f"nothing, but calls were made for it ({extra}). Move those calls out of "
                ".fail(...)."
            )
        case.fail = message
        case.done = True

    def _guard(self, index: int) -> None:
        trace = self.trace
        start = self.cases[index].start
        guard = GuardSpec(branch=self.node_id, case=index)
        for i in range(start, len(trace.nodes)):
            node = trace.nodes[i]
            if node.guard is None:
                trace.nodes[i] = node.model_copy(update={"guard": guard})

    def _finish(self) -> Any:
        trace = self.trace
        live = [(i, c) for i, c in enumerate(self.cases) if c.fail is None]
        common: list[str] = []
        if live:
            common = [n for n in live[0][1].outputs
                      if all(n in c.outputs for _, c in live)]
        missing: dict[str, str] = {}
        for _, case in live:
            for out in case.outputs:
                if out in common or out in missing:
                    continue
                lacking = [self._case_label(i) for i, c in live if out not in c.outputs]
                missing[out] = (
                    f"output '{out}' of conditional '{self.node_id}' ({self.location}) is not "
                    f"produced by {', '.join(lacking)}, so it has no value when "
                    f"{'that case is' if len(lacking) == 1 else 'those cases are'} taken. Only "
                    "outputs every case produces can be used: "
                    f"{', '.join(common) or 'none'}. Make every case's call return it."
                )
        outputs: list[Variable] = []
        for name in common:
            types = [(i, c.outputs[name].type) for i, c in live]
            target = next((t for _, t in types
                           if all(castability_error(u, t) is None for _, u in types)), None)
            if target is None:
                shown = "; ".join(f"{self._case_label(i)}: {render_type(t)}" for i, t in types)
                raise CompileError(
                    f"conditional '{self.node_id}' ({self.location}): output '{name}' has "
                    f"incompatible types in its cases ({shown}). Every case must produce a "
                    "type the others can be cast to; change the calls' return types or "
                    "convert in a @task."
                )
            outputs.append(Variable(name=name, type=target))
        branch = NodeSpec(
            id=self.node_id, kind="branch",
            branch=BranchSpec(cases=tuple(CaseSpec(condition=c.condition, fail=c.fail)
                                          for c in self.cases)),
        )
        trace.reserved.discard(self.node_id)
        # After nodes the first condition reads, before the nodes of the first case.
        trace.nodes.insert(self.cases[0].start, branch)
        trace.locations[self.node_id] = self.location
        merge_id = trace.new_id(f"{self.node_id}_out")
        merge = NodeSpec(
            id=merge_id, kind="merge",
            merge=MergeSpec(branch=self.node_id, cases=tuple(
                {} if c.fail is not None else {n: c.outputs[n].ref for n in common}
                for c in self.cases)),
            outputs=tuple(outputs),
        )
        trace.add_node(merge, self.location)
        trace.open_conditionals.pop(self.node_id, None)
        promises = {
            v.name: Promise(OutputRef(node=merge_id, output=v.name), v.type, self.location)
            for v in outputs
        }
        if live and all(c.single for _, c in live) and list(promises) == ["o0"]:
            return promises["o0"]
        if not promises and not missing:
            return NodeHandle(merge_id)
        return NodeOutputs(merge_id, promises, missing)

    def _case_label(self, index: int) -> str:
        if self.cases[index].condition is None:
            return f"case {index} (else_)"
        return f"case {index} ({'if_' if index == 0 else 'elif_'})"


class Case:
    """One case of a conditional: finish it with `.then(call)` or `.fail(message)`."""

    def __init__(self, section: ConditionalSection, index: int) -> None:
        self._section = section
        self._index = index

    def _is_else(self) -> bool:
        return self._section.cases[self._index].condition is None

    def then(self, result: Any) -> Any:
        """The call this case runs. After `else_()`, returns the conditional's outputs."""
        self._section._then(self._index, result)
        return self._section._finish() if self._is_else() else self._section

    def fail(self, message: str) -> Any:
        """Fail the run with `message` when this case is taken."""
        self._section._fail(self._index, message)
        return self._section._finish() if self._is_else() else self._section

    def elif_(self, condition: Any) -> Case:
        """Refused: a case needs `.then(...)` or `.fail(...)` before the next one."""
        return self._section.elif_(condition)

    def else_(self) -> Case:
        """Refused: a case needs `.then(...)` or `.fail(...)` before the next one."""
        return self._section.else_()


def conditional(name: str) -> ConditionalSection:
    """Start a conditional inside a workflow: `.if_(cond).then(call)...else_()...`.

    Args:
        name: the conditional's name; its branch node's id (made unique with `_2`, ...)
            and, with `_out`, its merge node's id.
    """
    return ConditionalSection(name)


__all__ = ["Case", "ConditionalSection", "conditional"]
