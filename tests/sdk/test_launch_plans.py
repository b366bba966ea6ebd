"""Launch plans: registry by name, compiled LaunchPlanSpec, local calls, CLI targets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from flytepath_airflow import CronSchedule, FixedRate, LaunchPlan, task, workflow
from flytepath_airflow.errors import CompileError, FlytePathUserError
from flytepath_airflow.ir.models import LaunchPlanSpec, ScheduleSpec
from flytepath_airflow.sdk.targets import load_target


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def stamp(total: int, at: dt.datetime) -> str:
    return f"{total}@{at.isoformat()}"


@workflow
def adder(a: int, b: int = 2) -> int:
    return add(a=a, b=b)


@workflow
def stamped(x: int, run_at: dt.datetime) -> str:
    return stamp(total=x, at=run_at)


@pytest.fixture
def flows(fixtures_on_path: Path) -> Any:
    import control_flows

    return control_flows


def test_get_or_create_returns_the_same_plan_for_the_same_arguments() -> None:
    first = LaunchPlan.get_or_create(adder, "lp_same", fixed_inputs={"b": 3})
    again = LaunchPlan.get_or_create(adder, "lp_same", fixed_inputs={"b": 3})
    assert again is first and LaunchPlan.get("lp_same") is first
    default = LaunchPlan.get_or_create(adder)
    assert default.name == adder.name


def test_get_or_create_refuses_different_arguments_under_a_taken_name() -> None:
    LaunchPlan.get_or_create(adder, "lp_taken", fixed_inputs={"b": 3})
    with pytest.raises(CompileError) as err:
        LaunchPlan.get_or_create(adder, "lp_taken", fixed_inputs={"b": 4})
    assert "launch plan 'lp_taken' already exists" in str(err.value)
    assert "different fixed_inputs" in str(err.value)


def test_compile_converts_inputs_to_literals_and_the_schedule() -> None:
    plan = LaunchPlan.get_or_create(
        stamped, "lp_cron", default_inputs={"x": 1},
        schedule=CronSchedule(schedule="0 * * * *", kickoff_time_input_arg="run_at",
                              timezone="Europe/Paris"),
        catchup=True,
    )
    spec = plan.compile("proj", "staging")
    assert isinstance(spec, LaunchPlanSpec) and spec.name == "lp_cron"
    assert spec.workflow.name == stamped.name and spec.workflow.tenant.project == "proj"
    assert spec.default_inputs == {"x": 1} and spec.fixed_inputs == {}
    assert spec.schedule == ScheduleSpec(cron="0 * * * *", timezone="Europe/Paris",
                                         kickoff_time_input="run_at", catchup=True)
    assert len(spec.version) == 16
    assert plan.compile("proj", "production").version == spec.version
    rate = LaunchPlan.get_or_create(
        stamped, "lp_rate", default_inputs={"x": 1},
        schedule=FixedRate(duration=dt.timedelta(minutes=5), kickoff_time_input_arg="run_at"))
    assert rate.compile().schedule == ScheduleSpec(fixed_rate=300.0, kickoff_time_input="run_at")
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    fixed_time = LaunchPlan.get_or_create(stamped, "lp_time", fixed_inputs={"run_at": when})
    assert fixed_time.compile().fixed_inputs == {"run_at": "2026-01-01T00:00:00+00:00"}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"fixed_inputs": {"c": 1}},
     "fixed input 'c' is not an input of workflow 'test_launch_plans.adder', whose inputs "
     "are a, b"),
    ({"default_inputs": {"aa": 1}}, "default input 'aa' is not an input of workflow"),
    ({"fixed_inputs": {"a": "x"}}, "fixed input 'a' = 'x' does not fit the workflow input's "
                                   "type int"),
    ({"schedule": CronSchedule(schedule="0 * * * *", kickoff_time_input_arg="a"),
      "fixed_inputs": {"b": 1}}, "kickoff_time_input_arg 'a' is not a datetime input"),
    ({"schedule": CronSchedule(schedule="hourly")}, "'hourly' is not a cron expression"),
    ({"schedule": CronSchedule(schedule="0 25 * * *"), "fixed_inputs": {"a": 1, "b": 2}},
     "CronSchedule schedule: '0 25 * * *' is not a valid cron expression: a field is out "
     "of range"),
    ({"schedule": CronSchedule(schedule="0 * * * *", timezone="Mars/Olympus"),
      "fixed_inputs": {"a": 1, "b": 2}},
     "CronSchedule timezone: 'Mars/Olympus' is not an IANA time zone"),
    ({"schedule": CronSchedule(schedule="0 * * * *")},
     "workflow input 'a' has no value: a scheduled run has no one to give it"),
    ({"schedule": FixedRate(duration=dt.timedelta(0)), "fixed_inputs": {"a": 1}},
     "FixedRate needs a positive datetime.timedelta"),
    ({"default_inputs": {"a": 1}, "fixed_inputs": {"a": 2}},
     "'a' is both a default and a fixed input"),
])
def test_bad_launch_plans_are_refused_naming_the_plan(kwargs: dict[str, Any],
                                                      message: str) -> None:
    with pytest.raises(CompileError) as err:
        LaunchPlan.get_or_create(adder, f"lp_bad_{abs(hash(repr(kwargs)))}", **kwargs).compile()
    assert "launch plan 'lp_bad_" in str(err.value)
    assert message in str(err.value)


def test_calling_a_launch_plan_runs_with_defaults_and_fixed_inputs(flows: Any) -> None:
    assert flows.add_ten() == 11
    assert flows.add_ten(a=5) == 15
    with pytest.raises(FlytePathUserError, match="fixes input 'b'"):
        flows.add_ten(b=1)


def test_load_target_resolves_launch_plans_when_allowed(flows: Any, fixtures_on_path: Path
                                                       ) -> None:
    target = f"{fixtures_on_path}/control_flows.py:hourly_stamp"
    plan = load_target(target, allow_launch_plan=True, project="p")
    assert isinstance(plan, LaunchPlanSpec) and plan.name == "hourly_stamp"
    assert plan.workflow.tenant.project == "p" and plan.fixed_inputs == {"y": 100}
    with pytest.raises(FlytePathUserError, match="is launch plan 'hourly_stamp'"):
        load_target(target)
