"""The control-flow fixtures compile, and their specs match the golden files.

Golden files live in golden/control_flow/; regenerate them after an intended change with

    FLYTEPATH_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/translators/test_control_flow_fixtures.py
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from flytepath_airflow.ir.models import LaunchPlanSpec
from flytepath_airflow.ir.spec_io import dump_launch_plan, dump_spec
from flytepath_airflow.sdk.targets import load_target

GOLDEN = Path(__file__).parent / "golden" / "control_flow"

WORKFLOWS = ["map_squares", "map_partial_success", "map_partial_sum", "map_with_partial",
             "map_multi", "classify", "nested", "branch_with_subworkflow", "dynamic_fan_out",
             "with_failure_handler", "adder", "stamped"]
GOLDEN_WORKFLOWS = ["map_with_partial", "classify", "branch_with_subworkflow",
                    "dynamic_fan_out", "with_failure_handler"]
LAUNCH_PLANS = ["add_ten", "hourly_stamp", "every_ten_minutes"]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_fixture_workflows_compile(fixtures_on_path: Path, name: str,
                                   golden: Callable[[Path, str], None]) -> None:
    spec = load_target(f"{fixtures_on_path}/control_flows.py:{name}")
    assert spec.nodes and len(spec.version) == 16
    if name in GOLDEN_WORKFLOWS:
        golden(GOLDEN / f"{name}.json", dump_spec(spec))


@pytest.mark.parametrize("name", LAUNCH_PLANS)
def test_fixture_launch_plans_compile(fixtures_on_path: Path, name: str,
                                      golden: Callable[[Path, str], None]) -> None:
    plan = load_target(f"{fixtures_on_path}/control_flows.py:{name}", allow_launch_plan=True)
    assert isinstance(plan, LaunchPlanSpec) and plan.name == name
    if name == "hourly_stamp":
        golden(GOLDEN / f"{name}.json", dump_launch_plan(plan))
