"""Provider registration, the [flytepath] config section, and cheap imports."""

from __future__ import annotations

import json
import re
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


# -- the [flytepath] options: declared, read, documented ---------------------------------

DOCS = Path(__file__).resolve().parents[3] / "docs"
OPTIONS = get_provider_info()["config"]["flytepath"]["options"]


class RecordingConf:
    """Airflow's `conf` as FlytePath's settings readers use it: records each option asked for.

    :param values: what the `[flytepath]` section holds.
    """

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: set[str] = set()

    def get(self, section: str, key: str, fallback: object = None) -> object:
        assert section == "flytepath", section
        self.asked.add(key)
        return self.values.get(key, fallback)

    def has_option(self, section: str, key: str) -> bool:
        assert section == "flytepath", section
        self.asked.add(key)
        return key in self.values


def _install_conf(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> RecordingConf:
    """Make `values` the [flytepath] section every settings reader sees."""
    conf = RecordingConf(values)
    monkeypatch.setattr("airflow.configuration.conf", conf)
    monkeypatch.delenv("FLYTEPATH_KUBERNETES_SETTINGS", raising=False)
    return conf


def _options_the_docs_name() -> dict[str, set[str]]:
    """Each option the docs name in the [flytepath] section, and the files naming it."""
    named: dict[str, set[str]] = {}
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text()
        found = set(re.findall(r"`\[flytepath\] ([a-z_]+)", text))
        found |= {name.lower() for name in re.findall(r"AIRFLOW__FLYTEPATH__([A-Z_]+)", text)}
        found |= _table_options(text)
        for block in re.findall(r"^\[flytepath\]\n(.*?)^```", text, flags=re.M | re.S):
            found |= set(re.findall(r"^([a-z_]+) *=", block, flags=re.M))
        for name in found:
            named.setdefault(name, set()).add(str(page.relative_to(DOCS)))
    return named


def _table_options(text: str) -> set[str]:
    """First-column names of the docs' `| option | default | meaning |` tables."""
    names: set[str] = set()
    in_table = False
    for line in text.splitlines():
        if line.startswith("| option |"):
            in_table = True
        elif in_table and line.startswith("|"):
            names.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
        else:
            in_table = False
    return names


def test_every_option_the_docs_name_is_declared_to_airflow():
    named = _options_the_docs_name()
    # The Kubernetes runner's options were named in docs/kubernetes.md but not declared.
    assert {"kubernetes_settings_file", "default_image", "kubernetes_conn_id"} <= set(named)
    undeclared = {name: pages for name, pages in named.items() if name not in OPTIONS}
    assert undeclared == {}


def test_every_declared_option_has_a_row_in_an_options_table_of_the_docs():
    documented: set[str] = set()
    for page in DOCS.glob("*.md"):
        documented |= _table_options(page.read_text())
    assert sorted(set(OPTIONS) - documented) == []


def test_the_declared_options_are_exactly_the_ones_flytepath_reads(monkeypatch):
    from flytepath_airflow.config import NAMES
    from flytepath_airflow.config import OPTIONS as FILE_OPTIONS
    from flytepath_airflow.platform.pods.settings import load_kubernetes_settings
    from flytepath_airflow.platform.settings import AirflowBackendSettings

    conf = _install_conf(monkeypatch, {})
    AirflowBackendSettings.from_airflow_config()
    load_kubernetes_settings()
    # config.py reads its NAMES and OPTIONS from the airflow.cfg file itself, without
    # Airflow's conf.
    asked = conf.asked | set(NAMES) | set(FILE_OPTIONS)
    assert sorted(asked - set(OPTIONS)) == [], "read but not declared to Airflow"
    assert sorted(set(OPTIONS) - asked) == [], "declared to Airflow but never read"


def test_declared_defaults_change_nothing_flytepath_would_do_without_them(
    monkeypatch, tmp_path: Path,
):
    # Airflow hands a declared default to every conf.get, as if the option were set: the
    # defaults must be FlytePath's own, and must not replace the Kubernetes settings file.
    from flytepath_airflow.config import load_settings
    from flytepath_airflow.platform.pods.settings import load_kubernetes_settings
    from flytepath_airflow.platform.settings import AirflowBackendSettings

    defaults = {name: str(option["default"]) for name, option in OPTIONS.items()}
    settings_file = tmp_path / "kubernetes.yaml"
    settings_file.write_text("default_image: team/task:1\nkubernetes_conn_id: team_k8s\n")
    _install_conf(monkeypatch, defaults)
    assert AirflowBackendSettings.from_airflow_config() == AirflowBackendSettings()
    from_file = load_kubernetes_settings(str(settings_file))
    assert (from_file.default_image, from_file.kubernetes_conn_id) == ("team/task:1", "team_k8s")

    config = tmp_path / "airflow.cfg"
    config.write_text("[flytepath]\n" + "".join(f"{k} = {v}\n" for k, v in defaults.items()))
    without = load_settings(environ={"AIRFLOW_CONFIG": str(tmp_path / "missing.cfg")})
    assert load_settings(environ={"AIRFLOW_CONFIG": str(config)}) == without


def test_airflow_knows_the_kubernetes_runner_options():
    code = (
        "from airflow.providers_manager import ProvidersManager\n"
        "from airflow.configuration import conf\n"
        "print('airflow-provider-flytepath' in ProvidersManager().providers)\n"
        "for key in ('kubernetes_settings_file', 'default_image', 'kubernetes_conn_id'):\n"
        "    print(repr(conf.get('flytepath', key)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-3:] == ["''", "''", "''"]
