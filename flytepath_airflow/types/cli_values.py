"""Parsing command-line text into literals: `parse_cli_value` (for `-i name=value`).

Text on a command line has no JSON types, so each literal type says how its text reads
(see `parse_cli_value`); the parsed value is then checked by `validate_literal`, so a CLI
value obeys exactly the rules of a literal written anywhere else.

Must not import: airflow, kubernetes, pandas, pyarrow, stores, the sdk, or user code.
"""

from __future__ import annotations

from typing import Any

from flytepath_airflow.errors import LiteralValueError
from flytepath_airflow.ir.models import EnumType, LiteralType, SimpleType, UnionType
from flytepath_airflow.types.render import is_none_type, render_type
from flytepath_airflow.types.validate import same_json, validate_literal
from flytepath_airflow.utils import durations
from flytepath_airflow.utils.limits import (
    InputLimitError,
    describe_character,
    find_surrogate,
    loads_json,
    number_problem,
)

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
    Values obey `utils.limits`: numbers are finite and integers fit in 64 bits (`inf`,
    `nan` and `1e400` are refused), text holds no lone surrogates, JSON nests boundedly.

    :raises LiteralValueError: naming the path, the expected type and the text.
    """
    index = find_surrogate(text)
    if index is not None:
        raise LiteralValueError(
            f"{path}: the value holds {describe_character(text[index])} at character "
            f"{index + 1}, which UTF-8 cannot write. Remove it."
        )
    return validate_literal(_parse_cli(text, lt, path), lt, path)


def _parse_cli(text: str, lt: LiteralType, path: str) -> Any:
    if isinstance(lt, SimpleType):
        name = lt.name
        if name in ("str", "bytes", "datetime", "date"):
            return text
        stripped = text.strip()
        if name == "int":
            try:
                number: int | float = int(stripped) if len(stripped) <= 20 else float("inf")
            except ValueError:
                raise _cli_error(path, lt, text, "an integer like 42") from None
            if number_problem(number) is not None:
                raise _cli_error(path, lt, text,
                                 "an integer that fits in 64 bits (at most 19 digits)")
            return number
        if name == "float":
            try:
                number = float(stripped)
            except ValueError:
                raise _cli_error(path, lt, text, "a number like 0.5") from None
            if number_problem(number) is not None:
                raise _cli_error(path, lt, text, "a finite number like 0.5 "
                                 "(JSON has no infinity or NaN)")
            return number
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
            f"{path}: {_short(text)!r} is not a valid {render_type(lt)} ({' | '.join(reasons)})."
        )
    if isinstance(lt, EnumType):
        try:
            parsed = loads_json(text)
        except ValueError:
            return text
        if any(same_json(parsed, v) for v in lt.values):
            return parsed
        return text
    return _parse_json(text, lt, path)


def _parse_json(text: str, lt: LiteralType, path: str) -> Any:
    try:
        return loads_json(text)
    except InputLimitError as exc:
        raise LiteralValueError(
            f"{path}: the JSON value {_short(text)} is refused at {exc}."
        ) from None
    except ValueError as exc:
        raise LiteralValueError(
            f"{path}: expected {render_type(lt)} written as JSON, but {_short(text)} is not "
            f"JSON ({exc}). Quote the value for your shell, e.g. '[1, 2]' or '\"text\"'."
        ) from None


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _cli_error(path: str, lt: LiteralType, text: str, wanted: str) -> LiteralValueError:
    return LiteralValueError(
        f"{path}: expected {render_type(lt)}, got {_short(text)!r}; write {wanted}."
    )


def _parse_duration(text: str, path: str, lt: LiteralType) -> int | float:
    try:
        seconds = durations.parse_duration(text)
    except durations.DurationError:
        raise _cli_error(
            path, lt, text, "seconds (90, 1.5) or a duration like 90s, 5m, 1h30m, 2d, "
            "at most 100 years"
        ) from None
    return int(seconds) if seconds.is_integer() else seconds
