"""Validation overhead: a pandera- or GX-checked frame between two tasks, versus the same
checks called directly beside an unchecked round trip.

    python benchmarks/validation_overhead.py [--rows 1e5,1e6] [--repeat 3]

For each size, "ours" is the engine's round trip of a frame typed `DataFrame[Orders]`
(validated before it is stored and after it is loaded) and of one typed
`Annotated[pd.DataFrame, GXValidate(suite)]`. The baseline, measured in the same run, is
the plain `pd.DataFrame` round trip plus the library's own validation of the frame as
returned and as read back from Parquet. The
ratio says what the integration costs beyond the library: target <= 1.1.
"""

# No `from __future__ import annotations`: pandera reads the model's annotations, and the
# model is defined inside main() so that importing this file imports nothing heavy.
import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="1e5,1e6")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("FLYTEPATH_HOME", tempfile.mkdtemp(prefix="fp-bench-home-"))

    import great_expectations as gx
    import numpy as np
    import pandas as pd
    import pandera.pandas as pa
    from pandera.typing import DataFrame, Series

    from flytepath_airflow.integrations.great_expectations import GXValidate, gx_validate
    from flytepath_airflow.stores.blob import BlobStore, NodeBlobContext
    from flytepath_airflow.types import default_engine

    class Orders(pa.DataFrameModel):
        order_id: Series[int] = pa.Field(ge=0)
        amount: Series[float] = pa.Field(ge=0, le=1e9)
        currency: Series[str] = pa.Field(isin=["EUR", "USD"])

    suite = gx.ExpectationSuite(name="bench", expectations=[
        gx.expectations.ExpectColumnValuesToBeBetween(column="amount", min_value=0,
                                                      max_value=1e9),
        gx.expectations.ExpectColumnValuesToBeInSet(column="currency", value_set=["EUR", "USD"]),
    ])
    checked = Annotated[pd.DataFrame, GXValidate(suite)]
    engine = default_engine()

    def round_trip(frame: Any, py_type: Any) -> None:
        ctx = NodeBlobContext(BlobStore(tempfile.mkdtemp(prefix="fp-bench-data-")),
                              "runs/r/nodes/a/attempt-1")
        literal = engine.to_literal(frame, py_type, ctx, "o0")
        engine.to_python(literal, py_type, ctx)

    def round_trip_value(frame: Any) -> Any:
        ctx = NodeBlobContext(BlobStore(tempfile.mkdtemp(prefix="fp-bench-data-")),
                              "runs/r/nodes/a/attempt-1")
        return engine.to_python(engine.to_literal(frame, pd.DataFrame, ctx, "o0"),
                                pd.DataFrame, ctx)

    print(f"{'rows':>10} {'library':>8} {'ours s':>9} {'baseline s':>11} {'ratio':>6}")
    for rows in (int(float(r)) for r in args.rows.split(",")):
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({
            "order_id": np.arange(rows),
            "amount": rng.uniform(0, 1000, rows),
            "currency": rng.choice(["EUR", "USD"], rows),
        })
        round_trip(frame, DataFrame[Orders])  # warm: imports, schema digest, GX context
        round_trip(frame, checked)
        plain = _best(lambda: round_trip(frame, pd.DataFrame), args.repeat)  # noqa: B023
        # The input side validates the frame as Parquet gives it back (Arrow-backed
        # strings), which pandera and GX check at another speed than the original.
        loaded = round_trip_value(frame)
        cases = (
            ("pandera", DataFrame[Orders],
             [lambda f=f: Orders.validate(f, lazy=True) for f in (frame, loaded)]),
            ("gx", checked, [lambda f=f: gx_validate(f, suite) for f in (frame, loaded)]),
        )
        for library, py_type, direct in cases:
            ours = _best(lambda: round_trip(frame, py_type), args.repeat)  # noqa: B023
            baseline = plain + sum(_best(fn, args.repeat) for fn in direct)
            print(f"{rows:>10} {library:>8} {ours:>9.3f} {baseline:>11.3f} "
                  f"{ours / baseline:>6.2f}")


if __name__ == "__main__":
    main()
