"""Who owns a run or a claim, whether that owner is provably gone, and dying with a parent.

An owner is written `host:pid:start`, where `start` is the process's start time in clock
ticks since boot (`/proc/<pid>/stat`, Linux) or `0` where it cannot be read. An owner is
*provably gone* only on the host that wrote it, when no process has its pid, or when the
process with its pid started at another time (the pid was reused). Anything else (another
host, an unreadable start time that still has a live pid) is not provably gone: callers
fall back to expiry.

`die_with_parent` asks the kernel to kill this process when its parent dies
(`prctl(PR_SET_PDEATHSIG)`). It is Linux-only; elsewhere it does nothing and a killed
runner's children are found by the owner checks above at the next start.

Run as a script, this file is the *guard* (`guarded_argv`): it starts a command in its own
process group and kills that whole group when its parent (the runner) dies, so a task's
grandchildren (the `sleep` of a shell script) do not outlive a runner killed by SIGKILL.
The kernel's parent-death signal fires when the *thread* that started the guard ends, so
start guards from a thread that lives as long as the run (the runner's main thread).

Must not import: anything outside the standard library (the guard runs isolated from
the task's environment), airflow, kubernetes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import sys
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1
"""The `prctl` option that sets the signal a process gets when its parent dies (Linux)."""


def process_start(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot; None when it is not running (or
    the platform does not say).

    :param pid: a process id.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = text[text.rfind(")") + 2:].split()
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def owner_id(pid: int | None = None) -> str:
    """This process's (or `pid`'s) owner id, `host:pid:start`.

    :param pid: another process on this host; default this one.
    """
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{process_start(pid) or 0}"


@dataclass(frozen=True)
class Owner:
    """A parsed owner id."""

    host: str
    pid: int
    start: int

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        """The owner in `text` (`host:pid:start`, possibly followed by `:anything`), or None
        when it is not in that form (an owner written by an older FlytePath).

        :param text: an owner id.
        """
        if not text:
            return None
        parts = text.split(":")
        if len(parts) < 3:
            return None
        try:
            return cls(parts[0], int(parts[1]), int(parts[2]))
        except ValueError:
            return None


def owner_gone(text: str | None) -> bool:
    """True only when the owner is provably gone (see the module docstring).

    :param text: an owner id, as `owner_id` writes it.
    """
    owner = Owner.parse(text)
    if owner is None or owner.host != socket.gethostname() or owner.pid <= 0:
        return False
    if not _pid_alive(owner.pid):
        return True
    if owner.start == 0:
        return False
    started = process_start(owner.pid)
    return started is not None and started != owner.start


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send `sig` to this process when its parent dies (Linux only).

    When the parent is already gone (it died before this call), exits at once. Returns
    False where the platform cannot do it (not Linux), and does nothing then.

    :param parent_pid: the pid of the parent that started this process.
    :param sig: the signal to get.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent_pid:  # the parent died before the request was in place
        os._exit(128 + int(sig))
    return True


GUARD_START_FAILED = 127
"""Exit code of the guard when it could not start the command; stderr then holds
`START_FAILED_MARK` and the reason."""

START_FAILED_MARK = "flytepath-guard: cannot start: "


def guarded_argv(argv: list[str]) -> list[str]:
    """The command line that runs `argv` under a guard that dies with this process.

    Start it with `start_new_session=True`: the guard and everything the command starts
    then form one process group, which `kill_group` ends at once (a timeout), and which
    the guard itself kills when this process dies, even by SIGKILL (Linux; elsewhere the
    group survives a SIGKILL of this process).

    :param argv: the command.
    """
    # This file run as a script, isolated (-I -S): it needs only the standard library, so
    # it starts fast and does not depend on the command's environment (PYTHONPATH).
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid()), "--",
            *argv]


def kill_group(pgid: int) -> None:
    """SIGKILL every process of a group (a no-op when it is already empty).

    :param pgid: the group id (the pid of the process started with a new session).
    """
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _guard(argv: list[str]) -> int:
    """Run a command in this process's group; kill the whole group when the parent dies."""
    import subprocess  # only the guard program needs it

    parent = int(argv[0])
    command = argv[2:] if argv[1:2] == ["--"] else argv[1:]

    def end_group(signum: int, frame: object) -> None:
        kill_group(os.getpgid(0))
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, end_group)
    die_with_parent(parent, signal.SIGTERM)
    try:
        child = subprocess.Popen(command)
    except OSError as exc:
        sys.stderr.write(f"{START_FAILED_MARK}{exc.strerror or exc}\n")
        return GUARD_START_FAILED
    code = child.wait()
    if code < 0:  # die the same way, so the runner sees what killed the command
        if -code not in (signal.SIGKILL, signal.SIGSTOP):  # these two cannot be handled
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


__all__ = ["GUARD_START_FAILED", "START_FAILED_MARK", "Owner", "die_with_parent",
           "guarded_argv", "kill_group", "owner_gone", "owner_id", "process_start"]


if __name__ == "__main__":
    sys.exit(_guard(sys.argv[1:]))
