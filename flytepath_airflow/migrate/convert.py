"""`flytepath convert`: a folder of DAG files becomes an output folder of converted specs.

Output (all written atomically, in a stable order, with no timestamps or absolute paths,
so a rerun on the same input is byte-identical):

    <output>/<dag_id>.yaml                 one converted spec per DAG (ADR 0024)
    <output>/<package>/__init__.py         the task modules the specs name by import path
    <output>/<package>/<dag module>.py
    <output>/conversion.json               the report for tools
    <output>/.flytepath-convert.json       which files this command wrote (its manifest)

The input folder is only read. An output folder that holds files this command did not
write is refused; files an earlier run wrote and this one does not are removed.

`check=True` then builds every written spec back into an Airflow DAG (in a child process
per spec, with the output folder importable) and compares it with the original.

Imports airflow.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.migrate.loader import FileResult, list_dag_files, quiet_child, run_files
from flytepath_airflow.migrate.rebuild import build_converted_dag, dump_converted, load_converted
from flytepath_airflow.migrate.report import build_report
from flytepath_airflow.migrate.structure import compare, structure_of
from flytepath_airflow.utils.atomic import atomic_write_text, write_if_changed

MANIFEST = ".flytepath-convert.json"
JSON_REPORT = "conversion.json"


class ConvertError(FlytePathUserError):
    """The conversion cannot start (bad folders); nothing was written."""


@dataclass
class ConvertOptions:
    """What `flytepath convert` was asked to do.

    :param source: the DAG folder (or one DAG file).
    :param output: the output folder.
    :param package: the package the task modules go into.
    :param timeout: seconds one DAG file may take to import and convert.
    :param jobs: files converted at a time.
    :param check: build the specs back and compare them with the originals.
    """

    source: Path
    output: Path
    package: str = "flytepath_converted"
    timeout: float = 60.0
    jobs: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    check: bool = False


@dataclass
class ConvertRun:
    """The outcome: the report document and the timings."""

    report: dict[str, Any]
    seconds: float
    check_seconds: float = 0.0

    @property
    def summary(self) -> dict[str, Any]:
        """The report's summary figures."""
        return dict(self.report["summary"])


def _check_folders(options: ConvertOptions) -> list[str]:
    source, output = options.source.resolve(), options.output.resolve()
    if not source.exists():
        raise ConvertError(f"the DAG folder {options.source} does not exist. Pass the folder "
                           "Airflow reads DAG files from (its dags_folder).")
    if output == source or source in output.parents:
        raise ConvertError(f"the output folder {options.output} is inside the DAG folder "
                           f"{options.source}; Airflow would read the converted files as DAG "
                           "files. Choose an output folder outside it.")
    if output.is_file():
        raise ConvertError(f"the output path {options.output} is a file; pass a folder.")
    if not options.package.isidentifier():
        raise ConvertError(f"--package {options.package!r} is not a Python package name; use "
                           "letters, digits and _.")
    previous: list[str] = []
    if output.is_dir():
        manifest = output / MANIFEST
        if manifest.exists():
            try:
                previous = list(json.loads(manifest.read_text(encoding="utf-8"))["files"])
            except (ValueError, KeyError, TypeError):
                previous = []
        known = set(previous) | {MANIFEST}
        foreign = sorted(
            str(p.relative_to(output)) for p in output.rglob("*")
            if p.is_file() and str(p.relative_to(output)) not in known
            and "__pycache__" not in p.parts and not p.name.startswith(".") )
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more"
                                              if len(foreign) > 5 else "")
            raise ConvertError(
                f"the output folder {options.output} already holds files flytepath convert "
                f"did not write ({shown}); it would mix them with converted specs. Choose an "
                "empty or new folder, or move those files away.")
    return previous


def convert_folder(options: ConvertOptions,
                   progress: Callable[[str, int, int], None] | None = None) -> ConvertRun:
    """Convert every DAG file under `options.source` into `options.output`.

    :param progress: called as (phase, done, total) while files are processed.
    :raises ConvertError: when the folders cannot be used; nothing is written then.
    """
    previous = _check_folders(options)
    source = options.source.resolve()
    root = source if source.is_dir() else source.parent
    files = list_dag_files(source)
    started = time.perf_counter()
    done = [0]

    def tick(_: Path) -> None:
        done[0] += 1
        if progress:
            progress("convert", done[0], len(files))

    results = run_files(files, package=options.package, timeout=options.timeout,
                        jobs=options.jobs, progress=tick)
    seconds = time.perf_counter() - started

    output = options.output
    written: dict[str, str] = {}
    dags: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    seen_ids: dict[str, str] = {}
    modules: dict[str, str] = {}
    for result in results:
        rel = _relative(result.file, root)
        if result.error is not None:
            failures.append({"file": rel, **result.error})
        if not result.dags and result.error is None:
            failures.append({"file": rel, "kind": "no_dag", "line": 1,
                             "message": "the file defines no DAG"})
        for dag in result.dags:
            dag = _relativize(dag, result.file, rel)
            dag_id = dag["dag_id"]
            if dag_id in seen_ids:
                dag["status"] = "failed"
                dag["error"] = (f"DAG id {dag_id!r} is also defined in {seen_ids[dag_id]}; "
                                "Airflow keeps only one of them. Rename one.")
                dags.append(dag)
                continue
            seen_ids[dag_id] = rel
            if dag.get("spec_document") is not None:
                spec_file = f"{dag_id}.yaml"
                written[spec_file] = dump_converted(
                    dag["spec_document"],
                    f"FlytePath spec converted from DAG {dag_id!r} ({rel}:{dag['line']}) by "
                    "`flytepath convert`.\nThe IR's own document in YAML; see "
                    "docs/migration.md. Regenerate rather than edit when the DAG changes.")
                dag["spec_file"] = spec_file
            if dag.get("module_text"):
                module_file = f"{options.package}/{dag['module_name']}.py"
                modules[module_file] = dag["module_text"]
                dag["module_file"] = module_file
            dags.append(dag)
    if modules:
        written[f"{options.package}/__init__.py"] = (
            '"""Task code carried out of Airflow DAG files by `flytepath convert`."""\n')
        written.update(modules)

    checks: dict[str, dict[str, Any]] = {}
    check_seconds = 0.0
    # Write the specs before checking: the check reads them back from disk.
    _write_outputs(output, written, previous, report_text=None)
    if options.check:
        check_started = time.perf_counter()
        checks = check_specs(output, [d for d in dags if d.get("spec_file")], options,
                             progress)
        check_seconds = time.perf_counter() - check_started
    report = build_report(dags, failures, checks, source=str(options.source),
                          checked=options.check, files=len(files))
    report_text = json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _write_outputs(output, written, previous, report_text=report_text)
    return ConvertRun(report=report, seconds=seconds, check_seconds=check_seconds)


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return Path(path).name


def _relativize(dag: dict[str, Any], absolute: str, rel: str) -> dict[str, Any]:
    dag = dict(dag)
    dag["file"] = rel
    for key in ("notes",):
        dag[key] = [note.replace(absolute, rel) for note in dag.get(key, [])]
    if dag.get("error"):
        dag["error"] = str(dag["error"]).replace(absolute, rel)
    return dag


def _write_outputs(output: Path, written: dict[str, str], previous: list[str],
                   report_text: str | None) -> None:
    files = dict(written)
    if report_text is not None:
        files[JSON_REPORT] = report_text
    for rel, text in sorted(files.items()):
        write_if_changed(output / rel, text)
    if report_text is None:
        return
    for rel in sorted(set(previous) - set(files)):
        stale = output / rel
        if stale.is_file():
            stale.unlink()
    manifest = json.dumps({"files": sorted(files)}, indent=2) + "\n"
    write_if_changed(output / MANIFEST, manifest)


# --------------------------------------------------------------------------- check


def _check_child(spec_path: str, out: str) -> None:
    code = 0
    try:
        quiet_child()
        payload = {"dags": [check_spec_file(spec_path)]}
        atomic_write_text(out, json.dumps(payload, sort_keys=True), durable=False)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def check_spec_file(spec_path: str) -> dict[str, Any]:
    """Build one converted spec file into a DAG (in this process) and reduce it to structure."""
    folder = str(Path(spec_path).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec = load_converted(spec_path)
        dag, notes = build_converted_dag(spec)
        return {"structure": structure_of(dag), "notes": notes}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def check_specs(output: Path, dags: list[dict[str, Any]], options: ConvertOptions,
                progress: Callable[[str, int, int], None] | None) -> dict[str, dict[str, Any]]:
    """Build each written spec back into a DAG and compare it with the original structure."""
    paths = [output / dag["spec_file"] for dag in dags]
    done = [0]

    def tick(_: Path) -> None:
        done[0] += 1
        if progress:
            progress("check", done[0], len(paths))

    results = run_files(paths, _check_child, package=options.package,
                        timeout=options.timeout, jobs=options.jobs, progress=tick)
    checks: dict[str, dict[str, Any]] = {}
    for dag, result in zip(dags, results, strict=True):
        outcome = _rebuilt(result)
        if "error" in outcome:
            checks[dag["dag_id"]] = {"status": "failed", "error": outcome["error"],
                                     "differences": [], "notes": []}
            continue
        declared = set(dag.get("declared") or [])
        diffs = compare(dag["structure"], outcome["structure"])
        items = [{"key": d.key, "message": d.message, "declared": d.key in declared}
                 for d in diffs]
        status = "same" if not items else \
            "declared" if all(i["declared"] for i in items) else "differs"
        checks[dag["dag_id"]] = {"status": status, "differences": items,
                                 "notes": outcome.get("notes", [])}
    return checks


def _rebuilt(result: FileResult) -> dict[str, Any]:
    if result.error is not None:
        return {"error": result.error.get("message", "the check failed")}
    return result.dags[0] if result.dags else {"error": "the check produced no result"}
