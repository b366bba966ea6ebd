"""map_task: a task mapped over list inputs compiles to one map node with list outputs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flytepath_airflow.errors import CompileError, TypeMismatchError
from flytepath_airflow.ir import (
    InputRef,
    ListType,
    LiteralBinding,
    OutputRef,
    SimpleType,
    UnionType,
)
from flytepath_airflow.ir.models import MapSpec
from flytepath_airflow.sdk.targets import load_target

WriteFlow = Callable[[str, str], str]
INT = SimpleType(name="int")
FLOAT = SimpleType(name="float")
NONE = SimpleType(name="none")

TASKS = """
@task
def square(x: int) -> int:
    return x * x

@task
def scale(x: int, factor: float) -> float:
    return x * factor

@task
def total(values: list[int]) -> int:
    return sum(values)

@task
def total_opt(values: list[Optional[int]]) -> int:
    return sum(v for v in values if v is not None)

@task
def numbers(n: int) -> list[int]:
    return list(range(n))

@task
def words(n: int) -> list[str]:
    return ["a"] * n
"""


def test_map_task_compiles_to_a_map_node_with_list_outputs(write_flow: WriteFlow) -> None:
    path = write_flow("map_basic", TASKS + """
@workflow
def wf(n: int) -> int:
    return total(values=map_task(square, concurrency=2)(x=numbers(n=n)))
""")
    spec = load_target(f"{path}:wf")
    node = spec.node("map_square")
    assert node.kind == "map" and node.task is not None and node.task.endswith("square")
    assert node.map == MapSpec(mapped=("x",), concurrency=2, min_success_ratio=1.0)
    assert node.inputs == {"x": OutputRef(node="numbers", output="o0")}
    assert spec.node("total").inputs == {"values": OutputRef(node="map_square", output="o0")}


def test_partial_fixes_inputs_and_multiple_lists_map_element_wise(
        write_flow: WriteFlow) -> None:
    path = write_flow("map_partial", TASKS + """
@task
def add(a: int, b: int) -> int:
    return a + b

@workflow
def wf(xs: list[int], f: float) -> tuple[list[float], list[int]]:
    scaled = map_task(functools.partial(scale, factor=f))(x=xs)
    sums = map_task(add)(a=xs, b=[1, 2, 3])
    return scaled, sums
""")
    spec = load_target(f"{path}:wf")
    scaled = spec.node("map_scale")
    assert scaled.map is not None and scaled.map.mapped == ("x",)
    assert scaled.inputs == {"factor": InputRef(name="f"), "x": InputRef(name="xs")}
    sums = spec.node("map_add")
    assert sums.map is not None and sums.map.mapped == ("a", "b")
    assert sums.inputs["b"] == LiteralBinding(value=[1, 2, 3])


def test_partial_success_outputs_are_lists_of_optionals(write_flow: WriteFlow) -> None:
    path = write_flow("map_ratio", TASKS + """
@workflow
def ok(xs: list[int]) -> int:
    return total_opt(values=map_task(square, min_success_ratio=0.5)(x=xs))

@workflow
def bad(xs: list[int]) -> int:
    return total(values=map_task(square, min_success_ratio=0.5)(x=xs))
""")
    spec = load_target(f"{path}:ok")
    assert spec.node("map_square").map.min_success_ratio == 0.5  # type: ignore[union-attr]
    with pytest.raises(TypeMismatchError) as err:
        load_target(f"{path}:bad")
    assert "list[Optional[int]]" in str(err.value) or "int | None" in str(err.value)
    assert "'map_square.o0'" in str(err.value)


def test_map_node_output_types_in_the_spec(write_flow: WriteFlow) -> None:
    path = write_flow("map_types", TASKS + """
@workflow
def wf(xs: list[int]) -> list[Optional[int]]:
    return map_task(square, min_success_ratio=0.9)(x=xs)
""")
    spec = load_target(f"{path}:wf")
    from flytepath_airflow.translators.checks import binding_type
    assert binding_type(spec, OutputRef(node="map_square", output="o0")) == \
        ListType(item=UnionType(variants=(INT, NONE)))


def test_repeated_map_calls_get_distinct_ids(write_flow: WriteFlow) -> None:
    path = write_flow("map_ids", TASKS + """
@workflow
def wf(xs: list[int]) -> list[int]:
    return map_task(square)(x=map_task(square)(x=xs))
""")
    assert [n.id for n in load_target(f"{path}:wf").nodes] == ["map_square", "map_square_2"]


@pytest.mark.parametrize(("call", "message"), [
    ("map_task(square)(x=n)",
     "map_task node 'map_square' input 'x' maps over workflow input 'n', which is int, "
     "not a list"),
    ("map_task(square)(x=3)", "input 'x' is given 3, which is not a list"),
    ("map_task(square)(x=words(n=n))",
     "the items of 'words.o0' are str but task 'square' input 'x' expects int"),
    ("map_task(square)(x=['a'])", "map_task node 'map_square' input 'x' expects list[int]"),
    ("map_task(square)()", "is given no list to map over"),
    ("map_task(square)(y=[1])", "task 'square' has no input 'y'"),
    ("map_task(scale)(x=[1])", "needs input 'factor'"),
    ("map_task(functools.partial(scale, factor=1.0))(x=[1], factor=[2.0])",
     "input 'factor' is fixed by functools.partial and passed again"),
    ("map_task(functools.partial(scale, fact=1.0))(x=[1])",
     "functools.partial fixes 'fact', which task 'scale' does not have"),
    ("map_task(square, min_success_ratio=0)(x=[1])", "min_success_ratio must be in (0, 1]"),
    ("map_task(square, min_success_ratio=1.5)(x=[1])", "min_success_ratio must be in (0, 1]"),
    ("map_task(square, concurrency=0)(x=[1])", "concurrency must be a positive int or None"),
    ("map_task(scale)(x=[1, 2], factor=[1.0])",
     "maps over lists of different lengths ('x' has 2, 'factor' has 1)"),
    ("map_task(total)(values=[1])", "expects list[list[int]]"),
])
def test_map_task_refuses_bad_input_naming_node_and_fix(
        write_flow: WriteFlow, call: str, message: str) -> None:
    path = write_flow("map_bad", TASKS + f"""
@workflow
def wf(n: int) -> None:
    {call}
""")
    with pytest.raises(CompileError) as err:
        load_target(f"{path}:wf")
    text = str(err.value)
    assert message in text
    assert "map_square" in text or "map_scale" in text or "map_total" in text
    assert f"{path}:" in text


def test_map_task_of_a_workflow_or_outside_a_workflow_is_refused(write_flow: WriteFlow) -> None:
    path = write_flow("map_wf", TASKS + """
@workflow
def inner(x: int) -> int:
    return square(x=x)

@workflow
def wf(xs: list[int]) -> None:
    map_task(inner)(x=xs)
""")
    with pytest.raises(CompileError, match="needs a @task"):
        load_target(f"{path}:wf")
    from flytepath_airflow import map_task, task

    @task
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(CompileError, match="called outside a @workflow"):
        map_task(double)(x=[1])
