"""Fixtures for the Airflow backend tests: small specs built from the IR models.

Airflow reads AIRFLOW_HOME when it is first imported; pointing it at a temporary folder
keeps these tests from writing ~/airflow on a developer's machine.
"""

from __future__ import annotations

import pytest

from flytepath_airflow.ir.models import (
    InputRef,
    NodeSpec,
    OutputRef,
    ResourceList,
    ResourcesSpec,
    SimpleType,
    TaskSpec,
    TenantSpec,
    TypedInterface,
    Variable,
    WorkflowSpec,
)
from flytepath_airflow.ir.spec_io import with_version

INT = SimpleType(name="int")


def int_task(name: str, fn: str = "wf_tasks:double", **options: object) -> TaskSpec:
    """A task taking `a: int` and returning `o: int`."""
    return TaskSpec(
        name=name,
        fn=fn,
        interface=TypedInterface(
            inputs=(Variable(name="a", type=INT),), outputs=(Variable(name="o", type=INT),)
        ),
        **options,  # type: ignore[arg-type]
    )


def diamond_spec(**task_options: object) -> WorkflowSpec:
    """x -> start -> (left, right) -> join(left) with join also after right explicitly."""
    task = int_task("double", **task_options)
    return with_version(WorkflowSpec(
        schema_version=1,
        name="diamond",
        tenant=TenantSpec(project="ml", domain="development"),
        description="A diamond of doublings.\nSecond line.",
        interface=TypedInterface(
            inputs=(
                Variable(name="x", type=INT, description="the start value"),
                Variable(name="scale", type=INT, required=False, default=3),
            ),
            outputs=(Variable(name="o", type=INT),),
        ),
        tasks={"double": task},
        nodes=(
            NodeSpec(id="start", task="double", inputs={"a": InputRef(name="x")}),
            NodeSpec(id="left", task="double", inputs={"a": OutputRef(node="start", output="o")}),
            NodeSpec(id="right", task="double", inputs={"a": OutputRef(node="start", output="o")}),
            NodeSpec(id="join", task="double", inputs={"a": OutputRef(node="left", output="o")},
                     upstream=("right",)),
        ),
        outputs={"o": OutputRef(node="join", output="o")},
    ))


@pytest.fixture
def spec() -> WorkflowSpec:
    """The diamond workflow, versioned."""
    return diamond_spec()


@pytest.fixture
def cpu_resources() -> ResourcesSpec:
    """2.5 CPUs requested."""
    return ResourcesSpec(requests=ResourceList(cpu="2500m"))


@pytest.fixture
def make_spec():  # type: ignore[no-untyped-def]
    """Factory: the diamond workflow with the given options on its task."""
    return diamond_spec
