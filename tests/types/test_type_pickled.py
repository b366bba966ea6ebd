"""Explicitly pickled values: `Annotated[T, Pickled()]`."""

from __future__ import annotations

import threading
from typing import Annotated, Any

import pytest

from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.models import PickledType
from flytepath_airflow.types import (
    MissingBlobContextError,
    Pickled,
    TypeEngine,
    UnsupportedTypeError,
    validate_literal,
)


class Estimator:
    """Stands in for a fitted model that has no transformer."""

    def __init__(self, coef: list[float]) -> None:
        self.coef = coef

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Estimator) and other.coef == self.coef


PickledEstimator = Annotated[Estimator, Pickled()]


def test_pickled_literal_type_names_the_class(engine: TypeEngine) -> None:
    assert engine.to_literal_type(PickledEstimator) == PickledType(
        python_type=f"{__name__}:Estimator"
    )


def test_pickled_value_roundtrips_through_the_store(engine: TypeEngine, ctx: Any) -> None:
    literal = engine.to_literal(Estimator([1.0, 2.0]), PickledEstimator, ctx, "model")
    assert set(literal) == {"uri", "sha256", "format"} and literal["format"] == "pickle"
    assert literal["uri"].endswith("/model.pkl")
    assert validate_literal(literal, engine.to_literal_type(PickledEstimator)) == literal
    assert engine.to_python(literal, PickledEstimator, ctx) == Estimator([1.0, 2.0])


def test_without_the_marker_the_class_is_unsupported(engine: TypeEngine) -> None:
    with pytest.raises(UnsupportedTypeError, match=r"Annotated\[T, Pickled\(\)\]"):
        engine.to_literal_type(Estimator)


def test_pickled_marker_wins_over_a_type_the_engine_knows(engine: TypeEngine, ctx: Any) -> None:
    py_type = Annotated[dict[str, int], Pickled()]
    assert isinstance(engine.to_literal_type(py_type), PickledType)
    literal = engine.to_literal({"a": 1}, py_type, ctx, "o0")
    assert engine.to_python(literal, py_type, ctx) == {"a": 1}


def test_pickled_value_of_the_wrong_class_is_rejected(engine: TypeEngine, ctx: Any) -> None:
    with pytest.raises(LiteralValueError, match=r"expected .*Estimator \(pickled\), got int"):
        engine.to_literal(3, PickledEstimator, ctx, "o0")


def test_unpicklable_value_is_a_clear_error(engine: TypeEngine, ctx: Any) -> None:
    py_type = Annotated[object, Pickled()]
    with pytest.raises(LiteralValueError, match="cannot be pickled"):
        engine.to_literal(threading.Lock(), py_type, ctx, "o0")


def test_pickled_without_a_context_is_a_clear_error(engine: TypeEngine) -> None:
    with pytest.raises(MissingBlobContextError):
        engine.to_literal(Estimator([]), PickledEstimator)
