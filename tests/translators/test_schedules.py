"""Schedules are checked at compile time with the cron parser Airflow's timetables use."""

from __future__ import annotations

import pytest

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.models import ScheduleSpec
from flytepath_airflow.translators.schedules import check_schedule, cron_problem


@pytest.mark.parametrize("expression", ["0 * * * *", "*/5 9-17 * * 1-5", "@daily",
                                        " 30 2 1 * * "])
def test_cron_problem_accepts_what_airflow_can_run(expression: str) -> None:
    assert cron_problem(expression) is None


@pytest.mark.parametrize(("expression", "reason"), [
    ("0 25 * * *", "a field is out of range"),
    ("60 * * * *", "a field is out of range"),
    ("0 0 * 13 *", "a field is out of range"),
    ("0 * * *", "Write five fields"),
    ("@sometimes", "Write five fields"),
])
def test_cron_problem_names_what_is_wrong(expression: str, reason: str) -> None:
    problem = cron_problem(expression)
    assert problem is not None and reason in problem


def test_check_schedule_names_the_owner_and_every_bad_field() -> None:
    with pytest.raises(CompileError) as err:
        check_schedule(ScheduleSpec(cron="0 25 * * *", timezone="Nowhere/Else"),
                       "launch plan 'nightly' (flows.py:3)")
    text = str(err.value)
    assert text.startswith("launch plan 'nightly' (flows.py:3): schedule: '0 25 * * *'")
    assert "timezone: 'Nowhere/Else' is not an IANA time zone" in text
