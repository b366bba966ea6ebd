"""What the conversion of one DAG reports: a DagResult with one TaskEntry per task.

Plain data: the child process that loaded the DAG file sends it to the parent as JSON
(`DagResult.to_json`), which writes the report (`report`). Also where in the DAG file each
entry points (`find_line`, `task_line`).

Imports airflow only lazily, through `introspect` (reading a task's callable). Must not
import the converter's other modules.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from flytepath_airflow.migrate.introspect import callable_of


@dataclass
class TaskEntry:
    """The report entry of one task."""

    task_id: str
    operator: str
    status: str  # "converted" | "changed" | "kept"
    kind: str
    line: int
    notes: list[str] = field(default_factory=list)


@dataclass
class DagResult:
    """Everything the conversion of one DAG produced (plain data, sent to the parent)."""

    dag_id: str
    file: str
    line: int
    status: str  # "exact" | "changed" | "failed"
    notes: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)
    tasks: list[TaskEntry] = field(default_factory=list)
    spec_document: dict[str, Any] | None = None
    module_name: str | None = None
    module_text: str | None = None
    structure: dict[str, Any] | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data."""
        return asdict(self)


def find_line(source: str, *needles: str) -> int:
    """The line of the first needle found quoted in the source (0: none is).

    :param source: the DAG file's text.
    :param needles: ids to look for, in order of preference.
    """
    for needle in needles:
        for quote in ('"', "'"):
            idx = source.find(f"{quote}{needle}{quote}")
            if idx >= 0:
                return source.count("\n", 0, idx) + 1
    return 0


def task_line(op: Any, source: str) -> int:
    """The line a task's report entry points at: its callable's `def`, else its `task_id=`,
    else its id quoted anywhere, else 1.

    :param op: the task.
    :param source: the DAG file's text.
    """
    fn = callable_of(op)
    line = 0
    if fn is not None and hasattr(inspect.unwrap(fn), "__code__"):
        line = inspect.unwrap(fn).__code__.co_firstlineno
    local = re.escape(op.task_id.rsplit(".", 1)[-1])
    match = re.search(rf"task_id\s*=\s*[\"']{local}[\"']", source)
    if not line and match:
        line = source.count("\n", 0, match.start()) + 1
    return line or find_line(source, op.task_id.rsplit(".", 1)[-1]) or 1
