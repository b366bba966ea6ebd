"""Cache benchmark: a run of all hits versus the first run, and the cost of one hit.

    python benchmarks/cache.py [--postgres URL] [--repeat 5]

Prints, for SQLite (and Postgres when reachable):
- first run vs second run (all hits) of four cached tasks that each burn 0.5 s;
- the per-task cost of a hit (key computation + lookup + blob verification + pointer
  write + events) in milliseconds, against a plain Python function call.
Target: a hit costs under 20 ms per task.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench(metadata_url: str | None, label: str, repeat: int) -> None:
    from flytepath_airflow.runtime.executor import execute_node
    from flytepath_airflow.runtime.local import run_local
    from flytepath_airflow.runtime.run import prepare_run
    from flytepath_airflow.sdk.targets import load_target
    if metadata_url:
        os.environ["FLYTEPATH_METADATA_URL"] = metadata_url
    else:
        os.environ.pop("FLYTEPATH_METADATA_URL", None)
    root = tempfile.mkdtemp(prefix="fp-bench-cache-")
    spec = load_target(f"{HERE}/_flows.py:burn_chain", project=f"bench{time.time_ns()}")

    started = time.perf_counter()
    first = run_local(spec, {"seconds": 0.5}, root=root)
    first_s = time.perf_counter() - started
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        again = run_local(spec, {"seconds": 0.5}, root=root)
        seconds.append(time.perf_counter() - started)
        assert set(again.node_states.values()) == {"cached"}, again.node_states
    assert first.outputs == again.outputs

    hit_costs = []
    for _ in range(repeat * 4):
        run_id = prepare_run(spec, {"seconds": 0.5}, root)
        for node in spec.nodes:
            started = time.perf_counter()
            execute_node(spec, node.id, run_id, 1, root)
            hit_costs.append(time.perf_counter() - started)

    def plain(step: int) -> int:
        return step + 1

    calls = []
    for _ in range(1000):
        started = time.perf_counter()
        plain(1)
        calls.append(time.perf_counter() - started)

    second = statistics.median(seconds)
    hit_ms = _median_ms(hit_costs)
    print(f"[{label}] first run {first_s:.2f} s, all-hit run {second:.3f} s (median of "
          f"{repeat}): ratio {second / first_s:.3f}")
    print(f"[{label}] one hit: {hit_ms:.1f} ms median over {len(hit_costs)} hits; a plain "
          f"call: {_median_ms(calls) * 1000:.2f} us; hit/call ratio "
          f"{statistics.median(hit_costs) / statistics.median(calls):.0f}x; "
          f"target < 20 ms: {'met' if hit_ms < 20 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default=os.environ.get(
        "FLYTEPATH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("FLYTEPATH_HOME", tempfile.mkdtemp(prefix="fp-bench-home-"))
    bench(None, "sqlite", args.repeat)
    try:
        from flytepath_airflow.stores.metadata import MetadataStore

        MetadataStore(args.postgres).migrate()
    except Exception as exc:  # report, don't fail: the SQLite numbers still stand
        print(f"[postgres] skipped: {args.postgres} is not reachable ({exc})")
        return
    bench(args.postgres, "postgres", args.repeat)


if __name__ == "__main__":
    main()
