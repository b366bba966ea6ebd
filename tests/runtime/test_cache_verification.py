"""Cache rows are verified when read: an edited, legacy or unreadable row is a miss.

Each test damages the cache row of `cached_flows.squares` (n=7, so the right value is 49)
straight in the SQLite metadata database, the way a careless hand edit or a damaged disk
would, then runs the workflow again and checks the user sees the right value, a warning,
and a run that ends `succeeded`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.metadata import MetadataStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TASK = "cached_flows.square"


@pytest.fixture
def calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.txt"
    monkeypatch.setenv("FLYTEPATH_TEST_CALLS", str(path))
    return path


def ran(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def squares() -> Any:
    return load_target(f"{FIXTURES}/cached_flows.py:squares")


def stored_outputs() -> str:
    with sqlite3.connect(Path(os.environ["FLYTEPATH_HOME"]) / "metadata.db") as db:
        [(text,)] = db.execute("SELECT outputs FROM flytepath_cache_entries").fetchall()
    return str(text)


def overwrite_outputs(raw: object) -> None:
    """Put `raw` (stored as is) in the outputs column of the one cache row."""
    with sqlite3.connect(Path(os.environ["FLYTEPATH_HOME"]) / "metadata.db") as db:
        assert db.execute("UPDATE flytepath_cache_entries SET outputs = ?",
                          (raw,)).rowcount == 1


def sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def rerun_recomputes(calls: Path, root: str, caplog: pytest.LogCaptureFixture) -> str:
    """Run again: the right value, computed again, the run `succeeded`; the warning text."""
    with caplog.at_level(logging.WARNING):
        again = run_local(squares(), {"n": 7}, root=root)
    assert again.succeeded and again.outputs == {"o0": 49}
    assert again.node_states == {"square": "succeeded"} and ran(calls) == 2
    execution = MetadataStore().get_execution(again.run_id)
    assert execution is not None and execution.status == "succeeded"
    warnings = [r.getMessage() for r in caplog.records if "unusable" in r.getMessage()]
    assert warnings, "no warning said why the cached value was not used"
    # the recomputed value replaced the damaged row: the next run is a verified hit
    third = run_local(squares(), {"n": 7}, root=root)
    assert third.node_states == {"square": "cached"} and third.outputs == {"o0": 49}
    assert ran(calls) == 2
    return warnings[0]


def test_inline_cached_values_carry_a_hash(calls: Path, tmp_path: Path) -> None:
    run_local(squares(), {"n": 7}, root=str(tmp_path / "store"))
    assert json.loads(stored_outputs()) == {"o0": {"value": 49, "sha256": sha(49)}}


def test_an_edited_inline_cached_value_is_a_miss_never_a_wrong_value(
    calls: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = str(tmp_path / "store")
    run_local(squares(), {"n": 7}, root=root)
    outputs = json.loads(stored_outputs())
    outputs["o0"]["value"] = 50  # the hash beside it is left as it was
    overwrite_outputs(json.dumps(outputs))
    assert "sha256" in rerun_recomputes(calls, root, caplog)


def test_an_inline_value_without_a_hash_is_recomputed_once(
    calls: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows written before inline values carried a hash cannot be checked: one miss."""
    root = str(tmp_path / "store")
    run_local(squares(), {"n": 7}, root=root)
    overwrite_outputs(json.dumps({"o0": {"value": 49}}))
    assert "without a sha256" in rerun_recomputes(calls, root, caplog)


@pytest.mark.parametrize("raw", [
    pytest.param("{not json", id="not-json"),
    pytest.param(b"\xff\xfe binary", id="binary"),
    pytest.param(12, id="a-number"),
    pytest.param("[49]", id="a-list"),
    pytest.param('"49"', id="a-string"),
    pytest.param("{}", id="output-missing"),
    pytest.param('{"o0": 49}', id="entry-not-an-object"),
    pytest.param('{"o0": {"sha256": "00"}}', id="entry-without-value-or-uri"),
    pytest.param(json.dumps({"o0": {"value": "49", "sha256": sha("49")}}), id="wrong-type"),
    pytest.param('{"o0": {"uri": 5, "sha256": null}}', id="bad-blob-pointer"),
])
def test_an_unreadable_cache_row_is_a_miss_and_the_run_succeeds(
    raw: object, calls: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = str(tmp_path / "store")
    run_local(squares(), {"n": 7}, root=root)
    overwrite_outputs(raw)
    rerun_recomputes(calls, root, caplog)


def test_cache_commands_show_an_unreadable_row_instead_of_failing(
    calls: Path, tmp_path: Path
) -> None:
    run_local(squares(), {"n": 7}, root=str(tmp_path / "store"))
    overwrite_outputs("{not json")
    [entry] = MetadataStore().list_cache_entries(task=TASK)
    assert entry.outputs == {} and entry.problem is not None
    assert "not a JSON object" in entry.problem
