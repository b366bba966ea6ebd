"""pandera DataFrame models as task types: identity in the spec, validation at both ends,
and the compile-time check across an edge."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import DataFrame, Series

from flytepath_airflow.errors import LiteralValueError, TaskExecutionError, TypeMismatchError
from flytepath_airflow.integrations.pandera import schema_digest
from flytepath_airflow.ir.models import DataFrameType
from flytepath_airflow.stores.blob import BlobStore, NodeBlobContext
from flytepath_airflow.types import UnsupportedTypeError, default_engine


class Scores(pa.DataFrameModel):
    name: Series[str]
    score: Series[float] = pa.Field(ge=0, le=1)


class StricterScores(pa.DataFrameModel):
    name: Series[str]
    score: Series[float] = pa.Field(ge=0, le=0.5)


@pytest.fixture
def ctx(tmp_path: Path) -> NodeBlobContext:
    return NodeBlobContext(BlobStore(str(tmp_path / "store")), "runs/r/nodes/n/attempt-1",
                           scratch=str(tmp_path / "scratch"))


def test_the_engine_finds_the_pandera_type_and_puts_the_schema_in_the_spec_type() -> None:
    lt = default_engine().to_literal_type(DataFrame[Scores])
    assert isinstance(lt, DataFrameType) and lt.format == "parquet"
    (ref,) = lt.validation
    assert ref.library == "pandera"
    assert ref.name == f"{__name__}:Scores"
    assert ref.digest == schema_digest(Scores)


def test_a_changed_check_changes_the_schema_digest() -> None:
    assert schema_digest(Scores) != schema_digest(StricterScores)
    assert schema_digest(Scores) == schema_digest(Scores)


def test_a_valid_frame_round_trips_through_the_blob_store(ctx: NodeBlobContext) -> None:
    engine = default_engine()
    frame = pd.DataFrame({"name": ["a", "b"], "score": [0.1, 0.9]})
    literal = engine.to_literal(frame, DataFrame[Scores], ctx, "o0")
    assert literal["format"] == "parquet"
    back = engine.to_python(literal, DataFrame[Scores], ctx)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_an_invalid_output_names_every_failing_column_check_and_row(
        ctx: NodeBlobContext) -> None:
    frame = pd.DataFrame({"name": ["a", "b", "c"], "score": [0.5, 1.5, -2.0]})
    with pytest.raises(LiteralValueError) as err:
        default_engine().to_literal(frame, DataFrame[Scores], ctx, "o0")
    message = str(err.value)
    assert f"output 'o0': the DataFrame does not pass pandera schema {__name__}:Scores" in message
    assert "column 'score', check greater_than_or_equal_to(0)" in message
    assert "column 'score', check less_than_or_equal_to(1)" in message
    assert "row 1: 1.5" in message and "row 2: -2.0" in message
    assert "First failing rows:" in message


def test_an_invalid_stored_frame_fails_when_loaded_as_an_input(ctx: NodeBlobContext) -> None:
    engine = default_engine()
    bad = pd.DataFrame({"name": ["a"], "score": [7.0]})
    literal = engine.to_literal(bad, pd.DataFrame, ctx, "o0")  # stored without a schema
    with pytest.raises(LiteralValueError, match=r"as loaded: the DataFrame does not pass"):
        engine.to_python(literal, DataFrame[Scores], ctx)


def test_a_model_that_is_not_a_dataframe_model_is_an_unsupported_type() -> None:
    class NotAModel:
        pass

    with pytest.raises(UnsupportedTypeError, match="needs a pandera DataFrameModel subclass"):
        default_engine().to_literal_type(DataFrame[NotAModel])  # type: ignore[type-var]


@pytest.mark.usefixtures("flows_on_path")
def test_workflow_run_validates_outputs_and_inputs() -> None:
    import pandera_flows as flows

    assert flows.pandera_chain(amounts=[1.0, 2.5]) == 3.5
    with pytest.raises(TaskExecutionError) as out:
        flows.pandera_chain(amounts=[1.0, -4.0])
    assert "node 'orders' failed" in str(out.value)
    assert "output 'o0': the DataFrame does not pass pandera schema" in str(out.value)
    with pytest.raises(TaskExecutionError) as inp:
        flows.raw_edge(amounts=[1.0, -4.0])
    message = str(inp.value)
    assert "node 'total' failed: input 'df' of task 'pandera_flows.total'" in message
    assert "column 'amount', check greater_than_or_equal_to(0)" in message


@pytest.mark.usefixtures("flows_on_path")
def test_compile_accepts_the_same_schema_a_subclass_and_an_unvalidated_frame() -> None:
    import pandera_flows as flows

    for wf in (flows.pandera_chain, flows.subclass_edge, flows.raw_edge):
        wf.compile()
    assert flows.subclass_edge(amounts=[2.0]) == 2.0


@pytest.mark.usefixtures("flows_on_path")
def test_compile_refuses_a_frame_of_an_unrelated_schema() -> None:
    import pandera_flows as flows

    with pytest.raises(TypeMismatchError) as err:
        flows.wrong_edge.compile()
    message = str(err.value)
    assert "node 'total' input 'df' expects DataFrame[pandera_flows:Orders]" in message
    assert "'refunds.o0' produces DataFrame[pandera_flows:Refunds]" in message
    assert "neither pandera_flows:Orders nor a subclass of it" in message


@pytest.mark.usefixtures("flows_on_path")
def test_the_schema_is_part_of_the_spec_version(tmp_path: Path) -> None:
    """Two modules that differ only in one pandera check compile to different versions."""
    source = Path(__file__).with_name("pandera_flows.py").read_text()
    changed = source.replace("amount: Series[float] = pa.Field(ge=0)",
                             "amount: Series[float] = pa.Field(ge=1)")
    assert changed != source
    versions = []
    for name, text in (("flows_a", source), ("flows_b", changed)):
        (tmp_path / f"{name}.py").write_text(text)
        versions.append(_compile_version(tmp_path, name))
    assert versions[0] != versions[1]


def _compile_version(folder: Path, module: str) -> Any:
    code = textwrap.dedent(f"""
        import {module} as m
        print(m.pandera_chain.compile().version)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=folder, check=True)
    return proc.stdout.strip()


def test_a_missing_pandera_names_the_extra() -> None:
    code = textwrap.dedent("""
        import sys
        sys.modules["pandera"] = None  # as if not installed
        from flytepath_airflow.errors import MissingDependencyError
        from flytepath_airflow.integrations.pandera import schema_digest
        try:
            schema_digest(type("Orders", (), {}))
        except MissingDependencyError as exc:
            print(exc)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert "pip install 'airflow-provider-flytepath[pandera]'" in proc.stdout
