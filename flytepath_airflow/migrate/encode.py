"""Python values and type hints of a loaded DAG as spec literals, bindings and types.

Two encodings, for two kinds of task:
- a typed task's values must be plain JSON literals (`json_literal`, `typed_binding`), typed
  from the callable's hints (`literal_type`) or a DAG param's JSON Schema (`schema_type`);
- a pass-through task's arguments may be anything its operator accepts, so
  `ArgumentEncoder` writes what JSON cannot hold as the tagged objects the pass-through
  builder reads back (backends/airflow/passthrough.py).
`CannotEncode` says why a value has no such form.

Imports airflow only through `introspect` (XComArg checks) and kubernetes only to
serialize a Kubernetes client model; must not import the task, classification or
document modules of the converter.
"""

from __future__ import annotations

import inspect
import json
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any

from flytepath_airflow.backends.airflow.passthrough import TAG, XCOM_OUTPUT_PREFIX
from flytepath_airflow.ir.models import (
    BindingSpec,
    ListType,
    LiteralBinding,
    LiteralType,
    MapType,
    OutputRef,
    SimpleType,
    UnionType,
)
from flytepath_airflow.migrate.introspect import class_path, is_xcom, xcom_parts
from flytepath_airflow.migrate.source import CannotCarry, ModuleBuilder
from flytepath_airflow.types import default_engine

JSON_TYPE = SimpleType(name="json")


class CannotEncode(Exception):
    """An argument value has no JSON form (the reason is the text)."""


def is_unset(value: Any) -> bool:
    """True for Airflow's ArgNotSet marker (a param or argument without a value).

    :param value: the value.
    """
    return type(value).__name__ == "ArgNotSet"


def json_literal(value: Any) -> Any:
    """A typed task's value as plain JSON (raises CannotEncode when it has none).

    :param value: the value.
    """
    if is_unset(value):
        return None
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple):
        value = list(value)
    try:
        text = json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CannotEncode(f"{type(value).__name__}: {exc}") from None
    return json.loads(text)


def typed_binding(value: Any) -> BindingSpec:
    """A typed task's input: an upstream task's output or a literal.

    :param value: the argument value (a plain XComArg or a JSON-able value).
    """
    ref = xcom_parts(value)
    if ref is not None:
        return OutputRef(node=ref[0], output="o0")
    return LiteralBinding(value=json_literal(value))


def literal_type(hint: Any, what: str, notes: list[str]) -> LiteralType:
    """The spec type of a type hint; json (with a note saying why) when there is none.

    :param hint: the type hint, or None when there is none.
    :param what: what the hint annotates, for the note ("input 'x'", "its output").
    :param notes: the task's report notes.
    """
    if hint is None:
        notes.append(f"{what} has no type hint; typed json (any JSON value)")
        return JSON_TYPE
    try:
        return default_engine().to_literal_type(hint)
    except Exception as exc:
        notes.append(f"{what}: type {hint!r} is not a FlytePath type ({exc}); typed json")
        return JSON_TYPE


def schema_type(schema: dict[str, Any]) -> LiteralType:
    """The spec type of a DAG param's JSON Schema (json where it has no closer form).

    :param schema: the param's schema.
    """
    simple = {"integer": "int", "number": "float", "string": "str", "boolean": "bool"}
    kind = schema.get("type")
    if isinstance(kind, list):
        variants = [k for k in kind if k != "null"]
        if len(variants) == 1:
            inner = schema_type({**schema, "type": variants[0]})
            if "null" in kind and inner != JSON_TYPE:
                return UnionType(variants=(inner, SimpleType(name="none")))
            return inner
        return JSON_TYPE
    if kind in simple:
        return SimpleType(name=simple[kind])  # type: ignore[arg-type]
    if kind == "array":
        return ListType(item=JSON_TYPE)
    if kind == "object":
        return MapType(value=JSON_TYPE)
    return JSON_TYPE


class ArgumentEncoder:
    """A pass-through operator's arguments as JSON, with tagged objects for the rest.

    :param builder: the task module that functions and classes named by an argument are
        carried into.
    """

    def __init__(self, builder: ModuleBuilder) -> None:
        self.builder = builder

    def encode(self, value: Any, owner: str) -> Any:
        """An argument value as JSON, with tagged objects for what JSON cannot hold.

        :param value: the value.
        :param owner: the task id, named when a carried callable cannot be resolved.
        """
        if isinstance(value, Enum):  # before int and str: IntEnum and StrEnum are both
            return {TAG: "enum", "class": class_path(type(value)),
                    "value": self.encode(value.value, owner)}
        if value is None or isinstance(value, bool | int | float | str):
            return value
        ref = xcom_parts(value)
        if ref is not None:
            return {TAG: "xcom", "task_id": ref[0], "key": ref[1]}
        if is_xcom(value):
            raise CannotEncode(f"{type(value).__name__} (a derived XComArg)")
        if isinstance(value, list):
            return [self.encode(v, owner) for v in value]
        if isinstance(value, tuple):
            return {TAG: "tuple", "items": [self.encode(v, owner) for v in value]}
        if isinstance(value, set | frozenset):
            items = [self.encode(v, owner) for v in value]
            return {TAG: "set", "items": sorted(items, key=json.dumps)}
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise CannotEncode("a dict with non-text keys")
            encoded = {k: self.encode(v, owner) for k, v in sorted(value.items())}
            return {TAG: "dict", "value": encoded} if TAG in value else encoded
        if isinstance(value, timedelta):
            return {TAG: "timedelta", "seconds": value.total_seconds()}
        if isinstance(value, datetime):
            return {TAG: "datetime", "iso": value.isoformat()}
        if isinstance(value, date):
            return {TAG: "date", "iso": value.isoformat()}
        if isinstance(value, time):
            return {TAG: "time", "iso": value.isoformat()}
        if type(value).__module__.startswith("kubernetes.client.models"):
            from kubernetes.client import ApiClient

            return {TAG: "k8s", "type": type(value).__name__,
                    "value": ApiClient().sanitize_for_serialization(value)}
        if type(value).__name__ == "DagParam":
            default = getattr(value, "_default", None)
            encoded = {TAG: "dag_param", "name": str(getattr(value, "_name", ""))}
            if not is_unset(default):
                encoded["default"] = self.encode(default, owner)
            return encoded
        if inspect.isfunction(value) or inspect.isclass(value):
            return {TAG: "callable", "path": self.builder.carry(value, owner)}
        raise CannotEncode(f"a {type(value).__module__}.{type(value).__qualname__} value")

    def encode_items(self, value: Any, owner: str, key: str, notes: list[str]) -> Any:
        """op_args / op_kwargs item by item: an item with no JSON form becomes null.

        :param value: the op_args list or op_kwargs dict.
        :param owner: the task id.
        :param key: "op_args" or "op_kwargs", for the note.
        :param notes: the task's report notes.
        """
        def one(name: str, item: Any) -> Any:
            try:
                return self.encode(item, owner)
            except (CannotEncode, CannotCarry) as exc:
                notes.append(f"{key} {name} is not kept ({exc}); it is null in the converted "
                             "spec")
                return None

        if isinstance(value, dict):
            return {k: one(repr(k), v) for k, v in sorted(value.items())}
        return [one(f"#{i}", v) for i, v in enumerate(value)]

    def raw_binding(self, value: Any, owner: str) -> BindingSpec:
        """A pass-through map node's input: an upstream XCom (any key) or an encoded literal.

        :param value: what the operator expands over.
        :param owner: the task id.
        """
        ref = xcom_parts(value)
        if ref is not None:
            return OutputRef(node=ref[0], output=XCOM_OUTPUT_PREFIX + ref[1])
        return LiteralBinding(value=self.encode(value, owner))
