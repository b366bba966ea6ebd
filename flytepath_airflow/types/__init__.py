"""The type engine: Python types <-> spec literal types, Python values <-> literals.

A literal is the JSON form of a value:

- int, float (an int is accepted for a float), str, bool, None: as themselves
- bytes: base64 text; datetime: ISO 8601 (timezone kept); date: ISO date;
  timedelta: seconds (an int when whole)
- Enum: the member's value (str or int); list[T]: a list; dict[str, T]: an object
- dataclass / pydantic model: an object keyed by field name, each field converted by the
  engine (so files and data frames nest)
- Optional / Union: the literal of the first variant, in declared order, that accepts it
  (untagged, so a value whose literal an earlier variant would read back is refused)
- JSON (`Annotated[Any, JsonMarker()]`): any JSON value, checked and passed through
- File, Directory: `{"uri", "sha256"}`; pandas DataFrame: `{"uri", "sha256",
  "format": "parquet"}`; `Annotated[T, Pickled()]`: `{"uri", "sha256", "format": "pickle"}`

Unknown types (typing.Any included) are errors that say how to add support: register a
`TypeTransformer` (`TypeEngine.register`, or a `register(engine)` function in the
`flytepath.plugins` entry point group), or opt in to pickle with `Annotated[T, Pickled()]`.

Must not import at module level: airflow, kubernetes, pandas, pyarrow, stores, the sdk.
"""

from flytepath_airflow.types.casting import castability_error
from flytepath_airflow.types.cli_values import parse_cli_value
from flytepath_airflow.types.context import BlobContext, BlobRef
from flytepath_airflow.types.defaults import builtin_engine, default_engine
from flytepath_airflow.types.engine import (
    PLUGIN_GROUP,
    DuplicateTransformerError,
    MissingBlobContextError,
    TypeEngine,
    TypeTransformer,
    UnsupportedTypeError,
)
from flytepath_airflow.types.files import Directory, File
from flytepath_airflow.types.json_schema import literal_type_to_json_schema
from flytepath_airflow.types.markers import JSON, Columns, HashMethod, JsonMarker, Pickled
from flytepath_airflow.types.render import render_type
from flytepath_airflow.types.validate import validate_literal

__all__ = [
    "JSON",
    "PLUGIN_GROUP",
    "BlobContext",
    "BlobRef",
    "Columns",
    "Directory",
    "DuplicateTransformerError",
    "File",
    "HashMethod",
    "JsonMarker",
    "MissingBlobContextError",
    "Pickled",
    "TypeEngine",
    "TypeTransformer",
    "UnsupportedTypeError",
    "builtin_engine",
    "castability_error",
    "default_engine",
    "literal_type_to_json_schema",
    "parse_cli_value",
    "render_type",
    "validate_literal",
]
