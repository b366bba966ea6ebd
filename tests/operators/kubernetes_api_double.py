"""A test double of the Kubernetes API server, for pods only, on loopback.

`KubernetesApiTestDouble` is NOT a cluster and NOT an API server. It answers, over real
HTTP on 127.0.0.1, exactly the pod calls the cncf-kubernetes provider's
KubernetesPodOperator makes, and runs each created pod's base container command as a
local process:

    POST   /api/v1/namespaces/{ns}/pods                  create a pod (starts the process)
    GET    /api/v1/namespaces/{ns}/pods/{name}           read a pod's status
    GET    /api/v1/namespaces/{ns}/pods?labelSelector=   list pods by label (the operator's
                                                         reattach check: a status read)
    GET    /api/v1/namespaces/{ns}/pods/{name}/log       read (and follow) a pod's logs
    PATCH  /api/v1/namespaces/{ns}/pods/{name}           merge labels (the "already_checked"
                                                         mark the operator puts on pods)
    DELETE /api/v1/namespaces/{ns}/pods/{name}           delete (stops the process)
    GET    /api/v1/namespaces/{ns}/events                always an empty list (the operator
                                                         watches a pod's events at startup)

Anything else is answered 404 and recorded in `unsupported`, so a test can assert that
the operator made no call this double does not model.

What it proves: the operator's real `execute()` (the provider's create / wait / stream logs
/ read status / delete code, through the official kubernetes client and its HTTP layer)
works with the pod FlytePath composes; the pod's command, args and env, with its Secret and
ConfigMap references resolved the way the kubelet resolves them, really run the node and
publish the outputs pointer the operator reads back; exit codes and the termination message
reach the operator's retry decision.

What it does NOT prove: that a real API server admits the pod (admission, Pod Security
admission, quotas, Kueue, RBAC: those are checked by kubernetes-validate, the restricted
checker and the Helm tests, not here); scheduling, images, node selectors, tolerations,
resource limits, the security context, read-only root filesystem and network policy (the
process runs as the test's user, on this machine, with this virtualenv as its "image");
watch semantics, resource versions and API errors of a real server.

Must not be imported by the package; tests only.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

TERMINATION_LOG_LINES = 80
TERMINATION_LOG_BYTES = 2048


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(t: float) -> str:
    dt = datetime.fromtimestamp(t, timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int((t % 1) * 1e9):09d}Z"


class PodSpecError(Exception):
    """The double cannot start a pod (a missing Secret key, an unsupported volume)."""


@dataclass
class LocalPod:
    """A pod of the double: its manifest, its process and its log lines."""

    manifest: dict[str, Any]
    workdir: Path
    lines: list[tuple[float, str]] = field(default_factory=list)
    phase: str = "Pending"
    exit_code: int | None = None
    process: subprocess.Popen[bytes] | None = None
    started: float | None = None
    finished: float | None = None
    done: threading.Event = field(default_factory=threading.Event)
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def status(self) -> dict[str, Any]:
        """The pod's status, as the API server would report it."""
        container = self.manifest["spec"]["containers"][0]["name"]
        conditions = [{"type": "PodScheduled", "status": "True"}]
        state: dict[str, Any]
        if self.exit_code is not None:
            state = {"terminated": {
                "exitCode": self.exit_code,
                "reason": "Completed" if self.exit_code == 0 else "Error",
                "message": self.termination_message(),
                "startedAt": _now(), "finishedAt": _now(),
            }}
        elif self.started is not None:
            state = {"running": {"startedAt": _now()}}
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        return {
            "phase": self.phase,
            "conditions": conditions,
            "containerStatuses": [{
                "name": container, "state": state, "ready": self.phase == "Running",
                "restartCount": 0, "image": self.manifest["spec"]["containers"][0]["image"],
                "imageID": "", "started": self.started is not None,
            }],
        }

    def termination_message(self) -> str | None:
        """FallbackToLogsOnError: the log tail when the container failed."""
        container = self.manifest["spec"]["containers"][0]
        if self.exit_code in (None, 0):
            return None
        if container.get("terminationMessagePolicy") != "FallbackToLogsOnError":
            return None
        tail = "\n".join(line for _, line in self.lines[-TERMINATION_LOG_LINES:])
        return tail[-TERMINATION_LOG_BYTES:]


def resolve_container(
    manifest: dict[str, Any],
    workdir: Path,
    *,
    secrets: dict[str, dict[str, dict[str, str]]],
    config_maps: dict[str, dict[str, dict[str, str]]],
) -> tuple[list[str], dict[str, str]]:
    """The base container's command line and environment, as the kubelet would build them.

    Volumes become folders under `workdir` (emptyDir: empty; secret: one file per key), and
    every reference to a mount path in env values and args is rewritten to that folder, as
    a bind mount would make it appear. Secret and ConfigMap references are resolved from
    the given maps, which stand for the objects in the pod's namespace.
    """
    namespace = manifest["metadata"]["namespace"]
    spec = manifest["spec"]
    container = spec["containers"][0]
    ns_secrets = secrets.get(namespace, {})
    ns_maps = config_maps.get(namespace, {})

    host_paths: dict[str, Path] = {}
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        volume = volumes[mount["name"]]
        host = workdir / "volumes" / mount["name"]
        host.mkdir(parents=True, exist_ok=True)
        if "secret" in volume:
            data = ns_secrets.get(volume["secret"]["secretName"])
            if data is None:
                raise PodSpecError(f"secret {volume['secret']['secretName']!r} not found")
            items = volume["secret"].get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                (host / item["path"]).write_text(data[item["key"]])
        elif "emptyDir" not in volume:
            raise PodSpecError(f"volume {mount['name']!r}: only emptyDir and secret are modelled")
        host_paths[mount["mountPath"].rstrip("/")] = host

    def remap(value: str) -> str:
        for mount_path in sorted(host_paths, key=len, reverse=True):
            if value == mount_path or value.startswith(mount_path + "/"):
                return str(host_paths[mount_path]) + value[len(mount_path):]
        return value

    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            ref = source["configMapRef"]
            data = ns_maps.get(ref["name"])
            if data is None and not ref.get("optional"):
                raise PodSpecError(f"configmap {ref['name']!r} not found")
            env.update(data or {})
        elif "secretRef" in source:
            data = ns_secrets.get(source["secretRef"]["name"])
            if data is None:
                raise PodSpecError(f"secret {source['secretRef']['name']!r} not found")
            env.update(data)
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = remap(item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            try:
                env[item["name"]] = ns_secrets[ref["name"]][ref["key"]]
            except KeyError:
                raise PodSpecError(f"secret key {ref['name']}/{ref['key']} not found") from None
    command = [remap(part) for part in [*container.get("command", []),
                                        *container.get("args", [])]]
    return command, env


def image_environment(python_path: list[str]) -> dict[str, str]:
    """What the task image would provide: PATH to flytepath-execute, and the user's code."""
    bin_dir = str(Path(sys.executable).parent)
    env = {"PATH": os.pathsep.join([bin_dir, "/usr/bin", "/bin"]), "LANG": "C.UTF-8"}
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join(python_path)
    return env


def run_pod_process(
    manifest: dict[str, Any],
    workdir: Path,
    *,
    secrets: dict[str, dict[str, dict[str, str]]] | None = None,
    config_maps: dict[str, dict[str, dict[str, str]]] | None = None,
    python_path: list[str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run a pod's base container as a local process to completion (no API involved)."""
    command, env = resolve_container(manifest, workdir, secrets=secrets or {},
                                     config_maps=config_maps or {})
    return subprocess.run(
        command, env={**image_environment(python_path or []), **env}, cwd=workdir,
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


class KubernetesApiTestDouble:
    """A TEST DOUBLE of the Kubernetes API (pods only) on loopback; see the module docstring.

    :param secrets: namespace -> Secret name -> key -> value: what the kubelet would find.
    :param config_maps: namespace -> ConfigMap name -> key -> value.
    :param python_path: folders that stand for the user's code in the task image.
    """

    def __init__(
        self,
        *,
        secrets: dict[str, dict[str, dict[str, str]]] | None = None,
        config_maps: dict[str, dict[str, dict[str, str]]] | None = None,
        python_path: list[str] | None = None,
    ) -> None:
        self.secrets = secrets or {}
        self.config_maps = config_maps or {}
        self.python_path = python_path or []
        self.pods: dict[tuple[str, str], LocalPod] = {}
        self.created: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.unsupported: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._root = Path(tempfile.mkdtemp(prefix="k8s-api-double-"))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> KubernetesApiTestDouble:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> str:
        """Serve on a free loopback port; returns the base URL."""
        double = self

        class Handler(_Handler):
            api = double

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving, stop every pod process and remove the pods' folders."""
        for pod in list(self.pods.values()):
            self._kill(pod)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        shutil.rmtree(self._root, ignore_errors=True)

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig pointing at this double (plain HTTP, a dummy token)."""
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "double",
            "clusters": [{"name": "double", "cluster": {"server": self.url}}],
            "users": [{"name": "double", "user": {"token": "test-double-token"}}],
            "contexts": [{"name": "double", "context": {"cluster": "double",
                                                        "user": "double"}}],
        }
        path.write_text(json.dumps(config))
        return path

    # -- pods ---------------------------------------------------------------------------
    def create(self, namespace: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        meta = body.setdefault("metadata", {})
        if meta.get("namespace", namespace) != namespace:
            return 400, _status(400, "the namespace of the provided object does not match "
                                     "the namespace sent on the request")
        meta["namespace"] = namespace
        name = meta.get("name") or f"pod-{uuid.uuid4().hex[:8]}"
        meta["name"] = name
        with self._lock:
            if (namespace, name) in self.pods:
                return 409, _status(409, f'pods "{name}" already exists', "AlreadyExists")
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), resourceVersion="1")
            workdir = self._root / namespace / name
            workdir.mkdir(parents=True)
            pod = LocalPod(manifest=body, workdir=workdir)
            self.pods[(namespace, name)] = pod
            self.created.append(json.loads(json.dumps(body)))
        threading.Thread(target=self._run, args=(pod,), daemon=True).start()
        return 201, self.view(pod)

    def view(self, pod: LocalPod) -> dict[str, Any]:
        return {**pod.manifest, "status": pod.status()}

    def _run(self, pod: LocalPod) -> None:
        try:
            pod.command, pod.env = resolve_container(
                pod.manifest, pod.workdir, secrets=self.secrets, config_maps=self.config_maps)
        except PodSpecError as exc:
            pod.lines.append((time.time(), f"[double] cannot start the container: {exc}"))
            pod.exit_code, pod.phase = 128, "Failed"
            pod.done.set()
            return
        pod.process = subprocess.Popen(
            pod.command, env={**image_environment(self.python_path), **pod.env},
            cwd=pod.workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        pod.started, pod.phase = time.time(), "Running"
        assert pod.process.stdout is not None
        with pod.process.stdout:
            for raw in pod.process.stdout:
                pod.lines.append((time.time(), raw.decode("utf-8", "replace").rstrip("\n")))
        code = pod.process.wait()
        pod.exit_code = code if code >= 0 else 128 - code
        pod.finished = time.time()
        pod.phase = "Succeeded" if code == 0 else "Failed"
        pod.done.set()

    def _kill(self, pod: LocalPod) -> None:
        process = pod.process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)

    def delete(self, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            pod = self.pods.pop((namespace, name), None)
        if pod is None:
            return 404, _status(404, f'pods "{name}" not found', "NotFound")
        self._kill(pod)
        return 200, self.view(pod)

    def logs(self, pod: LocalPod, query: dict[str, list[str]]) -> tuple[bool, bool, float]:
        follow = query.get("follow", ["false"])[0].lower() == "true"
        timestamps = query.get("timestamps", ["false"])[0].lower() == "true"
        since = float(query.get("sinceSeconds", ["0"])[0] or 0)
        return follow, timestamps, (time.time() - since) if since else 0.0


def _status(code: int, message: str, reason: str = "BadRequest") -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def _matches(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key.rstrip("=")) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class _Handler(BaseHTTPRequestHandler):
    api: KubernetesApiTestDouble

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output to what the operator logs

    def _send(self, code: int, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        query = parse_qs(url.query)
        self.api.calls.append((method, url.path))
        body: dict[str, Any] = {}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = json.loads(self.rfile.read(length) or b"{}")
        if parts[:3] != ["api", "v1", "namespaces"] or len(parts) < 5:
            return self._unsupported(method, url.path)
        namespace, kind, rest = parts[3], parts[4], parts[5:]
        if kind == "events" and method == "GET" and not rest:
            return self._send(200, {"kind": "EventList", "apiVersion": "v1",
                                    "metadata": {"resourceVersion": "1"}, "items": []})
        if kind != "pods":
            return self._unsupported(method, url.path)
        if not rest and method == "POST":
            return self._send(*self.api.create(namespace, body))
        if not rest and method == "GET":
            selector = query.get("labelSelector", [""])[0]
            items = [self.api.view(p) for (ns, _), p in list(self.api.pods.items())
                     if ns == namespace and _matches(p.manifest["metadata"].get("labels") or {},
                                                     selector)]
            return self._send(200, {"kind": "PodList", "apiVersion": "v1",
                                    "metadata": {"resourceVersion": "1"}, "items": items})
        pod = self.api.pods.get((namespace, rest[0]))
        if method == "DELETE" and len(rest) == 1:
            return self._send(*self.api.delete(namespace, rest[0]))
        if pod is None:
            return self._send(404, _status(404, f'pods "{rest[0]}" not found', "NotFound"))
        if len(rest) == 1 and method == "GET":
            return self._send(200, self.api.view(pod))
        if len(rest) == 1 and method == "PATCH":
            labels = (body.get("metadata") or {}).get("labels") or {}
            pod.manifest["metadata"].setdefault("labels", {}).update(labels)
            return self._send(200, self.api.view(pod))
        if rest[1:] == ["log"] and method == "GET":
            return self._stream_logs(pod, query)
        return self._unsupported(method, url.path)

    def _stream_logs(self, pod: LocalPod, query: dict[str, list[str]]) -> None:
        follow, timestamps, since = self.api.logs(pod, query)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        while True:
            lines = pod.lines[sent:]
            for t, line in lines:
                if t < since:
                    continue
                text = f"{_stamp(t)} {line}\n" if timestamps else f"{line}\n"
                self.wfile.write(text.encode())
            sent += len(lines)
            self.wfile.flush()
            if not follow or (pod.done.is_set() and sent == len(pod.lines)):
                break
            pod.done.wait(0.05)
        self.close_connection = True

    def _unsupported(self, method: str, path: str) -> None:
        self.api.unsupported.append((method, path))
        self._send(404, _status(404, f"the test double does not serve {method} {path}",
                                "NotFound"))

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")
