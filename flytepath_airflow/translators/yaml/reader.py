"""The base of the YAML compiler: where each spec field was written, and checks of value shapes.

`DocumentReader` holds a loaded document and the map from spec field paths to YAML paths
(the `locate()` that `translators.checks` uses to add `file:line` to graph errors). It builds
every error as `file:line: field.path: message`, and checks the shapes every part of the
format shares: mappings with allowed and required keys (unknown keys get a "did you mean"),
non-empty text, names, booleans, durations and command words. The interface, task, node and
workflow readers build on it.

Must not import: airflow, kubernetes, the sdk, or the modules that build on it (interface,
tasks, nodes, compiler).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from flytepath_airflow.errors import FlytePathUserError, SpecError
from flytepath_airflow.translators.checks import FieldPath
from flytepath_airflow.translators.yaml.loader import LocatedYaml, YamlPath, format_path
from flytepath_airflow.utils import durations
from flytepath_airflow.utils.suggest import did_you_mean


def _parse_duration(value: Any) -> float | None:
    """Seconds in a YAML duration (a number, or text in the `utils.durations` grammar).

    None when the value is not a finite duration.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = durations.parse_duration(value)
        except durations.DurationError:
            return None
    else:
        return None
    return seconds if math.isfinite(seconds) else None


class DocumentReader:
    """Positions, errors and value shapes of one YAML document; the compiler's base.

    :param doc: the loaded document, with the line of every value.
    """

    def __init__(self, doc: LocatedYaml) -> None:
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
                             f"found {describe(value)}.")
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
            raise self.error(path, f"{what} must be non-empty text; found {describe(value)}.")
        return value

    def name(self, value: Any, path: YamlPath, pattern: re.Pattern[str], what: str,
             rule: str) -> str:
        text = self.text(value, path, what)
        if not pattern.match(text):
            raise self.error(path, f"{what} {text!r} is not valid: use {rule}.")
        return text

    def boolean(self, value: Any, path: YamlPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(path, f"expected true or false; found {describe(value)}.")
        return value

    def duration(self, value: Any, path: YamlPath, allow_zero: bool) -> float:
        """Seconds of a task duration (timeout, retry delay): at most 365 days."""
        seconds = _parse_duration(value)
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        if seconds is None or seconds < 0 or (seconds == 0 and not allow_zero):
            raise self.error(path, f"{shown} is not a valid duration. Write a "
                             f"{'non-negative' if allow_zero else 'positive'} number of "
                             "seconds or text like 90s, 10m, 1h30m, 2d.")
        if seconds > durations.MAX_TASK_SECONDS:
            raise self.error(path, f"{shown} is longer than 365 days "
                             f"({durations.MAX_TASK_SECONDS:.0f} s), the longest timeout "
                             "or retry delay a task may have. Write at most 365d.")
        return seconds

    def words(self, value: Any, path: YamlPath, what: str) -> list[str]:
        """A list of command words; numbers are taken as their text."""
        if not isinstance(value, list):
            raise self.error(path, f"{what} must be a list of strings, e.g. "
                             "[python, train.py, --epochs, '3']; found "
                             f"{describe(value)}.")
        words = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise self.error((*path, i), f"expected a string; found {describe(item)}. "
                                 "Quote it.")
            words.append(str(item))
        return words


def short_json(value: Any) -> str:
    """A value as JSON for a message, cut to 60 characters."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(value: Any) -> str:
    """What a value is, for "found ..." in messages: "a list", "the text 'x'", ..."""
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


__all__ = ["DocumentReader", "describe", "short_json"]
