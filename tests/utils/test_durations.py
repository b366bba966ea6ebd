"""The one duration grammar shared by YAML specs, CLI input values and CLI options."""

from __future__ import annotations

import math

import pytest

from flytepath_airflow.utils.durations import DurationError, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0),
    ("1.5", 1.5),
    ("90s", 90.0),
    ("10m", 600.0),
    ("1h30m", 5400.0),
    ("1d12h", 129600.0),
    ("2w", 1209600.0),
    ("500ms", 0.5),
    ("1H 30M", 5400.0),
    ("-2d", -172800.0),
    ("+5s", 5.0),
])
def test_parse_duration_reads_bare_seconds_and_unit_parts(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "  ", "-", "10 minutes", "5x", "h", "1h-30m", "1.h"])
def test_parse_duration_refuses_text_outside_the_grammar(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_parse_duration_leaves_the_finiteness_check_to_the_caller() -> None:
    assert math.isinf(parse_duration("inf"))
    assert math.isnan(parse_duration("nan"))
