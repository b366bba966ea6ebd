"""What the round trip compares: a DAG reduced to plain data, and the comparison.

Both sides go through Airflow's own serializer first (`DagSerialization.to_dict` then
`from_dict`), so the original DAG and the DAG built back from its spec are compared the
way the scheduler sees them: task ids, upstream edges, trigger rules, retries,
mapped-ness, task groups, and the DAG's schedule, catchup and params. Pools are not
compared: a converted task runs in its tenant's pool, which the platform decides (ADR 0037);
the conversion report notes each pool it did not keep.

Each difference has a key (`task:<id>:retries`, `schedule`, ...); a conversion declares
the keys it knowingly changed, and the check fails only on undeclared ones.

Imports airflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

IGNORED_PARAMS = frozenset({"flytepath_version"})
"""Params a FlytePath-built DAG adds by design (the spec version)."""


@dataclass(frozen=True)
class Difference:
    """One way a rebuilt DAG differs from its original."""

    key: str
    message: str


def _attr(obj: Any, name: str) -> Any:
    # Task SDK timetables name their fields plainly; the scheduler's keep them private.
    return getattr(obj, name, None) if hasattr(obj, name) else getattr(obj, f"_{name}", None)


def schedule_of(timetable: Any) -> dict[str, Any]:
    """A timetable as data: kind none, cron (expression, timezone), rate (seconds) or other."""
    name = type(timetable).__name__
    if name == "NullTimetable":
        return {"kind": "none"}
    if name in ("CronTriggerTimetable", "CronDataIntervalTimetable"):
        tz = _attr(timetable, "timezone")
        return {"kind": "cron", "cron": str(_attr(timetable, "expression")),
                "timezone": str(getattr(tz, "name", tz) or "UTC")}
    if name in ("DeltaTriggerTimetable", "DeltaDataIntervalTimetable"):
        delta = _attr(timetable, "delta")
        if hasattr(delta, "total_seconds"):
            return {"kind": "rate", "seconds": delta.total_seconds()}
    return {"kind": "other", "timetable": f"{type(timetable).__module__}.{name}",
            "summary": str(getattr(timetable, "summary", ""))}


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _group_path(task: Any) -> list[str]:
    path: list[str] = []
    group = task.task_group
    while group is not None and group.group_id is not None:
        path.append(str(group.label))
        group = group.parent_group
    return list(reversed(path))


def _json_default(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def structure_of(dag: Any) -> dict[str, Any]:
    """The compared structure of a DAG (after a serialization round trip)."""
    from airflow.serialization.serialized_objects import DagSerialization

    sdag = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    tasks: dict[str, Any] = {}
    for task in sorted(sdag.tasks, key=lambda t: t.task_id):
        tasks[task.task_id] = {
            "upstream": sorted(task.upstream_task_ids),
            "trigger_rule": _text(task.trigger_rule),
            "retries": int(task.retries or 0),
            "mapped": bool(getattr(task, "is_mapped", False)),
            "group": _group_path(task),
        }
    params: dict[str, Any] = {}
    for name in sorted(sdag.params.keys()):
        if name in IGNORED_PARAMS:
            continue
        param = sdag.params.get_param(name)
        value = getattr(param, "value", None)
        params[name] = None if type(value).__name__ == "ArgNotSet" else _json_default(value)
    return {
        "dag_id": sdag.dag_id,
        "schedule": schedule_of(sdag.timetable),
        "catchup": bool(sdag.catchup),
        "params": params,
        "tasks": tasks,
    }


def compare(original: dict[str, Any], rebuilt: dict[str, Any]) -> list[Difference]:
    """Every difference between two structures, in a stable order."""
    out: list[Difference] = []
    if original["schedule"] != rebuilt["schedule"]:
        out.append(Difference("schedule", f"schedule {original['schedule']} became "
                                          f"{rebuilt['schedule']}"))
    if original["catchup"] != rebuilt["catchup"]:
        out.append(Difference("catchup", f"catchup {original['catchup']} became "
                                         f"{rebuilt['catchup']}"))
    for name in sorted(set(original["params"]) | set(rebuilt["params"])):
        if name not in rebuilt["params"]:
            out.append(Difference(f"param:{name}", f"param {name!r} is missing"))
        elif name not in original["params"]:
            out.append(Difference(f"param:{name}", f"param {name!r} was added"))
        elif original["params"][name] != rebuilt["params"][name]:
            out.append(Difference(f"param:{name}", f"param {name!r} default "
                                  f"{original['params'][name]!r} became "
                                  f"{rebuilt['params'][name]!r}"))
    old_tasks, new_tasks = original["tasks"], rebuilt["tasks"]
    for task_id in sorted(set(old_tasks) | set(new_tasks)):
        if task_id not in new_tasks:
            out.append(Difference(f"task:{task_id}", f"task {task_id!r} is missing"))
            continue
        if task_id not in old_tasks:
            out.append(Difference(f"task:{task_id}", f"task {task_id!r} was added"))
            continue
        old, new = old_tasks[task_id], new_tasks[task_id]
        for field in ("upstream", "trigger_rule", "retries", "mapped", "group"):
            if old[field] != new[field]:
                out.append(Difference(f"task:{task_id}:{field}",
                                      f"task {task_id!r} {field} {old[field]!r} became "
                                      f"{new[field]!r}"))
    return out
