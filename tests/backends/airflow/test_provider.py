"""Provider registration, the [flytepath] config section, and cheap imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flytepath_airflow.get_provider_info import get_provider_info

pytestmark = pytest.mark.airflow


def test_provider_info_matches_airflows_schema():
    import airflow
    import jsonschema

    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    jsonschema.validate(get_provider_info(), json.loads(schema_path.read_text()))


def test_airflow_discovers_the_provider_and_its_config_defaults():
    code = (
        "from airflow.providers_manager import ProvidersManager\n"
        "from airflow.configuration import conf\n"
        "pm = ProvidersManager()\n"
        "print('airflow-provider-flytepath' in pm.providers)\n"
        "print(conf.get('flytepath', 'pool_template'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[-2:] == ["True", "flytepath_{project}_{domain}"]


def test_airflow_providers_list_shows_flytepath():
    airflow_bin = Path(sys.executable).with_name("airflow")
    out = subprocess.run([str(airflow_bin), "providers", "list"], capture_output=True,
                         text=True, check=True).stdout
    assert "airflow-provider-flytepath" in out


@pytest.mark.parametrize("module", [
    "flytepath_airflow.cli.airflow_commands",
    "flytepath_airflow.backends.airflow",
    "flytepath_airflow.platform.naming",
    "flytepath_airflow.platform.settings",
    "flytepath_airflow.platform.pods",
    "flytepath_airflow.get_provider_info",
])
def test_importing_does_not_import_airflow(module):
    code = f"import sys, {module}; print('airflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_settings_read_the_flytepath_section(monkeypatch):
    from flytepath_airflow.platform.settings import AirflowBackendSettings

    monkeypatch.setenv("AIRFLOW__FLYTEPATH__TENANT_POOLS", "ml/*=ml_pool:4")
    monkeypatch.setenv("AIRFLOW__FLYTEPATH__MAX_ACTIVE_RUNS", "3")
    monkeypatch.setenv("AIRFLOW__FLYTEPATH__POOL_TEMPLATE", "")
    settings = AirflowBackendSettings.from_airflow_config()
    assert settings.max_active_runs == 3
    assert settings.pool_for("ml", "prod").pool == "ml_pool"
    assert settings.pool_for("other", "prod").pool == "default_pool"
