"""The fair-share controller's settings and one period, on recorded `GET /api/v2/pools` answers.

The period logic is pure: it takes the API's answer as data, so these tests feed it pool
lists shaped exactly like Airflow 3.3's `PoolCollectionResponse` and check the sizes it
would set. The controller against a real scheduler is in
tests/deployment/test_fair_share_controller.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flytepath_airflow.backends.airflow.fair_share import (
    find_tenant_pools,
    plan_period,
    resolve_capacity,
    template_pattern,
)
from flytepath_airflow.backends.airflow.rest import (
    AirflowAuthError,
    AirflowCredentials,
    AirflowRestClient,
    normalise_api_url,
)
from flytepath_airflow.cli.fairshare_commands import tenants_table
from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.platform.settings import (
    AirflowBackendSettings,
    TenantPoolSettings,
    TenantWeightSettings,
    parse_tenant_weights,
)

ROOT = Path(__file__).resolve().parents[3]


def pool(name: str, slots: int, running: int = 0, queued: int = 0, scheduled: int = 0,
         deferred: int = 0, include_deferred: bool = False) -> dict[str, Any]:
    """One pool as Airflow's REST API v2 answers it (PoolResponse)."""
    return {"name": name, "slots": slots, "description": None,
            "include_deferred": include_deferred,
            "occupied_slots": running + queued + (deferred if include_deferred else 0),
            "running_slots": running, "queued_slots": queued, "scheduled_slots": scheduled,
            "open_slots": max(0, slots - running - queued), "deferred_slots": deferred,
            "team_name": None}


# Recorded shape of a deployment with three tenants on C = 10, every tenant backlogged.
BACKLOGGED: dict[str, list[dict[str, Any]]] = {
    "pools": [
        pool("default_pool", 128, running=1),
        pool("flytepath_ml_production", 4, running=4, scheduled=20),
        pool("flytepath_web_development", 3, running=3, queued=1, scheduled=12),
        pool("flytepath_ops_development", 3, running=2, queued=1, scheduled=9),
        pool("someone_elses_pool", 5, running=5, scheduled=50),
    ],
}
"""`total_entries` (5) left out: the period reads only the `pools` list."""

SETTINGS = AirflowBackendSettings(
    tenant_weights=parse_tenant_weights("*/production=3, */development=1"))


def sizes(plans: list[Any]) -> dict[str, int]:
    return {p.pool: p.new_slots for p in plans}


# -- settings ------------------------------------------------------------------------------


def test_tenant_weights_parse_weight_and_minimum() -> None:
    weights = parse_tenant_weights("ml/production=3:4, ml/*=1\n*/production=2.5")
    assert weights == {"ml/production": TenantWeightSettings(weight=3, minimum=4),
                       "ml/*": TenantWeightSettings(weight=1, minimum=0),
                       "*/production": TenantWeightSettings(weight=2.5, minimum=0)}


@pytest.mark.parametrize("text", [
    "ml=3", "ml/production", "ml/production=", "ml/production=three", "ml/production=0",
    "ml/production=-1", "ml/production=nan", "ml/production=inf", "ml/production=1:-2",
    "ml/production=1:1.5", "ML/production=1", "ml_team/production=1", "ml/production=1,"
    " ml/production=2",
])
def test_tenant_weights_refuse_every_malformed_entry(text: str) -> None:
    with pytest.raises(ValueError, match="tenant_weights"):
        parse_tenant_weights(text)


def test_the_most_specific_weight_wins_and_the_project_before_the_domain() -> None:
    settings = AirflowBackendSettings(tenant_weights=parse_tenant_weights(
        "ml/production=5, ml/*=2, */production=3, */*=0.5"))
    assert settings.weight_for("ml", "production").weight == 5
    assert settings.weight_for("ml", "staging").weight == 2
    assert settings.weight_for("web", "production").weight == 3
    assert settings.weight_for("web", "staging").weight == 0.5
    assert AirflowBackendSettings().weight_for("ml", "production") == TenantWeightSettings()


def test_airflow_config_carries_weights_and_capacity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__FLYTEPATH__TENANT_WEIGHTS", "ml/production=3:2")
    monkeypatch.setenv("AIRFLOW__FLYTEPATH__FAIR_SHARE_CAPACITY", "24")
    settings = AirflowBackendSettings.from_airflow_config()
    assert settings.fair_share_capacity == 24
    assert settings.weight_for("ml", "production") == TenantWeightSettings(weight=3, minimum=2)


# -- which pools are tenants' ---------------------------------------------------------------


def test_template_pools_are_tenant_pools_and_other_pools_are_not() -> None:
    pattern = template_pattern("flytepath_{project}_{domain}")
    assert pattern is not None and pattern.match("flytepath_ml-team_production")
    for name in ("default_pool", "flytepath_ML_production", "flytepath_ml_prod_x",
                 "xflytepath_ml_production", "flytepath__production"):
        assert not pattern.match(name), name
    assert template_pattern("") is None
    with pytest.raises(FlytePathUserError, match=r"only \{project\} and \{domain\}"):
        template_pattern("pool_{team}")


def test_listed_pools_take_the_largest_weight_of_their_tenants() -> None:
    settings = AirflowBackendSettings(
        tenant_pools={"ml/production": TenantPoolSettings(pool="ml_shared"),
                      "ml/staging": TenantPoolSettings(pool="ml_shared")},
        tenant_weights=parse_tenant_weights("ml/production=3:2, ml/staging=1:4"))
    found = find_tenant_pools(settings, ["ml_shared", "flytepath_ml_production",
                                         "flytepath_web_development", "default_pool"])
    # flytepath_ml_production is a leftover: ml/production's pool is ml_shared now.
    assert sorted(found) == ["flytepath_web_development", "ml_shared"]
    assert (found["ml_shared"].weight, found["ml_shared"].minimum) == (3, 4)
    assert found["flytepath_web_development"].tenant == "web/development"


# -- one period ----------------------------------------------------------------------------


def test_backlogged_tenants_get_their_weighted_shares_and_nothing_else_changes() -> None:
    plans = plan_period(SETTINGS, 10, BACKLOGGED["pools"])
    assert sizes(plans) == {"flytepath_ml_production": 6, "flytepath_web_development": 2,
                            "flytepath_ops_development": 2}
    assert sum(p.new_slots for p in plans) == 10
    ml = plans[[p.pool for p in plans].index("flytepath_ml_production")]
    assert (ml.demand, ml.running, ml.queued, ml.target, ml.slots) == (24, 4, 20, 6, 4)


def test_a_drained_tenant_lends_its_share_and_gets_it_back_when_it_returns() -> None:
    drained = [pool("flytepath_ml_production", 6, running=6, scheduled=20),
               pool("flytepath_web_development", 2, running=2, scheduled=12),
               pool("flytepath_ops_development", 2)]
    lent = sizes(plan_period(SETTINGS, 10, drained))
    assert lent["flytepath_ops_development"] == 0
    assert lent["flytepath_ml_production"] + lent["flytepath_web_development"] == 10
    assert lent["flytepath_ml_production"] > 6 and lent["flytepath_web_development"] > 2
    returned = [pool("flytepath_ml_production", 7, running=7, scheduled=20),
                pool("flytepath_web_development", 3, running=3, scheduled=12),
                pool("flytepath_ops_development", 0, scheduled=5)]
    back = sizes(plan_period(SETTINGS, 10, returned))
    assert back == {"flytepath_ml_production": 6, "flytepath_web_development": 2,
                    "flytepath_ops_development": 2}


def test_idle_capacity_is_spread_as_headroom_and_borrowing_is_against_the_static_split(
) -> None:
    quiet = [pool("flytepath_ml_production", 6, running=1),
             pool("flytepath_web_development", 2, running=2, scheduled=10),
             pool("flytepath_ops_development", 2)]
    plans = {p.pool: p for p in plan_period(SETTINGS, 10, quiet)}
    assert sum(p.new_slots for p in plans.values()) == 10
    # web asks for 12: ml's unused share is lent to it; ml keeps what it runs.
    assert plans["flytepath_web_development"].target == 9
    assert plans["flytepath_ml_production"].target == 1
    assert plans["flytepath_web_development"].static_share == 2
    assert plans["flytepath_ml_production"].borrowed == 0  # 6 slots now = its static 6


def test_deferred_tasks_count_only_in_pools_that_count_them() -> None:
    counted = pool("flytepath_ml_production", 5, deferred=4, include_deferred=True)
    ignored = pool("flytepath_web_development", 5, deferred=4)
    plans = {p.pool: p for p in plan_period(SETTINGS, 10, [counted, ignored])}
    assert plans["flytepath_ml_production"].demand == 4
    assert plans["flytepath_web_development"].demand == 0


def test_a_minimum_is_served_first() -> None:
    settings = AirflowBackendSettings(tenant_weights=parse_tenant_weights(
        "ml/production=1, ml/development=1:3, */*=10"))
    pools = [pool("flytepath_ml_production", 5, scheduled=50),
             pool("flytepath_ml_development", 5, scheduled=50),
             pool("flytepath_web_development", 5, scheduled=50)]
    got = sizes(plan_period(settings, 12, pools))
    assert got["flytepath_ml_development"] == 3
    assert sum(got.values()) == 12


def test_capacity_from_the_option_or_the_settings_needs_no_api_call() -> None:
    # Port 9 (discard) on loopback: a call would fail, so these prove no call is made.
    client = AirflowRestClient("http://127.0.0.1:9", AirflowCredentials("u", "p"), timeout=1)
    assert resolve_capacity(client, AirflowBackendSettings(fair_share_capacity=8), 5) == 5
    assert resolve_capacity(client, AirflowBackendSettings(fair_share_capacity=8), None) == 8


def test_the_tenants_table_shows_share_slots_and_who_borrows() -> None:
    lines = tenants_table(plan_period(SETTINGS, 10, BACKLOGGED["pools"]), 10)
    assert lines[0].split() == ["TENANT", "POOL", "WEIGHT", "MIN", "SHARE", "SLOTS",
                                "RUNNING", "QUEUED", "BORROWED"]
    rows = {line.split()[0]: line.split()[2:] for line in lines[1:4]}
    # ml/production holds 4 slots of a static 6 (lends 2); web holds 3 of 2 (borrows 1).
    assert rows["ml/production"] == ["3", "0", "6", "4", "4", "20", "-2"]
    assert rows["web/development"] == ["1", "0", "2", "3", "3", "13", "+1"]
    assert lines[-1].startswith("capacity 10 slots")
    assert tenants_table([], 10)[0].startswith("no tenant pools")


# -- the API client's inputs ---------------------------------------------------------------


def test_api_url_is_normalised_and_refused_when_not_http() -> None:
    assert normalise_api_url("http://airflow:8080/api/v2/") == "http://airflow:8080"
    assert normalise_api_url("https://x.example/airflow") == "https://x.example/airflow"
    for bad in ("airflow:8080", "file:///etc/passwd", "http://"):
        with pytest.raises(FlytePathUserError, match="--api-url"):
            normalise_api_url(bad)


def test_credentials_come_from_the_environment_and_never_show_the_password() -> None:
    creds = AirflowCredentials.from_env({"FLYTEPATH_AIRFLOW_USERNAME": "ops",
                                         "FLYTEPATH_AIRFLOW_PASSWORD": "s3cret-pw"})
    assert "s3cret-pw" not in repr(creds)
    with pytest.raises(AirflowAuthError, match="FLYTEPATH_AIRFLOW_USERNAME"):
        AirflowCredentials.from_env({"FLYTEPATH_AIRFLOW_USERNAME": "ops"})


# -- the command, as a user runs it ----------------------------------------------------------


def _command_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"),
           "FLYTEPATH_AIRFLOW_USERNAME": "ops", "FLYTEPATH_AIRFLOW_PASSWORD": "s3cret-pw",
           "PYTHONPATH": str(ROOT), **extra}
    env.pop("AIRFLOW_CONFIG", None)
    return env


def test_a_bad_weight_is_a_user_error_naming_the_entry(tmp_path: Path) -> None:
    env = _command_env(tmp_path, AIRFLOW__FLYTEPATH__TENANT_WEIGHTS="ml/production=lots")
    proc = subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", "fairshare",
                           "--once", "--api-url", "http://127.0.0.1:9"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "'ml/production=lots'" in proc.stderr and "Traceback" not in proc.stderr


def test_the_loop_survives_an_unreachable_api_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = _command_env(tmp_path, AIRFLOW__FLYTEPATH__FAIR_SHARE_CAPACITY="4")
    proc = subprocess.Popen([sys.executable, "-m", "flytepath_airflow.cli.main", "fairshare",
                             "--period", "1", "--api-url", "http://127.0.0.1:9"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    failed = 0
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            assert "s3cret-pw" not in line
            if "period failed, trying again" in line:
                failed += 1
                if failed == 2:
                    break
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert failed == 2
    assert proc.returncode == 0, rest
    assert "stopped" in rest and "Traceback" not in rest


def test_once_reports_an_unreachable_api_in_one_line(tmp_path: Path) -> None:
    env = _command_env(tmp_path, AIRFLOW__FLYTEPATH__FAIR_SHARE_CAPACITY="4")
    proc = subprocess.run([sys.executable, "-m", "flytepath_airflow.cli.main", "fairshare",
                           "--once", "--api-url", "http://127.0.0.1:9"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: POST http://127.0.0.1:9/auth/token failed")
    assert "Traceback" not in proc.stderr and "s3cret-pw" not in proc.stderr
