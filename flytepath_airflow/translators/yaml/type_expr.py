"""Type expressions written as text (`list[int]`, `dict[str, float]`, `File[csv]`) to LiteralType.

A small tokenizer and recursive-descent parser: names (int, str, json, ...), generics
(list, dict, Optional, Union, File, Directory, DataFrame with typed columns) and `A | B`
unions. A bad expression raises `TypeExpressionError` with the column and the accepted forms.
The mapping forms of types (enum, struct, dataframe) are read by the compiler, not here.

Must not import: airflow, kubernetes, the sdk, PyYAML, or the YAML loader and compiler
(a type expression is plain text and knows nothing of files or lines).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flytepath_airflow.errors import SpecError
from flytepath_airflow.ir.models import (
    BlobType,
    DataFrameType,
    FieldSpec,
    ListType,
    LiteralType,
    MapType,
    SimpleName,
    SimpleType,
    UnionType,
)
from flytepath_airflow.translators.yaml.names import IDENT
from flytepath_airflow.utils.suggest import did_you_mean

_SIMPLE_NAMES: dict[str, SimpleName] = {
    "int": "int", "float": "float", "str": "str", "bool": "bool", "bytes": "bytes",
    "datetime": "datetime", "date": "date", "duration": "duration", "timedelta": "duration",
    "json": "json", "JSON": "json", "none": "none", "None": "none", "NoneType": "none",
}
_GENERIC_NAMES = ("list", "List", "dict", "Dict", "Optional", "Union", "File", "Directory",
                  "DataFrame")
_PUNCTUATION = frozenset("[],|:")
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_.-]*)|([\[\],|:]))")
_SPACE = re.compile(r"\s*")

MAX_TYPE_CHARS = 10_000
"""The longest type expression (a DataFrame with a hundred typed columns fits)."""

MAX_TYPE_DEPTH = 32
"""How deeply type arguments nest: `list[list[int]]` is 2 levels."""


class TypeExpressionError(SpecError):
    """A type written as text (`list[int]`) could not be parsed; the message says why."""


class _TypeParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, int]] = []  # (token, column)
        self.depth = 0
        if len(text) > MAX_TYPE_CHARS:
            raise self.fail(f"the type has {len(text)} characters, more than the "
                            f"{MAX_TYPE_CHARS} allowed")
        pos = _SPACE.match(text).end()  # type: ignore[union-attr]  # \s* always matches
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:
                raise self.fail(f"unexpected {text[pos]!r}", pos)
            token = match.group(1) or match.group(2)
            self.tokens.append((token, match.end() - len(token)))
            pos = _SPACE.match(text, match.end()).end()  # type: ignore[union-attr]
        self.pos = 0

    def fail(self, problem: str, column: int | None = None) -> TypeExpressionError:
        at = f" (column {column + 1})" if column is not None else ""
        end = "" if problem.endswith(("?", ".")) else "."
        shown = repr(self.text) if len(self.text) <= 80 else repr(self.text[:77] + "...")
        return TypeExpressionError(
            f"invalid type {shown}{at}: {problem}{end} Write types like int, list[str], "
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
            if name is None or name in _PUNCTUATION or not IDENT.match(name):
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
        self.depth += 1
        try:
            if self.depth > MAX_TYPE_DEPTH + 1:  # the innermost name is not a level
                raise self.fail(f"types nest more than {MAX_TYPE_DEPTH} levels deep",
                                self.column())
            return self.named_type()
        finally:
            self.depth -= 1

    def named_type(self) -> LiteralType:
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
    """A union of `variants`, flattened and without repeats (one variant stays itself).

    :param variants: the member types; unions among them are flattened into the result.
    """
    flat: list[LiteralType] = []
    for variant in variants:
        for member in (variant.variants if isinstance(variant, UnionType) else (variant,)):
            if member not in flat:
                flat.append(member)
    return flat[0] if len(flat) == 1 else UnionType(variants=tuple(flat))


def parse_type(text: str) -> LiteralType:
    """Parse a type expression such as `dict[str, list[float]]` or `Optional[File[csv]]`.

    :param text: the expression. Names: int, float, str, bool, bytes, datetime, date,
        duration (timedelta), json, none; list[T], dict[str, T], Optional[T],
        Union[A, B] or A | B; File, File[format], Directory, DataFrame.
    :raises TypeExpressionError: the text is not a valid type; the message says where and
        why.
    """
    return _TypeParser(text).parse()


__all__ = ["TypeExpressionError", "make_union", "parse_type"]
