"""A loaded DAG's timetable as the schedule of a launch plan (or none, with notes why).

Cron and delta timetables convert (their data-interval variants become trigger-time ones,
with a note); a DAG without a schedule, or with a timetable FlytePath has no form for, is
converted as a workflow that runs when triggered. `structure.schedule_of` reads the
timetable; this module decides what the spec keeps.

Imports no airflow itself (it reads the DAG's attributes). Must not import the task,
classification or document modules of the converter.
"""

from __future__ import annotations

from typing import Any

from flytepath_airflow.ir.models import ScheduleSpec
from flytepath_airflow.migrate.structure import schedule_of


def schedule_spec(dag: Any, notes: list[str], declared: list[str]) -> ScheduleSpec | None:
    """The DAG's schedule as a ScheduleSpec; None when it has none FlytePath can express.

    :param dag: the loaded DAG.
    :param notes: the DAG's report notes (what changed or was dropped is noted).
    :param declared: the DAG's declared differences (for the round-trip comparison).
    """
    sched = schedule_of(dag.timetable)
    start = dag.start_date.isoformat() if dag.start_date else None
    kind = sched["kind"]
    timetable = type(dag.timetable).__name__
    if kind == "none":
        if dag.catchup:
            notes.append("catchup is set but the DAG has no schedule; dropped")
            declared.append("catchup")
        return None
    if "DataInterval" in timetable:
        notes.append(f"{timetable}: data intervals become trigger times "
                     "(CronTriggerTimetable / DeltaTriggerTimetable)")
        declared.append("schedule")
    if kind == "cron":
        return ScheduleSpec(cron=sched["cron"], timezone=sched["timezone"],
                            catchup=bool(dag.catchup), start_date=start)
    if kind == "rate":
        return ScheduleSpec(fixed_rate=sched["seconds"], catchup=bool(dag.catchup),
                            start_date=start)
    notes.append(f"schedule {sched['timetable']} ({sched['summary']}) has no "
                 "FlytePath form; the converted DAG runs when triggered")
    declared.extend(["schedule", "catchup"] if dag.catchup else ["schedule"])
    return None
