"""Kubernetes' rules for pod labels and annotations, checked where a spec declares them.

The API server refuses a pod whose metadata breaks these rules, long after the workflow was
compiled; checking them at compile time (`PodOverridesSpec.from_options`) and again when a
pod is composed (`platform.pods.compose`) turns that into an error naming the key and the
limit. The rules, as the API server applies them:

- a key (label or annotation) is `[prefix/]name`: the name at most 63 characters of
  letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit; the
  optional prefix a DNS subdomain (lower-case labels joined by dots, at most 253);
- a label value is empty or, like a name, at most 63 such characters;
- all annotations of an object together (keys and values, in UTF-8 bytes) at most 256 KiB.

Must not import anything but the errors (the spec layer is pure data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flytepath_airflow.errors import CompileError

__all__ = [
    "LABEL_VALUE",
    "MAX_ANNOTATIONS_BYTES",
    "MAX_NAME_LENGTH",
    "MAX_PREFIX_LENGTH",
    "annotations_size",
    "check_pod_metadata",
    "key_problem",
    "label_value_problem",
]

MAX_NAME_LENGTH = 63
"""Longest name part of a key, and longest label value."""

MAX_PREFIX_LENGTH = 253
"""Longest prefix of a key (a DNS subdomain)."""

MAX_ANNOTATIONS_BYTES = 262144
"""All annotations of one object together, keys and values, in bytes (256 KiB)."""

_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
"""A valid label value (empty, or at most 63 characters)."""

_CHARSET = "letters, digits, '-', '_' and '.', starting and ending with a letter or digit"


def key_problem(key: str) -> str | None:
    """Why `key` is not a valid label or annotation key, or None when it is.

    :param key: `[prefix/]name`.
    """
    prefix, slash, name = key.rpartition("/")
    if not name:
        return "its name (after any 'prefix/') is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"its name has {len(name)} characters; Kubernetes allows {MAX_NAME_LENGTH}"
    if not _NAME.match(name):
        return f"its name {name!r} must be {_CHARSET}"
    if slash:
        if len(prefix) > MAX_PREFIX_LENGTH:
            return (f"its prefix has {len(prefix)} characters; Kubernetes allows "
                    f"{MAX_PREFIX_LENGTH}")
        if not _DNS_SUBDOMAIN.match(prefix):
            return (f"its prefix {prefix!r} must be a DNS subdomain (lower-case letters, "
                    "digits and '-', in parts joined by '.')")
    return None


def label_value_problem(value: str) -> str | None:
    """Why `value` is not a valid label value, or None when it is.

    :param value: the label's value.
    """
    if len(value) > MAX_NAME_LENGTH:
        return f"it has {len(value)} characters; Kubernetes allows {MAX_NAME_LENGTH}"
    if not LABEL_VALUE.match(value):
        return f"it must be empty or {_CHARSET}"
    return None


def annotations_size(annotations: Mapping[str, str]) -> int:
    """The size the API server counts for `annotations`: keys and values, in UTF-8 bytes.

    :param annotations: an object's annotations.
    """
    return sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())


def check_pod_metadata(labels: Mapping[str, str], annotations: Mapping[str, str],
                       where: str, field: str = "pod_overrides.") -> None:
    """Refuse labels and annotations the Kubernetes API server would refuse.

    :param labels: label keys and values.
    :param annotations: annotation keys and values.
    :param where: who declared them, for the message ("task 'train' (flow.py:12)").
    :param field: the field path before `labels`/`annotations` in the message.
    :raises CompileError: naming the first bad key or value and the limit it breaks.
    """
    for kind, mapping in (("labels", labels), ("annotations", annotations)):
        for key in mapping:
            problem = key_problem(key)
            if problem is not None:
                raise CompileError(
                    f"{where}: {field}{kind} key {key!r} is not a valid Kubernetes key: "
                    f"{problem}. Use [prefix/]name, e.g. team.example.com/owner.")
    for key, value in labels.items():
        problem = label_value_problem(value)
        if problem is not None:
            shown = value if len(value) <= 80 else f"{value[:60]}... ({len(value)} characters)"
            raise CompileError(
                f"{where}: {field}labels[{key!r}] value {shown!r} is not a valid label "
                f"value: {problem}. Put longer or free text in an annotation instead.")
    size = annotations_size(annotations)
    if size > MAX_ANNOTATIONS_BYTES:
        largest = max(annotations, key=lambda k: len(k.encode()) + len(str(annotations[k])
                                                                      .encode()))
        raise CompileError(
            f"{where}: {field}annotations take {size} bytes together, more than the "
            f"{MAX_ANNOTATIONS_BYTES} bytes (256 KiB) Kubernetes allows on one object "
            f"(the largest is {largest!r}). Keep large values in the store and annotate "
            "a reference to them.")
