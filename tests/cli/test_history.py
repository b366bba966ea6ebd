"""`flytepath history` shows the hash of each node's inputs, the one its cache key uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any


def flytepath(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A wide terminal, so rich does not fold the hashes in the tables.
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "240"})


def _flow(folder: Path) -> None:
    (folder / "flow.py").write_text(textwrap.dedent("""
        from flytepath_airflow import task, workflow

        @task(cache=True, cache_version="1")
        def scale(n: int) -> int:
            return n * 10

        @task
        def show(n: int) -> str:
            return f"n={n}"

        @workflow
        def wf(n: int = 2) -> str:
            return show(n=scale(n=n))
    """))


def _lineage(run_id: str, cwd: Path) -> dict[str, Any]:
    proc = flytepath("history", run_id, "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    lineage: dict[str, Any] = json.loads(proc.stdout)["lineage"]
    return lineage


def test_history_shows_each_nodes_inputs_hash_the_cache_key_uses(tmp_path: Path) -> None:
    _flow(tmp_path)
    for run_id, n in (("fp-hash-1", "3"), ("fp-hash-2", "3"), ("fp-hash-3", "4")):
        proc = flytepath("run", "flow.py:wf", "-i", f"n={n}", "--local", "--run-id", run_id,
                         cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr

    first, hit, other = (_lineage(r, tmp_path) for r in ("fp-hash-1", "fp-hash-2", "fp-hash-3"))
    nodes = sorted(first)
    assert len(nodes) == 2
    scale_node = next(n for n in nodes if first[n]["task"] == "flow.scale")
    show_node = next(n for n in nodes if first[n]["task"] == "flow.show")
    for node in nodes:
        assert len(first[node]["inputs_hash"]) == 64, first[node]

    # The cached task's hash is the cache entry's, and a hit shows the same one.
    entries = json.loads(flytepath("cache", "ls", "--json", cwd=tmp_path).stdout)
    assert {e["inputs_hash"] for e in entries} == {first[scale_node]["inputs_hash"],
                                                   other[scale_node]["inputs_hash"]}
    assert hit[scale_node]["source_run_id"] == "fp-hash-1"
    assert hit[scale_node]["inputs_hash"] == first[scale_node]["inputs_hash"]
    assert hit[show_node]["inputs_hash"] == first[show_node]["inputs_hash"]
    # Other inputs, another hash.
    assert other[scale_node]["inputs_hash"] != first[scale_node]["inputs_hash"]
    assert other[show_node]["inputs_hash"] != first[show_node]["inputs_hash"]

    table = flytepath("history", "fp-hash-2", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    for node in nodes:
        assert f"inputs {first[node]['inputs_hash'][:12]}…" in table.stdout
