"""The one grammar for durations written as text, used by YAML specs, CLI values and options.

    duration := [sign] (number | part+)
    part     := number unit          (spaces may separate parts)
    unit     := w | d | h | m | s | ms   (case-insensitive)
    number   := digits [. digits]

A bare number is seconds (`90`, `1.5`); parts add up (`1h30m`, `1d12h`, `500ms`,
`2w`). Whether a negative or zero duration is acceptable, and what the message says, is
the caller's decision: this module only reads the text.

Must not import: any other FlytePath module, airflow, kubernetes.
"""

from __future__ import annotations

import re

UNITS: dict[str, float] = {"w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0,
                           "s": 1.0, "ms": 0.001}
"""Seconds per unit."""

EXAMPLES = "90s, 10m, 1h30m, 2d or 1w"
"""Examples for error messages."""

_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|[wdhms])", re.IGNORECASE)


class DurationError(ValueError):
    """The text is not a duration in the grammar above."""


def parse_duration(text: str) -> float:
    """Seconds in a duration such as `90`, `1.5`, `90s`, `1h30m`, `-2d` or `500ms`.

    A bare number may be anything Python's `float()` reads, so the caller must check that
    it is finite when that matters.

    :param text: the duration as written.
    :raises DurationError: `text` does not follow the grammar.
    """
    body = text.strip()
    sign = -1.0 if body.startswith("-") else 1.0
    if body[:1] in "+-":
        body = body[1:]
    if not body:
        raise DurationError(f"{text!r} is not a duration")
    try:
        return sign * float(body)
    except ValueError:
        pass
    total, pos = 0.0, 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None:
            raise DurationError(f"{text!r} is not a duration")
        total += float(match.group(1)) * UNITS[match.group(2).lower()]
        pos = match.end()
    return sign * total


__all__ = ["EXAMPLES", "UNITS", "DurationError", "parse_duration"]
