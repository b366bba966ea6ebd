"""Killed local runners: what they leave behind, and how long a rerun waits for them.

    python benchmarks/killed_runs.py [--runs 16] [--postgres URL]

Starts `--runs` `flytepath run --local` of a shell task that sleeps (it records the pids
of its shell and of a background `sleep`), SIGKILLs every runner mid-task, then runs
`flytepath executions` once and counts: runs left `running`, task processes still alive
(orphans), and scratch folders left in the runners' temp folder.

Then a cache_serialize holder is SIGKILLed mid-computation and the seconds a second
execution of the same key waits before it computes are measured (before the takeover of
dead holders, it waited for the reservation to expire: 30 to 34 s with the default TTL).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLEEPER = ROOT / "tests" / "fixtures" / "sleeper.yaml"
FIXTURES = ROOT / "tests" / "fixtures"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "flytepath_airflow.cli.main", *args]


def killed_runs(count: int, env: dict[str, str], work: Path) -> None:
    scratch = work / "tmp"
    scratch.mkdir(parents=True)
    env = {**env, "TMPDIR": str(scratch)}
    pidfiles = [work / f"pids-{i}" for i in range(count)]
    runners = [subprocess.Popen(_cli("run", str(SLEEPER), "-i", f"pidfile={p}", "--local"),
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=ROOT) for p in pidfiles]
    deadline = time.monotonic() + 300
    while not all(p.exists() for p in pidfiles) and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = [int(x) for p in pidfiles if p.exists() for x in p.read_text().split()]
    for runner in runners:
        runner.send_signal(signal.SIGKILL)
    for runner in runners:
        runner.wait()
    time.sleep(2)  # let the kernel deliver the parent-death signals
    orphans = [p for p in pids if _alive(p)]
    listed = subprocess.run(_cli("executions", "--json", "--limit", str(count * 2)), env=env,
                            capture_output=True, text=True, cwd=ROOT, check=True)
    runs = json.loads(listed.stdout)
    left = [p for p in scratch.iterdir() if p.name.startswith("flytepath-")]
    print(f"runs killed {count}, started tasks {len(pids) // 2}, "
          f"left running {sum(r['status'] == 'running' for r in runs)}, "
          f"closed failed {sum(r['status'] == 'failed' for r in runs)}, "
          f"orphans {len(orphans)}, scratch dirs left {len(left)}")
    for pid in orphans:
        os.kill(pid, signal.SIGKILL)


def reservation_wait(env: dict[str, str], work: Path) -> None:
    from flytepath_airflow.ir import dump_spec
    from flytepath_airflow.runtime.cache import RESERVATION_TTL
    from flytepath_airflow.runtime.run import prepare_run
    from flytepath_airflow.sdk.targets import load_target

    spec = load_target(f"{FIXTURES}/light_flows.py:held", project=f"bench{time.time_ns()}")
    spec_path = work / "spec.json"
    spec_path.write_text(dump_spec(spec))
    root = str(work / "store")
    url = env["FLYTEPATH_METADATA_URL"]
    first, second = (prepare_run(spec, {"n": 7}, root, metadata_url=url) for _ in range(2))
    calls = work / "calls.txt"
    env = {**env, "PYTHONPATH": os.pathsep.join([str(FIXTURES),
                                                 env.get("PYTHONPATH") or str(ROOT)]),
           "FLYTEPATH_TEST_CALLS": str(calls)}

    def entrypoint(run_id: str) -> list[str]:
        return [sys.executable, "-m", "flytepath_airflow.runtime.entrypoint", "--spec",
                str(spec_path), "--node", "held_square", "--run-id", run_id, "--root", root]

    holder = subprocess.Popen(entrypoint(first), env={**env, "FLYTEPATH_TEST_SLEEP": "600"})
    while "held_square" not in (calls.read_text() if calls.exists() else ""):
        time.sleep(0.05)
    time.sleep(0.5)  # the holder has reserved and is computing
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    started = time.perf_counter()
    subprocess.run(entrypoint(second), env=env, check=True, capture_output=True)
    waited = time.perf_counter() - started
    # Without the takeover a waiter sits out the holder's reservation TTL.
    print(f"rerun with a SIGKILLed holder: {waited:.2f} s, {waited / RESERVATION_TTL:.2f}x "
          f"the {RESERVATION_TTL:.0f} s reservation TTL it would otherwise wait")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fp-bench-killed-"))
    env = {**os.environ, "FLYTEPATH_HOME": str(work / "home"),
           "FLYTEPATH_METADATA_URL": args.postgres or f"sqlite:///{work / 'meta.db'}"}
    env.pop("FLYTEPATH_STORE_ROOT", None)
    os.environ["FLYTEPATH_METADATA_URL"] = env["FLYTEPATH_METADATA_URL"]
    killed_runs(args.runs, env, work / "killed")
    reservation_wait(env, work)


if __name__ == "__main__":
    main()
