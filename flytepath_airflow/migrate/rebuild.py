"""Converted spec files: write them, read them back, and build their Airflow DAGs.

A converted spec is the IR's own document in YAML (ADR 0024): a `WorkflowSpec`, or a
`LaunchPlanSpec` (`kind: launch_plan`) when the DAG had a schedule. Reading validates it
with the same pydantic models as every other spec.

`build_converted_dag` is what `flytepath convert --check` compares with the original:
the real `build_dag`; for a launch plan, while `build_dag` does not build launch plans
itself, the workflow's DAG with the plan's schedule applied here (the check says so).

Imports airflow (through the DAG builder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flytepath_airflow.backends.airflow import dag_builder
from flytepath_airflow.errors import SpecError
from flytepath_airflow.ir.models import LaunchPlanSpec, ScheduleSpec, WorkflowSpec
from flytepath_airflow.ir.spec_io import parse_spec_document

ConvertedSpec = WorkflowSpec | LaunchPlanSpec


def dump_converted(doc: dict[str, Any], header: str) -> str:
    """The YAML text of a converted spec document (byte-identical for identical input)."""
    body = yaml.safe_dump(doc, sort_keys=True, allow_unicode=True, default_flow_style=False,
                          width=100)
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + body


def load_converted(path: str | Path) -> ConvertedSpec:
    """Read a converted spec file; SpecError names the file and the field."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML ({exc}). Convert the DAG again.") from None
    if isinstance(doc, dict) and doc.get("kind") == "launch_plan":
        try:
            return LaunchPlanSpec.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SpecError(f"{path}: {where}: {first['msg']}. Convert the DAG again.") from None
    return parse_spec_document(doc, str(path))


def build_converted_dag(spec: ConvertedSpec, settings: Any = None) -> tuple[Any, list[str]]:
    """The Airflow DAG FlytePath builds from a converted spec, and notes on how it was built."""
    if isinstance(spec, WorkflowSpec):
        return dag_builder.build_dag(spec, settings), []
    plan_builder = getattr(dag_builder, "build_launch_plan_dag", None)
    if plan_builder is not None:
        return plan_builder(spec, settings), []
    dag = dag_builder.build_dag(spec.workflow, settings)
    if spec.schedule is not None:
        apply_schedule(dag, spec.schedule)
    return dag, ["build_dag does not build launch plans yet: the plan's schedule was applied "
                 "to the workflow's DAG by flytepath_airflow.migrate.rebuild"]


def apply_schedule(dag: Any, schedule: ScheduleSpec) -> None:
    """Give a built DAG a launch plan's schedule (cron or fixed rate), catchup and start."""
    from datetime import datetime, timedelta

    from airflow.sdk import CronTriggerTimetable, DeltaTriggerTimetable

    if schedule.cron is not None:
        dag.timetable = CronTriggerTimetable(schedule.cron, timezone=schedule.timezone)
    else:
        assert schedule.fixed_rate is not None
        dag.timetable = DeltaTriggerTimetable(timedelta(seconds=schedule.fixed_rate))
    dag.catchup = schedule.catchup
    if schedule.start_date:
        dag.start_date = datetime.fromisoformat(schedule.start_date)
