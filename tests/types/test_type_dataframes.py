"""pandas DataFrames as Parquet blobs, typed columns, and lazy/optional pandas."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from typing import Annotated, Any

import pandas as pd
import pytest

from flytepath_airflow.errors import LiteralValueError, MissingDependencyError
from flytepath_airflow.ir.models import DataFrameType, FieldSpec, SimpleType
from flytepath_airflow.types import (
    Columns,
    MissingBlobContextError,
    TypeEngine,
    validate_literal,
)

Scores = Annotated[pd.DataFrame, Columns(a=int, b=float)]


@dataclasses.dataclass
class Split:
    train: pd.DataFrame
    test: Scores


def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5], "c": ["x", "y", "z"]})


def test_dataframe_literal_type_untyped_and_typed(engine: TypeEngine) -> None:
    untyped = engine.to_literal_type(pd.DataFrame)
    assert untyped == DataFrameType(columns=None, python_type="pandas:DataFrame")
    typed = engine.to_literal_type(Scores)
    assert isinstance(typed, DataFrameType)
    assert typed.columns == (
        FieldSpec(name="a", type=SimpleType(name="int")),
        FieldSpec(name="b", type=SimpleType(name="float")),
    )


def test_dataframe_roundtrip_through_parquet(engine: TypeEngine, ctx: Any) -> None:
    literal = engine.to_literal(frame(), pd.DataFrame, ctx, "o0")
    assert set(literal) == {"uri", "sha256", "format"} and literal["format"] == "parquet"
    assert literal["uri"].endswith("/o0.parquet")
    assert validate_literal(literal, engine.to_literal_type(pd.DataFrame)) == literal
    back = engine.to_python(json.loads(json.dumps(literal)), pd.DataFrame, ctx)
    pd.testing.assert_frame_equal(back, frame())


def test_typed_dataframe_allows_extra_columns(engine: TypeEngine, ctx: Any) -> None:
    back = engine.to_python(engine.to_literal(frame(), Scores, ctx, "o0"), Scores, ctx)
    assert list(back.columns) == ["a", "b", "c"]


def test_typed_dataframe_missing_a_column_names_it(engine: TypeEngine, ctx: Any) -> None:
    with pytest.raises(LiteralValueError, match=r"^o0: the DataFrame lacks declared column\(s\) b"):
        engine.to_literal(frame().drop(columns=["b"]), Scores, ctx, "o0")


def test_typed_dataframe_with_a_wrong_dtype_says_how_to_fix(engine: TypeEngine, ctx: Any) -> None:
    bad = frame().assign(a=["1", "2", "3"])
    with pytest.raises(LiteralValueError, match=r"column 'a' is declared int but has dtype"):
        engine.to_literal(bad, Scores, ctx, "o0")


def test_int_column_is_accepted_where_float_is_declared(engine: TypeEngine, ctx: Any) -> None:
    engine.to_literal(frame().assign(b=[1, 2, 3]), Scores, ctx, "o0")


def test_reading_checks_declared_columns(engine: TypeEngine, ctx: Any) -> None:
    literal = engine.to_literal(frame()[["c"]], pd.DataFrame, ctx, "o0")
    with pytest.raises(LiteralValueError, match="lacks declared column"):
        engine.to_python(literal, Scores, ctx)


def test_dataframe_without_a_context_is_a_clear_error(engine: TypeEngine) -> None:
    with pytest.raises(MissingBlobContextError, match="storing a DataFrame needs blob storage"):
        engine.to_literal(frame(), pd.DataFrame, None, "o0")


def test_dataframe_value_must_be_a_dataframe(engine: TypeEngine, ctx: Any) -> None:
    with pytest.raises(LiteralValueError, match="expected a pandas DataFrame, got dict"):
        engine.to_literal({"a": [1]}, pd.DataFrame, ctx, "o0")


def test_dataframe_that_parquet_cannot_hold_is_a_clear_error(
    engine: TypeEngine, ctx: Any
) -> None:
    with pytest.raises(LiteralValueError, match="cannot be written as Parquet"):
        engine.to_literal(pd.DataFrame({"a": [1, "x", 2.5]}), pd.DataFrame, ctx, "o0")


def test_dataframes_nested_in_a_dataclass_roundtrip(engine: TypeEngine, ctx: Any) -> None:
    value = Split(train=frame(), test=frame().head(1))
    literal = engine.to_literal(value, Split, ctx, "o0")
    assert literal["train"]["uri"] != literal["test"]["uri"]
    back = engine.to_python(literal, Split, ctx)
    pd.testing.assert_frame_equal(back.test, frame().head(1))


def test_identical_frames_hash_the_same_wherever_they_are_stored(
    engine: TypeEngine, ctx: Any
) -> None:
    one = engine.to_literal(frame(), pd.DataFrame, ctx, "one")
    two = engine.to_literal(frame(), pd.DataFrame, ctx, "two")
    lt = engine.to_literal_type(pd.DataFrame)
    assert one["uri"] != two["uri"]
    assert engine.hash_literal(one, lt) == engine.hash_literal(two, lt)


def test_missing_pyarrow_raises_missing_dependency_with_the_pandas_extra(
    engine: TypeEngine, ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependencyError) as err:
        engine.to_literal(frame(), pd.DataFrame, ctx, "o0")
    assert err.value.extra == "pandas"
    assert "pip install 'airflow-provider-flytepath[pandas]'" in str(err.value)


def test_matching_ordinary_types_never_imports_pandas() -> None:
    code = textwrap.dedent(
        """
        import dataclasses, sys
        from typing import Optional
        from flytepath_airflow.types import File, default_engine, UnsupportedTypeError

        @dataclasses.dataclass
        class P:
            x: int
            f: Optional[File] = None

        engine = default_engine()
        engine.to_literal_type(P)
        engine.to_literal(P(1), P)
        try:
            engine.to_literal_type(object)
        except UnsupportedTypeError:
            pass
        assert "pandas" not in sys.modules, "pandas was imported"
        assert "pyarrow" not in sys.modules, "pyarrow was imported"
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
