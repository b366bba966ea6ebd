"""check_workflow and topological_order on map, branch, merge and dynamic nodes."""

from __future__ import annotations

from typing import Any

import pytest

from flytepath_airflow.errors import CompileError, TypeMismatchError
from flytepath_airflow.ir import ListType, OutputRef, SimpleType
from flytepath_airflow.ir.graph import topological_order
from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.translators.checks import binding_type, check_workflow

INT = {"kind": "simple", "name": "int"}
STR = {"kind": "simple", "name": "str"}


def ref(node: str, output: str = "o0") -> dict[str, Any]:
    return {"kind": "output", "node": node, "output": output}


def lit(value: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": value}


TASKS = {
    "inc": {"name": "inc", "fn": "m:inc", "interface": {
        "inputs": [{"name": "n", "type": INT}], "outputs": [{"name": "o0", "type": INT}]}},
    "words": {"name": "words", "fn": "m:words", "interface": {
        "inputs": [], "outputs": [{"name": "o0", "type": {"kind": "list", "item": STR}}]}},
    "dyn": {"name": "dyn", "kind": "dynamic", "fn": "m:dyn", "dynamic": {"max_levels": 3},
            "interface": {"inputs": [{"name": "n", "type": INT}],
                          "outputs": [{"name": "o0", "type": INT}]}},
}


def compare(left: dict[str, Any], op: str, right: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "compare", "op": op, "left": left, "right": right}


def spec(*nodes: dict[str, Any], outputs: dict[str, Any] | None = None) -> WorkflowSpec:
    return WorkflowSpec.model_validate({
        "schema_version": 1, "name": "wf",
        "interface": {"inputs": [{"name": "x", "type": INT}],
                      "outputs": [{"name": "o0", "type": INT}] if outputs else []},
        "nodes": list(nodes), "tasks": TASKS, "outputs": outputs or {},
    })


FIRST = {"id": "first", "task": "inc", "inputs": {"n": {"kind": "input", "name": "x"}}}
BRANCH = {"id": "c", "kind": "branch", "branch": {"cases": [
    {"condition": compare(ref("first"), ">", lit(1))}, {"condition": None}]}}
CASE0 = {"id": "a", "task": "inc", "inputs": {"n": lit(1)}, "guard": {"branch": "c", "case": 0}}
CASE1 = {"id": "b", "task": "inc", "inputs": {"n": lit(2)}, "guard": {"branch": "c", "case": 1}}
MERGE = {"id": "c_out", "kind": "merge", "outputs": [{"name": "o0", "type": INT}],
         "merge": {"branch": "c", "cases": [{"o0": ref("a")}, {"o0": ref("b")}]}}


def test_a_well_formed_conditional_checks_and_orders() -> None:
    wf = spec(FIRST, BRANCH, CASE0, CASE1, MERGE, outputs={"o0": ref("c_out")})
    check_workflow(wf)
    assert topological_order(wf) == ["first", "c", "a", "b", "c_out"]


def test_map_and_dynamic_nodes_are_typed() -> None:
    wf = spec(
        {"id": "m", "kind": "map", "task": "inc", "inputs": {"n": lit([1, 2])},
         "map": {"mapped": ["n"], "min_success_ratio": 0.5}},
        {"id": "d", "kind": "dynamic", "task": "dyn", "inputs": {"n": lit(1)}},
        outputs={"o0": ref("d")},
    )
    check_workflow(wf)
    assert binding_type(wf, OutputRef(node="m", output="o0")) == ListType(
        item={"kind": "union", "variants": [INT, {"kind": "simple", "name": "none"}]})
    assert binding_type(wf, OutputRef(node="d", output="o0")) == SimpleType(name="int")


@pytest.mark.parametrize(("nodes", "error", "message"), [
    ([FIRST, {**CASE0, "guard": {"branch": "first", "case": 0}}], CompileError,
     "Node 'a' guard names branch node 'first', which is a task node, not a branch"),
    ([FIRST, BRANCH, {**CASE0, "guard": {"branch": "c", "case": 5}}], CompileError,
     "Node 'a' is guarded by case 5 of branch 'c', which has only 2 cases"),
    ([FIRST, {**BRANCH, "branch": {"cases": [
        {"condition": compare(ref("first"), ">", lit(1))}]}}], CompileError,
     "Branch 'c' has no else case"),
    ([FIRST, {**CASE0, "guard": None},
      {**MERGE, "merge": {"branch": "first", "cases": [{"o0": ref("a")}]}}],
     CompileError, "Merge node 'c_out' names branch node 'first'"),
    ([FIRST, BRANCH, CASE0, CASE1, {**MERGE, "merge": {"branch": "c", "cases": [
        {"o0": ref("a")}, {}]}}], CompileError, "Merge node 'c_out' case 1 does not bind"),
    ([FIRST, BRANCH, CASE0, CASE1, {**MERGE, "merge": {"branch": "c", "cases": [
        {"o0": ref("a")}]}}], CompileError, "lists 1 cases but branch 'c' has 2"),
    ([{"id": "w", "task": "words"}, {**BRANCH, "branch": {"cases": [
        {"condition": compare(ref("w"), ">", lit(1))}, {"condition": None}]}}],
     TypeMismatchError, "Branch 'c' case 0 compares 'w.o0', which is list[str]"),
    ([FIRST, {**BRANCH, "branch": {"cases": [
        {"condition": compare(ref("first"), "==", lit("x"))}, {"condition": None}]}}],
     TypeMismatchError, "compares 'first.o0' (int) with the constant \"x\""),
    ([{"id": "d", "kind": "task", "task": "dyn", "inputs": {"n": lit(1)}}], CompileError,
     "Node 'd' is a task node but task 'dyn' is a dynamic task"),
    ([{"id": "m", "kind": "map", "task": "inc", "inputs": {"n": lit(1)},
       "map": {"mapped": ["n"]}}], TypeMismatchError,
     "Node 'm' input 'n' expects list[int]"),
    ([FIRST, {"id": "m", "kind": "map", "task": "inc", "inputs": {"n": ref("first", "o9")},
              "map": {"mapped": ["n"]}}], CompileError,
     "refers to output 'o9' of node 'first'"),
])
def test_bad_control_flow_specs_are_refused(nodes: list[dict[str, Any]],
                                            error: type[Exception], message: str) -> None:
    with pytest.raises(error) as err:
        check_workflow(spec(*nodes))
    assert message in str(err.value)


def test_failure_node_may_read_inputs_only() -> None:
    wf = WorkflowSpec.model_validate({
        "schema_version": 1, "name": "wf",
        "interface": {"inputs": [{"name": "x", "type": INT}]},
        "nodes": [FIRST], "tasks": TASKS,
        "on_failure": {"id": "on_failure", "task": "inc", "inputs": {"n": ref("first")}},
    })
    with pytest.raises(CompileError, match="reads output 'o0' of node 'first'"):
        check_workflow(wf)
