"""The bounds on any input FlytePath reads, and strict JSON that enforces them.

Every front-end (YAML workflow files, spec JSON, type expressions, command-line values)
turns malformed input into a user error rather than a crash; these are the bounds they
share (docs/yaml-spec.md "Limits", ADR 0036):

- a document is at most `MAX_YAML_CHARS` (YAML) or `MAX_JSON_CHARS` (spec JSON) characters;
- values nest at most `MAX_YAML_DEPTH` (YAML) or `MAX_JSON_DEPTH` (JSON) levels;
- text holds no control characters (except tab, newline, carriage return) and no lone
  surrogates, which cannot be written as UTF-8;
- integers fit in 64 bits (`MIN_INT` .. `MAX_INT`), as in most JSON readers;
- numbers are finite: JSON has no infinity or NaN, so `1e400`, `Infinity` and `NaN` are
  refused, never rounded to infinity or written as null.

`loads_json` reads JSON text under these bounds; `check_json_value` checks a value already
in memory. Both raise `InputLimitError` with the path of the offending value, and the
caller turns it into its own user error (a `SpecError`, a `LiteralValueError`).

Must not import: any other FlytePath module, airflow, kubernetes.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_YAML_CHARS = 10_000_000
"""Characters in a YAML workflow file (10 million; a hand-written file is far smaller)."""

MAX_JSON_CHARS = 200_000_000
"""Characters in a spec JSON file (200 million; a 5,000-task spec is about 10 million)."""

MAX_YAML_DEPTH = 50
"""Nesting levels of mappings and lists in a YAML workflow file."""

MAX_JSON_DEPTH = 256
"""Nesting levels of objects and arrays in JSON (specs and values)."""

MAX_INT = 2 ** 63 - 1
"""The largest integer in a spec or a value (64-bit signed)."""

MIN_INT = -(2 ** 63)
"""The smallest integer in a spec or a value (64-bit signed)."""

MAX_COLUMN_INT = 2 ** 31 - 1
"""The largest count, weight or index a spec hands to Airflow, whose database keeps pool
slots and priority weights in 32-bit columns."""

_MAX_INT_DIGITS = len(str(MAX_INT))

# What YAML calls non-printable: C0 and C1 controls but tab, newline, carriage return and
# NEL, DEL, lone surrogates, and the non-characters U+FFFE and U+FFFF.
_BAD_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f"
                            "\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")

JsonPath = tuple[str | int, ...]


class InputLimitError(ValueError):
    """A value breaks one of the bounds above.

    :param path: keys and indexes from the top of the document to the value.
    :param problem: what is wrong and how to fix it, one sentence or two.
    """

    def __init__(self, path: JsonPath, problem: str) -> None:
        super().__init__(f"{format_json_path(path)}: {problem}")
        self.path = path
        self.problem = problem


def format_json_path(path: JsonPath) -> str:
    """A path for messages: ("tasks", "a", "inputs", 0) -> tasks.a.inputs[0]."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def describe_character(char: str) -> str:
    """A character as messages show it: "U+0000 (a control character)"."""
    code = ord(char)
    kind = ("a lone surrogate" if 0xD800 <= code <= 0xDFFF else
            "a non-character" if code in (0xFFFE, 0xFFFF) else "a control character")
    return f"U+{code:04X} ({kind})"


def find_bad_character(text: str) -> int | None:
    """The index of the first control character, lone surrogate or non-character (U+FFFE,
    U+FFFF) in `text`, or None. Tab, newline, carriage return and NEL are allowed.
    """
    match = _BAD_CHARACTER.search(text)
    return match.start() if match else None


def find_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in `text` (text UTF-8 cannot encode), or None."""
    match = _SURROGATE.search(text)
    return match.start() if match else None


def line_and_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of `index` in `text`."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def number_problem(value: int | float) -> str | None:
    """Why a number cannot be in a spec or a value (None when it can)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not MIN_INT <= value <= MAX_INT:
            return (f"the integer is out of range; integers must fit in 64 bits "
                    f"({MIN_INT} to {MAX_INT}). Write it as text if it is an identifier")
        return None
    if not math.isfinite(value):
        return (f"the number {value!r} is not finite; JSON has no infinity or NaN, so specs "
                "and values refuse them. Write a finite number, or null for no value")
    return None


class _Unreadable:
    """A JSON number the decoder must not turn into a Python number (found by the walk, or
    refused by a model field as "not a valid integer")."""

    def __init__(self, text: str, problem: str) -> None:
        self.text = text
        self.problem = problem

    def __repr__(self) -> str:
        return f"<{self.text[:20]}... out of range>"


def _parse_int(text: str) -> Any:
    if len(text) > _MAX_INT_DIGITS and len(text.lstrip("-")) > _MAX_INT_DIGITS:
        return _Unreadable(text, f"the integer {text[:20]}... ({len(text)} digits) is out "
                                 f"of range; integers must fit in 64 bits ({MIN_INT} to "
                                 f"{MAX_INT})")
    return int(text)


# A lone surrogate can come from the text itself or from a \uD800-\uDFFF escape (an escaped
# pair also matches; the walk then finds nothing wrong).
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def loads_json(text: str, max_chars: int = MAX_JSON_CHARS, *, check_all: bool = True) -> Any:
    """Parse JSON text within the bounds above.

    :param text: the JSON text.
    :param max_chars: the longest text accepted.
    :param check_all: walk the whole value with `check_json_value`. A reader whose models
        check their own fields (the spec models: finite floats, bounded nesting, and
        `check_json_value` on every free JSON value) passes False: the value is then walked
        only when the text may hold a lone surrogate or an integer past Python's int/str
        conversion limit, so a large spec loads at the decoder's speed.
    :raises json.JSONDecodeError: the text is not JSON (the caller reports the position).
    :raises InputLimitError: the text is too long, too deep, or holds a number or text that
        specs and values refuse.
    """
    if len(text) > max_chars:
        raise InputLimitError((), f"the text has {len(text)} characters, more than the "
                                  f"{max_chars} allowed")
    try:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer past Python's int/str limit: find where, slowly
            value = json.loads(text, parse_int=_parse_int)
            check_all = True
    except RecursionError:
        raise InputLimitError((), f"the JSON nests more than {MAX_JSON_DEPTH} levels of "
                                  "objects and arrays") from None
    if check_all or _SURROGATE.search(text) or _ESCAPED_SURROGATE.search(text):
        check_json_value(value)
    return value


def check_json_value(value: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Check a JSON-like value (dicts, lists, text, numbers, bools, None) against the bounds.

    Iterative, so a deep value cannot exhaust the Python stack.

    :param value: the value.
    :param max_depth: the deepest nesting of lists and dicts allowed.
    :raises InputLimitError: naming the path of the first value out of bounds.
    """
    stack: list[tuple[Any, JsonPath]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            index = find_surrogate(item)
            if index is not None:
                raise InputLimitError(path, f"the text holds {describe_character(item[index])}"
                                            f" at character {index + 1}, which UTF-8 cannot "
                                            "write. Remove it")
        elif isinstance(item, _Unreadable):
            raise InputLimitError(path, item.problem)
        elif isinstance(item, (int, float)):
            problem = number_problem(item)
            if problem is not None and isinstance(item, float):
                problem = problem.replace(f"the number {item!r}", f"the number {item!r} "
                                          "(Infinity, NaN or a number like 1e400)")
            if problem is not None:
                raise InputLimitError(path, problem)
        elif isinstance(item, (dict, list)):
            if len(path) >= max_depth:
                raise InputLimitError(path, f"the value nests more than {max_depth} levels "
                                            "of objects and lists")
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and find_surrogate(key) is not None:
                        raise InputLimitError(path, f"the key {key!r} holds a lone "
                                                    "surrogate, which UTF-8 cannot write")
                    stack.append((child, (*path, key)))
            else:
                stack.extend((child, (*path, i)) for i, child in enumerate(item))


__all__ = [
    "MAX_INT",
    "MAX_JSON_CHARS",
    "MAX_JSON_DEPTH",
    "MAX_YAML_CHARS",
    "MAX_YAML_DEPTH",
    "MIN_INT",
    "InputLimitError",
    "check_json_value",
    "describe_character",
    "find_bad_character",
    "find_surrogate",
    "format_json_path",
    "line_and_column",
    "loads_json",
    "number_problem",
]
