"""The pod contract: a generated pod's command, args and env, run as a local process.

No API is involved: the pod manifest FlytePath composes is taken as it is, its Secret and
ConfigMap references are resolved as the kubelet would, its emptyDir mounts become
folders, and its container command runs against the local blob store. This proves that
what the pod runs executes the node and publishes the pointer the operator reads back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from k8s_support import NAMESPACE, SENTINEL, Platform, make_platform
from kubernetes_api_double import run_pod_process

from flytepath_airflow.platform.pods import (
    PodRequest,
    compose_pod,
    load_kubernetes_settings,
)
from flytepath_airflow.runtime.run import prepare_run, read_node_error, read_pointer, run_key
from flytepath_airflow.stores.blob import BlobStore

RUN = "ml.development.k8s_flow__manual__2026-01-01T00_00_00_00_00"


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    return make_platform(tmp_path)


def pod_for(platform: Platform, node: str, attempt: int = 1) -> dict:
    """The pod the operator would create: the run prepared in the store, then composed."""
    prepare_run(platform.spec, {"x": 3}, platform.store_root, RUN)
    spec_uri = BlobStore(platform.store_root).uri(f"{run_key(RUN)}/spec.json")
    args = ("--spec", spec_uri, "--node", node, "--run-id", RUN, "--attempt", str(attempt),
            "--root", platform.store_root, "--prepare-inputs", json.dumps({"x": 3}))
    task = platform.spec.tasks[node]
    request = PodRequest(spec=platform.spec, node_id=node, run_id=RUN, attempt=attempt,
                         max_attempts=task.retries + 1, args=args,
                         store_root=platform.store_root)
    return compose_pod(request, load_kubernetes_settings(str(platform.settings_path)))


def run(platform: Platform, pod: dict, tmp_path: Path):  # type: ignore[no-untyped-def]
    workdir = tmp_path / "pod"
    workdir.mkdir(exist_ok=True)
    return run_pod_process(pod, workdir, secrets=platform.secrets(),
                           config_maps=platform.config_maps(),
                           python_path=[str(platform.code_dir)])


def test_the_pods_command_runs_the_node_and_publishes_the_pointer(platform, tmp_path):
    pod = pod_for(platform, "double")
    assert pod["metadata"]["namespace"] == NAMESPACE
    done = run(platform, pod, tmp_path)
    assert done.returncode == 0, done.stderr
    pointer = read_pointer(BlobStore(platform.store_root), RUN, "double")
    assert pointer["outputs"]["o0"]["value"] == 6
    assert pointer["node"] == "double" and pointer["attempt"] == 1
    # flytepath-execute prints the pointer last on success: the same document.
    assert json.loads(done.stdout.strip().splitlines()[-1]) == pointer
    # $HOME is the scratch volume (the root filesystem is read-only in the cluster).
    assert (tmp_path / "pod" / "volumes" / "scratch" / "scratch-was-writable").exists()


def test_a_user_error_exits_10_and_records_the_error(platform, tmp_path):
    done = run(platform, pod_for(platform, "explode"), tmp_path)
    assert done.returncode == 10
    error = read_node_error(RUN, "explode", 1, platform.store_root)
    assert error is not None and error["kind"] == "user"
    assert "cannot handle 3" in error["message"]


def test_a_recoverable_error_exits_11(platform, tmp_path):
    done = run(platform, pod_for(platform, "flaky", attempt=2), tmp_path)
    assert done.returncode == 11
    error = read_node_error(RUN, "flaky", 2, platform.store_root)
    assert error is not None and error["kind"] == "system"


def test_secret_references_resolve_in_the_pod_and_the_value_stays_out_of_logs(
        platform, tmp_path):
    pod = pod_for(platform, "secret_length")
    assert SENTINEL not in json.dumps(pod)
    done = run(platform, pod, tmp_path)
    assert done.returncode == 0, done.stderr
    pointer = read_pointer(BlobStore(platform.store_root), RUN, "secret_length")
    assert pointer["outputs"]["o0"]["value"] == len(SENTINEL) + 3
    assert SENTINEL not in done.stdout + done.stderr
