"""Branch callables whose decision is a plain comparison become FlytePath conditionals.

A `@task.branch` function or `BranchPythonOperator` callable converts when its body
(after the docstring) is an `if/elif/else` chain, or `if cond: return X` statements ending
in a final `return Y`, where every return is a task id or a list of task ids (string
literals naming direct downstream tasks) and every condition compares (`==, !=, <, <=, >,
>=`, with `and`, `or`, `not`) literals and values FlytePath can bind: DAG params (via
`**context` or a `params` argument; they are workflow inputs) and arguments bound to an
upstream task's output. Anything else raises `NotExpressible` with the reason, and the
branch stays an Airflow branch task.

`read_branch` only reads the function's AST; the caller (branch_operators) says what each
argument is bound to and what type each operand has.

Must not import airflow.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from flytepath_airflow.ir.models import (
    BindingSpec,
    ComparisonSpec,
    ConditionSpec,
    ConjunctionSpec,
    InputRef,
    LiteralBinding,
    LiteralType,
    NegationSpec,
    OutputRef,
    SimpleType,
)

_OPS: dict[type, str] = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=",
                         ast.Gt: ">", ast.GtE: ">="}
_STATEMENTS: dict[type, str] = {ast.Expr: "an expression statement", ast.Assign: "an assignment",
                               ast.AnnAssign: "an assignment", ast.AugAssign: "an assignment",
                               ast.For: "a loop", ast.While: "a loop", ast.Try: "a try block",
                               ast.With: "a with block"}
_ORDERED = {"int", "float", "str"}
_EQUATABLE = _ORDERED | {"bool"}


class NotExpressible(Exception):
    """The branch decision has no FlytePath condition; the text says why."""


@dataclass(frozen=True)
class BranchCase:
    """One case: `condition` None is the final else; `targets` are the task ids it returns."""

    condition: ConditionSpec | None
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Operand:
    """What a name in the branch function is bound to, and its type (None: a literal)."""

    binding: BindingSpec
    type: LiteralType | None


Resolver = Callable[[str], Operand]
"""Resolves an argument name or "params.<name>" to its binding; raises NotExpressible."""


def read_branch(fn: Any, resolve: Resolver) -> list[BranchCase]:
    """The cases of a branch callable, in order, the last one the else case.

    :param fn: the (unwrapped) branch function.
    :param resolve: binds an argument name, or "params.<name>" for a DAG param.
    :raises NotExpressible: when the body is not such a chain.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        raise NotExpressible("its source cannot be read") from None
    first = getattr(getattr(fn, "__code__", None), "co_firstlineno", 1)
    ast.increment_lineno(tree, first - 1)  # lines in messages are the DAG file's
    func = tree.body[0] if tree.body else None
    if not isinstance(func, ast.FunctionDef):
        raise NotExpressible("its callable is not a def function")
    reader = _Reader(func, resolve)
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    cases = reader.block(body)
    if not cases or cases[-1].condition is not None:
        raise NotExpressible("its decision does not end in a return for the remaining case")
    return cases


class _Reader:
    def __init__(self, func: ast.FunctionDef, resolve: Resolver) -> None:
        self.resolve = resolve
        args = func.args
        self.context = args.kwarg.arg if args.kwarg is not None else None
        self.names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}

    def block(self, stmts: list[ast.stmt]) -> list[BranchCase]:
        cases: list[BranchCase] = []
        for index, stmt in enumerate(stmts):
            last = index == len(stmts) - 1
            if isinstance(stmt, ast.Return):
                if not last:
                    raise NotExpressible(f"line {stmt.lineno}: code after a return")
                cases.append(BranchCase(None, self.targets(stmt)))
                return cases
            if not isinstance(stmt, ast.If):
                what = _STATEMENTS.get(type(stmt), f"a {type(stmt).__name__} statement")
                raise NotExpressible(f"line {stmt.lineno}: {what} (only if/elif/else and "
                                     "return are converted)")
            if len(stmt.body) != 1 or not isinstance(stmt.body[0], ast.Return):
                raise NotExpressible(f"line {stmt.lineno}: an if whose body is not a single "
                                     "return")
            cases.append(BranchCase(self.condition(stmt.test), self.targets(stmt.body[0])))
            if stmt.orelse:
                if not last:
                    raise NotExpressible(f"line {stmt.lineno}: code after an if/else")
                return cases + self.block(list(stmt.orelse))
        return cases

    def targets(self, ret: ast.Return) -> tuple[str, ...]:
        value = ret.value
        items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
        out: list[str] = []
        for item in items:
            if not (isinstance(item, ast.Constant) and isinstance(item.value, str)):
                raise NotExpressible(f"line {ret.lineno}: it returns something other than a "
                                     "task id or a list of task ids")
            out.append(item.value)
        return tuple(out)

    def condition(self, node: ast.expr) -> ConditionSpec:
        if isinstance(node, ast.BoolOp):
            kind: Literal["and", "or"] = "and" if isinstance(node.op, ast.And) else "or"
            parts = [self.condition(v) for v in node.values]
            result = parts[0]
            for part in parts[1:]:
                result = ConjunctionSpec(kind=kind, left=result, right=part)
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return NegationSpec(operand=self.condition(node.operand))
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            comparisons: list[ConditionSpec] = []
            for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
                if type(op) not in _OPS:
                    raise NotExpressible(f"line {node.lineno}: the comparison "
                                         f"{type(op).__name__} (only ==, !=, <, <=, >, >=)")
                comparisons.append(self.compare(_OPS[type(op)], left, right, node.lineno))
            result = comparisons[0]
            for part in comparisons[1:]:
                result = ConjunctionSpec(kind="and", left=result, right=part)
            return result
        # A bare bool value: `if flag:`.
        operand = self.operand(node)
        _check_type(operand, "==", node.lineno, bool_only=True)
        return ComparisonSpec(op="==", left=operand.binding, right=LiteralBinding(value=True))

    def compare(self, op: str, left: ast.expr, right: ast.expr, line: int) -> ComparisonSpec:
        a, b = self.operand(left), self.operand(right)
        if a.type is None and b.type is None:
            raise NotExpressible(f"line {line}: it compares two constants")
        for side, other in ((a, b), (b, a)):
            _check_type(side, op, line)
            if side.type is not None and other.type is None:
                _check_literal(side.type, other, line)
        if a.type is not None and b.type is not None and _kind(a.type) != _kind(b.type) \
                and {_kind(a.type), _kind(b.type)} != {"int", "float"}:
            raise NotExpressible(f"line {line}: it compares a {_kind(a.type)} with a "
                                 f"{_kind(b.type)}")
        return ComparisonSpec(op=op, left=a.binding, right=b.binding)  # type: ignore[arg-type]

    def operand(self, node: ast.expr) -> Operand:
        if isinstance(node, ast.Constant) and (node.value is None or isinstance(
                node.value, bool | int | float | str)):
            return Operand(LiteralBinding(value=node.value), None)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
                and isinstance(node.operand, ast.Constant) \
                and isinstance(node.operand.value, int | float) \
                and not isinstance(node.operand.value, bool):
            return Operand(LiteralBinding(value=-node.operand.value), None)
        param = self.param_name(node)
        if param is not None:
            return self.resolve(f"params.{param}")
        if isinstance(node, ast.Name) and node.id in self.names and node.id != "params":
            return self.resolve(node.id)
        raise NotExpressible(f"line {node.lineno}: its condition reads "
                             f"{ast.unparse(node)!r}, which is neither a DAG param, an "
                             "argument bound to an upstream task's value nor a constant")

    def param_name(self, node: ast.expr) -> str | None:
        """`x` of params["x"], params.x, context["params"]["x"] (None for anything else)."""
        if isinstance(node, ast.Subscript):
            key, base = node.slice, node.value
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return None
        elif isinstance(node, ast.Attribute):
            key, base = ast.Constant(node.attr), node.value
        else:
            return None
        if isinstance(base, ast.Name) and base.id == "params" and "params" in self.names:
            return str(key.value)
        if isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name) \
                and base.value.id == self.context and isinstance(base.slice, ast.Constant) \
                and base.slice.value == "params":
            return str(key.value)
        return None


def _kind(lt: LiteralType) -> str:
    return lt.name if isinstance(lt, SimpleType) else type(lt).__name__


def _check_type(operand: Operand, op: str, line: int, bool_only: bool = False) -> None:
    if operand.type is None:
        return
    kind = _kind(operand.type)
    allowed = {"bool"} if bool_only else _EQUATABLE if op in ("==", "!=") else _ORDERED
    if kind not in allowed:
        what = _describe(operand.binding)
        raise NotExpressible(
            f"line {line}: {what} is typed {kind}, which a FlytePath condition cannot "
            f"{'test' if bool_only else f'compare with {op}'} (give it a JSON Schema type "
            "or a return type hint: int, float, str or bool)")


def _check_literal(lt: LiteralType, literal: Operand, line: int) -> None:
    value = literal.binding.value  # type: ignore[union-attr]
    kind = _kind(lt)
    fits = (kind == "bool" and isinstance(value, bool)) or \
        (kind == "str" and isinstance(value, str)) or \
        (kind in ("int", "float") and isinstance(value, int | float)
         and not isinstance(value, bool) and (kind == "float" or isinstance(value, int)))
    if not fits:
        raise NotExpressible(f"line {line}: the constant {value!r} is not a {kind}")


def _describe(binding: BindingSpec) -> str:
    if isinstance(binding, InputRef):
        return f"param {binding.name!r}"
    if isinstance(binding, OutputRef):
        return f"the output of {binding.node!r}"
    return "a value"
