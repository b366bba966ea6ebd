"""The one grammar for durations written as text, used by YAML specs, CLI values and options.

    duration := [sign] (number | part+)
    part     := number unit          (spaces may separate parts)
    unit     := w | d | h | m | s | ms   (case-insensitive)
    number   := digits [. digits]

A bare number is seconds (`90`, `1.5`); parts add up (`1h30m`, `1d12h`, `500ms`,
`2w`). A duration is finite and at most `MAX_SECONDS` (100 years) either way, so every
duration read here fits a `datetime.timedelta`; task timeouts and retry delays have the
tighter `MAX_TASK_SECONDS` (365 days), checked by the spec. Whether a negative or zero
duration is acceptable, and what the message says, is the caller's decision: this module
only reads the text.

Must not import: any other FlytePath module, airflow, kubernetes.
"""

from __future__ import annotations

import re

UNITS: dict[str, float] = {"w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0,
                           "s": 1.0, "ms": 0.001}
"""Seconds per unit."""

MAX_SECONDS = 36_525 * 86400.0
"""The longest duration the grammar reads: 100 years (36,525 days), in seconds."""

MAX_TASK_SECONDS = 365 * 86400.0
"""The longest task timeout or retry delay: 365 days, in seconds."""

EXAMPLES = "90s, 10m, 1h30m, 2d or 1w"
"""Examples for error messages."""

_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|[wdhms])", re.IGNORECASE)


class DurationError(ValueError):
    """The text is not a duration in the grammar above."""


def parse_duration(text: str) -> float:
    """Seconds in a duration such as `90`, `1.5`, `90s`, `1h30m`, `-2d` or `500ms`.

    :param text: the duration as written.
    :raises DurationError: `text` does not follow the grammar, or is not finite, or is
        longer than `MAX_SECONDS` either way.
    """
    body = text.strip()
    sign = -1.0 if body.startswith("-") else 1.0
    if body[:1] in "+-":
        body = body[1:]
    if not body:
        raise DurationError(f"{_short(text)} is not a duration")
    try:
        total = float(body)
    except ValueError:
        total, pos = 0.0, 0
        while pos < len(body):
            match = _PART.match(body, pos)
            if match is None:
                raise DurationError(f"{_short(text)} is not a duration") from None
            total += float(match.group(1)) * UNITS[match.group(2).lower()]
            pos = match.end()
    if not total <= MAX_SECONDS:  # also refuses inf and nan
        raise DurationError(f"{_short(text)} is longer than {MAX_SECONDS:.0f} seconds "
                            "(100 years), the longest duration FlytePath reads")
    return sign * total


def _short(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


__all__ = ["EXAMPLES", "MAX_SECONDS", "MAX_TASK_SECONDS", "UNITS", "DurationError",
           "parse_duration"]
