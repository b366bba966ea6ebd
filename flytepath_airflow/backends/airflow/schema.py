"""JSON Schema and display text of workflow inputs, for Airflow params and DAG docs.

The type engine owns both (`flytepath_airflow.types.json_schema.literal_type_to_json_schema`
and `render_type`); this module is the one place the Airflow backend calls them.

Must not import airflow.
"""

from __future__ import annotations

from typing import Any

from flytepath_airflow.ir.models import LiteralType
from flytepath_airflow.types.json_schema import literal_type_to_json_schema
from flytepath_airflow.types.render import render_type


def input_json_schema(literal_type: LiteralType) -> dict[str, Any]:
    """The JSON Schema an Airflow Param of this type validates against."""
    return dict(literal_type_to_json_schema(literal_type))


def render_input_type(literal_type: LiteralType) -> str:
    """A short, readable type, e.g. `list[int]`."""
    return str(render_type(literal_type))
