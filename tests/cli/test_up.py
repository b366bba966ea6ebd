"""`flytepath up` as a user runs it: a port in use is refused before anything starts, the
UI address is printed once Airflow is healthy, and Ctrl+C leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flytepath_airflow.utils.process_tree import alive, process_tree, stop_tree

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 420.0


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on, as another Airflow would."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_up_refuses_a_port_in_use_and_names_it_and_the_option(taken_port: int,
                                                              tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "flytepath_airflow.cli.main", "up", "--port", str(taken_port)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
        env={**os.environ, "FLYTEPATH_HOME": str(tmp_path / "home")})
    assert proc.returncode == 2, proc.stderr
    assert f"port {taken_port} on 127.0.0.1 is already in use" in proc.stderr
    assert "--port" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Airflow UI" not in proc.stdout  # no address for a server that cannot listen
    assert not (tmp_path / "home" / "airflow").exists()  # refused before anything started


def _sleeper(*, own_group: bool = False, own_session: bool = False) -> str:
    """Python code that leaves its parent's process group or session, then sleeps."""
    leave = "os.setsid()" if own_session else "os.setpgid(0, 0)" if own_group else "pass"
    return f"import os, time; {leave}; time.sleep(600)"


def test_stopping_a_tree_ends_children_in_their_own_group_or_session() -> None:
    # The shape `airflow standalone` has: components in its group, task runners in groups
    # of their own (Airflow's supervisor calls setpgid), a grandchild in a new session.
    inner = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
             f"{_sleeper(own_session=True)!r}]); time.sleep(600)")
    script = "; ".join([
        "import subprocess, sys, time",
        f"subprocess.Popen([sys.executable, '-c', {_sleeper()!r}])",
        f"subprocess.Popen([sys.executable, '-c', {_sleeper(own_group=True)!r}])",
        f"subprocess.Popen([sys.executable, '-c', {inner!r}])",
        "time.sleep(600)",
    ])
    leader = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        def groups(tree: dict[int, int | None]) -> set[int]:
            return {os.getpgid(pid) for pid in alive(tree)}

        deadline = time.monotonic() + 60
        tree = process_tree(leader.pid)
        while (len(tree) < 5 or len(groups(tree)) < 3) and time.monotonic() < deadline:
            time.sleep(0.2)  # the children leave their group once their Python has started
            tree = process_tree(leader.pid)
        assert len(tree) == 5, tree  # the leader, three children, one grandchild
        assert len(groups(tree)) == 3  # not one group to kill

        assert stop_tree(leader.pid, grace=10.0, reap=leader.poll) == {}
        assert alive(tree) == {}
    finally:
        leader.poll()
        if leader.returncode is None:
            stop_tree(leader.pid, grace=0.0, reap=leader.poll)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.airflow
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ctrl_c_stops_every_process_flytepath_up_started(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "up.log"
    env = {**os.environ, "FLYTEPATH_HOME": str(tmp_path / "home")}
    with open(log, "wb") as out:
        # Its own session, as a shell gives a foreground job: Ctrl+C goes to its group.
        up = subprocess.Popen(
            [sys.executable, "-m", "flytepath_airflow.cli.main", "up", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not re.search(r"Airflow UI: (\S+)", log.read_text()):
            assert up.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"no UI address printed; see {log}"
            time.sleep(2)
        # The address is printed once the API server answers on it.
        assert f"Airflow UI: http://127.0.0.1:{port}" in log.read_text()
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass
        started = process_tree(up.pid)
        standalone = [pid for pid in started if pid != up.pid and os.getsid(pid) == pid]
        assert standalone, "airflow standalone runs in a session of its own"
        started.update(process_tree(standalone[0]))
        assert len(started) >= 5, started  # flytepath, standalone, its components

        os.killpg(up.pid, signal.SIGINT)  # what Ctrl+C in the terminal sends
        assert up.wait(timeout=120) == 0, log.read_text()[-3000:]
        assert "stopping Airflow" in log.read_text()
        assert alive(started) == {}, f"left behind: {alive(started)}"
        assert alive(process_tree(standalone[0])) == {}
    finally:
        if up.poll() is None:
            stop_tree(up.pid, grace=0.0, reap=up.poll)
