"""FlytePath's settings: where data lives, read the same way by every process.

The CLI, the DAG file, Airflow's scheduler and workers, and `flytepath-execute` in a pod
all call `load_settings()`, so they agree on the store, the metadata database and the specs
folder. For each setting the first of these that is set wins:

1. a value passed explicitly (a CLI option, a function argument);
2. the environment variable `FLYTEPATH_<NAME>` (e.g. `FLYTEPATH_METADATA_URL`);
3. the environment variable `AIRFLOW__FLYTEPATH__<NAME>` (Airflow's own override form);
4. `<name>` in the `[flytepath]` section of Airflow's configuration file: `$AIRFLOW_CONFIG`,
   else `$AIRFLOW_HOME/airflow.cfg`, else `~/airflow/airflow.cfg`. The file is read as text,
   without importing Airflow, so a task image without Airflow reads it the same way
   (Airflow's `_cmd` and `_secret` forms are not read here: use the variables above);
5. the default, under the FlytePath home.

| name | default |
|---|---|
| `home` | `~/.flytepath` |
| `store_root` | `<home>/store` |
| `metadata_url` | `sqlite:///<home>/metadata.db` |
| `specs_dir` | `<home>/specs` |
| `global_cache` | `true` (cross-tenant cache entries where content-safe) |

Must not import: any other FlytePath module but `errors`, airflow, kubernetes.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flytepath_airflow.errors import FlytePathUserError

SECTION = "flytepath"
"""The section of Airflow's configuration FlytePath reads."""

NAMES = ("home", "store_root", "metadata_url", "specs_dir", "global_cache")
"""The settings this module resolves."""

OPTIONS = ("checkpoint_retention",)
"""Other `[flytepath]` options read through `flytepath_option` by the command that needs
them (the same precedence, without Airflow)."""


class SettingsError(FlytePathUserError):
    """A settings source cannot be read."""


@dataclass(frozen=True)
class FlytePathSettings:
    """Resolved settings; `sources` says where each value came from (for messages and docs).

    :param home: the FlytePath home, holding the defaults below and per-machine caches.
    :param store_root: root URI of run data and blobs (a local folder or an fsspec URL).
    :param metadata_url: SQLAlchemy URL of the FlytePath metadata database.
    :param specs_dir: the folder of compiled specs the FlytePath DAG file builds DAGs from.
    :param global_cache: whether tasks may share cache entries across tenants
        (`cache scope: global`); False keeps every entry in its tenant (docs/data-plane.md).
    :param sources: setting name -> "default", "argument", an environment variable's name or
        "<file> [flytepath] <name>".
    """

    home: Path
    store_root: str
    metadata_url: str
    specs_dir: Path
    global_cache: bool = True
    sources: dict[str, str] = field(default_factory=dict, compare=False)


def airflow_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The Airflow configuration file Airflow itself would read.

    :param environ: the environment to look in (default: this process's).
    """
    env = os.environ if environ is None else environ
    if env.get("AIRFLOW_CONFIG"):
        return Path(env["AIRFLOW_CONFIG"]).expanduser()
    home = env.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return Path(home).expanduser() / "airflow.cfg"


_FILE_CACHE: dict[tuple[str, int, int], dict[str, str]] = {}


def _file_values(path: Path) -> dict[str, str]:
    """The `[flytepath]` options of an Airflow configuration file ({} when it has none).

    Airflow's generated airflow.cfg is large and settings are resolved several times per
    node, so a parse is reused until the file's size or modification time changes.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"cannot read Airflow's configuration file {path}: {exc}.") from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _FILE_CACHE:
        _FILE_CACHE.clear()  # one configuration file per process in practice
        _FILE_CACHE[key] = _parse_file(path)
    return dict(_FILE_CACHE[key])


def _parse_file(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise SettingsError(
            f"cannot read Airflow's configuration file {path} for its [{SECTION}] section: "
            f"{exc}. Fix the file, or point AIRFLOW_CONFIG or AIRFLOW_HOME at a readable one."
        ) from None
    if not parser.has_section(SECTION):
        return {}
    return {key: value.strip() for key, value in parser.items(SECTION)}


def load_settings(
    *,
    environ: Mapping[str, str] | None = None,
    **explicit: str | None,
) -> FlytePathSettings:
    """Resolve every setting with the precedence in this module's docstring.

    :param environ: the environment to read (default: this process's).
    :param explicit: values given on the command line or in code, by setting name; None and
        "" mean "not given".
    :raises SettingsError: an unknown setting name, or an unreadable configuration file.
    """
    unknown = sorted(set(explicit) - set(NAMES))
    if unknown:
        raise SettingsError(f"unknown FlytePath setting {', '.join(unknown)}; "
                            f"the settings are {', '.join(NAMES)}.")
    env = os.environ if environ is None else environ
    config_file = airflow_config_path(env)
    file_values: dict[str, str] | None = None
    sources: dict[str, str] = {}

    def lookup(name: str) -> str | None:
        nonlocal file_values
        if explicit.get(name):
            sources[name] = "argument"
            return explicit[name]
        for var in (f"FLYTEPATH_{name.upper()}", f"AIRFLOW__FLYTEPATH__{name.upper()}"):
            if env.get(var):
                sources[name] = var
                return env[var]
        if file_values is None:
            file_values = _file_values(config_file)
        if file_values.get(name):
            sources[name] = f"{config_file} [{SECTION}] {name}"
            return file_values[name]
        sources[name] = "default"
        return None

    home = Path(lookup("home") or Path.home() / ".flytepath").expanduser()
    store_root = lookup("store_root") or str(home / "store")
    metadata_url = lookup("metadata_url") or f"sqlite:///{home / 'metadata.db'}"
    specs_dir = Path(lookup("specs_dir") or home / "specs").expanduser()
    if "://" not in store_root:
        store_root = str(Path(store_root).expanduser())
    global_cache = _switch("global_cache", lookup("global_cache"), sources, default=True)
    return FlytePathSettings(home=home, store_root=store_root, metadata_url=metadata_url,
                             specs_dir=specs_dir, global_cache=global_cache, sources=sources)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _switch(name: str, text: str | None, sources: dict[str, str], *, default: bool) -> bool:
    if text is None:
        return default
    value = text.strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise SettingsError(f"FlytePath setting {name} is {text!r} (from {sources[name]}); use "
                        "true or false.")


def flytepath_option(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A `[flytepath]` option outside the core settings (e.g. `checkpoint_retention`), read
    with the same precedence, less the argument: FLYTEPATH_<NAME>, AIRFLOW__FLYTEPATH__<NAME>,
    then Airflow's configuration file. None when no source sets it.

    :param name: the option's name, lower_snake_case.
    :param environ: the environment to read (default: this process's).
    """
    env = os.environ if environ is None else environ
    for var in (f"FLYTEPATH_{name.upper()}", f"AIRFLOW__FLYTEPATH__{name.upper()}"):
        if env.get(var):
            return env[var]
    return _file_values(airflow_config_path(env)).get(name) or None


def settings_env(settings: FlytePathSettings) -> dict[str, str]:
    """The environment variables that hand `settings` to a child process or a pod.

    :param settings: the resolved settings.
    """
    return {
        "FLYTEPATH_HOME": str(settings.home),
        "FLYTEPATH_STORE_ROOT": settings.store_root,
        "FLYTEPATH_METADATA_URL": settings.metadata_url,
        "FLYTEPATH_SPECS_DIR": str(settings.specs_dir),
        "FLYTEPATH_GLOBAL_CACHE": "true" if settings.global_cache else "false",
    }


__all__ = [
    "NAMES",
    "OPTIONS",
    "SECTION",
    "FlytePathSettings",
    "SettingsError",
    "airflow_config_path",
    "flytepath_option",
    "load_settings",
    "settings_env",
]
