#!/usr/bin/env python3
"""A real Airflow 3 deployment with FlytePath, on one machine, for reading and for tests.

It starts Airflow's own components as separate processes on loopback, the way a platform
team runs them (systemd units, containers): `airflow api-server`, `airflow scheduler`,
`airflow dag-processor`, `airflow triggerer`, plus one `airflow celery worker` with the
CeleryExecutor (broker: Redis). Airflow's metadata DB and FlytePath's metadata DB are two
fresh Postgres databases, dropped when the deployment stops. Every component sees the same
environment: FlytePath's DAG files in the DAGs folder and the `[flytepath]` settings pointing
at one store root, one specs folder and one metadata DB.

    .venv/bin/python scripts/airflow_deployment.py                     # LocalExecutor
    .venv/bin/python scripts/airflow_deployment.py --executor celery   # one Celery worker

It prints the UI address, a login and the `export` lines that point the `flytepath` CLI at
the same specs folder, store and metadata DB (`flytepath register` then makes a DAG appear),
and stops everything on Ctrl+C. Tests use `AirflowDeployment` as a context manager
(tests/deployment/conftest.py).

Every wait has a timeout; health comes from the API server's `/api/v2/monitor/health`;
each component runs in its own process group, stopped (TERM, then KILL) on exit, on Ctrl+C,
on SIGTERM, and from an atexit hook if the caller forgot.

This is a script, not part of the `flytepath_airflow` package: the package must not own how
Airflow is operated (a platform team has its own units, chart and secrets), and importing it
would pull Airflow, SQLAlchemy drivers and Redis into the CLI. It imports nothing from
`flytepath_airflow`; it only starts `airflow` and talks HTTP and SQL.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
DAG_FILES = ("flytepath_dags.py", "flytepath_spec_errors.py")
"""FlytePath's DAG files, copied from the checkout's dags/ into the deployment's DAGs folder."""

EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
PORTS = range(18300, 18400)
"""Loopback ports this script may take (API server, log servers)."""

ADMIN_USER = "admin"
HTTP_TIMEOUT = 10.0
"""Seconds for any single HTTP request to the API server."""


class DeploymentError(RuntimeError):
    """The deployment could not start or a wait ran out; the message says which and where."""


@dataclass(frozen=True)
class DeploymentSettings:
    """What a deployment is made of.

    :param workdir: folder for AIRFLOW_HOME, the DAGs folder, specs, store and logs.
    :param executor: "local" (LocalExecutor) or "celery" (CeleryExecutor, one worker).
    :param postgres_url: a Postgres server URL with a user allowed to create databases;
        the database part is ignored (fresh ones are created and dropped).
    :param redis_url: the Celery broker (Redis, with a database number of its own; it is
        flushed at start and stop so no stale task reaches a new worker).
    :param python_paths: folders added to PYTHONPATH of every component (user code that
        must be importable on workers).
    :param extra_env: more environment for every component (`AIRFLOW__SECTION__KEY`...).
    :param parallelism: task slots (`[core] parallelism`, Celery worker concurrency).
    :param parse_interval: seconds between two parses of a DAG file (the loader reads the
        specs folder then, so a registered spec appears within about this time).
    :param start_timeout: seconds to wait for the DB migration and for every component to
        report healthy.
    :param stop_timeout: seconds a component gets after SIGTERM before SIGKILL.
    """

    workdir: Path
    executor: str = "local"
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/12"
    python_paths: tuple[str, ...] = ()
    extra_env: Mapping[str, str] = field(default_factory=dict)
    parallelism: int = 8
    parse_interval: int = 5
    start_timeout: float = 300.0
    stop_timeout: float = 30.0


class AirflowDeployment:
    """Airflow's components started separately, with FlytePath, on loopback.

    Use as a context manager (`with AirflowDeployment(settings) as d:`), or call `start()`
    and `stop()`; `stop()` is safe to call twice and after a failed `start()`.

    :param settings: what to start and where.
    """

    def __init__(self, settings: DeploymentSettings) -> None:
        if settings.executor not in EXECUTORS:
            raise DeploymentError(
                f"executor {settings.executor!r} is not one of {sorted(EXECUTORS)}")
        self.settings = settings
        self.workdir = Path(settings.workdir).resolve()
        self.airflow_home = self.workdir / "airflow"
        self.dags_dir = self.workdir / "dags"
        self.specs_dir = self.workdir / "specs"
        self.store_root = str(self.workdir / "store")
        self.logs_dir = self.workdir / "logs"
        name = f"fp_deploy_{uuid.uuid4().hex[:10]}"
        server = sqlalchemy.engine.make_url(settings.postgres_url)
        self._admin_url = server.set(drivername="postgresql+psycopg2")
        self.airflow_db_url = _render(self._admin_url.set(database=f"{name}_airflow"))
        self.metadata_url = _render(self._admin_url.set(database=f"{name}_flytepath"))
        self._databases = (f"{name}_airflow", f"{name}_flytepath")
        self.password = secrets.token_urlsafe(12)
        self.api_port, self.worker_log_port, self.trigger_log_port = _free_ports(3)
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._created: list[str] = []
        self._token: str | None = None
        self.started_in: float | None = None
        """Seconds from `start()` to every component healthy."""

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> AirflowDeployment:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Create the databases and folders, migrate, start every component, wait for health.

        :raises DeploymentError: a service is missing, a component exited, or a wait ran out.
        """
        began = time.monotonic()
        _LIVE.append(self)
        try:
            self._prepare_folders()
            self._create_databases()
            if self.settings.executor == "celery":
                self._flush_broker()
            self._run(["airflow", "db", "migrate"], "db-migrate")
            self._launch("api-server", ["airflow", "api-server", "--host", "127.0.0.1",
                                        "--port", str(self.api_port), "--workers", "1"])
            self._launch("scheduler", ["airflow", "scheduler"])
            self._launch("dag-processor", ["airflow", "dag-processor"])
            self._launch("triggerer", ["airflow", "triggerer"])
            if self.settings.executor == "celery":
                self._launch("celery-worker", [
                    "airflow", "celery", "worker", "--concurrency",
                    str(self.settings.parallelism), "--celery-hostname",
                    f"flytepath-{self.api_port}@%h"])
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began

    def stop(self) -> None:
        """Stop every component (TERM, then KILL after stop_timeout), drop the databases."""
        for name in reversed(list(self._processes)):
            _stop_group(self._processes.pop(name), self.settings.stop_timeout)
        if self.settings.executor == "celery" and self._created:
            try:
                self._flush_broker()
            except DeploymentError:
                pass  # the broker is gone; nothing queued there can reach a worker again
        self._drop_databases()
        if self in _LIVE:
            _LIVE.remove(self)

    # -- what every component sees ---------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The environment of every component, and of `flytepath` commands run against it."""
        s = self.settings
        env = dict(os.environ)
        env.pop("AIRFLOW_CONFIG", None)
        paths = [*s.python_paths, *filter(None, [env.get("PYTHONPATH")])]
        env.update({
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_dir),
            "AIRFLOW__CORE__EXECUTOR": EXECUTORS[s.executor],
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__PARALLELISM": str(s.parallelism),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.airflow_db_url,
            # Tasks talk to the API server (Airflow 3's Execution API), not to the DB.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__PORT": str(self.api_port),
            # One secret for all components: the scheduler signs the tokens tasks present
            # to the API server; a per-process random secret makes every task fail with 403.
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt"),
            "AIRFLOW__API__SECRET_KEY": self._secret("api"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE":
                str(self.airflow_home / "passwords.json"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.worker_log_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.trigger_log_port),
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(s.parse_interval),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(max(s.parse_interval, 30)),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            # FlytePath: one specs folder, store and metadata DB for every component. Both
            # spellings are set: the [flytepath] section is what a platform team configures,
            # the FLYTEPATH_* variables are what the CLI and workers read today.
            "AIRFLOW__FLYTEPATH__SPECS_DIR": str(self.specs_dir),
            "AIRFLOW__FLYTEPATH__STORE_ROOT": self.store_root,
            "AIRFLOW__FLYTEPATH__METADATA_URL": self.metadata_url,
            "FLYTEPATH_HOME": str(self.workdir / "flytepath-home"),
            "FLYTEPATH_SPECS_DIR": str(self.specs_dir),
            "FLYTEPATH_STORE_ROOT": self.store_root,
            "FLYTEPATH_METADATA_URL": self.metadata_url,
            "PYTHONPATH": os.pathsep.join(paths),
        })
        if s.executor == "celery":
            env.update({
                "AIRFLOW__CELERY__BROKER_URL": s.redis_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.airflow_db_url,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(s.parallelism),
            })
        env.update(s.extra_env)
        if not env["PYTHONPATH"]:
            del env["PYTHONPATH"]
        return env

    def _secret(self, purpose: str) -> str:
        path = self.airflow_home / f".{purpose}-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text()

    # -- REST API --------------------------------------------------------------------------

    def token(self) -> str:
        """A JWT for the admin user, from the simple auth manager's `POST /auth/token`."""
        if self._token is None:
            response = httpx.post(f"{self.api_url}/auth/token", timeout=HTTP_TIMEOUT,
                                  json={"username": ADMIN_USER, "password": self.password})
            if response.status_code != 201:
                raise DeploymentError(
                    f"POST {self.api_url}/auth/token answered {response.status_code}: "
                    f"{response.text[:300]}; is [core] simple_auth_manager_users set?")
            self._token = str(response.json()["access_token"])
        return self._token

    def api(self, method: str, path: str, body: Any = None,
            expect: tuple[int, ...] = (200,)) -> Any:
        """Call the public REST API v2 as the admin user and return the JSON answer.

        :param method: HTTP method.
        :param path: path below `/api/v2`, e.g. `/dags/my_dag/dagRuns`.
        :param body: JSON body, if any.
        :param expect: status codes that count as success.
        :raises DeploymentError: another status code (the message has the answer).
        """
        url = f"{self.api_url}/api/v2{path}"
        response = httpx.request(method, url, json=body, timeout=HTTP_TIMEOUT,
                                 headers={"Authorization": f"Bearer {self.token()}"})
        if response.status_code not in expect:
            raise DeploymentError(
                f"{method} {url} answered {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        """`GET /api/v2/monitor/health` (no login needed): each component's status."""
        response = httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return dict(response.json())

    def wait_healthy(self) -> None:
        """Wait until the metadata DB, scheduler, triggerer and DAG processor are healthy.

        :raises DeploymentError: a component exited, or start_timeout ran out.
        """
        wanted = ["metadatabase", "scheduler", "triggerer", "dag_processor"]
        last: object = "no answer yet"
        for _ in _poll(self.settings.start_timeout, 1.0):
            self.check_alive()
            try:
                report = self.health()
            except httpx.HTTPError as exc:
                last = exc
                continue
            last = report
            if all((report.get(part) or {}).get("status") == "healthy" for part in wanted):
                return
        raise DeploymentError(
            f"Airflow at {self.api_url} was not healthy within {self.settings.start_timeout:.0f}s"
            f" (last answer: {last}); see the component logs in {self.logs_dir}")

    def check_alive(self) -> None:
        """Raise if a component has exited, with the end of its log.

        :raises DeploymentError: a component is no longer running.
        """
        for name, process in self._processes.items():
            if process.poll() is not None:
                raise DeploymentError(
                    f"airflow {name} exited with code {process.returncode}; its log "
                    f"({self.logs_dir / (name + '.log')}) ends with:\n"
                    f"{_tail(self.logs_dir / (name + '.log'))}")

    # -- steps -----------------------------------------------------------------------------

    def _prepare_folders(self) -> None:
        for folder in (self.airflow_home, self.dags_dir, self.specs_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for name in DAG_FILES:
            shutil.copyfile(ROOT / "dags" / name, self.dags_dir / name)
        passwords = self.airflow_home / "passwords.json"
        passwords.write_text(json.dumps({ADMIN_USER: self.password}))

    def _create_databases(self) -> None:
        engine = sqlalchemy.create_engine(self._admin_url, isolation_level="AUTOCOMMIT",
                                          connect_args={"connect_timeout": 10})
        try:
            with engine.connect() as conn:
                for name in self._databases:
                    conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
                    self._created.append(name)
        except sqlalchemy.exc.OperationalError as exc:
            raise DeploymentError(
                f"cannot create databases on the Postgres server "
                f"{_render(self._admin_url)}: {exc.orig}. Start PostgreSQL (the user needs "
                "CREATEDB) or pass --postgres-url.") from exc
        finally:
            engine.dispose()

    def _drop_databases(self) -> None:
        if not self._created:
            return
        engine = sqlalchemy.create_engine(self._admin_url, isolation_level="AUTOCOMMIT",
                                          connect_args={"connect_timeout": 10})
        try:
            with engine.connect() as conn:
                for name in list(self._created):
                    conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    self._created.remove(name)
        finally:
            engine.dispose()

    def _flush_broker(self) -> None:
        import redis  # the celery extra brings it; only the Celery variant needs it

        client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=HTTP_TIMEOUT,
                                      socket_connect_timeout=HTTP_TIMEOUT)
        try:
            client.flushdb()
        except redis.exceptions.ConnectionError as exc:
            raise DeploymentError(
                f"Redis (the Celery broker) at {self.settings.redis_url} is not reachable: "
                f"{exc}. Start redis-server or pass --redis-url.") from exc
        finally:
            client.close()

    def _command(self, argv: list[str]) -> list[str]:
        # The airflow next to this interpreter: the venv that has the provider installed.
        return [str(Path(sys.executable).with_name(argv[0])), *argv[1:]]

    def _run(self, argv: list[str], name: str) -> None:
        log = self.logs_dir / f"{name}.log"
        with open(log, "wb") as out:
            try:
                result = subprocess.run(
                    self._command(argv), env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, timeout=self.settings.start_timeout,
                    start_new_session=True, check=False)
            except subprocess.TimeoutExpired as exc:
                raise DeploymentError(
                    f"`{' '.join(argv)}` did not finish within {exc.timeout:.0f}s; see {log}"
                ) from exc
        if result.returncode != 0:
            raise DeploymentError(
                f"`{' '.join(argv)}` failed with code {result.returncode}; {log} ends with:\n"
                f"{_tail(log)}")

    def _launch(self, name: str, argv: list[str]) -> None:
        # Closed here once the child has inherited it.
        log = open(self.logs_dir / f"{name}.log", "wb")
        try:
            # Own session = own process group: the whole component (its workers and task
            # processes too) is stopped with one killpg, and Ctrl+C in our terminal reaches
            # us, not them, so they are stopped in order.
            self._processes[name] = subprocess.Popen(
                self._command(argv), env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()


_LIVE: list[AirflowDeployment] = []
"""Deployments started by this process and not stopped yet (stopped by the atexit hook)."""


@atexit.register
def _stop_leftovers() -> None:
    for deployment in list(_LIVE):
        deployment.stop()


def _stop_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; anything left in its group (task processes) goes too.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


def _poll(timeout: float, interval: float) -> Iterator[None]:
    """Yield until `timeout` seconds have passed, sleeping `interval` between tries."""
    deadline = time.monotonic() + timeout
    while True:
        yield
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)


def _free_ports(count: int) -> list[int]:
    ports: list[int] = []
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise DeploymentError(
        f"fewer than {count} free loopback ports in {PORTS.start}-{PORTS.stop - 1}")


def _render(url: sqlalchemy.engine.URL) -> str:
    return url.render_as_string(hide_password=False)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def main(argv: list[str] | None = None) -> int:
    """Start a deployment, print how to use it, and keep it up until Ctrl+C or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executor", choices=sorted(EXECUTORS), default="local")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for Airflow's home, DAGs, specs, store and logs "
                             "(default: a new temporary folder)")
    parser.add_argument("--postgres-url", default=DeploymentSettings.postgres_url)
    parser.add_argument("--redis-url", default=DeploymentSettings.redis_url)
    parser.add_argument("--pythonpath", action="append", default=[],
                        help="folder with user code the workers must import (repeatable)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="flytepath-deployment-"))

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # the same orderly stop as Ctrl+C

    signal.signal(signal.SIGTERM, on_term)
    settings = DeploymentSettings(
        workdir=workdir, executor=args.executor, postgres_url=args.postgres_url,
        redis_url=args.redis_url, python_paths=tuple(args.pythonpath))
    deployment = AirflowDeployment(settings)
    try:
        print(f"starting Airflow ({EXECUTORS[args.executor]}) in {workdir} ...", flush=True)
        deployment.start()
        env = deployment.env()
        print(f"healthy after {deployment.started_in:.1f}s\n"
              f"UI and REST API: {deployment.api_url}  (login {ADMIN_USER} / "
              f"{deployment.password})\n"
              f"component logs: {deployment.logs_dir}\n"
              "point the flytepath CLI at this deployment:")
        for key in ("FLYTEPATH_SPECS_DIR", "FLYTEPATH_STORE_ROOT", "FLYTEPATH_METADATA_URL"):
            print(f"  export {key}={env[key]}")
        print("Ctrl+C stops every component and drops the databases.", flush=True)
        while True:
            deployment.check_alive()
            time.sleep(2)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except DeploymentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        deployment.stop()


if __name__ == "__main__":
    sys.exit(main())
