"""`flytepath render` says how each control-flow node becomes Airflow tasks."""

from __future__ import annotations

from pathlib import Path

from flytepath_airflow.cli.render_commands import render_spec
from flytepath_airflow.sdk.targets import load_target

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def render(workflow: str) -> str:
    return render_spec(load_target(f"{FIXTURES}/control_flows.py:{workflow}"))


def test_render_describes_conditionals_maps_dynamic_and_failure_nodes() -> None:
    classify = render("classify")
    assert "size: conditional: decides among 3 cases" in classify
    assert "case 0 of conditional size (skipped when not taken)" in classify
    assert "size_out: conditional outputs of size" in classify

    squares = render("map_squares")
    assert "map over x: TaskGroup of fanout, items (mapped, one per element, at most 2 " \
        "at once), collect" in squares

    assert "dynamic: TaskGroup of build, plan_k + run_k (mapped) for 8 levels" in \
        render("dynamic_fan_out")
    assert "in TaskGroup middle.inner" in render("nested")
    assert "failure node (trigger rule one_failed; the run still fails)" in \
        render("with_failure_handler")
