"""pandera DataFrame models as FlytePath types: `pandera.typing.DataFrame[Schema]`.

A task that declares `-> DataFrame[Orders]` has its frame validated against `Orders`
before it is published, and a task that takes `df: DataFrame[Orders]` has it validated
after it is loaded. Validation is lazy, so one failure reports every failing column and
check at once. The frame is stored exactly like a plain pandas frame (the Parquet storage
of types/dataframes.py); what the schema adds to the spec is its identity, a
`ValidationRef` holding the model's import path, a digest of its definition and the
paths of the models it extends. The digest puts the schema in the spec's version; the
bases let the compiler accept a subclass where its parent is expected.

pandera comes with the `[pandera]` extra. Matching a type looks at the class's module
name only; pandera is imported when a pandera type is described or a value converted.

Must not import at module level: pandas, pandera (nor airflow, kubernetes, stores).
"""

from __future__ import annotations

import hashlib
import html
import inspect
import json
import typing
from typing import Any

from flytepath_airflow.errors import LiteralValueError, require
from flytepath_airflow.integrations._decks import STYLE, attach_deck, table
from flytepath_airflow.ir.models import DataFrameType, LiteralType, ValidationRef
from flytepath_airflow.types import TypeEngine, TypeTransformer, UnsupportedTypeError
from flytepath_airflow.types._make import dataframe_type
from flytepath_airflow.types.context import BlobContext
from flytepath_airflow.types.dataframes import PandasDataFrameTransformer
from flytepath_airflow.types.engine import type_path
from flytepath_airflow.types.markers import annotated_parts
from flytepath_airflow.types.render import describe_value

__all__ = [
    "LIBRARY",
    "PanderaDataFrameTransformer",
    "pandera_model",
    "register",
    "render_pandera_report_html",
    "schema_digest",
    "schema_ref",
    "validate_frame",
]

LIBRARY = "pandera"
"""The `ValidationRef.library` of pandera schemas."""

_PURPOSE = "Validating DataFrames with pandera"
_SHOWN_CHECKS = 10
_SHOWN_VALUES = 5
_SHOWN_ROWS = 3
_SHOWN_COLUMNS = 12  # a message, not a dump: wide frames show their first and last columns
_SHOWN_CHARS = 80
_LOADED = "as loaded"  # the input side: the executor adds which input of which task


def pandera_model(py_type: Any) -> type | None:
    """The schema model of `pandera.typing.DataFrame[Model]` (bare or Annotated), else None.

    Never imports pandera: it looks at the generic's module and name.
    """
    base, _ = annotated_parts(py_type)
    origin = typing.get_origin(base)
    if not isinstance(origin, type) or origin.__name__ != "DataFrame":
        return None
    if origin.__module__.split(".")[:2] != ["pandera", "typing"]:
        return None
    args = typing.get_args(base)
    return args[0] if args else None


def _pandera() -> Any:
    require("pandas", "pandera", _PURPOSE)
    return require("pandera.pandas", "pandera", _PURPOSE)


def _check_model(model: Any) -> Any:
    """The model's `DataFrameSchema`, or a user error saying why it cannot be had."""
    pa = _pandera()
    if not (isinstance(model, type) and issubclass(model, pa.DataFrameModel)):
        raise UnsupportedTypeError(
            model,
            "pandera.typing.DataFrame[...] needs a pandera DataFrameModel subclass "
            "(class Orders(pa.DataFrameModel): ...); polars and other backends are not "
            "supported yet",
        )
    dataframe_model: Any = model  # a DataFrameModel class, which mypy sees as a bare type
    try:
        return dataframe_model.to_schema()
    except Exception as exc:
        raise UnsupportedTypeError(
            model, f"pandera cannot build its schema ({type(exc).__name__}: {exc}); fix the model"
        ) from exc


def _describe_check(check: Any) -> dict[str, Any]:
    return {
        "name": str(getattr(check, "name", None) or type(check).__name__),
        "statistics": getattr(check, "statistics", None) or {},
    }


def _describe_component(component: Any) -> dict[str, Any]:
    return {
        "dtype": str(getattr(component, "dtype", None)),
        "nullable": bool(getattr(component, "nullable", False)),
        "unique": bool(getattr(component, "unique", False)),
        "coerce": bool(getattr(component, "coerce", False)),
        "required": bool(getattr(component, "required", True)),
        "regex": bool(getattr(component, "regex", False)),
        "checks": [_describe_check(c) for c in getattr(component, "checks", None) or ()],
    }


def _user_sources(model: type) -> list[str]:
    # Custom checks are methods of the model; their bodies only show in the source.
    sources = []
    for cls in model.__mro__:
        if cls.__module__.split(".")[0] in ("pandera", "typing", "builtins", "pydantic"):
            continue
        try:
            sources.append(inspect.getsource(cls))
        except (OSError, TypeError):
            sources.append(type_path(cls))
    return sources


def schema_digest(model: type) -> str:
    """sha256 of a model's definition: columns, dtypes, checks, options and the source of
    the user's classes (so a changed custom check changes it too).

    :param model: a pandera DataFrameModel subclass.
    """
    schema = _check_model(model)
    index = getattr(schema, "index", None)
    doc = {
        "columns": {name: _describe_component(col) for name, col in schema.columns.items()},
        "index": None if index is None else _describe_component(index),
        "checks": [_describe_check(c) for c in schema.checks or ()],
        "options": {
            key: repr(getattr(schema, key, None))
            for key in ("strict", "ordered", "coerce", "unique_column_names")
        },
        "unique": repr(getattr(schema, "unique", None)),
        "source": _user_sources(model),
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def schema_ref(model: type) -> ValidationRef:
    """The spec's identity of a pandera model: import path, digest and parent models."""
    pa = _pandera()
    bases = tuple(
        type_path(cls)
        for cls in model.__mro__[1:]
        if isinstance(cls, type)
        and issubclass(cls, pa.DataFrameModel)
        and cls.__module__.split(".")[0] != "pandera"
    )
    return ValidationRef(
        library=LIBRARY, name=type_path(model), digest=schema_digest(model), bases=bases
    )


def validate_frame(frame: Any, model: Any, where: str) -> Any:
    """Validate `frame` against `model` lazily; return the validated frame.

    :param frame: a pandas DataFrame.
    :param model: the pandera DataFrameModel.
    :param where: what the frame is, for the message ("output 'o0'", "input 'df'").
    :raises LiteralValueError: the frame fails; the message names each failing column and
        check, a few failing values with their rows, and the first failing rows.
    """
    pa = _pandera()
    title = f"pandera {model.__name__} ({'input' if where == _LOADED else where})"
    try:
        checked = model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        attach_deck(title, lambda: render_pandera_report_html(model, frame, cases))
        raise LiteralValueError(_failure_message(exc, frame, model, where)) from None
    except pa.errors.SchemaError as exc:  # raised for problems lazy mode cannot collect
        text = str(exc)
        attach_deck(title, lambda: render_pandera_report_html(model, frame, None, text))
        raise LiteralValueError(
            f"{where}: the DataFrame does not pass pandera schema {type_path(model)}: "
            f"{exc}. Fix the data, or relax the schema."
        ) from None
    attach_deck(title, lambda: render_pandera_report_html(model, checked, None))
    return checked


_SHOWN_CASES = 200


def render_pandera_report_html(
    model: Any, frame: Any, failure_cases: Any, error: str = ""
) -> str:
    """A report page: the schema's columns and checks, then the validation result.

    :param model: the pandera DataFrameModel.
    :param frame: the frame that was validated.
    :param failure_cases: pandera's failure cases (a DataFrame), or None when it passed.
    :param error: a non-lazy error's text, when there are no failure cases.
    """
    schema = _check_model(model)
    columns = table(
        ["column", "dtype", "nullable", "unique", "checks"],
        (
            ("", [str(name), str(col.dtype), str(bool(col.nullable)), str(bool(col.unique)),
                  ", ".join(_check_text(c) for c in col.checks) or "-"])
            for name, col in schema.columns.items()
        ),
    )
    frame_checks = ", ".join(_check_text(c) for c in schema.checks or ()) or "none"
    shape = f"{len(frame)} rows x {len(frame.columns)} columns"
    if failure_cases is None and not error:
        result = f"<p class='ok'>passed: {html.escape(shape)}</p>"
    elif failure_cases is None:
        result = f"<p class='bad'>failed: {html.escape(error)}</p>"
    else:
        shown = failure_cases.head(_SHOWN_CASES)
        cut = f" (first {_SHOWN_CASES} shown)" if len(failure_cases) > _SHOWN_CASES else ""
        result = (
            f"<p class='bad'>failed: {len(failure_cases)} failure(s) in {html.escape(shape)}"
            f"{cut}</p>" + table(
                ["column", "check", "failure case", "row"],
                (
                    ("bad", [str(row["column"]), str(row["check"]),
                             repr(row["failure_case"])[:_SHOWN_CHARS],
                             str(row["index"])])
                    for _, row in shown.iterrows()
                ),
            )
        )
    return (
        f"<section class='flytepath-report'>{STYLE}"
        f"<h3>pandera schema {html.escape(type_path(model))}</h3>{columns}"
        f"<p>frame-level checks: {html.escape(frame_checks)}</p>"
        f"<h3>result</h3>{result}</section>"
    )


def _check_text(check: Any) -> str:
    described = _describe_check(check)
    stats = ", ".join(f"{k}={v!r}" for k, v in described["statistics"].items())
    return f"{described['name']}({stats})" if stats else str(described["name"])


def _failure_message(exc: Any, frame: Any, model: type, where: str) -> str:
    cases = exc.failure_cases
    lines = []
    groups = list(cases.groupby(["column", "check"], dropna=False, sort=False))
    for (column, check), group in groups[:_SHOWN_CHECKS]:
        shown = []
        for _, row in group.head(_SHOWN_VALUES).iterrows():
            index = row.get("index")
            at = "" if index is None or index != index else f"row {index}: "
            shown.append(f"{at}{repr(row['failure_case'])[:_SHOWN_CHARS]}")
        more = f" (+{len(group) - _SHOWN_VALUES} more)" if len(group) > _SHOWN_VALUES else ""
        target = "the frame" if column is None or column != column else f"column {column!r}"
        lines.append(
            f"  {target}, check {check}: {len(group)} failure(s), e.g. {', '.join(shown)}{more}"
        )
    if len(groups) > _SHOWN_CHECKS:
        lines.append(f"  ... and {len(groups) - _SHOWN_CHECKS} more failing checks")
    rows = ""
    indexes = [i for i in cases["index"].dropna().unique()[:_SHOWN_ROWS]]
    if indexes:
        try:
            rows = "\nFirst failing rows:\n" + frame.loc[indexes].to_string(
                max_cols=_SHOWN_COLUMNS, max_colwidth=_SHOWN_CHARS)
        except (KeyError, TypeError, ValueError):  # an index pandera reports but loc refuses
            rows = ""
    return (
        f"{where}: the DataFrame does not pass pandera schema {type_path(model)} "
        f"({len(cases)} failure(s)):\n" + "\n".join(lines) + rows +
        "\nFix the data, or change the schema if the data is right."
    )


class PanderaDataFrameTransformer(TypeTransformer[Any]):
    """`pandera.typing.DataFrame[Model]` <-> a Parquet blob, validated at both ends."""

    name = "pandera.DataFrame"

    def __init__(self) -> None:
        self._frames = PandasDataFrameTransformer()

    def matches(self, py_type: Any) -> bool:
        """`pandera.typing.DataFrame[Model]`, bare or Annotated."""
        return pandera_model(py_type) is not None

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """A Parquet `DataFrameType` carrying the model's `ValidationRef`."""
        model = pandera_model(py_type)
        assert model is not None
        ref = schema_ref(model)
        base = dataframe_type(None, type_path(typing.get_origin(annotated_parts(py_type)[0])))
        return DataFrameType.model_validate({**dict(base), "validation": (ref,)})

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        """Validate the frame, then store it as a plain pandas frame."""
        pd = require("pandas", "pandera", _PURPOSE)
        model = pandera_model(py_type)
        assert model is not None
        if not isinstance(value, pd.DataFrame):  # type: ignore[attr-defined]
            raise LiteralValueError(
                f"{name}: expected a pandas DataFrame, got {describe_value(value)}."
            )
        checked = validate_frame(value, model, f"output {name!r}")
        return self._frames.to_literal(checked, pd.DataFrame, engine, ctx, name)  # type: ignore[attr-defined]

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> Any:
        """Load the frame, then validate it."""
        pd = require("pandas", "pandera", _PURPOSE)
        model = pandera_model(py_type)
        assert model is not None
        frame = self._frames.to_python(literal, pd.DataFrame, engine, ctx)  # type: ignore[attr-defined]
        return validate_frame(frame, model, _LOADED)


def register(engine: TypeEngine) -> None:
    """Entry point of the `flytepath.plugins` group: add the pandera transformer."""
    engine.register(PanderaDataFrameTransformer())
