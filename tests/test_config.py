"""Every process reads FlytePath's settings the same way, with one documented precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from flytepath_airflow.config import SettingsError, load_settings, settings_env


def _cfg(folder: Path, **options: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["[core]", "load_examples = False", "", "[flytepath]"]
    lines += [f"{key} = {value}" for key, value in options.items()]
    path = folder / "airflow.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_defaults_live_under_the_flytepath_home(tmp_path: Path) -> None:
    settings = load_settings(environ={"FLYTEPATH_HOME": str(tmp_path / "h"),
                                      "AIRFLOW_HOME": str(tmp_path / "none")})
    assert settings.home == tmp_path / "h"
    assert settings.store_root == str(tmp_path / "h" / "store")
    assert settings.metadata_url == f"sqlite:///{tmp_path / 'h' / 'metadata.db'}"
    assert settings.specs_dir == tmp_path / "h" / "specs"
    assert settings.sources["store_root"] == "default"


def test_the_flytepath_section_of_airflow_cfg_is_read_without_airflow(tmp_path: Path) -> None:
    _cfg(tmp_path / "af", metadata_url="postgresql://db/fp", store_root="s3://bucket/fp",
         specs_dir=str(tmp_path / "specs"))
    settings = load_settings(environ={"AIRFLOW_HOME": str(tmp_path / "af"),
                                      "FLYTEPATH_HOME": str(tmp_path / "h")})
    assert settings.metadata_url == "postgresql://db/fp"
    assert settings.store_root == "s3://bucket/fp"
    assert settings.specs_dir == tmp_path / "specs"
    assert settings.sources["metadata_url"].endswith("airflow.cfg [flytepath] metadata_url")


def test_precedence_is_argument_then_flytepath_env_then_airflow_env_then_file(
    tmp_path: Path,
) -> None:
    _cfg(tmp_path / "af", metadata_url="sqlite:////from/file.db")
    env = {"AIRFLOW_HOME": str(tmp_path / "af"),
           "AIRFLOW__FLYTEPATH__METADATA_URL": "sqlite:////from/airflow-env.db"}
    assert load_settings(environ=env).metadata_url == "sqlite:////from/airflow-env.db"
    env["FLYTEPATH_METADATA_URL"] = "sqlite:////from/flytepath-env.db"
    assert load_settings(environ=env).metadata_url == "sqlite:////from/flytepath-env.db"
    chosen = load_settings(environ=env, metadata_url="sqlite:////from/argument.db")
    assert chosen.metadata_url == "sqlite:////from/argument.db"
    assert chosen.sources["metadata_url"] == "argument"


def test_airflow_config_points_at_another_file(tmp_path: Path) -> None:
    path = _cfg(tmp_path / "elsewhere", store_root=str(tmp_path / "store"))
    settings = load_settings(environ={"AIRFLOW_CONFIG": str(path),
                                      "AIRFLOW_HOME": str(tmp_path / "ignored")})
    assert settings.store_root == str(tmp_path / "store")


def test_an_unreadable_config_file_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "af"
    folder.mkdir()
    (folder / "airflow.cfg").write_text("[flytepath\nmetadata_url = x\n")
    with pytest.raises(SettingsError, match=r"cannot read Airflow's configuration file .*"
                                            r"airflow\.cfg"):
        load_settings(environ={"AIRFLOW_HOME": str(folder)})


def test_settings_env_hands_the_same_settings_to_a_child(tmp_path: Path) -> None:
    _cfg(tmp_path / "af", metadata_url="postgresql://db/fp")
    parent = load_settings(environ={"AIRFLOW_HOME": str(tmp_path / "af"),
                                    "FLYTEPATH_HOME": str(tmp_path / "h")})
    child = load_settings(environ=settings_env(parent))
    assert child == parent


def test_unknown_setting_names_are_refused() -> None:
    with pytest.raises(SettingsError, match="unknown FlytePath setting store"):
        load_settings(store="x")


def test_an_edited_config_file_is_read_again(tmp_path: Path) -> None:
    path = _cfg(tmp_path / "af", store_root="/first")
    env = {"AIRFLOW_HOME": str(tmp_path / "af")}
    assert load_settings(environ=env).store_root == "/first"
    path.write_text(path.read_text().replace("/first", "/second/and/longer"))
    assert load_settings(environ=env).store_root == "/second/and/longer"


def test_global_cache_is_a_platform_switch_read_like_the_others(tmp_path: Path) -> None:
    home = {"FLYTEPATH_HOME": str(tmp_path)}
    assert load_settings(environ=home).global_cache is True
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text("[flytepath]\nglobal_cache = False\n")
    off = load_settings(environ={**home, "AIRFLOW_CONFIG": str(cfg)})
    assert off.global_cache is False
    assert settings_env(off)["FLYTEPATH_GLOBAL_CACHE"] == "false"
    with pytest.raises(SettingsError, match=r"global_cache is 'maybe'.*true or false"):
        load_settings(environ={**home, "FLYTEPATH_GLOBAL_CACHE": "maybe"})
