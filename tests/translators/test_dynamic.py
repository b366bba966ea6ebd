"""@dynamic: compiled as a dynamic node; compile_dynamic builds its graph from real values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flytepath_airflow.errors import CompileError, TypeMismatchError
from flytepath_airflow.ir import LiteralBinding, OutputRef, WorkflowSpec
from flytepath_airflow.sdk.compiler import compile_dynamic
from flytepath_airflow.sdk.targets import import_source, load_target

WriteFlow = Callable[[str, str], str]

FLOWS = """
@task
def square(x: int) -> int:
    return x * x

@task
def add(a: int, b: int) -> int:
    return a + b

@task
def total(values: list[int]) -> int:
    return sum(values)

@task
def words(n: int) -> list[str]:
    return ["a"] * n

@workflow
def plus_one(n: int) -> int:
    return add(a=n, b=1)

@dynamic(max_levels=3, retries=2)
def fan_out(n: int) -> int:
    squares = [square(x=i) for i in range(n)]
    mapped = map_task(square)(x=list(range(n)))
    return total(values=[plus_one(n=s) for s in squares] + [total(values=mapped)])

@dynamic
def constant(n: int) -> tuple[int, str]:
    return n * 2, "done"

@dynamic
def chain(n: int) -> int:
    v = square(x=n)
    for _ in range(n):
        v = square(x=v)
    return v

@dynamic
def ill_typed(n: int) -> int:
    return total(values=words(n=n))

@dynamic
def nested(n: int) -> int:
    return constant(n=n)[0]

@dynamic
def wrong_return(n: int) -> int:
    return words(n=n)

@dynamic(max_levels=4)
def with_conditional(n: int) -> int:
    return conditional("c").if_(square(x=n) > 10).then(square(x=n)).else_().then(add(a=n, b=n))

@workflow
def wf(n: int) -> int:
    return fan_out(n=square(x=n))
"""


def _parent(path: str) -> WorkflowSpec:
    return load_target(f"{path}:wf")


def _module(path: str) -> Any:
    return import_source(path)


def test_dynamic_task_compiles_to_a_dynamic_node(write_flow: WriteFlow) -> None:
    path = write_flow("dyn_node", FLOWS)
    spec = _parent(path)
    node = spec.node("fan_out")
    assert node.kind == "dynamic"
    assert node.inputs == {"n": OutputRef(node="square", output="o0")}
    task = spec.task_of(node)
    assert task.kind == "dynamic" and task.retries == 2
    assert task.dynamic is not None and task.dynamic.max_levels == 3
    assert task.fn is not None and task.fn.endswith(":fan_out")


def test_compile_dynamic_traces_the_body_with_real_values(write_flow: WriteFlow) -> None:
    path = write_flow("dyn_trace", FLOWS)
    parent = _parent(path)
    module = _module(path)
    # The runtime passes the bare function; compile_dynamic finds its decorator.
    child = compile_dynamic(module.fan_out.fn, {"n": 2}, parent=parent, node_id="fan_out")
    assert child.name == f"{parent.name}.fan_out"
    assert child.tenant == parent.tenant and not child.interface.inputs
    assert [v.name for v in child.interface.outputs] == ["o0"]
    ids = [n.id for n in child.nodes]
    assert ids == ["square", "square_2", "map_square", "plus_one.add", "plus_one_2.add",
                   "total", "total_2"]
    assert child.node("square_2").inputs == {"x": LiteralBinding(value=1)}
    assert child.node("map_square").inputs == {"x": LiteralBinding(value=[0, 1])}
    assert child.node("plus_one.add").group == ("plus_one",)
    assert child.outputs == {"o0": OutputRef(node="total_2", output="o0")}
    assert len(child.version) == 16
    again = compile_dynamic(module.fan_out, {"n": 2}, parent=parent, node_id="fan_out")
    assert again.version == child.version


def test_compile_dynamic_binds_plain_returned_values_as_literals(write_flow: WriteFlow) -> None:
    path = write_flow("dyn_const", FLOWS)
    child = compile_dynamic(_module(path).constant, {"n": 4}, parent=_parent(path),
                            node_id="constant")
    assert child.nodes == ()
    assert child.outputs == {"o0": LiteralBinding(value=8), "o1": LiteralBinding(value="done")}


def test_compile_dynamic_supports_conditionals(write_flow: WriteFlow) -> None:
    path = write_flow("dyn_cond", FLOWS)
    child = compile_dynamic(_module(path).with_conditional, {"n": 3}, parent=_parent(path),
                            node_id="with_conditional")
    assert [n.kind for n in child.nodes] == ["task", "branch", "task", "task", "merge"]


@pytest.mark.parametrize(("name", "error", "message"), [
    ("ill_typed", TypeMismatchError,
     "node 'total' input 'values' expects list[int] but 'words.o0' produces list[str]"),
    ("nested", CompileError, "nested dynamic tasks are not supported"),
    ("wrong_return", TypeMismatchError, "dynamic task 'wrong_return' output 'o0' expects int"),
    ("chain", CompileError, "built a graph 4 nodes deep, but allows max_levels=3"),
])
def test_compile_dynamic_refuses_bad_graphs(write_flow: WriteFlow, name: str,
                                            error: type[Exception], message: str) -> None:
    path = write_flow("dyn_bad", FLOWS.replace("@dynamic\ndef chain", "@dynamic(max_levels=3)"
                                                "\ndef chain"))
    with pytest.raises(error) as err:
        compile_dynamic(getattr(_module(path), name), {"n": 3}, parent=_parent(path),
                        node_id=name)
    assert message in str(err.value)


def test_dynamic_options_are_validated(write_flow: WriteFlow) -> None:
    path = write_flow("dyn_opts", """
@dynamic(max_levels=0)
def bad_levels(n: int) -> int:
    return n

@workflow
def wf(n: int) -> int:
    return bad_levels(n=n)
""")
    with pytest.raises(CompileError, match="max_levels must be an int from 1 to 64"):
        load_target(f"{path}:wf")
    with pytest.raises(CompileError, match="unknown option 'max_level'"):
        from flytepath_airflow import dynamic

        dynamic(max_level=3)
