"""Atomic writes: whole or not at all, with the permissions a plain write would give."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from flytepath_airflow.utils.atomic import atomic_write_text, write_if_changed


def test_the_file_gets_the_mode_a_plain_write_would(tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text("{}")
    atomic = tmp_path / "atomic.json"
    atomic_write_text(atomic, "{}")
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_a_failed_write_leaves_the_old_content_and_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "spec.json"
    target.write_text("old")

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.json"]


def test_write_if_changed_keeps_an_unchanged_file_untouched(tmp_path: Path) -> None:
    target = tmp_path / "spec.json"
    assert write_if_changed(target, "a") is True
    before = target.stat().st_mtime_ns
    assert write_if_changed(target, "a") is False
    assert target.stat().st_mtime_ns == before
    assert write_if_changed(target, "b") is True and target.read_text() == "b"
