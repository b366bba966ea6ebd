"""Parsing command-line text into literals: `parse_cli_value` (for `-i name=value`).

Text on a command line has no JSON types, so each literal type says how its text reads
(see `parse_cli_value`); the parsed value is then checked by `validate_literal`, so a CLI
value obeys exactly the rules of a literal written anywhere else.

Must not import: airflow, kubernetes, pandas, pyarrow, stores, the sdk, or user code.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.models import EnumType, LiteralType, SimpleType, UnionType
from flytepath_airflow.types.render import is_none_type, render_type
from flytepath_airflow.types.validate import same_json, validate_literal
from flytepath_airflow.utils import durations

__all__ = ["parse_cli_value"]



def parse_cli_value(text: str, lt: LiteralType, path: str = "value") -> Any:
    """Turn command-line text into a literal of type `lt`, then validate it.

    `str` (and `Optional[str]`, unless the text is `null`) takes the text as it is;
    int, float and bool parse (`true`/`false`/`1`/`0` for bool); datetimes and dates are
    ISO 8601; durations are seconds or forms like `90s`, `5m`, `1h30m`, `2d`; bytes are
    base64 text; enums take a member value as it is or as JSON; anything else is JSON.
    A union tries its variants in declared order.

    :param text: the value as typed on the command line.
    :param lt: the literal type of the input it is for.
    :param path: where the value goes, for error messages (the input's name).
    :raises LiteralValueError: naming the path, the expected type and the text.
    """
    return validate_literal(_parse_cli(text, lt, path), lt, path)


def _parse_cli(text: str, lt: LiteralType, path: str) -> Any:
    if isinstance(lt, SimpleType):
        name = lt.name
        if name in ("str", "bytes", "datetime", "date"):
            return text
        stripped = text.strip()
        if name == "int":
            try:
                return int(stripped)
            except ValueError:
                raise _cli_error(path, lt, text, "an integer like 42") from None
        if name == "float":
            try:
                return float(stripped)
            except ValueError:
                raise _cli_error(path, lt, text, "a number like 0.5") from None
        if name == "bool":
            lowered = stripped.lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
            raise _cli_error(path, lt, text, "true, false, 1 or 0")
        if name == "duration":
            return _parse_duration(stripped, path, lt)
        if name == "none":
            if stripped == "null":
                return None
            raise _cli_error(path, lt, text, "null")
        return _parse_json(text, lt, path)
    if isinstance(lt, UnionType):
        if text.strip() == "null" and any(is_none_type(v) for v in lt.variants):
            return None
        reasons: list[str] = []
        for variant in lt.variants:
            if is_none_type(variant):
                continue
            try:
                return parse_cli_value(text, variant, path)
            except LiteralValueError as exc:
                reasons.append(str(exc))
        raise LiteralValueError(
            f"{path}: {text!r} is not a valid {render_type(lt)} ({' | '.join(reasons)})."
        )
    if isinstance(lt, EnumType):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        if any(same_json(parsed, v) for v in lt.values):
            return parsed
        return text
    return _parse_json(text, lt, path)


def _parse_json(text: str, lt: LiteralType, path: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise LiteralValueError(
            f"{path}: expected {render_type(lt)} written as JSON, but {text!r} is not JSON "
            f"({exc}). Quote the value for your shell, e.g. '[1, 2]' or '\"text\"'."
        ) from None


def _cli_error(path: str, lt: LiteralType, text: str, wanted: str) -> LiteralValueError:
    return LiteralValueError(
        f"{path}: expected {render_type(lt)}, got {text!r}; write {wanted}."
    )


def _parse_duration(text: str, path: str, lt: LiteralType) -> int | float:
    try:
        seconds = durations.parse_duration(text)
    except durations.DurationError:
        raise _cli_error(
            path, lt, text, "seconds (90, 1.5) or a duration like 90s, 5m, 1h30m, 2d"
        ) from None
    if not math.isfinite(seconds):
        raise _cli_error(path, lt, text, "a finite number of seconds")
    return int(seconds) if seconds.is_integer() else seconds
