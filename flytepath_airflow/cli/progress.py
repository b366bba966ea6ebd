"""The progress a user watches during `flytepath run`: one display for both backends.

The local runner and the Airflow backend feed the same `NodeEvent`s (runtime/progress.py)
into `ProgressDisplay`, so a run reads the same whichever backend runs it:

    starting Airflow: database
      [..] train                        running    attempt 1/3
      [..] train                        running    still running (15 s)
      [ok] train                        succeeded  21.30s
      [==] clean                        cached     0.04s, from run r-20260101-ab12
      [..] score                        running    map of 50 elements
      [!!] score[17]                    failed     attempt 1/1: ValueError: bad row
      [ok] score                        succeeded  50 elements: 48 done, 1 cached, 1 failed, 0.91s

Why each piece is there:
- Airflow takes seconds to start; its stages are shown as they happen, so a silent
  terminal never means "hung".
- A task that runs long says so: on a terminal one status line at the bottom is redrawn
  every second with the elapsed time of what runs; elsewhere (a log file, CI) a
  "still running" line is printed every `every` seconds, and no control codes are written.
- Map elements are folded into one line per map with its counts; only an element that
  fails or retries gets its own line, so a 10,000-element map stays readable.

Every line goes to the stream given (stderr in the CLI): stdout holds only the outputs or
the `--json` object. The display measures durations itself, from an item's `running`
event to its end, so both backends' durations mean the same thing.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TextIO

from flytepath_airflow.runtime.progress import NodeEvent

MARKS = {"running": "..", "succeeded": "ok", "cached": "==", "recovered": "<<",
         "retrying": "~~", "failed": "!!", "skipped": "--"}
"""The mark of each state, shown in brackets at the start of its line."""

REDRAW_SECONDS = 1.0
"""How often the terminal status line is redrawn (and how often the display wakes up)."""


@dataclass
class _Running:
    started: float
    shown: float
    attempt: int | None = None
    attempts: int | None = None


@dataclass
class _Map:
    started: float
    shown: float
    total: int | None = None
    done: int = 0
    cached: int = 0
    recovered: int = 0
    failed: int = 0
    skipped: int = 0
    running: dict[int, _Running] = field(default_factory=dict)

    def ended(self) -> int:
        return self.done + self.cached + self.recovered + self.failed + self.skipped

    def finished(self) -> bool:
        ended = self.ended()
        return not self.running and ended > 0 and self.total in (None, ended)

    def _tally(self) -> str:
        recovered = f", {self.recovered} recovered" if self.recovered else ""
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        return (f"{self.done} done, {self.cached} cached{recovered}, "
                f"{self.failed} failed{skipped}")

    def counts(self) -> str:
        finished = self.ended()
        of = f"{finished}/{self.total}" if self.total is not None else f"{finished}"
        return f"{of} elements: {self._tally()}"

    def final_counts(self) -> str:
        total = self.total if self.total is not None else self.ended()
        return f"{total} elements: {self._tally()}"


def _seconds(value: float) -> str:
    return f"{value:.2f}s"


def _elapsed(value: float) -> str:
    return f"{int(value)} s"


class ProgressDisplay:
    """Renders a run's `NodeEvent`s (and Airflow's start-up stages) as lines on a stream.

    Call it with each event (it is a `runtime.progress.Progress`); use it as a context
    manager so elapsed times keep showing while a task runs, or call `tick()` yourself.

    :param stream: where lines go (default: stderr).
    :param tty: whether the stream is a terminal (default: ask the stream); only then is a
        redrawn status line written.
    :param every: seconds between "still running" lines when not on a terminal.
    :param clock: monotonic seconds (tests pass their own).
    """

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None,
                 every: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(tty if tty is not None else getattr(self.stream, "isatty",
                                                            lambda: False)())
        self.every = every
        self.clock = clock
        self._lock = threading.RLock()
        self._running: dict[str, _Running] = {}
        self._maps: dict[str, _Map] = {}
        self._stage: tuple[str, float, float] | None = None
        self._status_shown = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> ProgressDisplay:
        self._thread = threading.Thread(target=self._ticker, name="flytepath-progress",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(end_maps=exc_type is None)  # an interrupted map did not succeed

    def _ticker(self) -> None:
        while not self._stop.wait(REDRAW_SECONDS):
            self.tick()

    def close(self, end_maps: bool = True) -> None:
        """Stop ticking and clear the status line.

        :param end_maps: end, with their counts, the maps still open whose elements all
            ended (a mapped operator kept from a converted DAG has no end event of its own).
        """
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            for node, entry in list(self._maps.items()):
                if end_maps and entry.finished():
                    self._end_map(node, "failed" if entry.failed else "succeeded", "")
            self._clear_status()

    # -- input --------------------------------------------------------------------------
    def stage(self, text: str | None) -> None:
        """Show a start-up stage (`starting Airflow: database`); None ends the stage."""
        with self._lock:
            now = self.clock()
            self._stage = (text, now, now) if text else None
            if text:
                self._line(f"{text}")

    def __call__(self, event: NodeEvent) -> None:
        """Show one event."""
        with self._lock:
            self._stage = None  # the first node event ends Airflow's start-up
            if event.element is not None:
                self._element(event)
            elif event.node in self._maps or (event.state == "running"
                                              and event.size is not None):
                self._map(event)
            else:
                self._task(event)

    # -- tasks --------------------------------------------------------------------------
    def _task(self, event: NodeEvent) -> None:
        now = self.clock()
        key = event.node
        if event.state == "running":
            self._running[key] = _Running(now, now, event.attempt, event.attempts)
            self._node_line(key, "running", self._attempt(event, None))
            return
        running = self._running.pop(key, None)
        took = _seconds(now - running.started) if running is not None else ""
        if event.state == "succeeded":
            detail = ", ".join(part for part in (took, event.message) if part)
        elif event.state == "cached":
            source = f"from run {event.cached_from}" if event.cached_from else "cache hit"
            detail = ", ".join(part for part in (took, source) if part)
        elif event.state == "recovered":
            detail = ", ".join(part for part in (took, f"recovered from {event.cached_from}")
                               if part)
        elif event.state in ("failed", "retrying"):
            detail = self._why(event, running)
        else:
            detail = event.message
        self._node_line(key, event.state, detail)

    def _attempt(self, event: NodeEvent, running: _Running | None) -> str:
        attempt = event.attempt or (running.attempt if running else None)
        attempts = event.attempts or (running.attempts if running else None)
        if attempt is None:
            return ""
        return f"attempt {attempt}/{attempts}" if attempts else f"attempt {attempt}"

    def _why(self, event: NodeEvent, running: _Running | None) -> str:
        attempt = self._attempt(event, running)
        if attempt and event.message:
            return f"{attempt}: {event.message}"
        return attempt or event.message

    # -- maps ---------------------------------------------------------------------------
    def _open_map(self, node: str) -> _Map:
        if node not in self._maps:
            now = self.clock()
            self._maps[node] = _Map(started=now, shown=now)
        return self._maps[node]

    def _map(self, event: NodeEvent) -> None:
        if event.state == "running":
            known = event.node in self._maps
            entry = self._open_map(event.node)
            if event.size is not None:
                entry.total = event.size
            if not known:
                size = f"map of {event.size} elements" if event.size is not None else "map"
                self._node_line(event.node, "running", size)
            return
        self._end_map(event.node, event.state, event.message)

    def _end_map(self, node: str, state: str, message: str) -> None:
        entry = self._maps.pop(node)
        took = _seconds(self.clock() - entry.started)
        detail = f"{entry.final_counts()}, {took}"
        self._node_line(node, state, f"{detail}: {message}" if message else detail)

    def _element(self, event: NodeEvent) -> None:
        assert event.element is not None
        entry = self._open_map(event.node)
        index = event.element
        if event.state == "running":
            now = self.clock()
            entry.running[index] = _Running(now, now, event.attempt, event.attempts)
            return
        running = entry.running.pop(index, None) if event.state != "retrying" \
            else entry.running.get(index)
        shown = f"{event.node}[{index}]"
        if event.state == "succeeded":
            entry.done += 1
        elif event.state == "cached":
            entry.cached += 1
        elif event.state == "recovered":
            entry.recovered += 1
        elif event.state == "skipped":
            entry.skipped += 1
        elif event.state == "failed":
            entry.failed += 1
            self._node_line(shown, "failed", self._why(event, running))
        elif event.state == "retrying":
            self._node_line(shown, "retrying", self._why(event, running))

    # -- time passing -------------------------------------------------------------------
    def tick(self) -> None:
        """Show elapsed times: redraw the status line on a terminal, else print a
        "still running" line for what has run `every` seconds since its last line."""
        with self._lock:
            now = self.clock()
            if self.tty:
                self._draw_status(now)
                return
            if self._stage is not None:
                text, started, shown = self._stage
                if now - shown >= self.every:
                    self._line(f"{text} ({_elapsed(now - started)})")
                    self._stage = (text, started, now)
            for node, running in self._running.items():
                if now - running.shown >= self.every:
                    self._node_line(node, "running",
                                    f"still running ({_elapsed(now - running.started)})")
                    running.shown = now
            for node, entry in self._maps.items():
                if now - entry.shown >= self.every:
                    self._node_line(node, "running",
                                    f"{entry.counts()} ({_elapsed(now - entry.started)})")
                    entry.shown = now

    def _status(self, now: float) -> str:
        parts = []
        if self._stage is not None:
            parts.append(f"{self._stage[0]} ({_elapsed(now - self._stage[1])})")
        parts += [f"{node} {_elapsed(now - running.started)}"
                  for node, running in self._running.items()]
        parts += [f"{node} {entry.counts().split(' elements')[0]} "
                  f"({_elapsed(now - entry.started)})" for node, entry in self._maps.items()]
        if not parts:
            return ""
        return "  [..] " + " | ".join(parts)

    def _draw_status(self, now: float) -> None:
        text = self._status(now)
        width = shutil.get_terminal_size((100, 20)).columns - 1
        if len(text) > width:
            text = text[: max(width - 3, 0)] + "..."
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self._status_shown = bool(text)

    def _clear_status(self) -> None:
        if self._status_shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._status_shown = False

    # -- output -------------------------------------------------------------------------
    def _node_line(self, node: str, state: str, detail: str) -> None:
        self._line(f"  [{MARKS.get(state, '  ')}] {node:<28} {state:<10} {detail}".rstrip())

    def _line(self, text: str) -> None:
        if self.tty:
            self._clear_status()
        self.stream.write(text + "\n")
        if self.tty:
            self._draw_status(self.clock())
        self.stream.flush()
