"""The typed YAML front-end: a hand-written workflow file compiled into a WorkflowSpec.

For shell and container tasks and for people who do not write Python. The format is
documented in docs/yaml-spec.md; the reference syntax `${{ inputs.n }}` /
`${{ nodes.<id>.outputs.<name> }}` is recorded in docs/adr/0005-yaml-binding-syntax.md.

Every error names the file, the line and the field path (`pipeline.yaml:12: tasks.count.
retries: ...`). YAML is read with YAML 1.2 core scalars only (true/false, null, decimal
numbers; `yes`, `no`, `on`, `off` and dates stay strings), duplicate keys are errors, and
unknown keys are errors with a "did you mean". The result is checked by
`translators.checks.check_workflow` and returned with its content-hash version.

A document with a top-level `schema_version` is not this format but a compiled spec in
YAML (the IR's own fields, as `flytepath convert` writes them; ADR 0024): it is validated
by the spec models and returned as it is (a launch plan document gives its workflow).

Must not import: airflow, kubernetes, the sdk, or user code (python tasks are named by
"module:qualname" and never imported here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flytepath_airflow.errors import (
    CompileError,
    FlytePathUserError,
    LiteralValueError,
    SpecError,
    TypeMismatchError,
)
from flytepath_airflow.ir.models import (
    SCHEMA_VERSION,
    BlobType,
    DataFrameType,
    EnumType,
    FieldSpec,
    InputRef,
    ListType,
    LiteralType,
    MapType,
    OutputRef,
    PodOverridesSpec,
    ResourcesSpec,
    SimpleName,
    SimpleType,
    StructType,
    UnionType,
    WorkflowSpec,
)
from flytepath_airflow.ir.quantities import QuantityError, check_quantity, check_resources
from flytepath_airflow.ir.spec_io import with_version
from flytepath_airflow.translators.checks import (
    FieldPath,
    binding_type,
    check_workflow,
    did_you_mean,
)
from flytepath_airflow.types.render import render_type
from flytepath_airflow.types.validate import validate_literal

YamlPath = tuple[str | int, ...]
"""A path inside the YAML document, e.g. ("tasks", "count", "retries")."""

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NODE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_TASK_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_WORKFLOW_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_FN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*\Z")
_QUANTITY_EXAMPLES = {"cpu": "cores such as 2, 0.5 or 500m", "mem": "bytes such as 512Mi or 8Gi",
                      "gpu": "a whole number such as 1",
                      "ephemeral_storage": "bytes such as 10Gi"}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_TEMPLATE = re.compile(r"\{\{\s*inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_REF_OPEN = re.compile(r"(?<!\$)\$\{\{")
_REF = re.compile(r"\$\{\{(.*?)\}\}\Z", re.DOTALL)
_INPUT_REF = re.compile(r"inputs\.([A-Za-z_][A-Za-z0-9_]*)\Z")
_OUTPUT_REF = re.compile(r"nodes\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)\Z")
_MAX_NODES = 100_000

_TOP_KEYS = ("name", "description", "project", "domain", "labels", "inputs", "outputs",
             "defaults", "tasks", "nodes")
_TASK_KEYS = ("kind", "description", "inputs", "outputs", "script", "image", "command",
              "args", "fn", "retries", "retry_delay", "timeout", "interruptible", "resources",
              "cache", "env", "secrets", "pod_overrides")
_DEFAULT_KEYS = ("image", "retries", "retry_delay", "timeout", "interruptible", "resources",
                 "env")
_NODE_KEYS = ("id", "task", "inputs", "after")
_KINDS = ("shell", "container", "python")
_KIND_KEYS = {"shell": ("script",), "container": ("command", "args"), "python": ("fn",)}


# ---------------------------------------------------------------- located YAML loading


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core scalars: no yes/no/on/off booleans, no sexagesimals, no timestamps."""


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"))
_Resolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


class _Composer(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,
                yaml.composer.Composer, _Resolver):
    """Parses YAML into position-carrying nodes; values are built by `_Located`."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Resolver.__init__(self)


class _Located:
    """Plain values of a YAML document plus the line of every value and mapping key."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines: dict[YamlPath, int] = {}
        self.key_lines: dict[YamlPath, int] = {}
        self.block_scalars: set[YamlPath] = set()
        self._count = 0
        composer = _Composer(text)
        try:
            root = composer.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            problem = " ".join(p for p in (exc.context, exc.problem) if p)
            hint = ("Fix the syntax (indentation, a missing colon, or an unclosed quote or "
                    "bracket).")
            if "flow" in problem:
                hint = ("Inside { } or [ ], quote values that contain brackets or commas, "
                        "e.g. {rows: \"list[str]\"}, or write the mapping one key per line.")
            raise SpecError(f"{source}:{line}: not valid YAML: {problem}. {hint}") from None
        finally:
            composer.dispose()
        if root is None:
            raise SpecError(f"{source}:1: the file is empty. A workflow file needs at least "
                            "'name', 'tasks' and 'nodes'; see docs/yaml-spec.md.")
        self.data = self._build(root, (), set())

    def _fail(self, node: yaml.Node, path: YamlPath, message: str) -> SpecError:
        return SpecError(f"{self.source}:{node.start_mark.line + 1}: "
                         f"{format_path(path)}: {message}")

    def _build(self, node: yaml.Node, path: YamlPath, active: set[int]) -> Any:
        self._count += 1
        if self._count > _MAX_NODES:
            raise self._fail(node, path, f"the document has more than {_MAX_NODES} values "
                             "(are aliases expanding without end?). Write it out plainly.")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("|", ">"):
                self.block_scalars.add(path)
            return self._scalar(node, path)
        if id(node) in active:
            raise self._fail(node, path, "an alias refers to itself. Remove the recursion.")
        active = active | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, (*path, i), active) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.MappingNode)
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged.update(self._merge(value_node, path, active))
                continue
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self._fail(key_node, path, f"the key {key_node.value!r} is not text. "
                                 "Quote it, e.g. \"1\": ...")
            key_path = (*path, key)
            if key in result:
                raise self._fail(key_node, key_path, f"the key '{key}' appears twice "
                                 f"(first at line {self.key_lines[key_path]}). "
                                 "Keep one of them.")
            self.key_lines[key_path] = key_node.start_mark.line + 1
            result[key] = self._build(value_node, key_path, active)
        return {**{k: v for k, v in merged.items() if k not in result}, **result}

    def _merge(self, node: yaml.Node, path: YamlPath, active: set[int]) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            value = self._build(source, path, active)
            if not isinstance(value, dict):
                raise self._fail(source, path, "'<<' merges only mappings.")
            merged.update(value)
        return merged

    def _scalar(self, node: yaml.ScalarNode, path: YamlPath) -> Any:
        tag, text = node.tag, node.value
        try:
            if tag == "tag:yaml.org,2002:str":
                return text
            if tag == "tag:yaml.org,2002:null":
                return None
            if tag == "tag:yaml.org,2002:bool":
                return text.lower() == "true"
            if tag == "tag:yaml.org,2002:int":
                return int(text)
            if tag == "tag:yaml.org,2002:float":
                return float(text)
        except ValueError:
            raise self._fail(node, path, f"{text!r} is not a valid {tag.rsplit(':', 1)[-1]}."
                             ) from None
        raise self._fail(node, path, f"the YAML tag {tag} is not supported. Use plain values "
                         "(text, numbers, true/false, null, lists and mappings).")


def format_path(path: YamlPath) -> str:
    """Render a YAML path for messages: ("nodes", 2, "inputs", "x") -> nodes[2].inputs.x."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(top level)"


# -------------------------------------------------------------------- type expressions

_SIMPLE_NAMES: dict[str, SimpleName] = {
    "int": "int", "float": "float", "str": "str", "bool": "bool", "bytes": "bytes",
    "datetime": "datetime", "date": "date", "duration": "duration", "timedelta": "duration",
    "json": "json", "JSON": "json", "none": "none", "None": "none", "NoneType": "none",
}
_GENERIC_NAMES = ("list", "List", "dict", "Dict", "Optional", "Union", "File", "Directory",
                  "DataFrame")
_PUNCTUATION = frozenset("[],|:")
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_.-]*)|([\[\],|:]))")


class TypeExpressionError(SpecError):
    """A type written as text (`list[int]`) could not be parsed; the message says why."""


class _TypeParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, int]] = []  # (token, column)
        pos = 0
        while text[pos:].strip():
            match = _TOKEN.match(text, pos)
            if match is None:
                column = len(text) - len(text[pos:].lstrip())
                raise self.fail(f"unexpected {text[column]!r}", column)
            token = match.group(1) or match.group(2)
            self.tokens.append((token, match.end() - len(token)))
            pos = match.end()
        self.pos = 0

    def fail(self, problem: str, column: int | None = None) -> TypeExpressionError:
        at = f" (column {column + 1})" if column is not None else ""
        end = "" if problem.endswith(("?", ".")) else "."
        return TypeExpressionError(
            f"invalid type {self.text!r}{at}: {problem}{end} Write types like int, list[str], "
            "dict[str, float], Optional[int], File, DataFrame or json."
        )

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def column(self) -> int:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else len(self.text)

    def expect(self, token: str) -> None:
        if self.peek() != token:
            found = self.peek()
            raise self.fail(f"expected {token!r} but found "
                            f"{repr(found) if found is not None else 'the end'}", self.column())
        self.pos += 1

    def parse(self) -> LiteralType:
        if not self.tokens:
            raise self.fail("the type is empty")
        result = self.union()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r}", self.column())
        return result

    def union(self) -> LiteralType:
        variants = [self.primary()]
        while self.peek() == "|":
            self.pos += 1
            variants.append(self.primary())
        return make_union(variants) if len(variants) > 1 else variants[0]

    def arguments(self) -> list[LiteralType]:
        """The bracketed type arguments after a generic name, if any."""
        if self.peek() != "[":
            return []
        self.pos += 1
        args = [self.union()]
        while self.peek() == ",":
            self.pos += 1
            args.append(self.union())
        self.expect("]")
        return args

    def columns(self) -> tuple[FieldSpec, ...] | None:
        """`[name: type, ...]` after DataFrame, if any."""
        if self.peek() != "[":
            return None
        self.pos += 1
        columns: list[FieldSpec] = []
        while self.peek() != "]":  # `DataFrame[]` is a table typed to have no columns
            column, name = self.column(), self.peek()
            if name is None or name in _PUNCTUATION or not _IDENT.match(name):
                raise self.fail("DataFrame columns are written DataFrame[name: type, ...]",
                                column)
            if any(c.name == name for c in columns):
                raise self.fail(f"column {name!r} appears twice", column)
            self.pos += 1
            self.expect(":")
            columns.append(FieldSpec(name=name, type=self.union()))
            if self.peek() != ",":
                break
            self.pos += 1
            if self.peek() == "]":
                raise self.fail("expected a column after ','", self.column())
        self.expect("]")
        return tuple(columns)

    def primary(self) -> LiteralType:
        column = self.column()
        name = self.peek()
        if name is None or name in _PUNCTUATION:
            raise self.fail(f"expected a type name but found "
                            f"{repr(name) if name is not None else 'the end'}", column)
        self.pos += 1
        if name in ("File", "Directory"):
            fmt = ""
            if self.peek() == "[":
                self.pos += 1
                word = self.peek()
                if word is None or word in _PUNCTUATION:
                    raise self.fail(f"{name}[...] takes a format name like csv",
                                    self.column())
                self.pos += 1
                self.expect("]")
                fmt = word
            return BlobType(format=fmt,
                            dimensionality="file" if name == "File" else "directory")
        if name in _SIMPLE_NAMES:
            return SimpleType(name=_SIMPLE_NAMES[name])
        if name not in _GENERIC_NAMES:
            hint = did_you_mean(name, [*_SIMPLE_NAMES, *_GENERIC_NAMES])
            raise self.fail(f"unknown type {name!r}.{hint}", column)
        if name == "DataFrame":
            return DataFrameType(columns=self.columns())
        types = self.arguments()
        if name in ("list", "List"):
            if len(types) != 1:
                raise self.fail(f"{name} needs exactly one item type, e.g. list[str]", column)
            return ListType(item=types[0])
        if name in ("dict", "Dict"):
            if len(types) != 2:
                raise self.fail(f"{name} needs a key and a value type, e.g. dict[str, int]",
                                column)
            if types[0] != SimpleType(name="str"):
                raise self.fail("dict keys must be str (values are stored as JSON objects)",
                                column)
            return MapType(value=types[1])
        if name == "Optional":
            if len(types) != 1:
                raise self.fail("Optional needs exactly one type, e.g. Optional[int]", column)
            return make_union([types[0], SimpleType(name="none")])
        if len(types) < 2:
            raise self.fail("Union needs at least two types, e.g. Union[int, str]", column)
        return make_union(types)


def make_union(variants: Sequence[LiteralType]) -> LiteralType:
    """A union of `variants`, flattened and without repeats (one variant stays itself)."""
    flat: list[LiteralType] = []
    for variant in variants:
        for member in (variant.variants if isinstance(variant, UnionType) else (variant,)):
            if member not in flat:
                flat.append(member)
    return flat[0] if len(flat) == 1 else UnionType(variants=tuple(flat))


def parse_type(text: str) -> LiteralType:
    """Parse a type expression such as `dict[str, list[float]]` or `Optional[File[csv]]`.

    Parameters:
        text: the expression. Names: int, float, str, bool, bytes, datetime, date,
            duration (timedelta), json, none; list[T], dict[str, T], Optional[T],
            Union[A, B] or A | B; File, File[format], Directory, DataFrame.

    Raises:
        TypeExpressionError: the text is not a valid type; the message says where and why.
    """
    return _TypeParser(text).parse()


# ---------------------------------------------------------------------------- compiler


def _parse_duration(value: Any) -> float | None:
    """Seconds in "90s", "10m", "1h30m", "1d", "500ms" or a bare number; None if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip().replace(" ", "")
    if not text:
        return None
    total, pos = 0.0, 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    return total


class _Compiler:
    def __init__(self, doc: _Located) -> None:
        self.doc = doc
        self.source = doc.source
        self.origin: dict[FieldPath, YamlPath] = {}

    # --------------------------------------------------------------- positions, errors

    def line(self, path: YamlPath) -> int:
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            found = self.doc.key_lines.get(prefix) or self.doc.lines.get(prefix)
            if found:
                return found
        return 1

    def where(self, path: YamlPath) -> str:
        return f"{self.source}:{self.line(path)}"

    def error(self, path: YamlPath, message: str,
              cls: type[FlytePathUserError] = SpecError) -> FlytePathUserError:
        return cls(f"{self.where(path)}: {format_path(path)}: {message}")

    def link(self, spec_path: FieldPath, path: YamlPath) -> None:
        self.origin[spec_path] = path

    def yaml_path_of(self, spec_path: Sequence[str | int]) -> YamlPath | None:
        """The YAML path a spec field came from: its longest recorded prefix, extended by
        the rest of the spec path as long as the YAML document has those keys too."""
        for end in range(len(spec_path), 0, -1):
            found = self.origin.get(tuple(spec_path[:end]))
            if found is not None:
                for part in spec_path[end:]:
                    if (*found, part) not in self.doc.lines:
                        break
                    found = (*found, part)
                return found
        return None

    def locate(self, spec_path: FieldPath) -> str | None:
        path = self.yaml_path_of(spec_path)
        return self.where(path) if path is not None else None

    # ------------------------------------------------------------------ value shapes

    def mapping(self, value: Any, path: YamlPath, allowed: Sequence[str],
                required: Sequence[str] = (), what: str = "this") -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(path, f"{what} must be a mapping of {', '.join(allowed)}; "
                             f"found {_describe(value)}.")
        for key in value:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                raise self.error((*path, key), f"unknown key '{key}'.{hint} Allowed keys: "
                                 f"{', '.join(allowed)}.")
        for key in required:
            if key not in value:
                raise self.error(path, f"missing required key '{key}'.")
        return value

    def text(self, value: Any, path: YamlPath, what: str = "this value") -> str:
        if not isinstance(value, str) or not value:
            raise self.error(path, f"{what} must be non-empty text; found {_describe(value)}.")
        return value

    def name(self, value: Any, path: YamlPath, pattern: re.Pattern[str], what: str,
             rule: str) -> str:
        text = self.text(value, path, what)
        if not pattern.match(text):
            raise self.error(path, f"{what} {text!r} is not valid: use {rule}.")
        return text

    def boolean(self, value: Any, path: YamlPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(path, f"expected true or false; found {_describe(value)}.")
        return value

    def duration(self, value: Any, path: YamlPath, allow_zero: bool) -> float:
        seconds = _parse_duration(value)
        if seconds is None or seconds < 0 or (seconds == 0 and not allow_zero):
            raise self.error(path, f"{value!r} is not a valid duration. Write a "
                             f"{'non-negative' if allow_zero else 'positive'} number of "
                             "seconds or text like 90s, 10m, 1h30m, 2d.")
        return seconds

    def words(self, value: Any, path: YamlPath, what: str) -> list[str]:
        """A list of command words; numbers are taken as their text."""
        if not isinstance(value, list):
            raise self.error(path, f"{what} must be a list of strings, e.g. "
                             "[python, train.py, --epochs, '3']; found "
                             f"{_describe(value)}.")
        words = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise self.error((*path, i), f"expected a string; found {_describe(item)}. "
                                 "Quote it.")
            words.append(str(item))
        return words

    # ------------------------------------------------------------------------- types

    def type_of(self, value: Any, path: YamlPath, hint_name: str) -> LiteralType:
        """A type written as text, or in the mapping form for enums, structs, data frames."""
        if isinstance(value, str):
            try:
                return parse_type(value)
            except TypeExpressionError as exc:
                raise self.error(path, str(exc)) from None
        if not isinstance(value, dict):
            raise self.error(path, "a type is text like int or list[str], or a mapping with "
                             f"one of enum, struct, dataframe; found {_describe(value)}.")
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
        return self.name(value, path, _FN, "the import path", '"module:qualname"')

    def fields(self, value: Any, path: YamlPath) -> tuple[FieldSpec, ...]:
        if not isinstance(value, dict) or not value:
            raise self.error(path, "expected a mapping of field names to types, e.g. "
                             "{x: float, y: float}.")
        fields = []
        for name, spec in value.items():
            fpath = (*path, name)
            self.name(name, fpath, _IDENT, "the field name", "letters, digits and _")
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
            raise self.error(path, f"the default {_short_json(value)} does not match the type "
                             f"{render_type(lt)}: {why}. Change the default or the type.",
                             TypeMismatchError) from None

    def variables(self, value: Any, path: YamlPath, spec_path: FieldPath, outputs: bool
                  ) -> list[dict[str, Any]]:
        """Interface variables from `{name: type}` or `{name: {type, default, description}}`."""
        if value is None:
            return []
        if not isinstance(value, dict):
            raise self.error(path, "expected a mapping of names to types, e.g. "
                             "{n: int, words: list[str]}; found " + _describe(value) + ".")
        keys = ("type", "description") if outputs else ("type", "default", "description")
        result = []
        for index, (name, spec) in enumerate(value.items()):
            vpath = (*path, name)
            self.name(name, vpath, _IDENT, "the name", "letters, digits and _, not starting "
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

    # ------------------------------------------------------------------------- tasks

    def task_value(self, raw: dict[str, Any], path: YamlPath, defaults: dict[str, Any],
                   key: str) -> tuple[Any, YamlPath] | None:
        if key in raw:
            return raw[key], (*path, key)
        if key in defaults:
            return defaults[key], ("defaults", key)
        return None

    def task(self, name: str, raw: Any, defaults: dict[str, Any]) -> dict[str, Any]:
        path: YamlPath = ("tasks", name)
        spath: FieldPath = ("tasks", name)
        self.name(name, path, _TASK_NAME, "the task name", "letters, digits, _, - and .")
        self.link(spath, path)
        raw = self.mapping(raw, path, _TASK_KEYS, what="a task")
        kind = self.task_kind(raw, path)
        task: dict[str, Any] = {"name": name, "kind": kind}

        def put(field: str, value: Any, where: YamlPath) -> None:
            task[field] = value
            self.link((*spath, field), where)

        inputs = self.variables(raw.get("inputs"), (*path, "inputs"),
                                (*spath, "interface", "inputs"), outputs=False)
        outputs = self.variables(raw.get("outputs"), (*path, "outputs"),
                                 (*spath, "interface", "outputs"), outputs=True)
        task["interface"] = {"inputs": inputs, "outputs": outputs}
        self.link((*spath, "interface"), path)
        if "description" in raw:
            put("docs", raw["description"], (*path, "description"))

        image = self.task_value(raw, path, defaults, "image")
        image_text = self.text(image[0], image[1], "image") if image else None
        if kind == "shell":
            put("script", self.text(raw["script"], (*path, "script"), "script"),
                (*path, "script"))
            if image is not None:
                put("image", image_text, image[1])
        elif kind == "container":
            if "command" not in raw:
                raise self.error(path, "a container task needs 'command' (a list of words); "
                                 "add e.g. command: [python, -m, mypkg.train].")
            container = {"image": image_text,
                         "command": self.words(raw["command"], (*path, "command"), "command"),
                         "args": self.words(raw.get("args", []), (*path, "args"), "args")}
            put("container", container, path)
            self.link((*spath, "container", "command"), (*path, "command"))
            self.link((*spath, "container", "args"), (*path, "args"))
            if image is not None:
                self.link((*spath, "container", "image"), image[1])
        else:
            put("fn", self.name(raw["fn"], (*path, "fn"), _FN, "fn", '"module:qualname", '
                                "e.g. mypkg.train:fit"), (*path, "fn"))
            if image is not None:
                put("image", image_text, image[1])

        if kind in ("shell", "container"):
            self.check_process_inputs(name, raw, path, [v["name"] for v in inputs])
        found = self.task_value(raw, path, defaults, "retries")
        if found is not None:
            if isinstance(found[0], bool):
                raise self.error(found[1], "retries must be a whole number.")
            put("retries", found[0], found[1])  # pydantic checks the number (>= 0)
        for key, allow_zero in (("retry_delay", True), ("timeout", False)):
            found = self.task_value(raw, path, defaults, key)
            if found is not None:
                put(key, self.duration(found[0], found[1], allow_zero), found[1])
        found = self.task_value(raw, path, defaults, "interruptible")
        if found is not None:
            put("interruptible", self.boolean(found[0], found[1]), found[1])
        found = self.task_value(raw, path, defaults, "resources")
        if found is not None:
            put("resources", self.resources(found[0], found[1], name), found[1])
        env = self.env(defaults.get("env"), ("defaults", "env"), spath)
        env.update(self.env(raw.get("env"), (*path, "env"), spath))
        if env:
            task["env"] = env
            self.link((*spath, "env"), (*path, "env") if "env" in raw else ("defaults", "env"))
        if "cache" in raw:
            cache = self.cache(raw["cache"], (*path, "cache"), [v["name"] for v in inputs])
            if cache is not None:
                put("cache", cache, (*path, "cache"))
        if "secrets" in raw:
            put("secrets", self.secrets(raw["secrets"], (*path, "secrets")),
                (*path, "secrets"))
        if "pod_overrides" in raw:
            where = (*path, "pod_overrides")
            if isinstance(raw["pod_overrides"], dict):
                for key in raw["pod_overrides"]:
                    if key not in PodOverridesSpec.model_fields:
                        allowed = list(PodOverridesSpec.model_fields)
                        raise self.error((*where, key), f"'{key}' is not a pod setting a task "
                                         f"may choose.{did_you_mean(key, allowed)} Allowed: "
                                         f"{', '.join(allowed)}; everything else is decided "
                                         "by the platform's settings.")
            try:
                overrides = PodOverridesSpec.from_options(raw["pod_overrides"], name,
                                                          self.where(where))
            except CompileError as exc:
                raise SpecError(str(exc)) from None
            put("pod_overrides", overrides, where)
        return task

    def task_kind(self, raw: dict[str, Any], path: YamlPath) -> str:
        present = [k for k, keys in _KIND_KEYS.items() if any(key in raw for key in keys)]
        if "kind" in raw:
            kind = raw["kind"]
            if kind not in _KINDS:
                raise self.error((*path, "kind"), f"unknown kind {kind!r}."
                                 f"{did_you_mean(str(kind), _KINDS)} Kinds: shell, "
                                 "container, python.")
        elif len(present) == 1:
            kind = present[0]
        elif present:
            keys = [next(k for k in _KIND_KEYS[kind] if k in raw) for kind in present]
            raise self.error(path, f"this task has {' and '.join(repr(k) for k in keys)}, but a "
                             "task runs one thing: a shell script, a container command or a "
                             "python function. Keep one of them.")
        else:
            raise self.error(path, "say what the task runs: 'script' (a shell task), "
                             "'command' (a container task) or 'fn' (a python task).")
        for other in present:
            if other != kind:
                key = next(k for k in _KIND_KEYS[other] if k in raw)
                raise self.error((*path, key), f"'{key}' belongs to {other} tasks, but this "
                                 f"task is a {kind} task. Remove it, or split the task in two.")
        required = {"shell": "script", "python": "fn"}.get(kind)
        if required is not None and required not in raw:
            raise self.error(path, f"a {kind} task needs '{required}'.")
        return str(kind)

    def check_process_inputs(self, task: str, raw: dict[str, Any], path: YamlPath,
                             inputs: list[str]) -> None:
        """Inputs reach shell/container processes as env vars and {{inputs.x}} templates."""
        seen: dict[str, str] = {}
        for name in inputs:
            env_name = f"FLYTEPATH_INPUT_{name.upper()}"
            if env_name in seen:
                raise self.error((*path, "inputs", name), f"inputs '{seen[env_name]}' and "
                                 f"'{name}' would both be passed as ${env_name}. Rename one.")
            seen[env_name] = name
        places: list[tuple[str, YamlPath]] = []
        if isinstance(raw.get("script"), str):
            places.append((raw["script"], (*path, "script")))
        for key in ("command", "args"):
            for i, word in enumerate(raw.get(key) or []):
                if isinstance(word, str):
                    places.append((word, (*path, key, i)))
        for text, where in places:
            for match in _TEMPLATE.finditer(text):
                if match.group(1) in inputs:
                    continue
                line = self.line(where)
                if where in self.doc.block_scalars:
                    line += 1 + text.count("\n", 0, match.start())
                hint = did_you_mean(match.group(1), inputs)
                raise SpecError(
                    f"{self.source}:{line}: {format_path(where)}: {match.group(0)} names no "
                    f"input of task '{task}'.{hint} Its inputs: "
                    f"{', '.join(inputs) or 'none'}. Declare the input or fix the name."
                )

    def resources(self, value: Any, path: YamlPath, task: str) -> dict[str, Any]:
        value = self.mapping(value, path, ("requests", "limits"), what="resources")
        result = {}
        for side in ("requests", "limits"):
            if side not in value:
                continue
            spath = (*path, side)
            quantities = self.mapping(value[side], spath, ("cpu", "mem", "gpu",
                                                           "ephemeral_storage"))
            entry = {}
            for key, amount in quantities.items():
                try:
                    check_quantity(amount, key)
                except QuantityError as exc:
                    raise self.error((*spath, key), f"{exc}. Write {_QUANTITY_EXAMPLES[key]}."
                                     ) from None
                entry[key] = str(amount)
            result[side] = entry
        try:  # requests within limits, GPUs equal: the same rules as the Airflow backend
            check_resources(ResourcesSpec.model_validate(result), task, self.where(path))
        except CompileError as exc:
            raise SpecError(str(exc)) from None
        return result

    def env(self, value: Any, path: YamlPath, spath: FieldPath) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(path, f"env must be a mapping of names to values; found "
                             f"{_describe(value)}.")
        result = {}
        for key, item in value.items():
            self.name(key, (*path, key), _IDENT, "the variable name", "letters, digits and _")
            if key.startswith("FLYTEPATH_"):
                raise self.error((*path, key), "names starting with FLYTEPATH_ are reserved "
                                 "for inputs and outputs. Rename the variable.")
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise self.error((*path, key), f"expected text; found {_describe(item)}. "
                                 "Quote the value.")
            result[key] = str(item)
        return result

    def cache(self, value: Any, path: YamlPath, inputs: list[str]) -> dict[str, Any] | None:
        if value is False or value is None:
            return None
        if value is True:
            raise self.error(path, "caching needs a version you bump when the task's "
                             "behaviour changes: write cache: {version: \"1\"}.")
        value = self.mapping(value, path, ("version", "ignore_inputs", "serialize", "scope"),
                             required=("version",), what="cache")
        version = value["version"]
        if isinstance(version, bool) or not isinstance(version, (str, int, float)) or \
                str(version) == "":
            raise self.error((*path, "version"), "the cache version must be text, e.g. \"1\".")
        cache: dict[str, Any] = {"version": str(version)}
        ignored = value.get("ignore_inputs", [])
        if not isinstance(ignored, list):
            raise self.error((*path, "ignore_inputs"), "expected a list of input names.")
        for i, name in enumerate(ignored):
            if name not in inputs:
                raise self.error((*path, "ignore_inputs", i), f"{name!r} is not an input of "
                                 f"this task.{did_you_mean(str(name), inputs)} Inputs: "
                                 f"{', '.join(inputs) or 'none'}.")
        if ignored:
            cache["ignore_inputs"] = ignored
        if "serialize" in value:
            cache["serialize"] = self.boolean(value["serialize"], (*path, "serialize"))
        if "scope" in value:
            if value["scope"] not in ("tenant", "global"):
                raise self.error((*path, "scope"), "scope is tenant (the default) or global.")
            cache["scope"] = value["scope"]
        return cache

    def secrets(self, value: Any, path: YamlPath) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise self.error(path, "secrets is a list of \"group\", \"group/key\" or "
                             "{group, key, mount, env_var} entries.")
        result = []
        for i, item in enumerate(value):
            ipath = (*path, i)
            if isinstance(item, str):
                group, _, key = item.partition("/")
                if not group or "/" in key:
                    raise self.error(ipath, f"{item!r} is not \"group\" or \"group/key\".")
                result.append({"group": group, **({"key": key} if key else {})})
                continue
            item = self.mapping(item, ipath, ("group", "key", "mount", "env_var"),
                                required=("group",), what="a secret")
            if "mount" in item and item["mount"] not in ("env", "file"):
                raise self.error((*ipath, "mount"), "mount is env or file.")
            result.append(dict(item))
        return result

    # -------------------------------------------------------------------- bindings

    def binding(self, value: Any, path: YamlPath, spath: FieldPath) -> dict[str, Any]:
        """A binding: a `${{ ... }}` reference, a literal, or a collection holding refs."""
        self.link(spath, path)
        if isinstance(value, str) and _REF_OPEN.search(value):
            return self.reference(value, path)
        if not _has_reference(value):
            return {"kind": "literal", "value": _unescape(value)}
        if isinstance(value, list):
            return {"kind": "list", "items": [
                self.binding(item, (*path, i), (*spath, "items", i))
                for i, item in enumerate(value)]}
        assert isinstance(value, dict)
        return {"kind": "map", "entries": {
            key: self.binding(item, (*path, key), (*spath, "entries", key))
            for key, item in value.items()}}

    def reference(self, text: str, path: YamlPath) -> dict[str, Any]:
        match = _REF.match(text.strip())
        if match is None or _REF_OPEN.search(text.strip(), 1):
            raise self.error(path, f"{text!r} mixes a reference with other text. A value is "
                             "either exactly one ${{ ... }} reference or a literal; to build "
                             "text from values, do it in a task. Write $${{ for a literal "
                             "'${{'.")
        body = match.group(1).strip()
        found = _INPUT_REF.match(body)
        if found:
            return {"kind": "input", "name": found.group(1)}
        found = _OUTPUT_REF.match(body)
        if found:
            return {"kind": "output", "node": found.group(1), "output": found.group(2)}
        raise self.error(path, f"cannot read the reference {text.strip()!r}. Write "
                         "${{ inputs.<name> }} for a workflow input or "
                         "${{ nodes.<node id>.outputs.<output name> }} for a node output.")

    # ----------------------------------------------------------------------- nodes

    def node(self, index: int, raw: Any) -> dict[str, Any]:
        path: YamlPath = ("nodes", index)
        spath: FieldPath = ("nodes", index)
        self.link(spath, path)
        raw = self.mapping(raw, path, _NODE_KEYS, required=("id",), what="a node")
        node_id = self.name(raw["id"], (*path, "id"), _NODE_ID, "the node id",
                            "letters, digits, _ and -, not starting with a digit or -")
        self.link((*spath, "id"), (*path, "id"))
        task = raw.get("task", node_id)
        self.link((*spath, "task"), (*path, "task") if "task" in raw else (*path, "id"))
        node: dict[str, Any] = {"id": node_id, "task": self.text(task, (*path, "task"),
                                                                 "task")}
        bindings = raw.get("inputs") or {}
        if not isinstance(bindings, dict):
            raise self.error((*path, "inputs"), "inputs must be a mapping of input names to "
                             f"values or references; found {_describe(bindings)}.")
        node["inputs"] = {name: self.binding(value, (*path, "inputs", name),
                                             (*spath, "inputs", name))
                          for name, value in bindings.items()}
        after = raw.get("after", [])
        if isinstance(after, str):
            after = [after]
        if not isinstance(after, list):
            raise self.error((*path, "after"), "after is a list of node ids.")
        for k, dep in enumerate(after):
            self.text(dep, (*path, "after", k), "a node id")
            self.link((*spath, "upstream", k), (*path, "after", k))
        node["upstream"] = after
        return node

    # -------------------------------------------------------------------- workflow

    def compile(self, project: str | None, domain: str | None) -> WorkflowSpec:
        if isinstance(self.doc.data, dict) and "schema_version" in self.doc.data:
            return self.spec_document(project, domain)
        top = self.mapping(self.doc.data, (), _TOP_KEYS, required=("name", "tasks", "nodes"),
                           what="a workflow file")
        doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        doc["name"] = self.name(top["name"], ("name",), _WORKFLOW_NAME, "the workflow name",
                                "letters, digits, _, - and .")
        for key in ("description", "labels"):
            if key in top:
                doc[key] = top[key]
                self.link((key,), (key,))
        tenant = {}
        for key, override in (("project", project), ("domain", domain)):
            if override is not None:
                tenant[key] = override
            elif key in top:
                tenant[key] = self.text(top[key], (key,), key)
                self.link(("tenant", key), (key,))
        doc["tenant"] = tenant

        inputs = self.variables(top.get("inputs"), ("inputs",), ("interface", "inputs"),
                                outputs=False)
        defaults = self.mapping(top.get("defaults") or {}, ("defaults",), _DEFAULT_KEYS,
                                what="defaults")
        tasks = top["tasks"]
        if not isinstance(tasks, dict) or not tasks:
            raise self.error(("tasks",), "tasks must be a non-empty mapping of task names to "
                             "task definitions.")
        doc["tasks"] = {name: self.task(name, raw, defaults) for name, raw in tasks.items()}
        nodes = top["nodes"]
        if not isinstance(nodes, list) or not nodes:
            raise self.error(("nodes",), "nodes must be a non-empty list of "
                             "{id, task, inputs, after} entries.")
        doc["nodes"] = [self.node(i, raw) for i, raw in enumerate(nodes)]
        doc["interface"] = {"inputs": inputs, "outputs": []}
        spec = self.validate(doc)
        outputs, bindings = self.workflow_outputs(top.get("outputs"), spec)
        doc["interface"]["outputs"] = outputs
        doc["outputs"] = bindings
        spec = self.validate(doc)
        check_workflow(spec, self.locate)
        return with_version(spec)

    def spec_document(self, project: str | None, domain: str | None) -> WorkflowSpec:
        """A compiled spec written as YAML (what `flytepath convert` writes, ADR 0024).

        It is the IR's own document, already compiled: it is validated by the models, not
        compiled again; a launch plan document gives its workflow.
        """
        from flytepath_airflow.ir.spec_io import parse_spec_document

        data = dict(self.doc.data)
        if data.get("kind") == "launch_plan":
            workflow = data.get("workflow")
            if not isinstance(workflow, dict):
                raise self.error(("workflow",), "a launch plan document needs its 'workflow'.")
            data = dict(workflow)
        spec = parse_spec_document(data, self.doc.source)
        tenant = spec.tenant.model_copy(update={
            k: v for k, v in (("project", project), ("domain", domain)) if v is not None})
        return with_version(spec.model_copy(update={"tenant": tenant}))

    def workflow_outputs(self, value: Any, spec: WorkflowSpec
                         ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Outputs as `name: ${{ ref }}` (type taken from the ref) or {type, value, ...}."""
        if value is None:
            return [], {}
        if not isinstance(value, dict):
            raise self.error(("outputs",), "outputs must be a mapping of output names to "
                             "references or {type, value} mappings.")
        variables: list[dict[str, Any]] = []
        bindings: dict[str, Any] = {}
        for index, (name, raw) in enumerate(value.items()):
            path: YamlPath = ("outputs", name)
            self.name(name, path, _IDENT, "the output name", "letters, digits and _")
            self.link(("interface", "outputs", index), path)
            var: dict[str, Any] = {"name": name}
            if isinstance(raw, dict):
                self.mapping(raw, path, ("type", "value", "description"),
                             required=("type", "value"), what="a workflow output")
                var["type"] = self.type_of(raw["type"], (*path, "type"), name)
                if "description" in raw:
                    var["description"] = raw["description"]
                    self.link(("interface", "outputs", index, "description"),
                              (*path, "description"))
                binding = self.binding(raw["value"], (*path, "value"), ("outputs", name))
            else:
                if not (isinstance(raw, str) and _REF_OPEN.search(raw)):
                    raise self.error(path, "write a reference like "
                                     "${{ nodes.<id>.outputs.<name> }}, or the long form "
                                     "{type: ..., value: ...} for any other value.")
                binding = self.binding(raw, path, ("outputs", name))
                ref: InputRef | OutputRef = (
                    InputRef(name=binding["name"]) if binding["kind"] == "input"
                    else OutputRef(node=binding["node"], output=binding["output"]))
                # An unknown reference keeps json here; check_workflow then names the problem.
                var["type"] = binding_type(spec, ref) or SimpleType(name="json")
            variables.append(var)
            bindings[name] = binding
        return variables, bindings

    def validate(self, doc: dict[str, Any]) -> WorkflowSpec:
        try:
            return WorkflowSpec.model_validate(doc)
        except ValidationError as exc:
            lines = []
            for err in exc.errors()[:5]:
                path = self.yaml_path_of([p for p in err["loc"] if isinstance(p, (str, int))])
                where = path if path is not None else ()
                shown = f", got {_short_json(err['input'])}" if "input" in err else ""
                lines.append(f"{self.where(where)}: {format_path(where)}: "
                             f"{err['msg']}{shown}.")
            more = f"\n... and {exc.error_count() - 5} more" if exc.error_count() > 5 else ""
            raise SpecError("\n".join(lines) + more) from None


def _short_json(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"the {type(value).__name__} {value!r}"


def _is_type_mapping(value: dict[str, Any]) -> bool:
    return any(k in value for k in ("enum", "struct", "dataframe"))


def _accepts_none(lt: LiteralType) -> bool:
    if isinstance(lt, SimpleType):
        return lt.name == "none"
    return isinstance(lt, UnionType) and any(_accepts_none(v) for v in lt.variants)


def _has_reference(value: Any) -> bool:
    if isinstance(value, str):
        return _REF_OPEN.search(value) is not None
    if isinstance(value, list):
        return any(_has_reference(v) for v in value)
    if isinstance(value, dict):
        return any(_has_reference(v) for v in value.values())
    return False


def _unescape(value: Any) -> Any:
    """`$${{` in a literal stands for the text `${{`."""
    if isinstance(value, str):
        return value.replace("$${{", "${{")
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    if isinstance(value, dict):
        return {k: _unescape(v) for k, v in value.items()}
    return value


def compile_yaml(path: str | Path, *, project: str | None = None,
                 domain: str | None = None) -> WorkflowSpec:
    """Compile a typed YAML workflow file into a checked, versioned WorkflowSpec.

    Parameters:
        path: the YAML file; messages name it as given.
        project: the tenant project; overrides the file's `project` (default "default").
        domain: the tenant domain; overrides the file's `domain` (default "development").

    Raises:
        SpecError: the file is not valid YAML or does not follow the format (unknown keys,
            wrong shapes, invalid types, durations, quantities, references).
        TypeMismatchError: a default or a literal does not match its type, or a binding's
            type cannot feed its target.
        CompileError: the graph is wrong (see `translators.checks.check_workflow`).
    Every message starts with or contains "file:line".
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{source}: no such file. Check the path of the workflow file."
                        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{source}: cannot be read ({exc}).") from None
    return _Compiler(_Located(source, text)).compile(project, domain)


def compile_yaml_text(text: str, source: str = "<yaml>", *, project: str | None = None,
                      domain: str | None = None) -> WorkflowSpec:
    """Compile YAML workflow text (as `compile_yaml`), naming it `source` in messages."""
    return _Compiler(_Located(source, text)).compile(project, domain)


__all__ = [
    "TypeExpressionError",
    "compile_yaml",
    "compile_yaml_text",
    "format_path",
    "make_union",
    "parse_type",
]
