"""Every process a command started, and stopping all of them (`flytepath up`'s Ctrl+C).

Stopping a process group is not enough for `airflow standalone`: its task runners put
themselves in process groups of their own (Airflow's supervisor calls `setpgid`), and the
scheduler's LocalExecutor workers outlived their parent when only it was stopped. A
command started with `start_new_session=True` is a session leader, and everything it
starts stays in its session (a process leaves only by calling `setsid`) or is its
descendant, so the tree is: the members of its session, plus the descendants of any of
them (for those that started a session of their own). Read from /proc (Linux); elsewhere
the tree is the session leader's process group.

Processes are identified by (pid, start time), so a pid reused after a process ended is
never taken for it.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from flytepath_airflow.utils.processes import process_start


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, session id, state) of `pid`, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = text[text.rfind(")") + 2:].split()
    try:
        return int(fields[1]), int(fields[3]), fields[0]
    except (IndexError, ValueError):
        return None


def process_tree(leader: int) -> dict[int, int | None]:
    """The live processes of `leader`'s session and their descendants, with start times.

    Zombies (ended, not yet reaped) are left out: they hold no resources but their pid.

    :param leader: the pid of a process started with `start_new_session=True`.
    """
    if not Path("/proc").is_dir():  # not Linux: its group is all that can be found
        try:
            os.killpg(leader, 0)
        except (ProcessLookupError, PermissionError):
            return {}
        return {leader: None}
    parents: dict[int, int] = {}
    members: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[2] == "Z":
            continue
        pid = int(entry.name)
        parents[pid] = stat[0]
        if stat[1] == leader:  # the leader too: its session id is its own pid
            members.add(pid)
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(members), list(members)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return {pid: process_start(pid) for pid in found}


def alive(processes: dict[int, int | None]) -> dict[int, int | None]:
    """Those of `processes` still running (the same process: its start time matches)."""
    return {pid: start for pid, start in processes.items()
            if (now := process_start(pid)) is not None and (start is None or now == start)}


def _signal_all(processes: dict[int, int | None], sig: int) -> None:
    for pid in alive(processes):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def stop_tree(leader: int, grace: float = 30.0,
              reap: Callable[[], object] | None = None) -> dict[int, int | None]:
    """SIGTERM every process of `leader`'s tree, SIGKILL what is left after `grace` seconds.

    The tree is read again while waiting, so a process started during shutdown (a
    scheduler replacing a worker) is stopped too.

    :param leader: the pid of a process started with `start_new_session=True`.
    :param grace: seconds to wait after SIGTERM.
    :param reap: called while waiting (the caller's `Popen.poll`), so the leader, a child
        of the caller, does not stay a zombie.
    :returns: the processes still alive at the end (empty unless SIGKILL failed).
    """
    poll = reap or (lambda: None)
    known: dict[int, int | None] = {}
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        deadline = time.monotonic() + wait
        signalled: set[int] = set()
        while True:
            poll()
            known.update(process_tree(leader))
            known = alive(known)
            fresh = {pid: start for pid, start in known.items() if pid not in signalled}
            _signal_all(fresh, sig)
            signalled |= set(fresh)
            if not known or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        if not known:
            break
    poll()
    return alive(known)
