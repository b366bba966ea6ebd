"""The static graph checks every front-end shares (translators/checks.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flytepath_airflow.errors import CompileError, TypeMismatchError
from flytepath_airflow.ir.graph import find_cycle, topological_order
from flytepath_airflow.ir.models import WorkflowSpec
from flytepath_airflow.translators.checks import FieldPath, check_workflow

INT = {"kind": "simple", "name": "int"}
FLOAT = {"kind": "simple", "name": "float"}
STR = {"kind": "simple", "name": "str"}
LIST_STR = {"kind": "list", "item": STR}
LIST_INT = {"kind": "list", "item": INT}
OPT_INT = {"kind": "union", "variants": [INT, {"kind": "simple", "name": "none"}]}
DATAFRAME = {"kind": "dataframe"}


def ref(node: str, output: str = "o0") -> dict[str, Any]:
    return {"kind": "output", "node": node, "output": output}


def inp(name: str) -> dict[str, Any]:
    return {"kind": "input", "name": name}


def lit(value: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": value}


def task(name: str, inputs: dict[str, Any] | None = None,
         outputs: dict[str, Any] | None = None, defaults: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    defaults = defaults or {}
    return {
        # Python tasks: the graph checks do not run them, and any output type is allowed.
        "name": name, "kind": "python", "fn": f"checked_pipeline:{name}",
        "interface": {
            "inputs": [{"name": k, "type": t,
                        **({"required": False, "default": defaults[k]} if k in defaults
                           else {})}
                       for k, t in (inputs or {}).items()],
            "outputs": [{"name": k, "type": t} for k, t in (outputs or {}).items()],
        },
    }


def make_spec(nodes: list[dict[str, Any]], tasks: list[dict[str, Any]],
              inputs: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None,
              bindings: dict[str, Any] | None = None) -> WorkflowSpec:
    return WorkflowSpec.model_validate({
        "schema_version": 1, "name": "wf",
        "interface": {"inputs": [{"name": k, "type": t} for k, t in (inputs or {}).items()],
                      "outputs": [{"name": k, "type": t} for k, t in (outputs or {}).items()]},
        "tasks": {t["name"]: t for t in tasks},
        "nodes": nodes,
        "outputs": bindings or {},
    })


def pipeline(score_input: dict[str, Any] | None = None, clean_out: dict[str, Any] = DATAFRAME,
             bindings: dict[str, Any] | None = None) -> WorkflowSpec:
    """prep(n) -> clean -> score(df), with the workflow output bound to score.o0."""
    return make_spec(
        nodes=[
            {"id": "prep", "task": "prep", "inputs": {"n": inp("n")}},
            {"id": "clean", "task": "clean", "inputs": {"rows": ref("prep")}},
            {"id": "score", "task": "score",
             "inputs": score_input if score_input is not None else {"df": ref("clean")}},
        ],
        tasks=[task("prep", {"n": INT}, {"o0": LIST_STR}),
               task("clean", {"rows": LIST_STR}, {"o0": clean_out}),
               task("score", {"df": DATAFRAME}, {"o0": FLOAT})],
        inputs={"n": INT}, outputs={"auc": FLOAT}, bindings=bindings or {"auc": ref("score")},
    )


def at_line(table: dict[FieldPath, int]) -> Callable[[FieldPath], str | None]:
    """A locate function answering from a table of exact paths (like a front-end)."""
    def locate(path: FieldPath) -> str | None:
        line = table.get(path)
        return f"pipeline.py:{line}" if line is not None else None
    return locate


def test_accepts_a_well_typed_workflow() -> None:
    check_workflow(pipeline())


def test_type_mismatch_names_node_input_both_types_and_line() -> None:
    spec = pipeline(clean_out=LIST_STR)
    locate = at_line({("nodes", 2, "inputs", "df"): 42})
    with pytest.raises(TypeMismatchError) as info:
        check_workflow(spec, locate)
    message = str(info.value)
    assert message.startswith(
        "Node 'score' input 'df' expects DataFrame but 'clean.o0' produces list[str] "
        "(pipeline.py:42). "
    )
    assert message.endswith(
        "Change the type of output 'o0' of task 'clean' or of input 'df' of task 'score', "
        "or insert a conversion task."
    )


def test_locate_falls_back_to_the_longest_known_prefix() -> None:
    spec = pipeline(clean_out=LIST_STR)
    with pytest.raises(TypeMismatchError, match=r"\(pipeline.py:7\)"):
        check_workflow(spec, at_line({("nodes", 2): 7}))


def test_without_locate_messages_have_no_position() -> None:
    with pytest.raises(TypeMismatchError) as info:
        check_workflow(pipeline(clean_out=LIST_STR))
    assert "produces list[str]. " in str(info.value)


def test_int_output_feeds_float_and_optional_inputs() -> None:
    spec = make_spec(
        nodes=[{"id": "a", "task": "a"},
               {"id": "b", "task": "b", "inputs": {"x": ref("a"), "y": ref("a")}}],
        tasks=[task("a", outputs={"o0": INT}), task("b", {"x": FLOAT, "y": OPT_INT})],
    )
    check_workflow(spec)


def test_rejects_workflow_input_of_the_wrong_type() -> None:
    spec = make_spec(nodes=[{"id": "a", "task": "a", "inputs": {"x": inp("name")}}],
                     tasks=[task("a", {"x": INT})], inputs={"name": STR})
    with pytest.raises(TypeMismatchError, match=(
            r"^Node 'a' input 'x' expects int but workflow input 'name' is str\. "
            r".*Change the type of workflow input 'name' or of input 'x' of task 'a'")):
        check_workflow(spec)


def test_rejects_a_literal_that_does_not_match_the_input_type() -> None:
    spec = make_spec(nodes=[{"id": "a", "task": "a", "inputs": {"x": lit("ten")}}],
                     tasks=[task("a", {"x": INT})])
    with pytest.raises(TypeMismatchError, match=(
            r"^Node 'a' input 'x' expects int but is given the literal \"ten\" "
            r"\(pipeline.py:3\)\. .*Change the value, or the type of input 'x' of task 'a'\.$")):
        check_workflow(spec, at_line({("nodes", 0, "inputs", "x"): 3}))


def test_accepts_literals_of_the_input_type() -> None:
    spec = make_spec(nodes=[{"id": "a", "task": "a",
                             "inputs": {"x": lit(3), "y": lit(1), "z": lit(None)}}],
                     tasks=[task("a", {"x": INT, "y": FLOAT, "z": OPT_INT})])
    check_workflow(spec)


def test_list_binding_items_are_checked_against_the_item_type() -> None:
    spec = make_spec(
        nodes=[{"id": "a", "task": "a"},
               {"id": "b", "task": "b",
                "inputs": {"xs": {"kind": "list", "items": [lit(1), ref("a")]}}}],
        tasks=[task("a", outputs={"o0": STR}), task("b", {"xs": LIST_INT})],
    )
    locate = at_line({("nodes", 1, "inputs", "xs", "items", 1): 9})
    with pytest.raises(TypeMismatchError, match=(
            r"^Node 'b' input 'xs\[1\]' expects int but 'a.o0' produces str "
            r"\(pipeline.py:9\)")):
        check_workflow(spec, locate)


def test_map_binding_feeds_a_dict_input() -> None:
    spec = make_spec(
        nodes=[{"id": "a", "task": "a"},
               {"id": "b", "task": "b",
                "inputs": {"m": {"kind": "map", "entries": {"k": ref("a"), "j": lit(2)}}}}],
        tasks=[task("a", outputs={"o0": INT}),
               task("b", {"m": {"kind": "map", "value": FLOAT}})],
    )
    check_workflow(spec)


def test_list_binding_cannot_feed_a_scalar_input() -> None:
    spec = make_spec(
        nodes=[{"id": "a", "task": "a", "inputs": {"x": {"kind": "list", "items": [lit(1)]}}}],
        tasks=[task("a", {"x": INT})],
    )
    with pytest.raises(TypeMismatchError, match="expects int but is given a list of bindings"):
        check_workflow(spec)


def test_rejects_duplicate_node_ids_naming_both() -> None:
    spec = make_spec(nodes=[{"id": "a", "task": "t"}, {"id": "b", "task": "t"},
                            {"id": "a", "task": "t"}], tasks=[task("t")])
    locate = at_line({("nodes", 0, "id"): 4, ("nodes", 2, "id"): 8})
    with pytest.raises(CompileError, match=(
            r"^Node id 'a' is used twice, by nodes 0 and 2 \(pipeline.py:8\)\. "
            r"The first one is at pipeline.py:4\. Give every node")):
        check_workflow(spec, locate)


def test_rejects_a_node_running_an_unknown_task() -> None:
    spec = make_spec(nodes=[{"id": "a", "task": "trian"}], tasks=[task("train")])
    locate = at_line({("nodes", 0, "task"): 5})
    with pytest.raises(CompileError, match=(
            r"^Node 'a' runs task 'trian', which workflow 'wf' does not define "
            r"\(pipeline.py:5\)\. Defined tasks: 'train'\. Did you mean 'train'\?")):
        check_workflow(spec, locate)


def test_rejects_a_node_that_runs_nothing() -> None:
    spec = make_spec(nodes=[{"id": "a"}], tasks=[task("t")])
    with pytest.raises(CompileError, match="Node 'a' runs nothing"):
        check_workflow(spec)


def test_rejects_an_upstream_dependency_on_an_unknown_node() -> None:
    spec = make_spec(nodes=[{"id": "prep", "task": "t"},
                            {"id": "b", "task": "t", "upstream": ["prepp"]}],
                     tasks=[task("t")])
    locate = at_line({("nodes", 1, "upstream", 0): 11})
    with pytest.raises(CompileError, match=(
            r"^Node 'b' waits for node 'prepp', which does not exist \(pipeline.py:11\)\. "
            r"Nodes: 'prep', 'b'\. Did you mean 'prep'\?")):
        check_workflow(spec, locate)


def test_rejects_a_binding_to_an_unknown_node() -> None:
    spec = pipeline(score_input={"df": ref("clen")})
    with pytest.raises(CompileError, match=(
            r"^Node 'score' input 'df' refers to node 'clen', which does not exist\. "
            r"Nodes: 'prep', 'clean', 'score'\. Did you mean 'clean'\?")):
        check_workflow(spec)


def test_rejects_a_binding_to_an_unknown_output() -> None:
    spec = pipeline(score_input={"df": ref("clean", "o1")})
    with pytest.raises(CompileError, match=(
            r"^Node 'score' input 'df' refers to output 'o1' of node 'clean', but its task "
            r"'clean' has no such output\. Outputs of 'clean': 'o0'\.")):
        check_workflow(spec)


def test_rejects_a_binding_to_an_unknown_workflow_input() -> None:
    spec = make_spec(nodes=[{"id": "a", "task": "a", "inputs": {"x": inp("m")}}],
                     tasks=[task("a", {"x": INT})], inputs={"n": INT})
    with pytest.raises(CompileError, match=(
            r"^Node 'a' input 'x' refers to workflow input 'm', which workflow 'wf' does "
            r"not declare\. Workflow inputs: 'n'\.")):
        check_workflow(spec)


def test_rejects_an_input_the_task_does_not_have() -> None:
    spec = pipeline(score_input={"df": ref("clean"), "dff": lit(1)})
    locate = at_line({("nodes", 2, "inputs", "dff"): 30})
    with pytest.raises(CompileError, match=(
            r"^Node 'score' sets input 'dff', which task 'score' does not have "
            r"\(pipeline.py:30\)\. Inputs of 'score': 'df'\. Did you mean 'df'\?")):
        check_workflow(spec, locate)


def test_rejects_a_missing_required_input() -> None:
    spec = pipeline(score_input={})
    locate = at_line({("nodes", 2): 20})
    with pytest.raises(CompileError, match=(
            r"^Node 'score' does not bind required input 'df' \(DataFrame\) of task 'score' "
            r"\(pipeline.py:20\)\. .*Bind 'df' on node 'score', or give the task input a "
            r"default\.")):
        check_workflow(spec, locate)


def test_an_input_with_a_default_may_stay_unbound() -> None:
    spec = make_spec(nodes=[{"id": "a", "task": "a"}],
                     tasks=[task("a", {"x": INT}, defaults={"x": 3})])
    check_workflow(spec)


def test_rejects_an_unbound_workflow_output() -> None:
    spec = make_spec(
        nodes=[{"id": "a", "task": "a"}], tasks=[task("a", outputs={"o0": INT})],
        outputs={"total": INT})
    locate = at_line({("interface", "outputs", 0): 2})
    with pytest.raises(CompileError, match=(
            r"^Workflow 'wf' declares output 'total' \(int\) but never binds it "
            r"\(pipeline.py:2\)\.")):
        check_workflow(spec, locate)


def test_rejects_a_bound_but_undeclared_workflow_output() -> None:
    spec = make_spec(nodes=[{"id": "a", "task": "a"}], tasks=[task("a", outputs={"o0": INT})],
                     outputs={"total": INT}, bindings={"total": ref("a"), "totl": ref("a")})
    with pytest.raises(CompileError, match=(
            r"^Workflow 'wf' binds output 'totl', which its interface does not declare\. "
            r"Declared outputs: 'total'\. Did you mean 'total'\?")):
        check_workflow(spec)


def test_rejects_a_workflow_output_of_the_wrong_type() -> None:
    spec = make_spec(nodes=[{"id": "a", "task": "a"}], tasks=[task("a", outputs={"o0": STR})],
                     outputs={"total": INT}, bindings={"total": ref("a")})
    with pytest.raises(TypeMismatchError, match=(
            r"^Workflow output 'total' expects int but 'a.o0' produces str\. .*"
            r"Change the type of output 'o0' of task 'a' or of workflow output 'total'")):
        check_workflow(spec)


def test_rejects_a_cycle_naming_it_in_data_flow_order() -> None:
    spec = make_spec(
        nodes=[{"id": "a", "task": "t", "inputs": {"x": ref("c")}},
               {"id": "b", "task": "t", "inputs": {"x": ref("a")}},
               {"id": "c", "task": "t", "inputs": {"x": ref("b")}}],
        tasks=[task("t", {"x": INT}, {"o0": INT})],
    )
    locate = at_line({("nodes", 0): 1})
    with pytest.raises(CompileError, match=(
            r"^Nodes form a cycle: a -> b -> c -> a \(pipeline.py:1\)\. ")):
        check_workflow(spec, locate)


def test_rejects_a_node_depending_on_itself_through_upstream() -> None:
    spec = make_spec(nodes=[{"id": "a", "task": "t", "upstream": ["a"]}], tasks=[task("t")])
    with pytest.raises(CompileError, match=r"cycle: a -> a\."):
        check_workflow(spec)


def test_reference_errors_are_reported_before_type_errors() -> None:
    spec = pipeline(clean_out=LIST_STR, bindings={"auc": ref("nope")})
    with pytest.raises(CompileError, match="refers to node 'nope'") as info:
        check_workflow(spec)
    assert not isinstance(info.value, TypeMismatchError)


def test_check_does_not_modify_the_spec() -> None:
    spec = pipeline()
    before = spec.model_dump()
    check_workflow(spec)
    assert spec.model_dump() == before


# ------------------------------------------------------------------ topological order


def test_topological_order_is_stable_by_declaration_order() -> None:
    spec = make_spec(
        nodes=[{"id": "join", "task": "t", "upstream": ["left", "right"]},
               {"id": "right", "task": "t", "upstream": ["root"]},
               {"id": "left", "task": "t", "upstream": ["root"]},
               {"id": "root", "task": "t"},
               {"id": "lone", "task": "t"}],
        tasks=[task("t")],
    )
    assert topological_order(spec) == ["root", "right", "left", "join", "lone"]


def test_topological_order_follows_bindings() -> None:
    assert topological_order(pipeline()) == ["prep", "clean", "score"]


def test_topological_order_rejects_cycles_and_unknown_nodes() -> None:
    cyclic = make_spec(nodes=[{"id": "a", "task": "t", "upstream": ["b"]},
                              {"id": "b", "task": "t", "upstream": ["a"]}], tasks=[task("t")])
    with pytest.raises(CompileError, match=r"form a cycle: a -> b -> a"):
        topological_order(cyclic)
    dangling = make_spec(nodes=[{"id": "a", "task": "t", "upstream": ["x"]}], tasks=[task("t")])
    with pytest.raises(CompileError, match="depends on node 'x', which does not exist"):
        topological_order(dangling)


def test_find_cycle_is_none_for_a_dag() -> None:
    assert find_cycle(pipeline()) is None


def test_long_chains_are_checked_without_recursion_limits() -> None:
    count = 3000
    nodes = [{"id": f"n{i}", "task": "t", "upstream": [f"n{i - 1}"] if i else []}
             for i in range(count)]
    check_workflow(make_spec(nodes=nodes, tasks=[task("t")]))
    assert topological_order(make_spec(nodes=nodes[::-1], tasks=[task("t")]))[:2] == \
        ["n0", "n1"]
    nodes[0]["upstream"] = [f"n{count - 1}"]
    with pytest.raises(CompileError, match=(
            r"cycle: n0 -> n1 -> n2 -> n3 -> n4 -> \.\.\. \(2991 more\) -> n2996 -> n2997 "
            r"-> n2998 -> n2999 -> n0\. ")):
        check_workflow(make_spec(nodes=nodes, tasks=[task("t")]))


def test_shell_task_cannot_declare_a_dataframe_output() -> None:
    from flytepath_airflow.ir.models import (
        DataFrameType,
        NodeSpec,
        TaskSpec,
        TypedInterface,
        Variable,
        WorkflowSpec,
    )
    from flytepath_airflow.translators.checks import check_workflow

    task = TaskSpec(name="dump", kind="shell", script="echo hi",
                    interface=TypedInterface(outputs=(Variable(name="df",
                                                               type=DataFrameType()),)))
    spec = WorkflowSpec(schema_version=1, name="wf", tasks={"dump": task},
                        nodes=(NodeSpec(id="dump", task="dump"),))
    with pytest.raises(CompileError,
                       match=r"Task 'dump' \(shell\) declares output 'df' as DataFrame"):
        check_workflow(spec)
