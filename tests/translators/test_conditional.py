"""conditional(): a branch node, guarded case nodes and a merge node of common outputs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir import InputRef, LiteralBinding, OutputRef, SimpleType
from flytepath_airflow.ir.models import (
    BranchSpec,
    CaseSpec,
    ComparisonSpec,
    ConjunctionSpec,
    GuardSpec,
    MergeSpec,
    NegationSpec,
)
from flytepath_airflow.sdk.targets import load_target

WriteFlow = Callable[[str, str], str]

TASKS = """
@task
def small(n: int) -> int:
    return n + 1

@task
def big(n: int) -> int:
    return n * 100

@task
def half(n: int) -> float:
    return n / 2

@task
def name(n: int) -> str:
    return str(n)

@task
def is_even(n: int) -> bool:
    return n % 2 == 0

class Pair(NamedTuple):
    a: int
    b: int

@task
def pair(n: int) -> Pair:
    return Pair(n, n)

@task
def only_a(n: int) -> typing.NamedTuple("OnlyA", [("a", int)]):
    return (n,)

@task
def inc(n: int) -> int:
    return n + 1
"""


def test_conditional_compiles_to_branch_guarded_cases_and_merge(write_flow: WriteFlow) -> None:
    path = write_flow("cond_basic", TASKS + """
@workflow
def wf(n: int) -> float:
    r = (conditional("size")
         .if_(n < 10).then(small(n=n))
         .elif_((n >= 10) & ~(n == 50)).then(half(n=n))
         .else_().fail("n is 50"))
    return r
""")
    spec = load_target(f"{path}:wf")
    assert [(x.id, x.kind) for x in spec.nodes] == [
        ("size", "branch"), ("small", "task"), ("half", "task"), ("size_out", "merge")]
    branch = spec.node("size").branch
    assert branch == BranchSpec(cases=(
        CaseSpec(condition=ComparisonSpec(op="<", left=InputRef(name="n"),
                                          right=LiteralBinding(value=10))),
        CaseSpec(condition=ConjunctionSpec(
            kind="and",
            left=ComparisonSpec(op=">=", left=InputRef(name="n"), right=LiteralBinding(value=10)),
            right=NegationSpec(operand=ComparisonSpec(op="==", left=InputRef(name="n"),
                                                      right=LiteralBinding(value=50))))),
        CaseSpec(condition=None, fail="n is 50"),
    ))
    assert spec.node("small").guard == GuardSpec(branch="size", case=0)
    assert spec.node("half").guard == GuardSpec(branch="size", case=1)
    merge = spec.node("size_out")
    assert merge.merge == MergeSpec(branch="size", cases=(
        {"o0": OutputRef(node="small", output="o0")},
        {"o0": OutputRef(node="half", output="o0")},
        {},
    ))
    # int and float: the merged output is the type both cast to.
    assert [(v.name, v.type) for v in merge.outputs] == [("o0", SimpleType(name="float"))]
    assert spec.outputs == {"o0": OutputRef(node="size_out", output="o0")}


def test_conditional_result_feeds_downstream_and_bool_promises_are_conditions(
        write_flow: WriteFlow) -> None:
    path = write_flow("cond_bool", TASKS + """
@workflow
def wf(n: int) -> int:
    even = is_even(n=n)
    r = conditional("parity").if_(even).then(small(n=n)).else_().then(big(n=n))
    return inc(n=r)
""")
    spec = load_target(f"{path}:wf")
    assert spec.node("parity").branch.cases[0].condition == ComparisonSpec(  # type: ignore[union-attr]
        op="==", left=OutputRef(node="is_even", output="o0"), right=LiteralBinding(value=True))
    assert spec.node("inc").inputs == {"n": OutputRef(node="parity_out", output="o0")}
    assert spec.node("inc").guard is None


def test_subworkflow_and_nested_conditional_in_a_case(write_flow: WriteFlow) -> None:
    path = write_flow("cond_nested", TASKS + """
@workflow
def twice(n: int) -> int:
    return small(n=small(n=n))

@workflow
def wf(n: int) -> int:
    return (conditional("outer")
            .if_(n > 0).then(twice(n=n))
            .else_().then(
                conditional("inner").if_(n == 0).then(small(n=n)).else_().then(big(n=n))))
""")
    spec = load_target(f"{path}:wf")
    guards = {x.id: x.guard for x in spec.nodes}
    assert guards["twice.small"] == guards["twice.small_2"] == GuardSpec(branch="outer", case=0)
    assert guards["inner"] == GuardSpec(branch="outer", case=1)
    assert guards["inner_out"] == GuardSpec(branch="outer", case=1)
    assert guards["small"] == GuardSpec(branch="inner", case=0)
    assert guards["big"] == GuardSpec(branch="inner", case=1)
    assert guards["outer"] is None and guards["outer_out"] is None
    assert spec.node("outer_out").merge.cases == (  # type: ignore[union-attr]
        {"o0": OutputRef(node="twice.small_2", output="o0")},
        {"o0": OutputRef(node="inner_out", output="o0")})


def test_conditional_inside_a_subworkflow_is_prefixed(write_flow: WriteFlow) -> None:
    path = write_flow("cond_in_sub", TASKS + """
@workflow
def pick(n: int) -> int:
    return conditional("c").if_(n > 1).then(small(n=n)).else_().then(big(n=n))

@workflow
def wf(x: int) -> int:
    return pick(n=x)
""")
    spec = load_target(f"{path}:wf")
    assert spec.node("pick.small").guard == GuardSpec(branch="pick.c", case=0)
    assert spec.node("pick.c").branch.cases[0].condition.left == InputRef(name="x")  # type: ignore[union-attr]
    assert spec.node("pick.c_out").merge.branch == "pick.c"  # type: ignore[union-attr]
    assert spec.outputs["o0"] == OutputRef(node="pick.c_out", output="o0")


def test_only_outputs_common_to_all_cases_are_usable(write_flow: WriteFlow) -> None:
    path = write_flow("cond_common", TASKS + """
@workflow
def ok(n: int) -> int:
    r = conditional("c").if_(n > 1).then(pair(n=n)).else_().then(only_a(n=n))
    return r.a

@workflow
def bad(n: int) -> int:
    r = conditional("c").if_(n > 1).then(pair(n=n)).else_().then(only_a(n=n))
    return r.b
""")
    spec = load_target(f"{path}:ok")
    assert [v.name for v in spec.node("c_out").outputs] == ["a"]
    with pytest.raises(CompileError) as err:
        load_target(f"{path}:bad")
    assert "output 'b' of conditional 'c'" in str(err.value)
    assert "not produced by case 1 (else_)" in str(err.value)


def test_incompatible_case_types_are_refused_naming_types(write_flow: WriteFlow) -> None:
    path = write_flow("cond_types", TASKS + """
@workflow
def wf(n: int) -> str:
    return conditional("c").if_(n > 1).then(name(n=n)).else_().then(big(n=n))
""")
    with pytest.raises(CompileError) as err:
        load_target(f"{path}:wf")
    text = str(err.value)
    assert "conditional 'c'" in text and "case 0 (if_): str; case 1 (else_): int" in text
    assert f"{path}:" in text


def test_conditional_without_else_is_refused(write_flow: WriteFlow) -> None:
    path = write_flow("cond_noelse", TASKS + """
@workflow
def unused(n: int) -> None:
    conditional("c").if_(n > 1).then(small(n=n))

@workflow
def used(n: int) -> int:
    r = conditional("c").if_(n > 1).then(small(n=n))
    return inc(n=r)
""")
    for wf in ("unused", "used"):
        with pytest.raises(CompileError) as err:
            load_target(f"{path}:{wf}")
        assert "conditional 'c'" in str(err.value)
        assert "add .else_().then(...) or .else_().fail(...)" in str(err.value).lower()


@pytest.mark.parametrize(("condition", "message"), [
    ("pair(n=n) == 1", "is not a comparison of promises"),
    ("n", "is not a bool"),
    ("True", "is not a comparison of promises"),
    ("n == 'x'", "compares workflow input 'n' (int) with the constant \"x\""),
    ("xs > 1", "which is list[int]"),
    ("n == xs", "list[int]"),
    ("half(n=n) < name(n=n)", "'half.o0' (float) with 'name.o0' (str)"),
])
def test_bad_conditions_are_refused(write_flow: WriteFlow, condition: str, message: str) -> None:
    path = write_flow("cond_bad", TASKS + f"""
@workflow
def wf(n: int, xs: list[int]) -> int:
    return conditional("c").if_({condition}).then(small(n=n)).else_().then(big(n=n))
""")
    with pytest.raises(CompileError) as err:
        load_target(f"{path}:wf")
    assert message in str(err.value)


@pytest.mark.parametrize("expr", ["n > 1 and n < 5", "not n", "n if n else n"])
def test_python_boolean_operators_on_promises_point_at_bitwise_operators(
        write_flow: WriteFlow, expr: str) -> None:
    path = write_flow("cond_pybool", TASKS + f"""
@workflow
def wf(n: int) -> int:
    return conditional("c").if_({expr}).then(small(n=n)).else_().then(big(n=n))
""")
    with pytest.raises(CompileError) as err:
        load_target(f"{path}:wf")
    assert "&, | and ~" in str(err.value)
    assert f"{path}:" in str(err.value)


def test_misordered_chains_are_refused(write_flow: WriteFlow) -> None:
    path = write_flow("cond_order", TASKS + """
@workflow
def no_then(n: int) -> int:
    return conditional("c").if_(n > 1).elif_(n > 2).then(small(n=n)).else_().then(big(n=n))

@workflow
def calls_in_fail(n: int) -> int:
    return conditional("c").if_(n > 1).then(small(n=n)).else_().fail(big(n=n) and "x")

@workflow
def then_constant(n: int) -> int:
    return conditional("c").if_(n > 1).then(3).else_().then(big(n=n))
""")
    with pytest.raises(CompileError, match=r"follows a case without \.then"):
        load_target(f"{path}:no_then")
    with pytest.raises(CompileError):
        load_target(f"{path}:calls_in_fail")
    with pytest.raises(CompileError, match=r"\.then\(\) takes the result of a task"):
        load_target(f"{path}:then_constant")


def test_repeated_conditional_names_are_made_unique(write_flow: WriteFlow) -> None:
    path = write_flow("cond_twice", TASKS + """
@workflow
def wf(n: int) -> int:
    a = conditional("c").if_(n > 1).then(small(n=n)).else_().then(big(n=n))
    return conditional("c").if_(a > 1).then(small(n=a)).else_().then(big(n=a))
""")
    spec = load_target(f"{path}:wf")
    assert [x.id for x in spec.nodes if x.kind in ("branch", "merge")] == [
        "c", "c_out", "c_2", "c_2_out"]
    assert spec.node("small_2").guard == GuardSpec(branch="c_2", case=0)
