"""Shared set-up of the Kubernetes runner tests: user code, a spec, platform settings.

Tests only. The spec's tasks live in a module written to a temporary folder, which stands
for the user's code inside the task image (the API double puts it on PYTHONPATH).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from flytepath_airflow.ir.models import (
    InputRef,
    NodeSpec,
    ResourceList,
    ResourcesSpec,
    SecretRef,
    SimpleType,
    TaskSpec,
    TenantSpec,
    TypedInterface,
    Variable,
    WorkflowSpec,
)
from flytepath_airflow.ir.spec_io import dump_spec, with_version

HERE = Path(__file__).resolve().parent
PLATFORM_SETTINGS = HERE.parent / "platform" / "golden" / "platform-settings.yaml"
NAMESPACE = "flytepath-ml-development"
SENTINEL = "s3cr3t-VALUE-never-in-a-manifest-or-log"
INT = SimpleType(name="int")

USER_CODE = '''
"""Tasks of the Kubernetes runner tests (stands for the user's code in the image)."""

import os
from pathlib import Path

from flytepath_airflow.errors import RecoverableError


def double(a: int) -> int:
    print(f"doubling {a}", flush=True)
    Path(os.environ["HOME"], "scratch-was-writable").write_text("yes")
    return a * 2


def explode(a: int) -> int:
    raise ValueError(f"cannot handle {a}")


def flaky(a: int) -> int:
    raise RecoverableError("the feature store timed out")


def secret_length(a: int) -> int:
    token = os.environ["API_TOKEN"]
    print("read a token of", len(token), "characters", flush=True)
    return len(token) + a
'''


def _task(fn: str, **options: Any) -> TaskSpec:
    return TaskSpec(
        name=f"k8s_tasks.{fn}", fn=f"k8s_tasks:{fn}",
        interface=TypedInterface(inputs=(Variable(name="a", type=INT),),
                                 outputs=(Variable(name="o0", type=INT),)),
        **options,
    )


def make_spec() -> WorkflowSpec:
    """Four independent nodes on input x: double, explode, flaky and secret_length."""
    tasks = {
        "double": _task("double", retries=2, interruptible=True,
                        resources=ResourcesSpec(requests=ResourceList(cpu="500m", mem="256Mi"))),
        "explode": _task("explode", retries=3),
        "flaky": _task("flaky", retries=3),
        "secret_length": _task("secret_length", secrets=(
            SecretRef(group="api", key="token", env_var="API_TOKEN"),)),
    }
    return with_version(WorkflowSpec(
        schema_version=1, name="k8s_flow", tenant=TenantSpec(project="ml", domain="development"),
        interface=TypedInterface(inputs=(Variable(name="x", type=INT),)),
        tasks=tasks,
        nodes=tuple(NodeSpec(id=name, task=name, inputs={"a": InputRef(name="x")})
                    for name in tasks),
    ))


@dataclass
class Platform:
    """What a test gets: folders, the spec file, the store root and the settings file."""

    root: Path
    code_dir: Path
    spec: WorkflowSpec
    spec_path: Path
    store_root: str
    settings_path: Path

    def secrets(self) -> dict[str, dict[str, dict[str, str]]]:
        """The Secrets of the tenant namespace, as the cluster would hold them."""
        return {NAMESPACE: {
            "api": {"token": SENTINEL},
            "flytepath-metadata": {"url": f"sqlite:///{self.root}/metadata.db"},
        }}

    def config_maps(self) -> dict[str, dict[str, dict[str, str]]]:
        """The ConfigMaps of the tenant namespace (the Helm chart's flytepath-settings)."""
        return {NAMESPACE: {"flytepath-settings": {"FLYTEPATH_DOMAIN_NOTE": "from-configmap"}}}


def make_platform(root: Path, **settings: Any) -> Platform:
    """Write user code, the spec and a Kubernetes settings file under `root`."""
    code_dir = root / "code"
    code_dir.mkdir(parents=True)
    (code_dir / "k8s_tasks.py").write_text(textwrap.dedent(USER_CODE))
    spec = make_spec()
    spec_path = root / "specs" / "ml.development.k8s_flow.json"
    spec_path.parent.mkdir()
    spec_path.write_text(dump_spec(spec))
    data = yaml.safe_load(PLATFORM_SETTINGS.read_text())
    # The scratch volume is mounted at /scratch rather than /tmp: the double emulates a mount
    # by rewriting paths under the mount path, and the test's own store lives under /tmp.
    data.update({"allow_local_store": True, "startup_timeout_seconds": 60,
                 "schedule_timeout_seconds": 60,
                 "security": {"scratch_path": "/scratch"}}, **settings)
    settings_path = root / "kubernetes-settings.yaml"
    settings_path.write_text(yaml.safe_dump(data))
    return Platform(root=root, code_dir=code_dir, spec=spec, spec_path=spec_path,
                    store_root=str(root / "store"), settings_path=settings_path)
