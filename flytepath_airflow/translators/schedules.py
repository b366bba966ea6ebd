"""Launch-plan schedules checked at compile time: the cron expression and the time zone.

A schedule Airflow cannot read (`"0 25 * * *"`, a misspelled zone) would otherwise compile,
register, and only fail when the DAG file builds its timetable. Every front-end that makes a
schedule (the SDK's `LaunchPlan`, the DAG converter) checks it here, with croniter, which
Airflow's own cron timetables use, and the standard library's `zoneinfo`.

Must not import: airflow, kubernetes, the sdk.
"""

from __future__ import annotations

import zoneinfo

from croniter import croniter

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.models import ScheduleSpec

CRON_MACROS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually",
               "@midnight")
"""The `@` shorthands a cron schedule may use instead of five fields."""


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a cron schedule Airflow can run, or None when it is one.

    :param expression: five fields (minute hour day month weekday) or one of CRON_MACROS.
    """
    text = expression.strip()
    if text in CRON_MACROS:
        return None
    if len(text.split()) != 5:
        return (f"{expression!r} is not a cron expression. Write five fields (minute hour "
                f"day month weekday), e.g. \"0 * * * *\", or one of {', '.join(CRON_MACROS)}")
    if not croniter.is_valid(text):
        return (f"{expression!r} is not a valid cron expression: a field is out of range "
                "(minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-6) or malformed")
    return None


def timezone_problem(name: str) -> str | None:
    """Why `name` is not an IANA time zone, or None when it is one.

    :param name: e.g. "UTC" or "Europe/Paris".
    """
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return (f"{name!r} is not an IANA time zone; write a name such as \"UTC\" or "
                "\"Europe/Paris\"")
    return None


def check_schedule(schedule: ScheduleSpec, owner: str) -> None:
    """Refuse a schedule whose cron expression or time zone Airflow could not use.

    :param schedule: the launch plan's schedule.
    :param owner: who owns it, for the message, e.g. "launch plan 'nightly' (flows.py:12)".
    :raises CompileError: naming the owner, the field and the fix.
    """
    problems = []
    if schedule.cron is not None:
        reason = cron_problem(schedule.cron)
        if reason:
            problems.append(f"schedule: {reason}")
    reason = timezone_problem(schedule.timezone)
    if reason:
        problems.append(f"timezone: {reason}")
    if problems:
        raise CompileError(f"{owner}: {'; '.join(problems)}.")


__all__ = ["CRON_MACROS", "check_schedule", "cron_problem", "timezone_problem"]
