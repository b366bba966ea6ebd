"""The base task image (docker/Dockerfile) agrees with the pods FlytePath composes.

No image is built here (these machines have no container runtime and no registry); the
Dockerfile is read as text and checked against the settings the pod composer uses.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from flytepath_airflow.platform.pods import KubernetesSettings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def final_stage() -> list[str]:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    last_from = max(i for i, line in enumerate(instructions) if line.startswith("FROM "))
    return instructions[last_from:]


def test_the_image_runs_as_the_non_root_user_the_pods_ask_for():
    users = [line.split()[1] for line in final_stage() if line.startswith("USER ")]
    assert users, "the final stage must set USER"
    uid, _, gid = users[-1].partition(":")
    security = KubernetesSettings().security
    assert int(uid) == security.run_as_user != 0
    assert int(gid) == security.run_as_group != 0


def test_the_image_runs_flytepath_execute_like_the_pods_do():
    entrypoint = next(line for line in final_stage() if line.startswith("ENTRYPOINT"))
    assert '"flytepath-execute"' in entrypoint
    assert KubernetesSettings().command == ("flytepath-execute",)
    [script] = metadata.entry_points(group="console_scripts", name="flytepath-execute")
    assert script.value == "flytepath_airflow.runtime.entrypoint:main"


def test_the_image_installs_the_base_install_without_airflow():
    text = "\n".join(final_stage())
    extras = re.search(r"ARG EXTRAS=(\S*)", text)
    assert extras is not None
    assert not {"airflow", "all"} & set(extras.group(1).split(","))
    assert '! python -c "import airflow"' in text  # the build fails if Airflow got in
    requirements = metadata.requires("airflow-provider-flytepath") or []
    base = [r for r in requirements if "extra ==" not in r]
    assert base and not [r for r in base if r.lower().startswith(("apache-airflow", "kubernetes"))]


def test_home_and_temp_are_on_the_scratch_volume():
    text = "\n".join(final_stage())
    scratch = KubernetesSettings().security.scratch_path
    assert f"HOME={scratch}" in text and f"TMPDIR={scratch}" in text
