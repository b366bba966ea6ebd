"""Subworkflows: a @workflow called inside another is inlined, grouped and type-checked."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flytepath_airflow.errors import CompileError, TypeMismatchError
from flytepath_airflow.ir import InputRef, LiteralBinding, OutputRef
from flytepath_airflow.sdk.targets import load_target

WriteFlow = Callable[[str, str], str]

SUB = """
@task
def inc(n: int) -> int:
    return n + 1

@task
def double(n: int) -> int:
    return n * 2

@workflow
def inner(n: int, step: int = 1) -> int:
    return double(n=inc(n=n))

@workflow
def middle(n: int) -> int:
    return inner(n=inner(n=n))
"""


def test_subworkflow_nodes_are_inlined_with_prefix_and_group(write_flow: WriteFlow) -> None:
    path = write_flow("sub_inline", SUB + """
@workflow
def outer(x: int) -> int:
    a = inc(n=x)
    return inner(n=a)
""")
    spec = load_target(f"{path}:outer")
    assert [(n.id, n.group) for n in spec.nodes] == [
        ("inc", ()), ("inner.inc", ("inner",)), ("inner.double", ("inner",))]
    assert spec.node("inner.inc").inputs == {"n": OutputRef(node="inc", output="o0")}
    assert spec.node("inner.double").inputs == {"n": OutputRef(node="inner.inc", output="o0")}
    assert spec.outputs == {"o0": OutputRef(node="inner.double", output="o0")}
    assert [t.rsplit(".", 1)[1] for t in spec.tasks] == ["double", "inc"]


def test_nested_subworkflows_nest_groups_and_deduplicate_call_ids(write_flow: WriteFlow) -> None:
    path = write_flow("sub_nested", SUB + """
@workflow
def outer(x: int) -> int:
    return middle(n=middle(n=x))
""")
    spec = load_target(f"{path}:outer")
    ids = [n.id for n in spec.nodes]
    assert ids[:4] == ["middle.inner.inc", "middle.inner.double",
                       "middle.inner_2.inc", "middle.inner_2.double"]
    assert ids[4:6] == ["middle_2.inner.inc", "middle_2.inner.double"]
    assert spec.node("middle_2.inner_2.double").group == ("middle_2", "inner_2")
    assert spec.node("middle_2.inner.inc").inputs == {
        "n": OutputRef(node="middle.inner_2.double", output="o0")}


def test_subworkflow_output_passing_an_input_through_uses_the_callers_binding(
        write_flow: WriteFlow) -> None:
    path = write_flow("sub_pass", """
@task
def inc(n: int) -> int:
    return n + 1

@workflow
def echo(n: int, label: str = "x") -> tuple[int, str]:
    return n, label

@workflow
def outer(x: int) -> tuple[int, str]:
    a, b = echo(n=inc(n=x))
    c, d = echo(n=x, label="given")
    return inc(n=a), d
""")
    spec = load_target(f"{path}:outer")
    assert [n.id for n in spec.nodes] == ["inc", "inc_2"]
    assert spec.node("inc_2").inputs == {"n": OutputRef(node="inc", output="o0")}
    assert spec.outputs["o1"] == LiteralBinding(value="given")


def test_subworkflow_literal_and_default_inputs_become_literals(write_flow: WriteFlow) -> None:
    path = write_flow("sub_literal", """
@task
def add(a: int, b: int) -> int:
    return a + b

@workflow
def plus(n: int, step: int = 5) -> int:
    return add(a=n, b=step)

@workflow
def outer(x: int) -> int:
    return plus(n=plus(n=3))
""")
    spec = load_target(f"{path}:outer")
    assert spec.node("plus.add").inputs == {"a": LiteralBinding(value=3),
                                            "b": LiteralBinding(value=5)}
    assert spec.node("plus_2.add").inputs["a"] == OutputRef(node="plus.add", output="o0")


def test_ordering_a_subworkflow_call_orders_all_its_nodes(write_flow: WriteFlow) -> None:
    path = write_flow("sub_order", """
@task
def first() -> None:
    pass

@task
def inc(n: int) -> int:
    return n + 1

@workflow
def two(n: int) -> None:
    inc(n=inc(n=n))

@workflow
def outer(x: int) -> None:
    first() >> two(n=x)
""")
    spec = load_target(f"{path}:outer")
    assert spec.node("two.inc").upstream == ("first",)
    assert spec.node("two.inc_2").upstream == ("first",)


def test_subworkflow_input_type_mismatch_names_node_input_types_and_line(
        write_flow: WriteFlow) -> None:
    path = write_flow("sub_mismatch", SUB + """
@task
def words() -> list[str]:
    return ["a"]

@workflow
def outer() -> int:
    return inner(n=words())
""")
    with pytest.raises(TypeMismatchError) as err:
        load_target(f"{path}:outer")
    message = str(err.value)
    assert "node 'inner' input 'n' expects int but 'words.o0' produces list[str]" in message
    assert f"{path}:" in message


def test_subworkflow_unknown_and_missing_inputs_are_refused(write_flow: WriteFlow) -> None:
    path = write_flow("sub_unknown", SUB + """
@workflow
def unknown(x: int) -> int:
    return inner(n=x, nn=1)

@workflow
def missing(x: int) -> int:
    return inner(step=x)

@workflow
def positional(x: int) -> int:
    return inner(x)
""")
    with pytest.raises(CompileError, match="workflow 'inner' has no input 'nn'"):
        load_target(f"{path}:unknown")
    with pytest.raises(CompileError, match="workflow 'inner' needs input 'n'"):
        load_target(f"{path}:missing")
    with pytest.raises(CompileError, match="keyword arguments only"):
        load_target(f"{path}:positional")


def test_subworkflow_uses_outer_workflow_inputs(write_flow: WriteFlow) -> None:
    path = write_flow("sub_inputs", SUB + """
@workflow
def outer(x: int) -> int:
    return inner(n=x)
""")
    spec = load_target(f"{path}:outer")
    assert spec.node("inner.inc").inputs == {"n": InputRef(name="x")}
