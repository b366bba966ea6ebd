"""Explicitly pickled values: `Annotated[T, Pickled()]`.

The only way a value is pickled: the annotation opts in. The literal is
`{"uri": ..., "sha256": ..., "format": "pickle"}`; the bytes are written with a fixed
protocol, so the same object gives the same blob on every supported Python.

Must not import: airflow, kubernetes, pandas, pyarrow, stores.
"""

from __future__ import annotations

import pickle
from typing import Any

from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.models import LiteralType
from flytepath_airflow.types._blobs import blob_name, need_ctx, ref_of
from flytepath_airflow.types._make import pickled_type
from flytepath_airflow.types.context import BlobContext
from flytepath_airflow.types.engine import TypeEngine, TypeTransformer, type_path, type_repr
from flytepath_airflow.types.markers import Pickled, annotated_parts, find_marker
from flytepath_airflow.types.render import describe_value

__all__ = ["PICKLE_PROTOCOL", "PickledTransformer"]

PICKLE_PROTOCOL = 5


class PickledTransformer(TypeTransformer[Any]):
    """`Annotated[T, Pickled()]` <-> a pickle blob (`PickledType(python_type=T's path)`)."""

    name = "pickled"

    def matches(self, py_type: Any) -> bool:
        """Any annotation carrying a `Pickled()` marker."""
        return find_marker(py_type, Pickled) is not None

    def get_literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """`PickledType` naming the wrapped type."""
        return pickled_type(type_path(annotated_parts(py_type)[0]))

    def to_literal(
        self, value: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None, name: str
    ) -> Any:
        """Pickle the value through `ctx`; a plain class T only takes instances of T."""
        base = annotated_parts(py_type)[0]
        if isinstance(base, type) and base is not object and not isinstance(value, base):
            raise LiteralValueError(
                f"{name}: expected {type_repr(base)} (pickled), got {describe_value(value)}."
            )
        ctx = need_ctx(ctx, "pickled value", name, "storing")
        try:
            data = pickle.dumps(value, protocol=PICKLE_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise LiteralValueError(
                f"{name}: the value cannot be pickled ({type(exc).__name__}: {exc}). "
                f"Pickle needs objects defined at module level, without open files, "
                f"locks or connections."
            ) from exc
        ref = ctx.write_bytes(blob_name(name, ".pkl"), data)
        return {"uri": ref["uri"], "sha256": ref["sha256"], "format": "pickle"}

    def to_python(
        self, literal: Any, py_type: Any, engine: TypeEngine, ctx: BlobContext | None
    ) -> Any:
        """Unpickle the verified blob."""
        if not isinstance(literal, dict) or "uri" not in literal or "sha256" not in literal:
            raise LiteralValueError(
                f"cannot decode {describe_value(literal)} as a pickled value: expected "
                f'{{"uri": ..., "sha256": ..., "format": "pickle"}}.'
            )
        ctx = need_ctx(ctx, "pickled value", str(literal["uri"]), "reading")
        return pickle.loads(ctx.read_bytes(ref_of(literal)))
