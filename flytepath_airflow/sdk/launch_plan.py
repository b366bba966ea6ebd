"""Launch plans: a named way to launch a workflow (defaults, fixed inputs, a schedule).

    hourly = LaunchPlan.get_or_create(
        report, name="hourly_report",
        default_inputs={"region": "eu"}, fixed_inputs={"dry_run": False},
        schedule=CronSchedule(schedule="0 * * * *", kickoff_time_input_arg="run_at"),
    )

Launch plans register in a per-process registry keyed by name: `get_or_create` returns the
existing plan for the same name and arguments and refuses different arguments under a
name that is taken. `compile(project, domain)` gives the LaunchPlanSpec the Airflow backend
builds one DAG from; calling the plan with keyword arguments runs the workflow locally.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flytepath_airflow.errors import CompileError, FlytePathUserError
from flytepath_airflow.ir.models import (
    SCHEMA_VERSION,
    LaunchPlanSpec,
    ScheduleSpec,
    SimpleType,
)
from flytepath_airflow.ir.names import check_name
from flytepath_airflow.ir.spec_io import launch_plan_version
from flytepath_airflow.sdk.compiler import compile_workflow
from flytepath_airflow.sdk.promise import active_trace, caller_location
from flytepath_airflow.sdk.workflow import PythonWorkflow
from flytepath_airflow.translators.schedules import cron_problem, timezone_problem
from flytepath_airflow.types import default_engine
from flytepath_airflow.types.render import render_type

_DATETIME = SimpleType(name="datetime")


@dataclass(frozen=True)
class CronSchedule:
    """Run on a cron schedule.

    Args:
        schedule: a five-field cron expression ("0 * * * *") or a macro ("@daily").
        kickoff_time_input_arg: a datetime input of the workflow that receives the
            scheduled time of each run.
        timezone: the IANA time zone the expression is read in.
    """

    schedule: str
    kickoff_time_input_arg: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class FixedRate:
    """Run every `duration`.

    Args:
        duration: the interval between runs (a datetime.timedelta).
        kickoff_time_input_arg: a datetime input of the workflow that receives the
            scheduled time of each run.
    """

    duration: dt.timedelta
    kickoff_time_input_arg: str | None = None


_REGISTRY: dict[str, LaunchPlan] = {}


class LaunchPlan:
    """A named (workflow, default inputs, fixed inputs, schedule); see get_or_create."""

    def __init__(self, name: str, workflow: PythonWorkflow, default_inputs: dict[str, Any],
                 fixed_inputs: dict[str, Any], schedule: CronSchedule | FixedRate | None,
                 catchup: bool, location: str) -> None:
        self.name = name
        self.workflow = workflow
        self.default_inputs = default_inputs
        self.fixed_inputs = fixed_inputs
        self.schedule = schedule
        self.catchup = catchup
        self.location = location

    def __repr__(self) -> str:
        return f"<launch plan {self.name} of {self.workflow.name}>"

    def _arguments(self) -> tuple[Any, ...]:
        return (self.workflow.name, self.default_inputs, self.fixed_inputs, self.schedule,
                self.catchup)

    @classmethod
    def get_or_create(
        cls, workflow: PythonWorkflow, name: str | None = None, *,
        default_inputs: dict[str, Any] | None = None,
        fixed_inputs: dict[str, Any] | None = None,
        schedule: CronSchedule | FixedRate | None = None,
        catchup: bool = False,
    ) -> LaunchPlan:
        """Return the launch plan `name`, creating it on first use.

        Args:
            workflow: the @workflow to launch.
            name: the plan's name (default: the workflow's name).
            default_inputs: input values used when a trigger does not give them.
            fixed_inputs: input values no trigger can change.
            schedule: CronSchedule or FixedRate, or None to launch only on demand.
            catchup: on a schedule, also run the intervals missed while paused.

        Raises:
            CompileError: the name is taken with different arguments, or an input or the
                schedule does not fit the workflow.
        """
        location = caller_location()
        if not isinstance(workflow, PythonWorkflow):
            raise CompileError(
                f"LaunchPlan.get_or_create at {location} needs a @workflow, got {workflow!r}."
            )
        plan = cls(name or workflow.name, workflow, dict(default_inputs or {}),
                   dict(fixed_inputs or {}), schedule, bool(catchup), location)
        existing = _REGISTRY.get(plan.name)
        if existing is not None:
            if existing._arguments() == plan._arguments():
                return existing
            differs = [label for label, a, b in zip(
                ("workflow", "default_inputs", "fixed_inputs", "schedule", "catchup"),
                existing._arguments(), plan._arguments(), strict=True) if a != b]
            raise CompileError(
                f"launch plan '{plan.name}' already exists ({existing.location}) with "
                f"different {', '.join(differs)} ({location}). Launch plans are looked up by "
                "name: give this one another name, or the same arguments."
            )
        plan._check_names()
        _REGISTRY[plan.name] = plan
        return plan

    @classmethod
    def get(cls, name: str) -> LaunchPlan:
        """The registered launch plan `name` (KeyError lists the known names)."""
        try:
            return _REGISTRY[name]
        except KeyError:
            raise KeyError(f"no launch plan named {name!r}; known: "
                           f"{', '.join(sorted(_REGISTRY)) or 'none'}") from None

    @property
    def kickoff_input(self) -> str | None:
        """The workflow input that receives the scheduled time, if any."""
        return self.schedule.kickoff_time_input_arg if self.schedule is not None else None

    def _check_names(self) -> None:
        check_name(self.name, "launch_plan", where=f"launch plan ({self.location})")
        inputs = self.workflow.interface.inputs
        names = [v.name for v in inputs]
        for label, given in (("default input", self.default_inputs),
                             ("fixed input", self.fixed_inputs)):
            for key in given:
                if key not in names:
                    raise CompileError(
                        f"launch plan '{self.name}' ({self.location}): {label} '{key}' is not "
                        f"an input of workflow '{self.workflow.name}', whose inputs are "
                        f"{', '.join(names) or 'none'}. Correct the name or remove it."
                    )
        both = sorted(set(self.default_inputs) & set(self.fixed_inputs))
        if both:
            raise CompileError(
                f"launch plan '{self.name}' ({self.location}): {', '.join(map(repr, both))} "
                "is both a default and a fixed input. Keep it in one of them."
            )
        if self.schedule is not None and not isinstance(self.schedule,
                                                        (CronSchedule, FixedRate)):
            raise CompileError(
                f"launch plan '{self.name}' ({self.location}): schedule must be "
                f"CronSchedule(...) or FixedRate(...), got {self.schedule!r}."
            )
        kickoff = self.kickoff_input
        if kickoff is not None:
            var = self.workflow.interface.input(kickoff)
            if var is None or var.type != _DATETIME:
                what = ("is not an input of the workflow" if var is None
                        else "is not a datetime input")
                raise CompileError(
                    f"launch plan '{self.name}' ({self.location}): kickoff_time_input_arg "
                    f"'{kickoff}' {what}. Name a `datetime` input of workflow "
                    f"'{self.workflow.name}' (inputs: {', '.join(names) or 'none'})."
                )
            if kickoff in self.fixed_inputs:
                raise CompileError(
                    f"launch plan '{self.name}' ({self.location}): '{kickoff}' receives the "
                    "scheduled time, so it cannot also be a fixed input. Remove it from "
                    "fixed_inputs."
                )
        if isinstance(self.schedule, CronSchedule):
            for field, reason in (("schedule", cron_problem(self.schedule.schedule)),
                                  ("timezone", timezone_problem(self.schedule.timezone))):
                if reason:
                    raise CompileError(
                        f"launch plan '{self.name}' ({self.location}): CronSchedule "
                        f"{field}: {reason}."
                    )
        if isinstance(self.schedule, FixedRate) and (
                not isinstance(self.schedule.duration, dt.timedelta)
                or self.schedule.duration.total_seconds() <= 0):
            raise CompileError(
                f"launch plan '{self.name}' ({self.location}): FixedRate needs a positive "
                f"datetime.timedelta, got {self.schedule.duration!r}."
            )

    def _literals(self, values: dict[str, Any], label: str) -> dict[str, Any]:
        engine = default_engine()
        py = self.workflow.python_interface.inputs
        out = {}
        for key, value in values.items():
            try:
                out[key] = engine.to_literal(value, py[key], None, key)
            except FlytePathUserError as exc:
                var = self.workflow.interface.input(key)
                shown = render_type(var.type) if var is not None else "?"
                raise CompileError(
                    f"launch plan '{self.name}' ({self.location}): {label} '{key}' = "
                    f"{value!r} does not fit the workflow input's type {shown} ({exc}). "
                    "Change the value."
                ) from None
        return out

    def compile(self, project: str = "default", domain: str = "development") -> LaunchPlanSpec:
        """The versioned LaunchPlanSpec (with the compiled workflow) for one tenant."""
        self._check_names()
        spec = compile_workflow(self.workflow, project=project, domain=domain)
        defaults = self._literals(self.default_inputs, "default input")
        fixed = self._literals(self.fixed_inputs, "fixed input")
        schedule = None
        if self.schedule is not None:
            covered = set(defaults) | set(fixed) | {self.kickoff_input}
            missing = [v.name for v in spec.interface.inputs
                       if v.required and v.name not in covered]
            if missing:
                raise CompileError(
                    f"launch plan '{self.name}' ({self.location}) runs on a schedule, but "
                    f"workflow input {', '.join(map(repr, missing))} has no value: a "
                    "scheduled run has no one to give it. Add it to default_inputs or "
                    "fixed_inputs."
                )
            if isinstance(self.schedule, CronSchedule):
                schedule = ScheduleSpec(cron=self.schedule.schedule.strip(),
                                        timezone=self.schedule.timezone,
                                        kickoff_time_input=self.kickoff_input,
                                        catchup=self.catchup)
            else:
                schedule = ScheduleSpec(fixed_rate=self.schedule.duration.total_seconds(),
                                        kickoff_time_input=self.kickoff_input,
                                        catchup=self.catchup)
        plan = LaunchPlanSpec(
            schema_version=SCHEMA_VERSION, name=self.name, workflow=spec,
            default_inputs=defaults, fixed_inputs=fixed, schedule=schedule,
            description=spec.description,
        )
        return plan.model_copy(update={"version": launch_plan_version(plan)})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the workflow locally with the plan's defaults and fixed inputs.

        A kickoff-time input that is not given gets the current UTC time.
        """
        if active_trace() is not None:
            raise CompileError(
                f"launch plan '{self.name}' is called inside a workflow ({caller_location()}); "
                "call its workflow instead (a subworkflow), passing the inputs you need."
            )
        if args:
            raise CompileError(
                f"launch plan '{self.name}' was called with positional arguments; call it "
                "with keyword arguments only."
            )
        overridden = sorted(set(kwargs) & set(self.fixed_inputs))
        if overridden:
            raise FlytePathUserError(
                f"launch plan '{self.name}' fixes input {', '.join(map(repr, overridden))} "
                f"(= {', '.join(repr(self.fixed_inputs[k]) for k in overridden)}); a launch "
                "does not override fixed inputs. Leave it out, or use a launch plan that "
                "does not fix it."
            )
        inputs = {**self.default_inputs, **kwargs, **self.fixed_inputs}
        kickoff = self.kickoff_input
        if kickoff is not None and kickoff not in inputs:
            inputs[kickoff] = dt.datetime.now(dt.timezone.utc)
        # Lazy: sdk.local loads the runtime (executor, metadata store, SQLAlchemy), which
        # would almost double the import time of every workflow file that imports the SDK.
        from flytepath_airflow.sdk.local import run_workflow_locally
        return run_workflow_locally(self.workflow, inputs)


__all__ = ["CronSchedule", "FixedRate", "LaunchPlan"]
