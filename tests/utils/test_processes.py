"""An owner is gone only when that is provable: same host, and its pid gone or reused."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from flytepath_airflow.utils.processes import Owner, owner_gone, owner_id


def test_this_process_is_not_gone() -> None:
    assert not owner_gone(owner_id())


def test_an_exited_process_is_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = owner_id(child.pid)
    child.wait()
    assert owner_gone(owner)


def test_a_reused_pid_with_another_start_time_is_gone() -> None:
    me = Owner.parse(owner_id())
    assert me is not None and me.start > 0
    assert owner_gone(f"{me.host}:{os.getpid()}:{me.start + 1}")


def test_what_cannot_be_proven_is_not_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = owner_id(child.pid)
    child.wait()
    _, pid, start = owner.rsplit(":", 2)
    assert not owner_gone(f"{socket.gethostname()}-elsewhere:{pid}:{start}")  # other host
    assert not owner_gone(f"{socket.gethostname()}:{pid}:abcd1234")  # an older owner id
    assert not owner_gone(None)
