"""The control-flow fixtures through `flytepath run --json` on a real Airflow (dag.test()).

Outputs and failure messages must be the ones the local backend gives (the shared table in
control_flow_cases.py), and the progress a user watches must show each construct by its
node, as a local run does: a map as one line with its counts (a failed element on its own
line), untaken cases skipped, a dynamic node's generated nodes as `parent/child`, the
failure node running in a failed run.

Each run takes 10-40 s, so there is one test per construct, each workflow runs with one or
two of its documented inputs (the rest run locally), and one embedded Airflow (its SQLite
DB migrated once) serves the module.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from control_flow_cases import (
    FAILURES,
    SUCCESS,
    check_failure_report,
    failure_line,
    flytepath,
    outputs_of,
    progress,
    run_args,
)

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One FLYTEPATH_HOME (so one embedded Airflow and store) for the whole module."""
    return tmp_path_factory.mktemp("flytepath-home-airflow")


def on_airflow(home: Path, name: str, inputs: tuple[str, ...] = (),
               calls: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLYTEPATH_HOME": str(home)}
    env.pop("FLYTEPATH_TEST_CALLS", None)
    if calls is not None:
        env["FLYTEPATH_TEST_CALLS"] = str(calls)
    return flytepath(*run_args(name, inputs, local=False), env=env)


def succeeds_like_local(home: Path, name: str,
                        inputs: tuple[str, ...]) -> list[tuple[str, str]]:
    """Run on Airflow, check the outputs against the local table; returns the progress."""
    proc = on_airflow(home, name, inputs)
    assert outputs_of(proc) == SUCCESS[name, inputs], proc.stderr
    assert "on Airflow" in proc.stderr
    return progress(proc)


def fails_like_local(home: Path, name: str, inputs: tuple[str, ...],
                     calls: Path | None = None) -> list[tuple[str, str]]:
    """Run on Airflow, check it fails at the node and with the cause the local run gives."""
    node, fragments = FAILURES[name, inputs]
    proc = on_airflow(home, name, inputs, calls)
    line = failure_line(proc)
    assert f"failed at node '{node}':" in line
    for fragment in fragments:
        assert fragment in line
    check_failure_report(proc, name, inputs)
    return progress(proc)


def test_map_tasks_on_airflow(home: Path) -> None:
    shown = succeeds_like_local(home, "map_squares", ("xs=[1, 2, 3]",))
    assert {("map_square", "running"), ("map_square", "succeeded"),
            ("total", "succeeded")} <= set(shown)
    assert not any(node.startswith(("map_square[", "map_square.")) for node, _ in shown)

    shown = succeeds_like_local(home, "map_partial_success", ("xs=[1, -2, 3]",))
    assert ("map_fragile_square[1]", "failed") in shown
    assert ("map_fragile_square", "succeeded") in shown
    succeeds_like_local(home, "map_with_partial", ("xs=[1, 2]", "factor=10"))
    succeeds_like_local(home, "map_multi", ("a=[1, 2]", "b=[10, 20]"))

    shown = fails_like_local(home, "map_multi", ("a=[1]", "b=[1, 2]"))
    assert ("map_add", "failed") in shown
    assert not any(node.startswith("map_add[") for node, _ in shown)
    shown = fails_like_local(home, "map_partial_success", ("xs=[-1, -2, 3]",))
    assert ("map_fragile_square", "failed") in shown


def test_conditionals_on_airflow(home: Path) -> None:
    shown = succeeds_like_local(home, "classify", ("n=42",))  # the elif case
    assert ("label", "skipped") in shown
    assert ("label_2", "succeeded") in shown
    assert ("size_out", "succeeded") in shown

    shown = fails_like_local(home, "classify", ("n=1000",))  # the else_ case fails
    assert ("size", "failed") in shown
    assert not any(state == "succeeded" for node, state in shown if node.startswith("label"))

    shown = succeeds_like_local(home, "branch_with_subworkflow", ("n=-3",))
    assert ("negate_double", "succeeded") in shown
    # Every node of the untaken case (the subworkflow inner) shows as skipped, as locally.
    assert {node for node, state in shown if state == "skipped"} == {"inner.square",
                                                                    "inner.add"}


def test_nested_subworkflows_on_airflow(home: Path) -> None:
    shown = succeeds_like_local(home, "nested", ("n=2",))
    assert [node for node, state in shown if state == "succeeded"] == [
        "middle.inner.square", "middle.inner.add", "middle.inner_2.square",
        "middle.inner_2.add"]


def test_dynamic_workflow_on_airflow(home: Path) -> None:
    shown = succeeds_like_local(home, "dynamic_fan_out", ("n=3",))
    generated = {node for node, state in shown
                 if state == "succeeded" and node.startswith("fan_out/")}
    # The 10 nodes the body built (square and add of 3 inner calls, map_square, two totals,
    # add), each a mapped task instance of fan_out.run_<level>, shown by its node id.
    assert generated == {"fan_out/inner.square", "fan_out/inner.add", "fan_out/inner_2.square",
                         "fan_out/inner_2.add", "fan_out/inner_3.square", "fan_out/inner_3.add",
                         "fan_out/map_square", "fan_out/total", "fan_out/total_2",
                         "fan_out/add"}
    # The body, then the collected graph, as locally.
    assert shown.count(("fan_out", "succeeded")) == 2

    succeeds_like_local(home, "dynamic_fan_out", ("n=0",))  # an empty generated graph


def test_failure_node_on_airflow(home: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    shown = fails_like_local(home, "with_failure_handler", ("n=4",), calls)
    assert calls.read_text().splitlines() == ["on_failure 4 boom"]
    assert ("boom", "failed") in shown
    assert ("on_failure", "running") in shown

    proc = on_airflow(home, "with_failure_handler", ("n=-1",), calls)
    assert outputs_of(proc) == SUCCESS["with_failure_handler", ("n=-1",)]
    assert calls.read_text().splitlines() == ["on_failure 4 boom"]  # did not run again


def test_launch_plans_on_airflow(home: Path) -> None:
    succeeds_like_local(home, "add_ten", ("a=5",))  # 5 + the fixed b=10
    succeeds_like_local(home, "every_ten_minutes", ("run_at=2026-01-01T00:10:00+00:00",))

    before = datetime.now(timezone.utc)
    proc = on_airflow(home, "hourly_stamp")
    after = datetime.now(timezone.utc)
    total, _, at = str(outputs_of(proc)["o0"]).partition("@")
    assert total == "101"  # default x=1 plus fixed y=100
    assert before <= datetime.fromisoformat(at) <= after  # the kickoff input got a time
    assert "launch plan hourly_stamp:" in proc.stderr

    proc = on_airflow(home, "add_ten", ("b=1",))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: launch plan 'add_ten' fixes input 'b' to 10; a run cannot override it. Drop "
        "-i b=..., or run the workflow 'control_flows.adder' itself.")
    assert proc.stdout == ""
