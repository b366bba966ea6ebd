"""The environment of every local task process, built rather than inherited, and its secrets.

A task runs on a worker in one of two kinds of process, and both get a built environment:

- a Python (or dynamic) task attempt: `flytepath-execute` started by the local runner or by
  the Airflow operator (`python_task_environment`). It is FlytePath's own program running the
  user's function, so besides the allow-list it gets the platform's FLYTEPATH_* variables,
  with the resolved settings set explicitly so it agrees with its parent;
- a shell or container task's command (`task_environment`): the allow-list, the task's
  `env`, its secrets, its inputs and its outputs folder; no platform variable.

Nothing else of the worker's environment (its own secrets, cloud credentials, Airflow's
settings) reaches a task. `FLYTEPATH_PASS_ENV` (names separated by commas) adds variables the
platform team chooses, such as the credentials of the store, to both kinds.

Secrets resolve in one documented order (`resolve_secrets`), the same on a worker and in a
pod: a secret mounted as "env" is the variable `env_var` (else GROUP_KEY) when it is set,
else the file `<secrets dir>/<group>/<key>`; a secret mounted as "file" is that file (or
folder, for a whole group), and the task finds it under `$FLYTEPATH_SECRETS_DIR`. The secrets
folder is `$FLYTEPATH_SECRETS_DIR`, else `<FlytePath home>/secrets`. A missing secret fails
the attempt with a user error naming both places.

Must not import: airflow, kubernetes, the sdk.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flytepath_airflow.config import load_settings, settings_env
from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import PLATFORM_ENV_PREFIX, SecretRef, TaskSpec
from flytepath_airflow.runtime.shell_template import input_env_name

__all__ = [
    "ALLOWED_ENV",
    "PASS_ENV_VAR",
    "PYTHON_ENV",
    "SECRETS_DIR_VAR",
    "MissingSecretError",
    "python_task_environment",
    "resolve_secrets",
    "secret_environment",
    "secrets_dir",
    "task_environment",
]

ALLOWED_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
               "PYTHONPATH")
"""Variables of the worker's environment every local task process inherits (plus every LC_*)."""

PYTHON_ENV = ("VIRTUAL_ENV", "PYTHONHASHSEED", "SSL_CERT_FILE", "SSL_CERT_DIR")
"""Further variables a Python task attempt inherits: its interpreter's setup."""

PASS_ENV_VAR = "FLYTEPATH_PASS_ENV"
"""Names (comma-separated) the platform adds to the allow-list, e.g. the store's credentials."""

SECRETS_DIR_VAR = "FLYTEPATH_SECRETS_DIR"
"""The folder secret files are read from (`<group>/<key>`); default `<home>/secrets`."""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class MissingSecretError(FlytePathUserError):
    """A secret a task declares is neither in the environment nor in the secrets folder."""


def _allowed(worker: Mapping[str, str], extra: tuple[str, ...] = ()) -> dict[str, str]:
    passed = {n.strip() for n in worker.get(PASS_ENV_VAR, "").split(",") if n.strip()}
    names = {*ALLOWED_ENV, *extra, *passed}
    return {k: v for k, v in worker.items() if k in names or k.startswith("LC_")}


def _refuse_platform_names(task: TaskSpec) -> None:
    for name in (*task.env, *(s.env_name() for s in task.secrets if s.mount == "env")):
        # Compiling refuses this; an old or hand-edited spec may still hold it.
        if name.startswith(PLATFORM_ENV_PREFIX):
            raise FlytePathUserError(
                f"task '{task.name}' sets the environment variable {name}, but FLYTEPATH_* "
                "variables belong to the platform. Rename it in the task's env or secrets "
                "and compile the workflow again.")


def secrets_dir(environ: Mapping[str, str]) -> Path:
    """The folder secret files are read from: `$FLYTEPATH_SECRETS_DIR`, else `<home>/secrets`.

    :param environ: the environment to read (the worker's, or the attempt's own).
    """
    if environ.get(SECRETS_DIR_VAR):
        return Path(environ[SECRETS_DIR_VAR]).expanduser()
    return load_settings(environ=environ).home / "secrets"


def _describe(secret: SecretRef) -> str:
    return secret.group + (f"/{secret.key}" if secret.key else "")


def _read_secret_file(path: Path, task: TaskSpec, secret: SecretRef) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MissingSecretError(
            f"task '{task.name}' needs secret {_describe(secret)}, but its file {path} cannot "
            f"be read ({exc}). Make it a readable UTF-8 text file.") from None
    return text[:-1] if text.endswith("\n") else text


def resolve_secrets(task: TaskSpec, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables a task's declared secrets give it, in the order of the module docstring.

    A whole group mounted as "env" (no key) cannot be checked: in a pod its variables are
    the Secret's keys. Locally it is the variable GROUP when set, plus one variable per
    file of `<secrets dir>/<group>/`.

    :param task: the task (its `secrets`).
    :param environ: where "env" secrets are looked up (the worker's or the attempt's).
    :raises MissingSecretError: a secret with a key, or a file-mounted one, is not found.
    """
    resolved: dict[str, str] = {}
    if not task.secrets:
        return resolved
    folder = secrets_dir(environ)
    files = False
    for secret in task.secrets:
        path = folder / secret.group / secret.key if secret.key else folder / secret.group
        name = secret.env_name()
        if secret.mount == "file":
            if not path.exists():
                raise MissingSecretError(
                    f"task '{task.name}' needs secret {_describe(secret)} as a file, but "
                    f"{path} does not exist on this worker. Create it (the secrets folder is "
                    f"${SECRETS_DIR_VAR}, else <FlytePath home>/secrets) before the run.")
            files = True
        elif environ.get(name) is not None:
            resolved[name] = environ[name]
        elif secret.key and path.is_file():
            resolved[name] = _read_secret_file(path, task, secret)
        elif not secret.key:
            if path.is_dir():
                for item in sorted(path.iterdir()):
                    if item.is_file() and _ENV_NAME.match(item.name) and \
                            not item.name.startswith(PLATFORM_ENV_PREFIX):
                        resolved[item.name] = _read_secret_file(item, task, secret)
        else:
            raise MissingSecretError(
                f"task '{task.name}' needs secret {_describe(secret)} as ${name}, which is "
                f"not set on this worker: neither the variable {name} nor the file {path} "
                f"exists. Set the variable, or write the value to that file (the secrets "
                f"folder is ${SECRETS_DIR_VAR}, else <FlytePath home>/secrets), and run again.")
    if files:
        resolved[SECRETS_DIR_VAR] = str(folder)
    return resolved


@contextmanager
def secret_environment(resolved: Mapping[str, str]) -> Iterator[None]:
    """Give this process a Python task's resolved secrets while the block runs.

    :param resolved: the variables `resolve_secrets` returned for the task.
    """
    saved = {name: os.environ.get(name) for name in resolved}
    os.environ.update(resolved)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _as_text(literal: Any) -> str:
    return literal if isinstance(literal, str) else json.dumps(literal, sort_keys=True)


def task_environment(task: TaskSpec, literals: dict[str, Any], out_dir: str,
                     worker: Mapping[str, str]) -> dict[str, str]:
    """The environment a local shell or container task runs with.

    :param task: the task (its `env` and `secrets`).
    :param literals: the node's input literals (each becomes FLYTEPATH_INPUT_<NAME>).
    :param out_dir: the folder the task writes its outputs to.
    :param worker: the worker's environment, read only for the allow-list and secrets.
    :raises FlytePathUserError: the task's env or a secret would set a FLYTEPATH_* variable,
        or a declared secret is missing.
    """
    _refuse_platform_names(task)
    env = _allowed(worker)
    env.update(task.env)
    env.update(resolve_secrets(task, worker))
    env.update({input_env_name(k): _as_text(v) for k, v in literals.items()})
    env["FLYTEPATH_OUTPUT_DIR"] = out_dir
    return env


def python_task_environment(task: TaskSpec | None, worker: Mapping[str, str],
                            store_root: str) -> dict[str, str]:
    """The environment of a `flytepath-execute` attempt started on this worker.

    Secrets are forwarded, not checked: the attempt resolves them itself (from these
    variables and the secrets folder) and reports a missing one as the task's failure.

    :param task: the node's task (None for a node without one: a branch or a merge).
    :param worker: the worker's environment.
    :param store_root: the store root the attempt uses (`--root`).
    :raises FlytePathUserError: the task's env or a secret would set a FLYTEPATH_* variable.
    """
    env = _allowed(worker, PYTHON_ENV)
    # FlytePath's own program runs here and needs the platform's settings (cache timings,
    # the Kubernetes settings file, ...); a task cannot set any of them (below).
    env.update({k: v for k, v in worker.items() if k.startswith(PLATFORM_ENV_PREFIX)})
    if task is not None:
        _refuse_platform_names(task)
        env.update(task.env)
        for secret in task.secrets:
            name = secret.env_name()
            if secret.mount == "env" and name in worker:
                env[name] = worker[name]
    settings = load_settings(environ=worker, store_root=store_root)
    env.update(settings_env(settings))
    env[SECRETS_DIR_VAR] = str(secrets_dir(worker))
    env["PYTHONUNBUFFERED"] = "1"
    return env
