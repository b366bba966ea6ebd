"""The naming rules: which text is a valid project, domain, workflow, task, node id, version
or run id, checked once here and reused by every entry point.

These names become store keys (`runs/<run_id>/nodes/<node>/...`,
`specs/<project>/<domain>/<workflow>/<version>.json`), files in the specs folder
(`<project>.<domain>.<workflow>.json`), Airflow DAG and task ids and pool names. The rules
make each of those a single path component that cannot leave its folder, and make every
derived name injective (ADR 0033):

- project and domain are DNS labels: lower-case ASCII letters, digits and `-`, starting
  and ending with a letter or digit, at most 63 characters. They hold no `.` or `_`, the
  separators of DAG ids, loader files and pool names, so `a.b`/`c` and `a`/`b.c` can never
  both exist.
- workflow and task names, node ids, versions and run ids: ASCII letters, digits, `_`,
  `.` and `-`, starting with a letter, digit or `_`, never containing `..`, bounded in
  length (120 characters; run ids 200). No `/`, `\\`, control character, space or
  non-ASCII look-alike can pass.

The YAML front-end's stricter identifier rules live here too, so the format and the spec
models accept the same names.

Must not import: anything from FlytePath but `errors` (every layer above uses it).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from flytepath_airflow.errors import FlytePathUserError

__all__ = [
    "FN",
    "IDENT",
    "MAX_NAME_LENGTH",
    "MAX_RUN_ID_LENGTH",
    "MAX_TENANT_LENGTH",
    "NODE_ID",
    "RULES",
    "TASK_NAME",
    "WORKFLOW_NAME",
    "InvalidNameError",
    "NameRule",
    "check_name",
    "name_problem",
    "safe_run_id",
]

MAX_TENANT_LENGTH = 63
"""A DNS label's limit; also keeps `project.domain.workflow` within Airflow's 250."""
MAX_NAME_LENGTH = 120
"""Workflow and task names, node ids, versions: 63 + 63 + 120 + 2 dots <= 250 (DAG ids)."""
MAX_RUN_ID_LENGTH = 200
"""A run id is one folder name; filesystems allow 255 bytes."""

_TENANT = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")

# The YAML format's own identifiers (stricter subsets of the rules above for names).
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
"""Inputs, outputs, fields, columns and env vars: a Python-style identifier."""
_MORE = MAX_NAME_LENGTH - 1
NODE_ID = re.compile(rf"(?!.*\.\.)[A-Za-z_][A-Za-z0-9_-]{{0,{_MORE}}}\Z")
"""A YAML node id: no `.`, which separates a node from its output in bindings."""
TASK_NAME = re.compile(rf"(?!.*\.\.)[A-Za-z_][A-Za-z0-9_.-]{{0,{_MORE}}}\Z")
WORKFLOW_NAME = re.compile(rf"(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{_MORE}}}\Z")
FN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*\Z")
"""A python task's import path, "module:qualname"."""


class InvalidNameError(FlytePathUserError):
    """A project, domain, workflow, task, node id, version or run id breaks its naming rule."""


@dataclass(frozen=True)
class NameRule:
    """The rule of one kind of name.

    :param what: what the name is, for messages ("project", "node id").
    :param tenant: DNS-label rule (project, domain) rather than the general name rule.
    :param max_length: the longest allowed name.
    :param example: a valid name of this kind, shown in messages.
    """

    what: str
    tenant: bool
    max_length: int
    example: str

    @property
    def text(self) -> str:
        """The rule in words."""
        if self.tenant:
            return (f"a {self.what} uses lower-case letters, digits and '-', starts and ends "
                    f"with a letter or digit, and has at most {self.max_length} characters")
        return (f"a {self.what} uses ASCII letters, digits, '_', '.' and '-', starts with a "
                f"letter, digit or '_', never contains '..', and has at most "
                f"{self.max_length} characters")


RULES: dict[str, NameRule] = {
    "project": NameRule("project", True, MAX_TENANT_LENGTH, "ml-team"),
    "domain": NameRule("domain", True, MAX_TENANT_LENGTH, "development"),
    "workflow": NameRule("workflow name", False, MAX_NAME_LENGTH, "pipelines.train"),
    "launch_plan": NameRule("launch plan name", False, MAX_NAME_LENGTH, "nightly_train"),
    "task": NameRule("task name", False, MAX_NAME_LENGTH, "pipelines.clean"),
    "node": NameRule("node id", False, MAX_NAME_LENGTH, "clean_2"),
    "version": NameRule("version", False, MAX_NAME_LENGTH, "3f2a9c0d1e4b5a67"),
    "run_id": NameRule("run id", False, MAX_RUN_ID_LENGTH, "fp-20260101T120000-1a2b3c4d"),
}
"""Every kind of name, by the key `check_name` takes."""


def _first_bad_char(text: str, allowed: re.Pattern[str]) -> str | None:
    for ch in text:
        if not allowed.fullmatch(ch):
            return ch
    return None


def _describe_char(ch: str) -> str:
    if ch == "/" or ch == "\\":
        return f"a path separator {ch!r}"
    if unicodedata.category(ch).startswith("C"):
        return f"the control character U+{ord(ch):04X}"
    if ch.isspace():
        return "a space"
    if ord(ch) > 127:
        name = unicodedata.name(ch, "unnamed")
        return f"{ch!r} (U+{ord(ch):04X} {name}), which is not ASCII"
    return repr(ch)


_TENANT_CHAR = re.compile(r"[a-z0-9-]")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_.-]")


def name_problem(value: object, kind: str) -> str | None:
    """Why `value` is not a valid name of `kind` (a key of RULES), or None when it is.

    :param value: the candidate name.
    :param kind: which rule applies: "project", "domain", "workflow", "launch_plan",
        "task", "node", "version" or "run_id".
    """
    rule = RULES[kind]
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, not text"
    if not value:
        return "is empty"
    if len(value) > rule.max_length:
        return f"is {len(value)} characters long (at most {rule.max_length})"
    # What could leave a folder is named first, whatever else is wrong.
    separator = next((ch for ch in value if ch in "/\\"), None)
    if separator is not None:
        return f"contains {_describe_char(separator)}"
    if ".." in value:
        return "contains '..'"
    bad = _first_bad_char(value, _TENANT_CHAR if rule.tenant else _NAME_CHAR)
    if bad is not None:
        if rule.tenant and bad.isascii() and bad.isupper():
            return "contains upper-case letters"
        return f"contains {_describe_char(bad)}"
    if rule.tenant:
        if not _TENANT.match(value):
            return "must start and end with a letter or digit"
        return None
    if not _NAME.match(value):
        return f"must not start with {value[0]!r}"
    return None


def _suggestion(value: str, kind: str) -> str:
    """A valid name close to `value`, else the rule's example."""
    rule = RULES[kind]
    if rule.tenant:
        guess = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:rule.max_length]
        guess = guess.strip("-")
    else:
        guess = re.sub(r"[^A-Za-z0-9_.-]+", "_", value.lstrip("./\\"))
        guess = re.sub(r"\.{2,}", ".", guess).lstrip(".-")[:rule.max_length]
    valid = (bool(guess) and guess != value and len(guess) <= 60
             and name_problem(guess, kind) is None)
    return guess if valid else rule.example


def check_name(value: object, kind: str, *, where: str = "") -> str:
    """`value` when it is a valid name of `kind`; otherwise InvalidNameError.

    The message names the value, where it was set, the rule and a valid example.

    :param value: the candidate name.
    :param kind: a key of RULES.
    :param where: where the value was set, e.g. "--project" or "node 3 of wf.json".
    :raises InvalidNameError: the value breaks the rule.
    """
    problem = name_problem(value, kind)
    if problem is None:
        return str(value)
    rule = RULES[kind]
    shown = value if not isinstance(value, str) or len(value) <= 80 else value[:77] + "..."
    example = _suggestion(value, kind) if isinstance(value, str) else rule.example
    place = f"{where}: " if where else ""
    raise InvalidNameError(
        f"{place}{rule.what} {shown!r} {problem}; {rule.text}. Use a name like {example!r}."
    )


def safe_run_id(text: str) -> str:
    """A valid run id for any text, different texts giving different ids.

    A text that already is a valid run id is returned as it is. Any other text (Airflow's
    `manual__2026-01-01T00:00:00+00:00`, an over-long id) has its unsafe characters
    replaced and gets `-h` and 12 hex digits of the sha256 of the original text appended, so
    two texts that clean to the same characters still give different ids.

    :param text: the run id to make safe.
    """
    if name_problem(text, "run_id") is None:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", text)
    cleaned = re.sub(r"\.{2,}", ".", cleaned).lstrip(".-")
    cleaned = cleaned[:MAX_RUN_ID_LENGTH - 14].rstrip(".") or "run"
    return f"{cleaned}-h{digest}"
