"""Weighted max-min fair share with borrowing: the arithmetic the fair-share controller
uses to size tenant pools (platform/fairshare.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flytepath_airflow.platform.fairshare import (
    TenantDemand,
    fair_targets,
    jain_index,
    pool_slots,
    weighted_split,
)


def test_backlogged_tenants_split_capacity_by_weight() -> None:
    tenants = {"prod": TenantDemand(3, 100), "dev": TenantDemand(1, 100),
               "research": TenantDemand(1, 100)}
    assert fair_targets(50, tenants) == {"prod": 30, "dev": 10, "research": 10}


def test_what_a_light_tenant_leaves_is_lent_to_the_busy_ones_by_weight() -> None:
    tenants = {"prod": TenantDemand(3, 100), "dev": TenantDemand(1, 2),
               "research": TenantDemand(1, 100)}
    # dev asks for 2 of its 10; the 8 left go 3:1 to prod and research.
    assert fair_targets(50, tenants) == {"prod": 36, "dev": 2, "research": 12}


def test_a_lone_tenant_gets_the_whole_capacity() -> None:
    tenants = {"prod": TenantDemand(3, 0), "dev": TenantDemand(1, 500)}
    assert fair_targets(40, tenants) == {"prod": 0, "dev": 40}
    assert pool_slots(40, tenants)["dev"] >= 40 * 0.95


def test_minimum_guarantees_come_first() -> None:
    tenants = {"urgent": TenantDemand(1, 8, minimum=6), "batch": TenantDemand(9, 1000)}
    assert fair_targets(20, tenants) == {"urgent": 6, "batch": 14}


def test_pools_always_add_up_to_the_capacity() -> None:
    # batch took everything while urgent was idle; urgent comes back: the pools are
    # resized at once, and batch's shrunk pool admits nothing until it drains.
    assert pool_slots(20, {"batch": TenantDemand(1, 1000), "urgent": TenantDemand(1, 0)}) \
        == {"batch": 20, "urgent": 0}
    assert pool_slots(20, {"batch": TenantDemand(1, 1000), "urgent": TenantDemand(1, 50)}) \
        == {"batch": 10, "urgent": 10}


def test_idle_capacity_is_headroom_by_weight() -> None:
    tenants = {"a": TenantDemand(1, 2), "b": TenantDemand(1, 0)}
    assert pool_slots(10, tenants) == {"a": 6, "b": 4}  # a's 2, then 8 idle split 1:1


def test_bad_tenant_state_is_refused() -> None:
    with pytest.raises(ValueError, match="weight must be positive"):
        TenantDemand(0, 1)
    with pytest.raises(ValueError, match="slot counts"):
        TenantDemand(1, -1)


def test_jain_index() -> None:
    assert jain_index([1.0, 1.0, 1.0]) == 1.0
    assert jain_index([1.0, 0.0]) == pytest.approx(0.5)


tenant_states = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d", "e"]),
    st.builds(TenantDemand, weight=st.integers(1, 9).map(float), demand=st.integers(0, 300),
              minimum=st.integers(0, 20)),
    min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(0, 200), tenants=tenant_states)
def test_targets_are_max_min_fair(capacity: int, tenants: dict[str, TenantDemand]) -> None:
    targets = fair_targets(capacity, tenants)
    assert all(0 <= targets[n] <= t.demand for n, t in tenants.items())
    floors = sum(min(t.minimum, t.demand) for t in tenants.values())
    assert sum(targets.values()) == min(capacity, sum(t.demand for t in tenants.values()))
    if floors <= capacity:
        # Nobody below its demand could gain from someone with a larger weighted share
        # above its own minimum (up to one whole slot of rounding on either side).
        for i, ti in tenants.items():
            if targets[i] >= ti.demand:
                continue
            for j, tj in tenants.items():
                if targets[j] > min(tj.minimum, tj.demand):
                    assert (targets[j] - 1) / tj.weight <= \
                        (targets[i] + 1) / ti.weight + 1e-9


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(1, 200), tenants=tenant_states)
def test_pools_hold_the_targets_and_add_up_to_the_capacity(
        capacity: int, tenants: dict[str, TenantDemand]) -> None:
    slots = pool_slots(capacity, tenants)
    targets = fair_targets(capacity, tenants)
    assert sum(slots.values()) == capacity
    assert all(slots[n] >= targets[n] for n in tenants)


@settings(max_examples=200, deadline=None)
@given(total=st.integers(0, 500), weights=st.dictionaries(
    st.sampled_from("abcdef"), st.integers(1, 9).map(float), min_size=1))
def test_weighted_split_hands_out_every_slot(total: int, weights: dict[str, float]) -> None:
    share = weighted_split(total, weights)
    assert sum(share.values()) == total
    weight_sum = sum(weights.values())
    assert all(abs(share[n] - total * w / weight_sum) < 1 + 1e-9 for n, w in weights.items())
