"""Names derived from (project, domain, workflow) never collide (ADR 0033).

A property test over names the rules accept, drawn from a tiny alphabet of letters and the
separators themselves (`-`, `.`, `_`) so that near-collisions such as `a.b`/`c` against
`a`/`b.c` come up constantly: different triples give different DAG ids, pools, loader
files, spec keys and run ids.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flytepath_airflow.ir.models import SCHEMA_VERSION, TenantSpec, WorkflowSpec
from flytepath_airflow.ir.names import check_name, name_problem
from flytepath_airflow.platform.naming import (
    MAX_KEY_LENGTH,
    dag_id_of,
    flytepath_run_id,
    sanitize_key,
    task_id_for,
)
from flytepath_airflow.platform.settings import AirflowBackendSettings
from flytepath_airflow.runtime.registry import loader_file_name, spec_key

tenants = st.from_regex(r"\A[ab](?:[ab-]{0,4}[ab])?\Z").filter(
    lambda t: name_problem(t, "project") is None)
workflows = st.from_regex(r"\A[ab_][ab_.-]{0,6}\Z").filter(
    lambda w: name_problem(w, "workflow") is None)
triples = st.tuples(tenants, tenants, workflows)


def _derived(project: str, domain: str, workflow: str) -> dict[str, str]:
    spec = WorkflowSpec(schema_version=SCHEMA_VERSION, name=workflow,
                        tenant=TenantSpec(project=project, domain=domain))
    dag_id = dag_id_of(project, domain, workflow)
    return {
        "dag id": dag_id,
        "loader file": loader_file_name(spec),
        "spec key": spec_key(project, domain, workflow, "0123456789abcdef"),
        "run id": flytepath_run_id(dag_id, "manual__2026-01-01T00:00:00+00:00"),
    }


@settings(max_examples=400, deadline=None)
@given(triples, triples)
def test_different_names_never_share_a_derived_name(first: tuple[str, str, str],
                                                   second: tuple[str, str, str]) -> None:
    mine, theirs = _derived(*first), _derived(*second)
    for what in mine:
        assert (mine[what] == theirs[what]) == (first == second), (what, first, second)
    pool = AirflowBackendSettings().pool_for
    assert (pool(*first[:2]).pool == pool(*second[:2]).pool) == (first[:2] == second[:2])


def test_the_reported_collisions_are_gone() -> None:
    # Accepted before the rules, all of them collided; the rules refuse one side of each.
    assert name_problem("a.b", "project") is not None  # a.b/c vs a/b.c: one DAG id
    assert name_problem("a_b", "project") is not None  # a_b/c vs a/b_c: one pool
    assert name_problem("ML team", "project") is not None  # ML team vs ML_team: one DAG id
    assert dag_id_of("ML team", "prod", "wf") != dag_id_of("ML_team", "prod", "wf")
    assert dag_id_of("a.b", "c", "wf") != dag_id_of("a", "b.c", "wf")


@given(st.text(max_size=300), st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_names_recorded_before_the_rules_still_give_distinct_valid_ids(
        first: str, second: str) -> None:
    # Records of the metadata store may predate the rules; their DAG ids are made safe
    # with a hash instead of merging names.
    for text in (first, second):
        key = sanitize_key(text)
        assert len(key) <= MAX_KEY_LENGTH and check_name(key, "workflow") == key
        assert task_id_for(text) == key
    if first != second:
        assert sanitize_key(first) != sanitize_key(second)
        assert dag_id_of(first, "d", "w") != dag_id_of(second, "d", "w")


def test_airflow_run_ids_are_told_apart_from_dag_ids_with_the_same_text() -> None:
    a = flytepath_run_id("p.d.wf__x", "y")
    b = flytepath_run_id("p.d.wf", "x__y")
    assert a != b
    for run_id in (a, b):
        assert check_name(run_id, "run_id") == run_id
