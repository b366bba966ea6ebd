"""The conversion report: one JSON document for tools, rendered as markdown for people.

Per DAG: converted exactly / with declared changes / failed, and why, with the file and
line; per task: converted, converted with changes, or kept as the original Airflow
operator; with `--check`, the round-trip result and every difference, marked declared
or not. Files that could not be loaded (syntax error, import error, timeout, cycle) have
entries of their own.

Never imports airflow.
"""

from __future__ import annotations

from typing import Any

REPORT_VERSION = 1

_DAG_STATUS = {"exact": "converted exactly", "changed": "converted with declared changes",
               "failed": "failed"}
_TASK_STATUS = {"converted": "converted", "changed": "converted with changes",
                "kept": "kept as is"}
_CHECK_STATUS = {"same": "same", "declared": "declared differences only",
                 "differs": "UNDECLARED differences", "failed": "could not be built"}


def _dag_entry(dag: dict[str, Any], check: dict[str, Any] | None) -> dict[str, Any]:
    entry = {
        "dag_id": dag["dag_id"],
        "file": dag["file"],
        "line": dag["line"],
        "status": dag["status"],
        "notes": list(dag.get("notes") or []),
        "declared": list(dag.get("declared") or []),
        "spec_file": dag.get("spec_file"),
        "module_file": dag.get("module_file"),
        "tasks": [dict(t) for t in dag.get("tasks") or []],
    }
    if dag.get("error"):
        entry["error"] = dag["error"]
    if check is not None:
        entry["check"] = check
    return entry


def build_report(dags: list[dict[str, Any]], failures: list[dict[str, Any]],
                 checks: dict[str, dict[str, Any]], *, source: str, checked: bool,
                 files: int) -> dict[str, Any]:
    """The JSON report document (stable order, no timestamps)."""
    entries = [_dag_entry(d, checks.get(d["dag_id"]) if checked else None)
               for d in sorted(dags, key=lambda d: (d["file"], d["dag_id"]))]
    tasks = [t for e in entries for t in e["tasks"]]
    converted = [e for e in entries if e["status"] != "failed"]
    summary: dict[str, Any] = {
        "files": files,
        "dags": len(entries),
        "dags_exact": sum(e["status"] == "exact" for e in entries),
        "dags_changed": sum(e["status"] == "changed" for e in entries),
        "dags_failed": sum(e["status"] == "failed" for e in entries),
        "files_failed": sum(f["kind"] != "no_dag" for f in failures),
        "files_without_dags": sum(f["kind"] == "no_dag" for f in failures),
        "tasks": len(tasks),
        "tasks_converted": sum(t["status"] == "converted" for t in tasks),
        "tasks_changed": sum(t["status"] == "changed" for t in tasks),
        "tasks_kept": sum(t["status"] == "kept" for t in tasks),
    }
    if checked:
        results = [e.get("check", {}).get("status") for e in converted]
        ok = sum(r in ("same", "declared") for r in results)
        summary.update({
            "check_same": sum(r == "same" for r in results),
            "check_declared": sum(r == "declared" for r in results),
            "check_differs": sum(r == "differs" for r in results),
            "check_failed": sum(r == "failed" for r in results),
            "round_trip_percent": round(100.0 * ok / len(converted), 1) if converted else 0.0,
        })
    return {
        "report_version": REPORT_VERSION,
        "source": source,
        "summary": summary,
        "dags": entries,
        "file_errors": sorted(failures, key=lambda f: f["file"]),
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The figures the command prints (and docs/migration.md records)."""
    s = report["summary"]
    lines = [
        f"{s['dags']} DAG(s) in {s['files']} file(s): {s['dags_exact']} converted exactly, "
        f"{s['dags_changed']} with declared changes, {s['dags_failed']} failed; "
        f"{s['files_failed']} file(s) could not be loaded, {s['files_without_dags']} define "
        "no DAG.",
        f"{s['tasks']} task(s): {s['tasks_converted']} converted, {s['tasks_changed']} "
        f"converted with changes, {s['tasks_kept']} kept as Airflow operators.",
    ]
    if "round_trip_percent" in s:
        lines.append(
            f"round trip: {s['round_trip_percent']}% of converted DAGs build back with no "
            f"undeclared difference ({s['check_same']} same, {s['check_declared']} with "
            f"declared differences only, {s['check_differs']} with undeclared differences, "
            f"{s['check_failed']} could not be built).")
    return lines


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    """The report as markdown (derived from the JSON document only)."""
    out = ["# Conversion report", "", f"Source: `{report['source']}`", ""]
    out += [f"- {line}" for line in summary_lines(report)]
    if report["file_errors"]:
        out += ["", "## Files not converted", "", "| file | line | problem | message |",
                "|---|---|---|---|"]
        for err in report["file_errors"]:
            out.append(f"| `{_cell(err['file'])}` | {err['line']} | {err['kind']} | "
                       f"{_cell(err['message'])} |")
    out += ["", "## DAGs", "", "| DAG | file:line | result | tasks (converted / changed / "
            "kept) | round trip |", "|---|---|---|---|---|"]
    for dag in report["dags"]:
        tasks = dag["tasks"]
        counts = "/".join(str(sum(t["status"] == s for t in tasks))
                          for s in ("converted", "changed", "kept"))
        check = dag.get("check")
        trip = _CHECK_STATUS.get(check["status"], check["status"]) if check else "not run"
        out.append(f"| `{dag['dag_id']}` | `{dag['file']}:{dag['line']}` | "
                   f"{_DAG_STATUS[dag['status']]} | {counts} | {trip} |")
    for dag in report["dags"]:
        out += ["", f"### {dag['dag_id']}", "",
                f"`{dag['file']}:{dag['line']}`: {_DAG_STATUS[dag['status']]}"
                + (f"; spec `{dag['spec_file']}`" if dag.get("spec_file") else "")
                + (f", task code `{dag['module_file']}`" if dag.get("module_file") else "")
                + "."]
        if dag.get("error"):
            out += ["", f"Failed: {dag['error']}"]
        if dag["notes"]:
            out += [""] + [f"- {note}" for note in dag["notes"]]
        if dag["tasks"]:
            out += ["", "| task | operator | line | result | as | notes |",
                    "|---|---|---|---|---|---|"]
            for t in dag["tasks"]:
                out.append(f"| `{t['task_id']}` | {t['operator']} | {t['line']} | "
                           f"{_TASK_STATUS[t['status']]} | {t['kind']} | "
                           f"{_cell('; '.join(t['notes']))} |")
        check = dag.get("check")
        if check:
            out += ["", f"Round trip: {_CHECK_STATUS.get(check['status'], check['status'])}."]
            if check.get("error"):
                out.append(f"Build error: {_cell(check['error'])}")
            for diff in check.get("differences", []):
                mark = "declared" if diff["declared"] else "**undeclared**"
                out.append(f"- {mark}: {diff['message']}")
            for note in check.get("notes", []):
                out.append(f"- note: {note}")
    return "\n".join(out) + "\n"
