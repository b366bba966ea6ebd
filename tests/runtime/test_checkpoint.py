"""Checkpoints: a retried attempt resumes from the newest valid checkpoint of an earlier one
(runtime/checkpoint.py, docs/checkpoints.md)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import CheckpointSpec
from flytepath_airflow.runtime.checkpoint import (
    INLINE_MAX_BYTES,
    Checkpoint,
    checkpoint_key,
    prune_attempts,
    read_manifest,
)
from flytepath_airflow.runtime.executor import read_run_options
from flytepath_airflow.runtime.local import run_local
from flytepath_airflow.sdk.targets import load_target
from flytepath_airflow.stores.blob import BlobStore
from flytepath_airflow.stores.metadata import MetadataStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FLOWS = FIXTURES / "checkpoint_flows.py"


def flytepath(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", *args],
                          capture_output=True, text=True, cwd=FIXTURES, env=dict(os.environ))


def _work(log: Path) -> list[tuple[int, int]]:
    """(step, attempt) of every step done, in order."""
    rows = (line.split() for line in log.read_text().splitlines())
    return [(int(s), int(a)) for s, a, *_ in rows]


# -- through the CLI, as a user runs it ------------------------------------------------
def test_a_recoverable_error_mid_loop_resumes_from_the_last_saved_step(tmp_path):
    log = tmp_path / "work.log"
    result = flytepath("run", "--local", "checkpoint_flows.py:resumable", "-i",
                       f"work_log={log}", "--json")
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)["outputs"]["o0"]
    assert outputs == {"total": sum(range(60)), "resumed_from": 30, "attempt": 2}
    work = _work(log)
    # Every step done once: 30 in the first attempt, the other 30 after the resume.
    assert [s for s, _ in work] == list(range(60))
    assert next(s for s, a in work if a == 2) == 30


def test_the_fresh_policy_starts_every_attempt_over(tmp_path):
    log = tmp_path / "work.log"
    result = flytepath("run", "--local", "checkpoint_flows.py:starts_fresh", "-i",
                       f"work_log={log}", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outputs"]["o0"]["resumed_from"] == 0
    assert len(_work(log)) == 30 + 60


def test_using_a_checkpoint_a_task_turned_off_fails_it_and_says_why():
    result = flytepath("run", "--local", "checkpoint_flows.py:no_checkpoints")
    assert result.returncode != 0
    assert "has checkpoints turned off (checkpoint=False" in result.stderr
    assert "retrying" not in result.stderr


def test_a_killed_attempt_process_is_retried_and_resumes(tmp_path, fixtures_on_path):
    spec = load_target(f"{FLOWS}:resumable")
    log = tmp_path / "work.log"
    states: list[tuple[str, str]] = []
    result = run_local(spec, {"kill_at": 25, "fail_at": -1, "work_log": str(log)},
                       root=str(tmp_path / "store"), isolate=True,
                       progress=lambda event: states.append((event.node, event.state)))
    assert result.succeeded, result.error
    assert result.outputs["o0"] == {"total": sum(range(60)), "resumed_from": 25, "attempt": 2}
    assert ("count_up", "retrying") in states
    assert [s for s, _ in _work(log)] == list(range(60))


def test_history_shows_saves_and_the_restore(tmp_path):
    result = flytepath("run", "--local", "checkpoint_flows.py:resumable", "--json")
    run_id = json.loads(result.stdout)["run_id"]
    with MetadataStore() as meta:
        kinds = [(e.kind, e.attempt) for e in meta.events(run_id)]
    assert kinds.count(("checkpoint_written", 1)) == 30
    assert ("checkpoint_restored", 2) in kinds
    shown = flytepath("history", run_id)
    assert shown.returncode == 0, shown.stderr
    assert "30 saves" in shown.stdout
    assert "checkpoint_restored" in shown.stdout


# -- the store: lookup, fallback, retention ---------------------------------------------
def _checkpoint(store: BlobStore, attempt: int, run_id: str = "r1", record: str = "n",
                policy: CheckpointSpec | None = None, tmp: Path | None = None) -> Checkpoint:
    events: list[tuple[str, dict]] = []
    cp = Checkpoint(store, run_id, record, attempt, task_name="t", policy=policy,
                    options_of=lambda run: read_run_options(store, run),
                    scratch=str((tmp or Path(store.root)) / f"scratch-{run_id}-{attempt}"),
                    on_event=lambda kind, payload: events.append((kind, payload)))
    cp.events = events  # type: ignore[attr-defined]
    return cp


def _corrupt(store: BlobStore, run_id: str, attempt: int, which: int = 0) -> None:
    """Flip the first byte of one save: in its file, or in the manifest that carries it."""
    key = f"{checkpoint_key(run_id, 'n', attempt)}/manifest.json"
    doc = read_manifest(store, run_id, "n", attempt)
    assert doc is not None
    entry = doc["entries"][which]
    if "inline" in entry:
        data = bytearray(base64.b64decode(entry["inline"]))
        data[0] ^= 0xFF
        entry["inline"] = base64.b64encode(bytes(data)).decode()
        Path(store.path(key)).write_text(json.dumps(doc))
        return
    path = Path(store.path(f"{checkpoint_key(run_id, 'n', attempt)}/{entry['generation']}/"
                           f"{entry['name']}"))
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))


BIG = INLINE_MAX_BYTES + 1
"""A size saved as a file in its own folder, not inside the manifest."""


def test_a_first_attempt_has_no_previous_checkpoint(tmp_path):
    cp = _checkpoint(BlobStore(str(tmp_path)), 1)
    assert not cp.prev_exists()
    assert cp.read() is None and cp.restore() is None
    assert cp.load_state({"step": 0}) == {"step": 0}


def test_the_newest_attempt_wins_and_its_last_save(tmp_path):
    store = BlobStore(str(tmp_path))
    first = _checkpoint(store, 1)
    first.write(b"a")
    first.write(b"b")
    second = _checkpoint(store, 2)
    assert second.read() == b"b"
    second.write(b"c")
    assert second.read() == b"b"  # read() is the previous attempt's, as in Flyte
    assert _checkpoint(store, 3).read() == b"c"
    assert second.events[0][0] == "checkpoint_restored"  # type: ignore[attr-defined]


def test_a_corrupt_checkpoint_falls_back_to_the_save_before_then_earlier_attempts(
        tmp_path, caplog):
    store = BlobStore(str(tmp_path))
    first = _checkpoint(store, 1)
    first.write(b"one-a")
    first.write(b"one-b")
    _checkpoint(store, 2).write(b"two")
    _corrupt(store, "r1", 2)
    assert _checkpoint(store, 3).read() == b"one-b"
    assert "do not match their recorded sha256" in caplog.text
    _corrupt(store, "r1", 1, which=0)
    third = _checkpoint(store, 3)
    assert third.read() == b"one-a"
    assert third.events[0][1]["skipped"] == 2  # type: ignore[attr-defined]
    _corrupt(store, "r1", 1, which=1)
    assert _checkpoint(store, 3).read() is None


@pytest.mark.parametrize("size", [5, BIG], ids=["inline", "file"])
def test_a_corrupt_save_of_either_form_falls_back(tmp_path, size):
    store = BlobStore(str(tmp_path))
    old, new = b"o" * size, b"n" * size
    first = _checkpoint(store, 1)
    first.write(old)
    first.write(new)
    _corrupt(store, "r1", 1)
    cp = _checkpoint(store, 2)
    assert cp.prev_exists()
    assert cp.read() == old
    restored = _checkpoint(store, 3).restore(tmp_path / "back")
    assert restored is not None and (restored / "checkpoint.bin").read_bytes() == old


def test_a_truncated_manifest_is_skipped(tmp_path, caplog):
    store = BlobStore(str(tmp_path))
    _checkpoint(store, 1).write(b"old")
    _checkpoint(store, 2).write(b"new")
    Path(store.path(f"{checkpoint_key('r1', 'n', 2)}/manifest.json")).write_text('{"entr')
    assert _checkpoint(store, 3).read() == b"old"
    assert "manifest is unreadable" in caplog.text


def test_an_attempt_number_that_starts_over_still_finds_the_newer_checkpoint(tmp_path):
    store = BlobStore(str(tmp_path))
    _checkpoint(store, 1).write(b"before")
    _checkpoint(store, 2).write(b"latest")
    # Attempt 1 again (a runner that numbers from 1 after a clear): newest by time wins.
    assert _checkpoint(store, 1).read() == b"latest"


def test_an_attempt_run_twice_under_one_number_resumes_from_its_first_process(tmp_path):
    store = BlobStore(str(tmp_path))
    _checkpoint(store, 1).write(b"first process")
    again = _checkpoint(store, 1)
    assert again.read() == b"first process"
    again.write(b"second process")
    assert again.read() == b"first process"  # the lookup was made before its own save
    assert _checkpoint(store, 2).read() == b"second process"


def test_a_folder_and_a_file_round_trip_verified(tmp_path):
    store = BlobStore(str(tmp_path / "store"))
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(os.urandom(3000))
    (folder / "sub" / "opt.json").write_text("{}")
    _checkpoint(store, 1, tmp=tmp_path).save(folder)
    restored = _checkpoint(store, 2, tmp=tmp_path).restore(tmp_path / "back")
    assert restored == tmp_path / "back"
    assert (restored / "weights.bin").read_bytes() == (folder / "weights.bin").read_bytes()
    assert (restored / "sub" / "opt.json").read_text() == "{}"
    with pytest.raises(FlytePathUserError, match="use current_context"):
        _checkpoint(store, 3, tmp=tmp_path).read()

    _checkpoint(store, 4, tmp=tmp_path).save(folder / "weights.bin")
    got = _checkpoint(store, 5, tmp=tmp_path).restore()
    assert got is not None
    assert (got / "weights.bin").read_bytes() == (folder / "weights.bin").read_bytes()


def test_state_round_trips_and_non_json_state_is_refused(tmp_path):
    store = BlobStore(str(tmp_path))
    _checkpoint(store, 1).save_state({"step": 7, "loss": 0.25})
    assert _checkpoint(store, 2).load_state() == {"step": 7, "loss": 0.25}
    with pytest.raises(FlytePathUserError, match="save_state\\(\\) needs a JSON value"):
        _checkpoint(store, 2).save_state({"x": object()})
    with pytest.raises(FlytePathUserError, match="save_state\\(\\) needs a JSON value"):
        _checkpoint(store, 2).save_state(float("nan"))


def test_the_fresh_policy_sees_nothing_but_saves(tmp_path):
    store = BlobStore(str(tmp_path))
    _checkpoint(store, 1).write(b"x")
    fresh = _checkpoint(store, 2, policy=CheckpointSpec(load="fresh"))
    assert not fresh.prev_exists() and fresh.read() is None
    fresh.write(b"y")
    assert _checkpoint(store, 3).read() == b"y"


def test_only_the_last_n_attempts_keep_their_checkpoints(tmp_path):
    store = BlobStore(str(tmp_path))
    for attempt in range(1, 5):
        _checkpoint(store, attempt, policy=CheckpointSpec(keep=2)).write(b"%d" % attempt)
    kept = [a for a in range(1, 5) if store.exists(checkpoint_key("r1", "n", a))]
    assert kept == [3, 4]
    assert prune_attempts(store, "r1", "n", keep=1) == [3]


def test_only_the_newest_two_saves_of_an_attempt_stay(tmp_path):
    store = BlobStore(str(tmp_path))
    cp = _checkpoint(store, 1)
    for step in range(5):
        cp.write(b"%d" % step * BIG)
    folders = [p.name for p in Path(store.path(checkpoint_key("r1", "n", 1))).iterdir()
               if p.is_dir()]
    assert sorted(f.split("-")[1] for f in folders) == ["4", "5"]
    cp.write(b"small")  # inline: no folder of its own; the save before it stays as fallback
    folders = [p.name for p in Path(store.path(checkpoint_key("r1", "n", 1))).iterdir()
               if p.is_dir()]
    assert [f.split("-")[1] for f in folders] == ["5"]
    assert _checkpoint(store, 2).read() == b"small"


def _recovered(store: BlobStore, run_id: str, source: str) -> None:
    store.write_json(f"runs/{run_id}/inputs.json",
                     {"inputs": {}, "options": {"recovered_from": source}})


def test_a_recovered_run_resumes_from_its_source_runs_checkpoint(tmp_path):
    store = BlobStore(str(tmp_path))
    _checkpoint(store, 2, run_id="source").write(b"from the failed run")
    _recovered(store, "middle", "source")
    _recovered(store, "again", "middle")
    cp = _checkpoint(store, 1, run_id="again")
    assert cp.read() == b"from the failed run"
    assert cp.events[0][1]["from_run"] == "source"  # type: ignore[attr-defined]
    # A run's own checkpoint wins over its source's.
    _checkpoint(store, 1, run_id="middle").write(b"own")
    assert _checkpoint(store, 2, run_id="middle").read() == b"own"


def test_a_recovery_loop_ends(tmp_path):
    store = BlobStore(str(tmp_path))
    _recovered(store, "a", "b")
    _recovered(store, "b", "a")
    assert _checkpoint(store, 1, run_id="a").read() is None


def test_map_elements_keep_their_own_checkpoints(tmp_path):
    store = BlobStore(str(tmp_path))
    _checkpoint(store, 1, record="m[0]").write(b"zero")
    _checkpoint(store, 1, record="m[1]").write(b"one")
    assert _checkpoint(store, 2, record="m[1]").read() == b"one"
