"""scripts/airflow_deployment.py as a user runs it: Ctrl+C stops everything it started,
and a missing service is one clear message, with nothing left behind."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy
from deployment_support import ROOT, airflow_deployment


def _processes_with_home(airflow_home: Path) -> list[int]:
    """Pids of live processes whose AIRFLOW_HOME is `airflow_home`."""
    wanted = f"AIRFLOW_HOME={airflow_home}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue  # gone, or not ours to read
    return pids


def test_unreachable_postgres_is_one_message_and_starts_nothing(tmp_path: Path) -> None:
    settings = airflow_deployment.DeploymentSettings(
        workdir=tmp_path, postgres_url="postgresql://postgres@127.0.0.1:1/postgres")
    deployment = airflow_deployment.AirflowDeployment(settings)
    with pytest.raises(airflow_deployment.DeploymentError,
                       match=r"cannot create databases on the Postgres server .*:1/"):
        deployment.start()
    assert _processes_with_home(deployment.airflow_home) == []


@pytest.mark.slow
@pytest.mark.airflow
@pytest.mark.postgres
def test_ctrl_c_stops_every_component_and_drops_the_databases(tmp_path: Path) -> None:
    server = os.environ.get("FLYTEPATH_TEST_POSTGRES_URL",
                            "postgresql://postgres@127.0.0.1:5432/postgres")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    script = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "airflow_deployment.py"),
         "--workdir", str(tmp_path), "--postgres-url", server],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True)
    assert script.stdout is not None
    out = []
    try:
        # The script gives up by itself (start_timeout) if Airflow never becomes healthy.
        for line in script.stdout:
            out.append(line)
            if line.startswith("Ctrl+C stops"):
                break
        text = "".join(out)
        assert "healthy after" in text, text
        components = _processes_with_home(tmp_path / "airflow")
        assert len(components) >= 4, text  # api-server, scheduler, dag-processor, triggerer
        database = re.search(r"FLYTEPATH_METADATA_URL=\S+/(\w+)", text)
        assert database, text

        script.send_signal(signal.SIGINT)  # what Ctrl+C in the terminal sends the script
        assert script.wait(timeout=300) == 0
    finally:
        if script.poll() is None:  # the test failed early: the orderly stop, then force
            script.terminate()
            try:
                script.wait(timeout=300)
            except subprocess.TimeoutExpired:
                for pid in [script.pid, *_processes_with_home(tmp_path / "airflow")]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                script.wait(timeout=30)
        script.stdout.close()
    assert _processes_with_home(tmp_path / "airflow") == []
    engine = sqlalchemy.create_engine(
        sqlalchemy.engine.make_url(server).set(drivername="postgresql+psycopg2"))
    with engine.connect() as conn:
        left = conn.execute(sqlalchemy.text(
            "SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
            {"prefix": database.group(1).rsplit("_", 1)[0] + "%"}).fetchall()
    engine.dispose()
    assert left == []
