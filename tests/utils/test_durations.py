"""The one duration grammar shared by YAML specs, CLI input values and CLI options."""

from __future__ import annotations

import pytest

from flytepath_airflow.utils.durations import MAX_SECONDS, DurationError, parse_duration


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


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e400", "1e300", "99999999999d",
                                  "9" * 400 + "w", "36526d"])
def test_parse_duration_refuses_non_finite_and_longer_than_100_years(text: str) -> None:
    # Before: "inf" and "1e300" were returned as seconds, and timedelta() overflowed later.
    with pytest.raises(DurationError, match=r"not a duration|longer than"):
        parse_duration(text)


def test_parse_duration_reads_up_to_100_years() -> None:
    assert parse_duration("36525d") == MAX_SECONDS
    assert parse_duration("-36525d") == -MAX_SECONDS
