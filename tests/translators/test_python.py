"""The Python front-end: tracing, compile-time checks and their messages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flytepath_airflow.errors import CompileError, TypeMismatchError, UnsupportedTypeError
from flytepath_airflow.ir import InputRef, LiteralBinding, OutputRef, dump_spec
from flytepath_airflow.sdk.targets import load_target

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _write(tmp_path: Path, name: str, body: str) -> str:
    # A unique module name per test: Python caches imported modules by name.
    path = tmp_path / f"{name}_{re.sub(r'[^A-Za-z0-9_]', '_', tmp_path.name)}.py"
    header = "from __future__ import annotations\nfrom flytepath_airflow import task, workflow\n"
    path.write_text(header + textwrap.dedent(body))
    return str(path)


def test_compile_traces_nodes_bindings_and_outputs() -> None:
    spec = load_target(f"{FIXTURES}/typed_flows.py:arithmetic")
    assert [n.id for n in spec.nodes] == ["add", "scale"]
    add, scale = spec.nodes
    assert add.inputs == {"a": InputRef(name="x"), "b": InputRef(name="y")}
    assert scale.inputs["value"] == OutputRef(node="add", output="o0")
    assert scale.inputs["factor"] == LiteralBinding(value=0.5)
    assert spec.outputs == {"o0": OutputRef(node="scale", output="o0")}
    assert spec.interface.input("y").default == 10 and not spec.interface.input("y").required
    assert spec.description == "Add then scale."
    assert spec.tasks["typed_flows.add"].interface.input("a").description == "the first number."
    assert len(spec.version) == 16


def test_named_and_tuple_outputs_follow_flyte_naming() -> None:
    named = load_target(f"{FIXTURES}/typed_flows.py:outputs_by_name")
    assert [v.name for v in named.interface.outputs] == ["total", "mean"]
    tupled = load_target(f"{FIXTURES}/typed_flows.py:tuples")
    assert [v.name for v in tupled.interface.outputs] == ["o0", "o1"]
    assert tupled.outputs["o1"] == OutputRef(node="pair", output="o1")


def test_repeated_task_calls_get_distinct_node_ids(tmp_path: Path) -> None:
    path = _write(tmp_path, "repeat_flow", """
        @task
        def inc(n: int) -> int:
            return n + 1

        @workflow
        def wf(n: int) -> int:
            return inc(n=inc(n=inc(n=n)))
    """)
    spec = load_target(f"{path}:wf")
    assert [n.id for n in spec.nodes] == ["inc", "inc_2", "inc_3"]


def test_compile_rejects_type_mismatch_naming_node_input_types_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "mismatch_flow", """
        @task
        def words(n: int) -> list[str]:
            return ["a"] * n

        @task
        def total(x: int) -> int:
            return x

        @workflow
        def wf(n: int) -> int:
            w = words(n=n)
            return total(x=w)
    """)
    with pytest.raises(TypeMismatchError) as err:
        load_target(f"{path}:wf")
    message = str(err.value)
    assert "node 'total' input 'x' expects int" in message
    assert "'words.o0' produces list[str]" in message
    assert f"{path}:15" in message


def test_compile_allows_int_into_float(tmp_path: Path) -> None:
    path = _write(tmp_path, "widen_flow", """
        @task
        def one() -> int:
            return 1

        @task
        def half(x: float) -> float:
            return x / 2

        @workflow
        def wf() -> float:
            return half(x=one())
    """)
    assert load_target(f"{path}:wf").nodes[1].inputs["x"] == OutputRef(node="one", output="o0")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("return add(a=n)", "needs input 'b'"),
        ("return add(a=n, b=n, c=n)", "has no input 'c'"),
        ("return add(n, n)", "keyword arguments only"),
        ("return 3", "not the result of a task call"),
        ("s = add(a=n, b=n)\nif s:\n    pass\nreturn s", "&, | and ~"),
        ("s = add(a=n, b=n)\nreturn s and s", "&, | and ~"),
        ("s = add(a=n, b=n)\nreturn add(a=s > 1, b=n)", "comparisons are only for"),
        ("return add(a='three', b=n)", "expects int but was given the constant 'three'"),
    ],
)
def test_compile_errors_say_what_and_where(tmp_path: Path, body: str, expected: str) -> None:
    template = """
        @task
        def add(a: int, b: int) -> int:
            return a + b

        @workflow
        def wf(n: int) -> int:
    """
    path = _write(tmp_path, "bad_flow", textwrap.dedent(template) + textwrap.indent(body, "    "))
    with pytest.raises(CompileError) as err:
        load_target(f"{path}:wf")
    assert expected in str(err.value)


def test_compile_rejects_type_without_transformer(tmp_path: Path) -> None:
    path = _write(tmp_path, "untyped_flow", """
        class Opaque:
            pass

        @task
        def make() -> Opaque:
            return Opaque()

        @workflow
        def wf() -> None:
            make()
    """)
    with pytest.raises(UnsupportedTypeError) as err:
        load_target(f"{path}:wf")
    message = str(err.value)
    assert "task 'make' output 'o0'" in message
    assert "Pickled()" in message


def test_unknown_task_option_is_rejected_with_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, "option_flow", """
        @task(retry=3)
        def t() -> None:
            pass
    """)
    with pytest.raises(CompileError, match="unknown option 'retry' \\(did you mean 'retries'"):
        load_target(f"{path}:t")


@pytest.mark.parametrize(("option", "variable"), [
    ('environment={"FLYTEPATH_STORE_ROOT": "/tmp/x"}', "FLYTEPATH_STORE_ROOT"),
    ('secret_requests=[Secret(group="db", env_var="FLYTEPATH_METADATA_URL")]',
     "FLYTEPATH_METADATA_URL"),
], ids=["environment", "secret"])
def test_compile_rejects_env_that_shadows_a_platform_variable(tmp_path: Path, option: str,
                                                              variable: str) -> None:
    path = _write(tmp_path, "shadow_flow", f"""
        from flytepath_airflow.sdk.task import Secret

        @task({option})
        def t() -> None:
            pass
    """)
    with pytest.raises(CompileError, match=f"task '[^']*\\.t' .*{variable} is set by its "
                       "environment or secret_requests, but FLYTEPATH_\\* variables belong to the "
                       "platform"):
        load_target(f"{path}:t")


def test_cache_true_requires_cache_version(tmp_path: Path) -> None:
    path = _write(tmp_path, "cache_flow", """
        @task(cache=True)
        def t(x: int) -> int:
            return x
    """)
    with pytest.raises(CompileError, match="needs cache_version"):
        load_target(f"{path}:t")


def test_version_changes_with_task_code_and_options(tmp_path: Path) -> None:
    body = """
        @task{opts}
        def t(x: int) -> int:
            return x {op} 1

        @workflow
        def wf(x: int) -> int:
            return t(x=x)
    """
    versions = set()
    for i, (opts, op) in enumerate([("", "+"), ("", "-"), ("(retries=2)", "-")]):
        path = _write(tmp_path, f"ver_flow_{i}", body.format(opts=opts, op=op))
        spec = load_target(f"{path}:wf")
        # the module name differs per file; compare with the name normalized out
        module = Path(path).stem
        doc = json.loads(dump_spec(spec).replace(module, "ver_flow"))
        versions.add(json.dumps(doc["tasks"], sort_keys=True))
    assert len(versions) == 3


def test_compile_is_byte_identical_across_processes(tmp_path: Path) -> None:
    outputs = []
    for i in range(2):
        out = tmp_path / f"spec{i}.json"
        subprocess.run(
            [sys.executable, "-m", "flytepath_airflow.cli.main", "compile",
             "examples/ml_pipeline.py:training_pipeline", "-o", str(out)],
            check=True, capture_output=True, cwd=Path(__file__).resolve().parents[2],
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["version"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ('requests=Resources(cpu="2 cores")', "requests.cpu"),
        ('limits=Resources(mem="-1Gi")', "limits.mem"),
        ('pod_overrides={"hostNetwork": True}', "hostNetwork"),
        ('pod_overrides={"labels": {"team": "r" * 64}}',
         "pod_overrides.labels['team'] value 'rrrr"),
        ('pod_overrides={"labels": {"-team": "recsys"}}',
         "pod_overrides.labels key '-team' is not a valid Kubernetes key: its name '-team' "
         "must be letters"),
        ('pod_overrides={"annotations": {"note": "x" * 300_000}}',
         "pod_overrides.annotations take 300004 bytes together, more than the 262144 bytes"),
    ],
)
def test_bad_resources_and_overrides_are_compile_errors(
    tmp_path: Path, options: str, message: str
) -> None:
    path = _write(tmp_path, "pod_flow", f"""
        from flytepath_airflow import Resources

        @task({options})
        def t() -> None:
            pass
    """)
    with pytest.raises(CompileError) as err:
        load_target(f"{path}:t")
    assert message in str(err.value) and "'pod_flow" in str(err.value)
