"""Reading YAML text into plain values that remember where they were written.

The loader keeps the line of every value and mapping key (so the compiler's errors say
`file:line`), reads YAML 1.2 core scalars only (true/false, null, decimal numbers; `yes`,
`no`, `on`, `off` and dates stay strings), rejects duplicate keys, self-referencing aliases
and unsupported tags, and turns PyYAML's syntax errors into messages that say how to fix them
(inside `{ }` or `[ ]`, quote values that contain brackets or commas). It enforces the
bounds of `utils.limits` with the line of the offending value: the size of the file, the
nesting depth, no control characters or lone surrogates (written or escaped), 64-bit
integers and finite numbers.

Must not import: airflow, kubernetes, the sdk, the spec models, or the rest of this package
but `names` (the compiler builds on the loader, never the other way round).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from flytepath_airflow.errors import SpecError
from flytepath_airflow.translators.yaml.names import IDENT
from flytepath_airflow.utils.limits import (
    MAX_YAML_CHARS,
    MAX_YAML_DEPTH,
    describe_character,
    find_bad_character,
    line_and_column,
    number_problem,
)

YamlPath = tuple[str | int, ...]
"""A path inside the YAML document, e.g. ("tasks", "count", "retries")."""

_MAX_NODES = 100_000


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
    """Parses YAML into position-carrying nodes; values are built by `LocatedYaml`."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Resolver.__init__(self)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # PyYAML composes recursively: bound the depth before Python's stack runs out.
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise _TooDeep(mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class LocatedYaml:
    """Plain values of a YAML document plus the line of every value and mapping key.

    :param source: the name messages give the document, e.g. its file name.
    :param text: the YAML text.
    :raises SpecError: the text is not valid YAML, is empty, or uses what the format
        refuses (duplicate keys, non-text keys, recursive aliases, unsupported tags).
    """

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines: dict[YamlPath, int] = {}
        self.key_lines: dict[YamlPath, int] = {}
        self.block_scalars: set[YamlPath] = set()
        self._count = 0
        self._depth = 0
        self._check_text(text)
        composer = None
        try:
            composer = _Composer(text)
            root = composer.get_single_node()
        except _TooDeep as exc:
            raise SpecError(f"{source}:{exc.line}: mappings and lists nest more than "
                            f"{MAX_YAML_DEPTH} levels deep. Flatten the document.") from None
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
        except yaml.YAMLError as exc:  # ReaderError: characters the checks above let by
            raise SpecError(f"{source}:1: not valid YAML: {exc}.") from None
        finally:
            if composer is not None:
                composer.dispose()
        if root is None:
            raise SpecError(f"{source}:1: the file is empty. A workflow file needs at least "
                            "'name', 'tasks' and 'nodes'; see docs/yaml-spec.md.")
        self.data = self._build(root, (), set())

    def _check_text(self, text: str) -> None:
        if len(text) > MAX_YAML_CHARS:
            raise SpecError(f"{self.source}:1: the file has {len(text)} characters, more than "
                            f"the {MAX_YAML_CHARS} a workflow file may have. Split it, or "
                            "compile it from Python.")
        index = find_bad_character(text)
        if index is not None:
            line, column = line_and_column(text, index)
            raise SpecError(f"{self.source}:{line}: column {column} holds "
                            f"{describe_character(text[index])}, which a workflow file may "
                            "not contain. Remove it (write text, tabs and newlines only).")

    def _fail(self, node: yaml.Node, path: YamlPath, message: str) -> SpecError:
        return SpecError(f"{self.source}:{node.start_mark.line + 1}: "
                         f"{format_path(path)}: {message}")

    def _build(self, node: yaml.Node, path: YamlPath, active: set[int]) -> Any:
        # Aliases and merge keys can nest what the composer saw as shallow: bound it again.
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise self._fail(node, path, f"mappings and lists nest more than "
                                 f"{MAX_YAML_DEPTH} levels deep (through aliases or merge "
                                 "keys). Flatten the document.")
            return self._build_node(node, path, active)
        finally:
            self._depth -= 1

    def _build_node(self, node: yaml.Node, path: YamlPath, active: set[int]) -> Any:
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
        shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
        if tag == "tag:yaml.org,2002:str":
            index = find_bad_character(text)
            if index is not None:  # only an escape such as "\\ud800" or "\\x00" gets here
                raise self._fail(node, path, f"the text {shown} holds "
                                 f"{describe_character(text[index])}, which specs refuse "
                                 "(UTF-8 cannot write a lone surrogate; a control character "
                                 "breaks commands and logs). Remove the escape.")
            return text
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            return text.lower() == "true"
        if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            kind = tag.rsplit(":", 1)[-1]
            digits = text.lstrip("+-0") if kind == "int" else ""
            try:
                number: int | float = (int(text) if len(digits) <= 19 else 2 ** 64) \
                    if kind == "int" else float(text)
            except ValueError:
                raise self._fail(node, path, f"{shown} is not a valid {kind}.") from None
            problem = number_problem(number)
            if problem is not None:
                if kind == "float":
                    problem = (f"{shown} is too large: it would be infinity, and specs refuse "
                               "infinity and NaN (JSON has neither). Write a smaller number, "
                               "or quote it to make it text")
                else:
                    problem = f"{shown}: {problem}"
                raise self._fail(node, path, problem + ".")
            return number
        raise self._fail(node, path, f"the YAML tag {tag} is not supported. Use plain values "
                         "(text, numbers, true/false, null, lists and mappings).")


def format_path(path: YamlPath) -> str:
    """Render a YAML path for messages: ("nodes", 2, "inputs", "x") -> nodes[2].inputs.x.

    :param path: keys and list indexes from the document's top level.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif IDENT.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(top level)"


__all__ = ["LocatedYaml", "YamlPath", "format_path"]
