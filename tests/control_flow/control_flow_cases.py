"""The control-flow fixture runs both backends must agree on, and how to run them.

The cases are the expected results documented at the top of tests/fixtures/control_flows.py;
the local and the Airflow tests check the same table, so a difference between the backends
fails one of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOWS = "tests/fixtures/control_flows.py"
"""Relative to ROOT, as a user in the repository types it."""

SUCCESS = {
    # (workflow or launch plan, inputs) -> outputs
    ("map_squares", ("xs=[1, 2, 3]",)): {"o0": 14},
    ("map_partial_success", ("xs=[1, -2, 3]",)): {"o0": [1, None, 9]},
    ("map_partial_sum", ("xs=[1, -2, 3]",)): {"o0": 10},
    ("map_with_partial", ("xs=[1, 2]", "factor=10")): {"o0": [10, 20]},
    ("map_multi", ("a=[1, 2]", "b=[10, 20]")): {"o0": [11, 22]},
    ("classify", ("n=3",)): {"o0": "small:3"},
    ("classify", ("n=42",)): {"o0": "medium:42"},
    ("nested", ("n=2",)): {"o0": 26},
    ("branch_with_subworkflow", ("n=2",)): {"o0": 5},
    ("branch_with_subworkflow", ("n=-3",)): {"o0": -6},
    ("dynamic_fan_out", ("n=3",)): {"o0": 13},
    ("dynamic_fan_out", ("n=0",)): {"o0": 0},
    ("with_failure_handler", ("n=-1",)): {"o0": -1},
    ("add_ten", ()): {"o0": 11},
    ("add_ten", ("a=5",)): {"o0": 15},
    ("hourly_stamp", ("run_at=2026-01-01T00:00:00+00:00",)):
        {"o0": "101@2026-01-01T00:00:00+00:00"},
    ("every_ten_minutes", ("run_at=2026-01-01T00:10:00+00:00",)):
        {"o0": "5@2026-01-01T00:10:00+00:00"},
}

FAILURES = {
    # (workflow, inputs) -> (failed node, fragments of the message)
    ("map_partial_success", ("xs=[-1, -2, 3]",)): (
        "map_fragile_square",
        ("2 of 3 elements failed (items 0, 1)", "min_success_ratio 0.5 needs 2 to succeed",
         "negative item -1"),
    ),
    ("map_multi", ("a=[1]", "b=[1, 2]")): (
        "map_add", ("its mapped lists have different lengths (a=1, b=2)",),
    ),
    ("classify", ("n=1000",)): ("size", ("conditional 'size' failed: n is too large",)),
    ("with_failure_handler", ("n=4",)): ("boom", ("ValueError: boom 4",)),
}

RAISED_BY_USER_CODE = {
    # failures whose cause is an exception of the user's own task: its traceback is shown
    ("with_failure_handler", ("n=4",)): 'control_flows.py", line 110, in boom',
}


def flytepath(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `flytepath` CLI from the repository root, as a user would."""
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ) if env is None else env)


def run_args(name: str, inputs: tuple[str, ...], *, local: bool) -> list[str]:
    """`run FLOWS:name -i ... [--local] --json`."""
    pairs = [arg for value in inputs for arg in ("-i", value)]
    return ["run", f"{FLOWS}:{name}", *pairs, *(["--local"] if local else []), "--json"]


def outputs_of(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    """The outputs of a successful run, from its `--json` object (the last stdout line)."""
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout.strip().splitlines()[-1])
    assert document["status"] == "succeeded" and document["error"] is None, document
    return dict(document["outputs"])


def check_failure_report(proc: subprocess.CompletedProcess[str], name: str,
                         inputs: tuple[str, ...]) -> None:
    """A failed `run --json` of a FAILURES case: the error object on stdout names the node
    and the cause; stderr shows the user's traceback (their frames only) once when their
    code raised, else none."""
    node, fragments = FAILURES[name, inputs]
    document = json.loads(proc.stdout)
    assert document["status"] == "failed" and document["outputs"] is None, document
    assert document["error"]["node"] == node
    for fragment in fragments:
        assert fragment in document["error"]["message"]
    frame = RAISED_BY_USER_CODE.get((name, inputs))
    assert proc.stderr.count("Traceback (most recent call last)") == (1 if frame else 0), \
        proc.stderr
    if frame:
        assert frame in proc.stderr and frame in document["error"]["traceback"]
    assert "flytepath_airflow/" not in proc.stderr, proc.stderr


def failure_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The `run ... failed at node ...` line of a failed run."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines()
             if ln.startswith("run ") and " failed at node " in ln]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def progress(proc: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    """(node, state) of every progress line the run printed on stderr."""
    marks = ("[..]", "[ok]", "[!!]", "[~~]", "[--]", "[==]")
    rows = []
    for line in proc.stderr.splitlines():
        text = line.strip()
        if text[:4] in marks:
            node, state = text[4:].split()[:2]
            rows.append((node, state))
    return rows
