"""Every control-flow fixture through `flytepath run --local --json`: outputs and failures.

(Named test_run_local, not test_local: tests/backends/test_local.py takes that module name,
and test folders here have no __init__.py.)
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from control_flow_cases import (
    FAILURES,
    FLOWS,
    SUCCESS,
    check_failure_report,
    failure_line,
    flytepath,
    outputs_of,
    progress,
    run_args,
)


@pytest.mark.parametrize(("name", "inputs"), list(SUCCESS), ids=lambda v: str(v))
def test_local_run_gives_the_documented_outputs(name: str, inputs: tuple[str, ...]) -> None:
    assert outputs_of(flytepath(*run_args(name, inputs, local=True))) == SUCCESS[name, inputs]


@pytest.mark.parametrize(("name", "inputs"), list(FAILURES), ids=lambda v: str(v))
def test_local_run_fails_naming_the_node_and_the_cause(name: str,
                                                       inputs: tuple[str, ...]) -> None:
    node, fragments = FAILURES[name, inputs]
    proc = flytepath(*run_args(name, inputs, local=True))
    line = failure_line(proc)
    assert f"failed at node '{node}':" in line
    for fragment in fragments:
        assert fragment in line
    check_failure_report(proc, name, inputs)


def test_local_failure_node_runs_with_the_inputs_and_the_failed_node(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("FLYTEPATH_TEST_CALLS", str(calls))
    proc = flytepath(*run_args("with_failure_handler", ("n=4",), local=True))
    assert "failed at node 'boom': ValueError: boom 4" in failure_line(proc)
    assert calls.read_text().splitlines() == ["on_failure 4 boom"]
    assert ("on_failure", "succeeded") in progress(proc)


def test_local_failure_node_does_not_run_when_the_workflow_succeeds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("FLYTEPATH_TEST_CALLS", str(calls))
    assert outputs_of(flytepath(*run_args("with_failure_handler", ("n=-1",), local=True))) \
        == {"o0": -1}
    assert not calls.exists()


def test_local_conditional_skips_the_cases_not_taken() -> None:
    proc = flytepath(*run_args("classify", ("n=42",), local=True))
    assert outputs_of(proc) == {"o0": "medium:42"}
    shown = progress(proc)
    assert ("label", "skipped") in shown
    assert ("label_2", "succeeded") in shown


def test_local_map_shows_one_line_with_counts_and_the_failed_element() -> None:
    proc = flytepath(*run_args("map_partial_success", ("xs=[1, -2, 3]",), local=True))
    assert outputs_of(proc) == {"o0": [1, None, 9]}
    shown = progress(proc)
    assert ("map_fragile_square[1]", "failed") in shown
    assert ("map_fragile_square", "succeeded") in shown
    # The elements that succeeded are counted on the map's line, not listed one by one.
    assert not {("map_fragile_square[0]", "succeeded"),
                ("map_fragile_square[2]", "succeeded")} & set(shown)
    assert "3 elements: 2 done, 0 cached, 1 failed" in proc.stderr


def test_local_launch_plan_refuses_to_override_a_fixed_input() -> None:
    proc = flytepath(*run_args("add_ten", ("b=1",), local=True))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "error: launch plan 'add_ten' fixes input 'b' to 10; a run cannot override it. Drop "
        "-i b=..., or run the workflow 'control_flows.adder' itself.")
    assert proc.stdout == ""


def test_local_launch_plan_gives_its_kickoff_input_the_launch_time() -> None:
    before = datetime.now(timezone.utc)
    proc = flytepath("run", f"{FLOWS}:hourly_stamp", "--local", "--json")
    after = datetime.now(timezone.utc)
    total, _, at = str(outputs_of(proc)["o0"]).partition("@")
    assert total == "101"  # default x=1 plus fixed y=100
    assert before <= datetime.fromisoformat(at) <= after
    assert "launch plan hourly_stamp:" in proc.stderr
