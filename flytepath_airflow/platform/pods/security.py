"""The restricted Pod Security Standard, checked on a composed pod manifest.

`restricted_violations()` lists what in a manifest breaks the standard (host namespaces,
privileged containers, capabilities, volume types, privilege escalation, non-root user,
seccomp, procMount, sysctls, SELinux, AppArmor). `check_restricted()` refuses a pod that
breaks it, unless the platform turned enforcement off; `compose_pod()` calls it on the pod
after Airflow's mutation hook, before any API call (ADR 0020).

Works on plain manifest dicts. Must not import airflow, the kubernetes client, or anything
of FlytePath beyond its errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flytepath_airflow.errors import FlytePathUserError

__all__ = ["PodSecurityError", "check_restricted", "restricted_violations"]


class PodSecurityError(FlytePathUserError):
    """A composed pod violates the restricted Pod Security Standard; it is not created."""


_RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
})
_SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})


def restricted_violations(pod: Mapping[str, Any]) -> list[str]:
    """What in a pod manifest breaks the restricted Pod Security Standard (empty: none).

    Follows the standard's checks: host namespaces, privileged containers, capabilities,
    host paths and ports, volume types, privilege escalation, non-root user, seccomp,
    procMount, sysctls, SELinux and AppArmor.
    """
    spec = pod.get("spec") or {}
    problems: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            problems.append(f"spec.{key} is true")
    for volume in spec.get("volumes") or []:
        kinds = [k for k in volume if k != "name"]
        for kind in kinds:
            if kind not in _RESTRICTED_VOLUMES:
                problems.append(f"volume {volume.get('name')!r} is of type {kind}")
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in _SAFE_SYSCTLS:
            problems.append(f"sysctl {sysctl.get('name')!r} is not in the safe set")
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        problems.append("spec.securityContext.windowsOptions.hostProcess is true")
    problems += _selinux_apparmor(pod_sc, "spec.securityContext")
    pod_non_root = pod_sc.get("runAsNonRoot") is True
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if pod_sc.get("runAsNonRoot") is False:
        problems.append("spec.securityContext.runAsNonRoot is false")
    if pod_sc.get("runAsUser") == 0:
        problems.append("spec.securityContext.runAsUser is 0 (root)")
    if pod_seccomp is not None and pod_seccomp not in ("RuntimeDefault", "Localhost"):
        problems.append(f"spec.securityContext.seccompProfile.type is {pod_seccomp}")
    groups = (("containers", spec.get("containers")), ("initContainers",
              spec.get("initContainers")), ("ephemeralContainers",
              spec.get("ephemeralContainers")))
    for group, items in groups:
        for c in items or []:
            where = f"{group}[{c.get('name')}]"
            sc = c.get("securityContext") or {}
            if sc.get("privileged"):
                problems.append(f"{where} is privileged")
            if (sc.get("windowsOptions") or {}).get("hostProcess"):
                problems.append(f"{where} is a host process")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where} does not set allowPrivilegeEscalation: false")
            caps = sc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []):
                problems.append(f"{where} does not drop ALL capabilities")
            extra = [cap for cap in caps.get("add") or [] if cap != "NET_BIND_SERVICE"]
            if extra:
                problems.append(f"{where} adds capabilities {extra}")
            if sc.get("runAsNonRoot") is False:
                problems.append(f"{where} sets runAsNonRoot: false")
            elif not pod_non_root and sc.get("runAsNonRoot") is not True:
                problems.append(f"{where} may run as root (runAsNonRoot not true)")
            if sc.get("runAsUser") == 0:
                problems.append(f"{where} runs as user 0")
            seccomp = (sc.get("seccompProfile") or {}).get("type")
            if seccomp is not None and seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{where} seccompProfile.type is {seccomp}")
            elif seccomp is None and pod_seccomp is None:
                problems.append(f"{where} has no seccomp profile")
            if sc.get("procMount") not in (None, "Default"):
                problems.append(f"{where} sets procMount {sc.get('procMount')}")
            problems += _selinux_apparmor(sc, where)
            for port in c.get("ports") or []:
                if port.get("hostPort"):
                    problems.append(f"{where} uses hostPort {port['hostPort']}")
    return problems


def _selinux_apparmor(sc: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    selinux = sc.get("seLinuxOptions") or {}
    if selinux.get("type") not in (None, "", "container_t", "container_init_t",
                                   "container_kvm_t", "container_engine_t"):
        problems.append(f"{where} sets SELinux type {selinux.get('type')}")
    if selinux.get("user") or selinux.get("role"):
        problems.append(f"{where} sets an SELinux user or role")
    apparmor = (sc.get("appArmorProfile") or {}).get("type")
    if apparmor not in (None, "RuntimeDefault", "Localhost"):
        problems.append(f"{where} sets AppArmor profile {apparmor}")
    return problems




def check_restricted(pod: Mapping[str, Any], node_id: str, *, enforce: bool) -> None:
    """Refuse a composed pod that violates the restricted Pod Security Standard.

    :param pod: the final pod manifest (after the platform template and the mutation hook).
    :param node_id: the node the pod runs, for the message.
    :param enforce: the platform's `enforce_restricted` setting; False accepts any pod.
    :raises PodSecurityError: naming every violation and how to fix it.
    """
    problems = restricted_violations(pod)
    if problems and enforce:
        raise PodSecurityError(
            f"the pod of node {node_id!r} would violate the restricted Pod Security "
            f"Standard: {'; '.join(problems)}. The platform pod template or the pod mutation "
            "hook is the cause (a task cannot set these fields); fix it, or set "
            "enforce_restricted: false in the Kubernetes settings to accept it."
        )
