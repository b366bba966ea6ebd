"""Types and typed variables in a YAML document: task and workflow interfaces.

A type is text (parsed by `type_expr.parse_type`) or a mapping with one of enum, struct or
dataframe; a variable is `name: type` or `name: {type, default, description}`. Defaults are
validated against their types here, so a bad default is a TypeMismatchError at its line.

Must not import: airflow, kubernetes, the sdk, or the task, node and workflow readers that
build on it.
"""

from __future__ import annotations

from typing import Any

from flytepath_airflow.errors import LiteralValueError, TypeMismatchError
from flytepath_airflow.ir.models import (
    DataFrameType,
    EnumType,
    FieldSpec,
    LiteralType,
    SimpleType,
    StructType,
    UnionType,
)
from flytepath_airflow.translators.checks import FieldPath
from flytepath_airflow.translators.yaml.loader import YamlPath
from flytepath_airflow.translators.yaml.names import FN, IDENT
from flytepath_airflow.translators.yaml.reader import DocumentReader, describe, short_json
from flytepath_airflow.translators.yaml.type_expr import TypeExpressionError, parse_type
from flytepath_airflow.types.render import render_type
from flytepath_airflow.types.validate import validate_literal


class InterfaceReader(DocumentReader):
    """Reads types, struct fields and interface variables, with checked defaults."""

    def type_of(self, value: Any, path: YamlPath, hint_name: str) -> LiteralType:
        """A type written as text, or in the mapping form for enums, structs, data frames."""
        if isinstance(value, str):
            try:
                return parse_type(value)
            except TypeExpressionError as exc:
                raise self.error(path, str(exc)) from None
        if not isinstance(value, dict):
            raise self.error(path, "a type is text like int or list[str], or a mapping with "
                             f"one of enum, struct, dataframe; found {describe(value)}.")
        kinds = [k for k in ("enum", "struct", "dataframe") if k in value]
        if len(kinds) != 1:
            allowed = ("enum", "struct", "dataframe", "name", "python_type", "format")
            self.mapping(value, path, allowed, what="a type mapping")
            raise self.error(path, "a type mapping needs exactly one of enum, struct or "
                             f"dataframe; found {', '.join(kinds) or 'none'}.")
        kind = kinds[0]
        if kind == "enum":
            self.mapping(value, path, ("enum", "name", "python_type"))
            members = value["enum"]
            if (not isinstance(members, list) or not members or
                    any(isinstance(m, bool) or not isinstance(m, (str, int)) for m in members)):
                raise self.error((*path, "enum"), "enum takes a non-empty list of text or "
                                 "integer values.")
            if len(set(members)) != len(members):
                raise self.error((*path, "enum"), "enum values must be distinct.")
            return EnumType(name=self.text(value.get("name", hint_name), (*path, "name")),
                            python_type=self.fn_text(value.get("python_type"),
                                                     (*path, "python_type")),
                            values=tuple(members))
        if kind == "struct":
            self.mapping(value, path, ("struct", "name", "python_type"))
            return StructType(name=self.text(value.get("name", hint_name), (*path, "name")),
                              python_type=self.fn_text(value.get("python_type"),
                                                       (*path, "python_type")),
                              fields=self.fields(value["struct"], (*path, "struct")))
        self.mapping(value, path, ("dataframe", "format", "python_type"))
        columns = value["dataframe"]
        return DataFrameType(
            format=self.text(value.get("format", "parquet"), (*path, "format")),
            columns=None if columns is None else self.fields(columns, (*path, "dataframe")),
            python_type=self.fn_text(value.get("python_type"), (*path, "python_type")),
        )

    def fn_text(self, value: Any, path: YamlPath) -> str | None:
        if value is None:
            return None
        return self.name(value, path, FN, "the import path", '"module:qualname"')

    def fields(self, value: Any, path: YamlPath) -> tuple[FieldSpec, ...]:
        if not isinstance(value, dict) or not value:
            raise self.error(path, "expected a mapping of field names to types, e.g. "
                             "{x: float, y: float}.")
        fields = []
        for name, spec in value.items():
            fpath = (*path, name)
            self.name(name, fpath, IDENT, "the field name", "letters, digits and _")
            if isinstance(spec, dict) and "type" in spec:
                self.mapping(spec, fpath, ("type", "default"))
                ftype = self.type_of(spec["type"], (*fpath, "type"), name)
                has_default = "default" in spec
                default = self.checked_default(spec.get("default"), ftype, (*fpath, "default"))\
                    if has_default else None
                fields.append(FieldSpec(name=name, type=ftype, required=not has_default,
                                        default=default))
            else:
                fields.append(FieldSpec(name=name, type=self.type_of(spec, fpath, name)))
        return tuple(fields)

    def checked_default(self, value: Any, lt: LiteralType, path: YamlPath) -> Any:
        """The default, validated against its type and normalized (an int for a float is
        stored as a float, as the Python front-end does)."""
        try:
            return validate_literal(value, lt, "default")
        except LiteralValueError as exc:
            why = str(exc).rstrip(".").removeprefix("default: ")
            raise self.error(path, f"the default {short_json(value)} does not match the type "
                             f"{render_type(lt)}: {why}. Change the default or the type.",
                             TypeMismatchError) from None

    def variables(self, value: Any, path: YamlPath, spec_path: FieldPath, outputs: bool
                  ) -> list[dict[str, Any]]:
        """Interface variables from `{name: type}` or `{name: {type, default, description}}`."""
        if value is None:
            return []
        if not isinstance(value, dict):
            raise self.error(path, "expected a mapping of names to types, e.g. "
                             "{n: int, words: list[str]}; found " + describe(value) + ".")
        keys = ("type", "description") if outputs else ("type", "default", "description")
        result = []
        for index, (name, spec) in enumerate(value.items()):
            vpath = (*path, name)
            self.name(name, vpath, IDENT, "the name", "letters, digits and _, not starting "
                      "with a digit")
            self.link((*spec_path, index), vpath)
            # `x: {enum: [...]}` is a type; `x: {type: ..., default: ...}` is a variable.
            long_form = isinstance(spec, dict) and ("type" in spec or
                                                    not _is_type_mapping(spec))
            type_path = vpath
            if long_form:
                self.mapping(spec, vpath, keys, required=("type",))
                type_path = (*vpath, "type")
            else:
                spec = {"type": spec}
            lt = self.type_of(spec["type"], type_path, name)
            var: dict[str, Any] = {"name": name, "type": lt}
            if "description" in spec:
                var["description"] = spec["description"]
                self.link((*spec_path, index, "description"), (*vpath, "description"))
            if "default" in spec:
                var["required"] = False
                var["default"] = self.checked_default(spec["default"], lt, (*vpath, "default"))
            elif not outputs and _accepts_none(lt):
                var["required"] = False  # like Flyte: an Optional input defaults to None
            result.append(var)
        return result


def _is_type_mapping(value: dict[str, Any]) -> bool:
    return any(k in value for k in ("enum", "struct", "dataframe"))


def _accepts_none(lt: LiteralType) -> bool:
    if isinstance(lt, SimpleType):
        return lt.name == "none"
    return isinstance(lt, UnionType) and any(_accepts_none(v) for v in lt.variants)



__all__ = ["InterfaceReader"]
