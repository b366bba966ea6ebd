"""pandas DataFrames stored as Parquet blobs, optionally with typed columns.

`pd.DataFrame` maps to `DataFrameType(format="parquet")`; `Annotated[pd.DataFrame,
Columns(a=int, b=float)]` adds typed columns, which the compiler checks between tasks and
the engine checks on the frames themselves (declared columns present, simple types with a
compatible dtype; extra columns are fine). The literal is
`{"uri": ..., "sha256": ..., "format": "parquet"}`, written with pyarrow.

pandas and pyarrow come with the `[pandas]` extra. Matching a type never imports pandas:
it looks at the class's module name, so a workflow without data frames never pays for it.

Must not import at module level: pandas, pyarrow (nor airflow, kubernetes, stores).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flytepath_airflow.errors import LiteralValueError, require
from flytepath_airflow.ir.models import DataFrameType, FieldSpec, LiteralType, SimpleType
from flytepath_airflow.types._blobs import blob_name, need_ctx, ref_of
from flytepath_airflow.types._make import dataframe_type, field_spec
from flytepath_airflow.types.context import BlobContext
from flytepath_airflow.types.engine import TypeEngine, TypeTransformer, type_path
from flytepath_airflow.types.markers import Columns, annotated_parts, find_marker
from flytepath_airflow.types.render import describe_value, render_type

__all__ = ["PandasDataFrameTransformer", "is_pandas_dataframe_class"]

_PURPOSE = "Storing pandas DataFrames as Parquet"


def is_pandas_dataframe_class(py_type: Any) -> bool:
    """Whether `py_type` is pandas.DataFrame or a subclass, without importing pandas."""
    if not isinstance(py_type, type):
        return False
    return any(
        cls.__name__ == "DataFrame" and cls.__module__.split(".")[0] == "pandas"
        for cls in py_type.__mro__
    )


def _libraries() -> tuple[Any, Any]:
    pd = require("pandas", "pandas", _PURPOSE)
    require("pyarrow", "pandas", _PURPOSE)
    return pd, require("pandas.api.types", "pandas", _PURPOSE)


def _dtype_checks(ptypes: Any) -> dict[str, Callable[[Any], bool]]:
    return {
        "int": ptypes.is_integer_dtype,
        "float": lambda d: ptypes.is_float_dtype(d) or ptypes.is_integer_dtype(d),
        "str": lambda d: ptypes.is_string_dtype(d) or ptypes.is_object_dtype(d),
        "bool": ptypes.is_bool_dtype,
        "datetime": ptypes.is_datetime64_any_dtype,
        "duration": ptypes.is_timedelta64_dtype,
    }


class PandasDataFrameTransformer(TypeTransformer[Any]):
    """`pandas.DataFrame` (optionally `Annotated[..., Columns(...)]`) <-> a Parquet blob."""

    name = "pandas.DataFrame"

    def matches(self, py_type: Any) -> bool:
        """pandas.DataFrame (or a subclass), bare or Annotated."""
        return is_pandas_dataframe_class(annotated_parts(py_type)[0])

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """`DataFrameType` with the declared columns, or untyped columns (None)."""
        base, _ = annotated_parts(py_type)
        marker: Columns | None = find_marker(py_type, Columns)
        columns = None
        if marker is not None:
            columns = [field_spec(col, engine.to_literal_type(tp)) for col, tp in marker.items()]
        return dataframe_type(columns, type_path(base))

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        """Write the frame as Parquet through `ctx`, after checking the declared columns."""
        pd, ptypes = _libraries()
        if not isinstance(value, pd.DataFrame):
            raise LiteralValueError(
                f"{name}: expected a pandas DataFrame, got {describe_value(value)}."
            )
        lt = engine.to_literal_type(py_type)
        assert isinstance(lt, DataFrameType)
        _check_columns(value, lt.columns, name, ptypes, check_dtypes=True)
        ctx = need_ctx(ctx, "DataFrame", name, "storing")
        def write(target: Any) -> None:
            try:
                value.to_parquet(target, engine="pyarrow")
            except (ValueError, TypeError) as exc:
                raise LiteralValueError(
                    f"{name}: this DataFrame cannot be written as Parquet ({exc}). Parquet "
                    f"needs string column names and columns of one type each."
                ) from exc
            except Exception as exc:
                if type(exc).__module__.startswith("pyarrow"):
                    raise LiteralValueError(
                        f"{name}: this DataFrame cannot be written as Parquet ({exc}). Make "
                        f"each column hold one type (mixed object columns are the usual cause)."
                    ) from exc
                raise

        blob = blob_name(name, ".parquet")
        open_for_write = getattr(ctx, "open_for_write", None)
        if open_for_write is not None:  # streams into the store, hashing as it writes
            with open_for_write(blob) as writer:
                write(writer)
            ref = writer.ref
        else:
            buffer = io.BytesIO()
            write(buffer)
            ref = ctx.write_bytes(blob, buffer.getbuffer())
        return {"uri": ref["uri"], "sha256": ref["sha256"], "format": "parquet"}

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> Any:
        """Read the Parquet blob back into a DataFrame and check the declared columns."""
        pd, ptypes = _libraries()
        if not isinstance(literal, dict) or "uri" not in literal or "sha256" not in literal:
            raise LiteralValueError(
                f"cannot decode {describe_value(literal)} as a DataFrame: expected "
                f'{{"uri": ..., "sha256": ..., "format": "parquet"}}.'
            )
        ctx = need_ctx(ctx, "DataFrame", str(literal["uri"]), "reading")
        def decode(source: Any) -> Any:
            return pd.read_parquet(source, engine="pyarrow")

        read_and_decode = getattr(ctx, "read_and_decode", None)
        if read_and_decode is not None:  # verifies the sha256 beside the decode
            frame = read_and_decode(ref_of(literal), decode)
        else:
            frame = decode(io.BytesIO(ctx.read_bytes(ref_of(literal))))
        lt = engine.to_literal_type(py_type)
        assert isinstance(lt, DataFrameType)
        _check_columns(frame, lt.columns, str(literal["uri"]), ptypes, check_dtypes=False)
        return frame


def _check_columns(
    frame: Any,
    columns: tuple[FieldSpec, ...] | None,
    name: str,
    ptypes: Any,
    *,
    check_dtypes: bool,
) -> None:
    if not columns:
        return
    present = [str(c) for c in frame.columns]
    missing = [c.name for c in columns if c.name not in present]
    if missing:
        raise LiteralValueError(
            f"{name}: the DataFrame lacks declared column(s) {', '.join(missing)}; it has "
            f"{', '.join(present) or 'no columns'}. Add them, or change the Columns(...) "
            f"annotation."
        )
    if not check_dtypes:
        return
    checks = _dtype_checks(ptypes)
    for column in columns:
        lt = column.type
        check = checks.get(lt.name) if isinstance(lt, SimpleType) else None
        if check is not None and not check(frame[column.name].dtype):
            raise LiteralValueError(
                f"{name}: column {column.name!r} is declared {render_type(lt)} but has dtype "
                f"{frame[column.name].dtype}. Convert it (e.g. df[{column.name!r}].astype(...)) "
                f"or change the Columns(...) annotation."
            )
