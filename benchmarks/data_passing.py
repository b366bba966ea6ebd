"""Data passing benchmark: a DataFrame between two tasks versus Parquet on disk directly.

    python benchmarks/data_passing.py [--sizes 1e6,1e7,1e8] [--repeat 3]

For each size (cells), the FlytePath path is: task A returns the frame (encoded to
Parquet, hashed, published atomically), task B receives it (read, hash verified, decoded).
The floor is the same frame written to a Parquet file and read back with pandas/pyarrow.
Frame creation is excluded from both. Target: ratio <= 1.2 at 100 million cells.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1e6,1e7,1e8")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("FLYTEPATH_HOME", tempfile.mkdtemp(prefix="fp-bench-home-"))

    import pandas as pd
    from _flows import make_frame

    from flytepath_airflow.stores.blob import BlobStore, NodeBlobContext
    from flytepath_airflow.types import default_engine

    engine = default_engine()
    for size in (int(float(s)) for s in args.sizes.split(",")):
        frame = make_frame.fn(cells=size)
        ours, floor = [], []
        for _ in range(args.repeat):
            root = tempfile.mkdtemp(prefix="fp-bench-data-")
            ctx = NodeBlobContext(BlobStore(root), "runs/r/nodes/a/attempt-1")
            started = time.perf_counter()
            literal = engine.to_literal(frame, pd.DataFrame, ctx, "o0")
            back = engine.to_python(literal, pd.DataFrame, ctx)
            ours.append(time.perf_counter() - started)
            assert back.shape == frame.shape

            path = os.path.join(root, "direct.parquet")
            started = time.perf_counter()
            frame.to_parquet(path, engine="pyarrow")
            direct = pd.read_parquet(path, engine="pyarrow")
            floor.append(time.perf_counter() - started)
            assert direct.shape == frame.shape
        o, f = statistics.median(ours), statistics.median(floor)
        print(f"{size:>12,} cells: FlytePath {o:.3f} s, direct Parquet {f:.3f} s, "
              f"ratio {o / f:.2f} (median of {args.repeat})")
        del frame


if __name__ == "__main__":
    main()
