"""A map task over 5,000 elements through `flytepath run` on a real Airflow (issue 6's size).

Every element is one mapped task instance of `map_inc.items`; the run takes minutes. The
progress shows the map as one line with its counts.
"""

from __future__ import annotations

import pytest
from control_flow_cases import flytepath, outputs_of

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

SIZE = 5000


# A hang guard, not a speed target (benchmarks/map_scale.py measures the speed): the run
# took close to the suite's default 600 s before, and went past it in this change's CI.
@pytest.mark.timeout(1500)
def test_a_map_of_5000_elements_runs_through_airflow() -> None:
    proc = flytepath("run", "tests/fixtures/big_map.py:big_map", "-i", f"n={SIZE}", "--json")
    assert outputs_of(proc) == {"o0": list(range(1, SIZE + 1))}
    assert "on Airflow" in proc.stderr
    # One line for the whole map, with its counts; no line per element.
    assert f"{SIZE} elements: {SIZE} done, 0 cached, 0 failed" in proc.stderr
    assert "map_inc[" not in proc.stderr
