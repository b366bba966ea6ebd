"""What checkpoints cost, and what they save when an attempt is killed.

    .venv/bin/python benchmarks/checkpoint.py [--with-1gb] [--kills 3] [--seed 7] [--skip-cost]

Prints, for docs/checkpoints.md ("Figures"):
(a) write + restore of a 1 MB and 100 MB checkpoint (1 GB with --with-1gb) through
    `current_context().checkpoint` (`save(file)` then `restore(folder)`; and `write(bytes)`
    then `read()`), against writing and reading the same bytes to a plain file on the same
    disk in the same run; the ratio is checkpoint time / plain time (target <= 1.15).
(b) a 60-step task that saves every step, run by the local runner with each attempt in its
    own process; a thread SIGKILLs the attempt's process group at random steps, `--kills`
    times; the runner retries and the task resumes. Prints total steps done / the 60 of an
    uninterrupted run, steps redone per kill (target <= 1, one checkpoint interval), and the
    time from each kill to the first step of the resumed attempt (the task logs each step
    with its time).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

WORK = Path(tempfile.mkdtemp(prefix="fp-bench-checkpoint-"))
os.environ["FLYTEPATH_HOME"] = str(WORK / "home")
os.environ.pop("FLYTEPATH_METADATA_URL", None)
os.environ.pop("FLYTEPATH_STORE_ROOT", None)
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
sys.path.insert(0, str(FIXTURES))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FIXTURES),
                                                         os.environ.get("PYTHONPATH")]))

from flytepath_airflow.ir.spec_io import with_version  # noqa: E402
from flytepath_airflow.runtime.checkpoint import Checkpoint  # noqa: E402
from flytepath_airflow.runtime.local import run_local  # noqa: E402
from flytepath_airflow.sdk.targets import load_target  # noqa: E402
from flytepath_airflow.stores.blob import BlobStore  # noqa: E402

MB = 1 << 20
STEPS = 60


def _checkpoint(store: BlobStore, run: str, attempt: int) -> Checkpoint:
    return Checkpoint(store, run, "train", attempt, task_name="bench", policy=None,
                      options_of=lambda _: {}, scratch=str(WORK / "scratch"))


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _drop(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _file_way(store: BlobStore, run: str, src: Path, back: Path) -> None:
    _checkpoint(store, run, 1).save(src)
    assert _checkpoint(store, run, 2).restore(back) is not None


def _plain_file(src: Path, plain: Path, back: Path) -> None:
    shutil.copyfile(src, plain)
    back.mkdir(exist_ok=True)
    shutil.copyfile(plain, back / src.name)


def _bytes_way(store: BlobStore, run: str, data: bytes) -> None:
    _checkpoint(store, run, 1).write(data)
    got = _checkpoint(store, run, 2).read()
    assert got is not None and len(got) == len(data)


def _plain_bytes(plain: Path, data: bytes) -> None:
    with open(plain, "wb") as fh:
        fh.write(data)
    with open(plain, "rb") as fh:
        got = fh.read()
    assert len(got) == len(data)


def cost(size: int, repeats: int) -> dict[str, float]:
    """Median seconds of each way to write and read back `size` bytes."""
    data = os.urandom(size)
    src = WORK / "src.bin"
    src.write_bytes(data)
    store = BlobStore(str(WORK / "store"))
    back, plain = WORK / "restored", WORK / "plain.bin"
    times: dict[str, list[float]] = {"file": [], "plain_file": [], "bytes": [],
                                     "plain_bytes": []}
    for rep in range(repeats):
        run = f"bench-{size}-{rep}"
        ways = [("file", partial(_file_way, store, run, src, back)),
                ("plain_file", partial(_plain_file, src, plain, back)),
                ("bytes", partial(_bytes_way, store, run + "-b", data)),
                ("plain_bytes", partial(_plain_bytes, plain, data))]
        # Alternate the order, so neither way always meets a warmer page cache.
        for name, way in (ways if rep % 2 == 0 else ways[::-1]):
            times[name].append(_timed(way))
            _drop(back)
            _drop(plain)
        store.delete_prefix(f"runs/{run}")
        store.delete_prefix(f"runs/{run}-b")
    src.unlink()
    return {name: statistics.median(values) for name, values in times.items()}


class Killer(threading.Thread):
    """SIGKILLs the attempt's process group when the work log reaches each target step."""

    def __init__(self, run_id: str, log: Path, targets: list[int]) -> None:
        super().__init__(daemon=True)
        self.run_id, self.log, self.targets = run_id, log, targets
        self.killed_at: list[float] = []

    def _steps(self) -> list[str]:
        try:
            return self.log.read_text().splitlines()
        except FileNotFoundError:
            return []

    def _attempt_pid(self) -> int | None:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"flytepath_airflow.runtime.entrypoint" in cmd and \
                    self.run_id.encode() in cmd:
                return int(pid)
        return None

    def run(self) -> None:
        for target in self.targets:
            while True:
                lines = self._steps()
                if lines and int(lines[-1].split()[0]) >= target:
                    break
                time.sleep(0.005)
            pid = self._attempt_pid()
            if pid is None:
                continue
            os.killpg(os.getpgid(pid), signal.SIGKILL)
            self.killed_at.append(time.time())


def killed(kills: int, pause: float, seed: int) -> None:
    spec = load_target(f"{FIXTURES}/checkpoint_flows.py:resumable")
    tasks = {k: t.model_copy(update={"retries": kills + 1}) for k, t in spec.tasks.items()}
    spec = with_version(spec.model_copy(update={"tasks": tasks}))
    root = str(WORK / "store")

    base_log = WORK / "uninterrupted.log"
    started = time.perf_counter()
    result = run_local(spec, {"fail_at": -1, "pause": pause, "work_log": str(base_log)},
                       root=root, isolate=True)
    plain_seconds = time.perf_counter() - started
    assert result.succeeded, result.error
    base_work = len(base_log.read_text().splitlines())

    rng = random.Random(seed)
    targets = sorted(rng.sample(range(3, STEPS - 3), kills))
    log = WORK / "killed.log"
    run_id = f"fp-bench-killed-{seed}"
    killer = Killer(run_id, log, targets)
    killer.start()
    started = time.perf_counter()
    result = run_local(spec, {"fail_at": -1, "pause": pause, "work_log": str(log)},
                       root=root, run_id=run_id, isolate=True)
    seconds = time.perf_counter() - started
    killer.join(timeout=5)
    assert result.succeeded, result.error
    assert result.outputs["o0"]["total"] == sum(range(STEPS))
    lines = [line.split() for line in log.read_text().splitlines()]
    work = len(lines)
    redone = work - base_work
    print(f"(b) {STEPS}-step task, a save every step ({pause * 1000:.0f} ms of work a step), "
          f"SIGKILLed {len(killer.killed_at)} times at steps {targets}:")
    print(f"    total work / uninterrupted work: {work} / {base_work} = "
          f"{work / base_work:.3f}")
    print(f"    steps redone: {redone} ({redone / max(1, len(killer.killed_at)):.2f} per kill; "
          "target <= 1)")
    attempts = sorted({int(line[1]) for line in lines})
    firsts = [next(line for line in lines if int(line[1]) == att) for att in attempts[1:]]
    print(f"    attempts: {len(attempts)}; each resumed at step "
          f"{[int(line[0]) for line in firsts]}")
    # From the kill to the resumed attempt's first step: the runner noticing, a new
    # process starting and importing, the lookup and the restore.
    resume = [float(line[3]) - killed_at for line, killed_at in
              zip(firsts, killer.killed_at, strict=False)]
    if resume:
        print(f"    time to resume: median {statistics.median(resume):.2f} s, max "
              f"{max(resume):.2f} s (kill to the first step of the next attempt)")
    print(f"    wall time: {seconds:.2f} s vs {plain_seconds:.2f} s uninterrupted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--with-1gb", action="store_true", help="also measure 1 GB")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.05, help="seconds of work a step")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-cost", action="store_true", help="only part (b)")
    args = parser.parse_args()
    print(f"work folder {WORK} (store and plain files on the same disk)")
    sizes = [(1 * MB, 7), (100 * MB, 3)] + ([(1024 * MB, 2)] if args.with_1gb else [])
    if args.skip_cost:
        sizes = []
    print("(a) write + restore, median seconds; ratio = checkpoint / plain file")
    print(f"    {'size':>8} {'save+restore':>12} {'copy+copy':>10} {'ratio':>6}   "
          f"{'write+read':>10} {'plain w+r':>10} {'ratio':>6}")
    for size, repeats in sizes:
        t = cost(size, repeats)
        print(f"    {size // MB:>5} MB {t['file']:>12.3f} {t['plain_file']:>10.3f} "
              f"{t['file'] / t['plain_file']:>6.2f}   {t['bytes']:>10.3f} "
              f"{t['plain_bytes']:>10.3f} {t['bytes'] / t['plain_bytes']:>6.2f}")
    killed(args.kills, args.pause, args.seed)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
