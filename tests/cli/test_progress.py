"""The progress display of `flytepath run`: the lines a user sees for a run's events.

The display is fed events as both backends report them (runtime/progress.py) with a clock
the test moves, and the test reads what was written, as the user would read stderr.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flytepath_airflow.cli.progress import ProgressDisplay
from flytepath_airflow.runtime.progress import NodeEvent

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def display(tty: bool = False) -> tuple[ProgressDisplay, io.StringIO, Clock]:
    out, clock = io.StringIO(), Clock()
    return ProgressDisplay(out, tty=tty, every=5.0, clock=clock), out, clock


def lines(out: io.StringIO) -> list[str]:
    """The lines written, with runs of spaces collapsed (the columns are padded)."""
    return [re.sub(r" {2,}", " ", line).strip() for line in out.getvalue().splitlines()]


def screen(text: str) -> list[str]:
    """The rows a terminal shows for `text`, where "\\r ESC[K" clears the current row."""
    rows, row = [], ""
    for chunk in re.split(r"(\r\x1b\[K|\n)", text):
        if chunk == "\r\x1b[K":
            row = ""
        elif chunk == "\n":
            rows.append(row)
            row = ""
        else:
            row += chunk
    rows += [row] if row else []
    return [re.sub(r" {2,}", " ", line).strip() for line in rows]


def test_a_task_shows_its_attempt_then_its_duration() -> None:
    show, out, clock = display()
    show(NodeEvent("train", "running", attempt=1, attempts=3))
    clock.now += 1.25
    show(NodeEvent("train", "succeeded", attempt=1, attempts=3))
    assert lines(out) == ["[..] train running attempt 1/3", "[ok] train succeeded 1.25s"]


def test_a_cache_hit_shows_as_cached_with_the_run_that_computed_it() -> None:
    show, out, clock = display()
    show(NodeEvent("clean", "running", attempt=1, attempts=1))
    clock.now += 0.04
    show(NodeEvent("clean", "cached", cached_from="fp-earlier"))
    assert lines(out)[-1] == "[==] clean cached 0.04s, from run fp-earlier"


def test_a_recovered_node_and_map_elements_name_the_run_they_come_from() -> None:
    # `flytepath recover` reuses what succeeded in the failed run (docs/recover.md).
    show, out, clock = display()
    show(NodeEvent("load", "running", attempt=1, attempts=1))
    clock.now += 0.02
    show(NodeEvent("load", "recovered", cached_from="fp-failed"))
    show(NodeEvent("score", "running", size=3))
    for index in range(2):
        show(NodeEvent("score", "recovered", element=index, cached_from="fp-failed"))
    show(NodeEvent("score", "succeeded", element=2))
    show(NodeEvent("score", "succeeded"))
    assert lines(out)[1] == "[<<] load recovered 0.02s, recovered from fp-failed"
    assert lines(out)[-1] == ("[ok] score succeeded 3 elements: 1 done, 0 cached, "
                              "2 recovered, 0 failed, 0.00s")


def test_a_retry_and_a_failure_name_the_attempt_and_the_error() -> None:
    show, out, _ = display()
    show(NodeEvent("load", "running", attempt=1, attempts=2))
    show(NodeEvent("load", "retrying", attempt=1, attempts=2, message="store unreachable"))
    show(NodeEvent("load", "running", attempt=2, attempts=2))
    # The local runner reports the final failure without the attempt: the display knows it.
    show(NodeEvent("load", "failed", message="RuntimeError: bad value 1"))
    show(NodeEvent("report", "skipped", message="upstream failed"))
    assert lines(out) == [
        "[..] load running attempt 1/2",
        "[~~] load retrying attempt 1/2: store unreachable",
        "[..] load running attempt 2/2",
        "[!!] load failed attempt 2/2: RuntimeError: bad value 1",
        "[--] report skipped upstream failed",
    ]


def test_a_long_task_says_it_is_still_running_every_few_seconds_without_control_codes() -> None:
    show, out, clock = display(tty=False)
    show(NodeEvent("train", "running", attempt=1, attempts=1))
    clock.now += 3
    show.tick()  # not 5 s yet: nothing
    clock.now += 2
    show.tick()
    clock.now += 5
    show.tick()
    clock.now += 1
    show.tick()
    clock.now += 9
    show(NodeEvent("train", "succeeded"))
    assert lines(out) == [
        "[..] train running attempt 1/1",
        "[..] train running still running (5 s)",
        "[..] train running still running (10 s)",
        "[ok] train succeeded 20.00s",
    ]
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


def test_on_a_terminal_one_status_line_is_redrawn_and_cleared_before_each_line() -> None:
    show, out, clock = display(tty=True)
    show(NodeEvent("train", "running", attempt=1, attempts=1))
    clock.now += 12
    show.tick()
    assert out.getvalue().endswith("\r\x1b[K  [..] train 12 s")
    show(NodeEvent("train", "succeeded"))
    show.close()
    # What stays on the screen: no status line left over, nothing overwritten.
    assert screen(out.getvalue()) == ["[..] train running attempt 1/1",
                                      "[ok] train succeeded 12.00s"]


def test_a_map_is_one_line_with_counts_and_lists_only_its_failed_elements() -> None:
    show, out, clock = display()
    show(NodeEvent("score", "running", size=500))
    for index in range(500):
        show(NodeEvent("score", "running", element=index, attempt=1, attempts=1))
        if index == 17:
            show(NodeEvent("score", "failed", element=index, message="ValueError: bad row"))
        elif index % 100 == 0:
            show(NodeEvent("score", "cached", element=index, cached_from="fp-old"))
        else:
            show(NodeEvent("score", "succeeded", element=index))
    clock.now += 2.5
    show(NodeEvent("score", "succeeded"))
    assert lines(out) == [
        "[..] score running map of 500 elements",
        "[!!] score[17] failed attempt 1/1: ValueError: bad row",
        "[ok] score succeeded 500 elements: 494 done, 5 cached, 1 failed, 2.50s",
    ]


def test_a_running_map_shows_its_counts_every_few_seconds() -> None:
    show, out, clock = display()
    show(NodeEvent("score", "running", size=10))
    for index in range(4):
        show(NodeEvent("score", "succeeded", element=index))
    clock.now += 6
    show.tick()
    assert lines(out)[-1] == "[..] score running 4/10 elements: 4 done, 0 cached, 0 failed (6 s)"


def test_a_map_that_fails_says_why_after_its_counts() -> None:
    show, out, _ = display()
    show(NodeEvent("squares", "running", size=3))
    for index in range(3):
        show(NodeEvent("squares", "failed", element=index, message=f"negative item {index}"))
    show(NodeEvent("squares", "failed", message="3 of 3 elements failed"))
    assert lines(out)[-1] == ("[!!] squares failed 3 elements: 0 done, 0 cached, 3 failed, "
                              "0.00s: 3 of 3 elements failed")
    assert sum(line.startswith("[!!] squares[") for line in lines(out)) == 3


def test_airflow_start_up_stages_show_as_they_happen_with_elapsed_time() -> None:
    show, out, clock = display()
    show.stage("starting Airflow: process (imports)")
    clock.now += 4
    show.stage("starting Airflow: database")
    clock.now += 6
    show.tick()
    show.stage("starting Airflow: parsing the DAG")
    show(NodeEvent("train", "running", attempt=1, attempts=1))
    clock.now += 6
    show.tick()  # the stage is over once a task runs: only the task ticks
    assert lines(out) == [
        "starting Airflow: process (imports)",
        "starting Airflow: database",
        "starting Airflow: database (6 s)",
        "starting Airflow: parsing the DAG",
        "[..] train running attempt 1/1",
        "[..] train running still running (6 s)",
    ]


def test_an_interrupted_map_is_not_reported_as_succeeded() -> None:
    show, out, _ = display()
    show(NodeEvent("score", "running", size=3))
    show(NodeEvent("score", "succeeded", element=0))
    show(NodeEvent("score", "running", element=1, attempt=1, attempts=1))
    show.close()  # the run ended (Ctrl+C, Airflow died) before the map did
    assert lines(out) == ["[..] score running map of 3 elements"]


def test_a_map_left_open_is_closed_with_its_counts() -> None:
    # A mapped operator kept from a converted DAG reports elements but no end of its own.
    show, out, _ = display()
    show(NodeEvent("fetch", "succeeded", element=0))
    show(NodeEvent("fetch", "succeeded", element=1))
    show.close()
    assert lines(out) == ["[ok] fetch succeeded 2 elements: 2 done, 0 cached, 0 failed, 0.00s"]


# -- through the CLI, as a user runs it ---------------------------------------------------

WATCHED = "tests/fixtures/progress_flows.py:watched"


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLYTEPATH_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", "run", WATCHED,
                           "-i", "xs=[1, 2, 3]", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=False, timeout=900)


def progress_lines(stderr: str) -> list[str]:
    """The progress lines of a run, durations replaced by `N.NNs` (they vary by run)."""
    return [re.sub(r"\d+\.\d\ds", "N.NNs", line)
            for line in lines(io.StringIO(stderr)) if line.startswith("[")]


def test_a_local_run_shows_the_map_once_with_counts_and_the_long_task_still_running(
        tmp_path: Path) -> None:
    first = run_cli(tmp_path, "--local")
    assert first.returncode == 0, first.stderr
    shown = progress_lines(first.stderr)
    assert shown[:2] == ["[..] map_square running map of 3 elements",
                         "[ok] map_square succeeded 3 elements: 3 done, 0 cached, 0 failed, "
                         "N.NNs"]
    assert "[..] nap running still running (5 s)" in shown
    assert shown[-1] == "[ok] nap succeeded N.NNs"
    assert first.stdout.strip() == "o0 = 14"  # progress never reaches stdout

    again = run_cli(tmp_path, "--local", "-i", "seconds=0")
    assert again.returncode == 0, again.stderr
    assert ("[ok] map_square succeeded 3 elements: 0 done, 3 cached, 0 failed, N.NNs"
            in progress_lines(again.stderr))


@pytest.mark.airflow
@pytest.mark.slow
def test_an_airflow_run_shows_its_start_and_the_same_lines_as_a_local_run(
        tmp_path: Path) -> None:
    assert run_cli(tmp_path, "--local", "-i", "seconds=0").returncode == 0  # fills the cache
    local = run_cli(tmp_path, "--local")
    on_airflow = run_cli(tmp_path, "--json")
    assert local.returncode == 0, local.stderr
    assert on_airflow.returncode == 0, on_airflow.stderr

    # Airflow says what it is doing before its first task, in order.
    stages = [line for line in lines(io.StringIO(on_airflow.stderr))
              if line.startswith("starting Airflow")]
    assert [s for s in stages if "(" not in s or "imports" in s] == [
        "starting Airflow: process (imports)", "starting Airflow: database",
        "starting Airflow: parsing the DAG", "starting Airflow: running the DAG"]

    # The same lines, words and marks on both backends: cache hits as `cached`, the map as
    # one line with its counts, the long task with its elapsed time.
    def steady(stderr: str) -> list[str]:
        return [line for line in progress_lines(stderr) if "still running" not in line]

    assert steady(on_airflow.stderr) == steady(local.stderr) == [
        "[..] map_square running map of 3 elements",
        "[ok] map_square succeeded 3 elements: 0 done, 3 cached, 0 failed, N.NNs",
        "[..] total running attempt 1/1",
        "[ok] total succeeded N.NNs",
        "[..] nap running attempt 1/1",
        "[ok] nap succeeded N.NNs",
    ]
    assert "[..] nap running still running (5 s)" in progress_lines(on_airflow.stderr)
    # --json keeps stdout to the one object.
    assert json.loads(on_airflow.stdout)["outputs"] == {"o0": 14}
