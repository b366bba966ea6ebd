"""The committed JSON Schema of the spec, and the one way to regenerate it.

`workflow_spec.schema.json` beside this file is generated from the pydantic models by

    python -m flytepath_airflow.ir.schema

and committed, so tools and editors can validate spec JSON without FlytePath installed.
A test (tests/ir/test_schema.py) fails when the committed file and the models drift apart.

Must not import: airflow, kubernetes, the sdk, or user code.
"""

from __future__ import annotations

import json
from pathlib import Path

from flytepath_airflow.ir.spec_io import json_schema
from flytepath_airflow.utils.atomic import write_if_changed

SCHEMA_PATH = Path(__file__).with_name("workflow_spec.schema.json")
"""Where the committed schema lives (inside the package, so it ships in the wheel)."""

REGENERATE_COMMAND = "python -m flytepath_airflow.ir.schema"
"""The command that rewrites SCHEMA_PATH from the models."""


def render_schema() -> str:
    """The schema text as it must be committed: sorted keys, two-space indent, final newline."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> bool:
    """Write the schema to `path`; return True when the file changed."""
    text = render_schema()
    return write_if_changed(path, text)


__all__ = ["REGENERATE_COMMAND", "SCHEMA_PATH", "render_schema", "write_schema"]
