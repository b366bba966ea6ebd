"""Import DAG files the way Airflow does, one child process per file.

Files are listed by Airflow itself (`list_py_file_paths`: `.airflowignore`, and the safe
mode heuristic that skips files mentioning neither "airflow" nor "dag"). Each file is
imported by a real `DagBag` in a forked child of this process (Airflow is imported once,
before the fork), converted there, and the result comes back as JSON in a file. A child
that outlives the timeout is killed and its file reported as timed out; a child that
crashes loses only its own file.

Imports airflow.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flytepath_airflow.migrate.extract import DagConverter
from flytepath_airflow.migrate.results import DagResult
from flytepath_airflow.types import default_engine
from flytepath_airflow.utils.atomic import atomic_write_text

_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
_SYNTAX_LINE = re.compile(r"\(.*?, line (?P<line>\d+)\)")


@dataclass
class FileResult:
    """What loading and converting one DAG file gave."""

    file: str
    dags: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None


def list_dag_files(folder: Path) -> list[Path]:
    """The DAG files Airflow would parse in `folder`, sorted (a single file is itself)."""
    from airflow.utils.file import list_py_file_paths

    if folder.is_file():
        return [folder]
    return sorted(Path(p) for p in list_py_file_paths(str(folder), safe_mode=True))


def _error_line(message: str, path: str) -> int:
    line = 0
    for match in _LINE.finditer(message):
        if os.path.abspath(match["file"]) == os.path.abspath(path):
            line = int(match["line"])
    if not line:
        syntax = _SYNTAX_LINE.search(message)
        if syntax:
            line = int(syntax["line"])
    return line


def _classify_error(message: str) -> str:
    if "SyntaxError" in message or "IndentationError" in message:
        return "syntax"
    if "Cycle detected" in message or "AirflowDagCycleException" in message:
        return "cycle"
    if "DagBag import timeout" in message or "AirflowTaskTimeout" in message:
        return "timeout"
    return "import"


def _last_line(message: str) -> str:
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else message.strip()


def quiet_child() -> None:
    """In a child: warnings while importing a DAG file are warnings, as in Airflow, not
    errors (the parent may run with -W error); what DAG files and Airflow's logging print
    goes nowhere (results come back in a file), so the command's output stays readable."""
    import logging
    import sys
    import warnings

    warnings.resetwarnings()
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _child(path: str, package: str, out: str) -> None:
    """Load one DAG file in this (forked) process, convert its DAGs, write JSON to `out`."""
    code = 0
    try:
        quiet_child()
        payload = convert_file(path, package)
        atomic_write_text(out, json.dumps(payload, sort_keys=True), durable=False)
    except BaseException as exc:  # reported as a crash of this file only
        code = 1
        try:
            with open(out, "w", encoding="utf-8") as fh:
                json.dump({"dags": [], "errors": [{
                    "kind": "crash", "line": 1,
                    "message": f"the converter failed: {type(exc).__name__}: {exc}"}]}, fh)
        except OSError:
            pass
    finally:
        os._exit(code)


def convert_file(path: str, package: str) -> dict[str, Any]:
    """Load `path` with a DagBag and convert every DAG it defines (in this process)."""
    from airflow.dag_processing.dagbag import DagBag

    source = Path(path).read_text(encoding="utf-8", errors="replace")
    bag = DagBag(dag_folder=path, safe_mode=False, load_op_links=False)
    errors = []
    for file, message in sorted(bag.import_errors.items()):
        text = str(message)
        errors.append({"kind": _classify_error(text), "line": _error_line(text, file) or 1,
                       "message": _last_line(text)})
    dags = []
    for dag_id in sorted(bag.dags):
        dag = bag.dags[dag_id]
        try:
            result = DagConverter(dag, path, source, package).result()
        except Exception as exc:
            result = DagResult(dag_id=dag_id, file=path, line=1, status="failed",
                               error=f"the converter failed: {type(exc).__name__}: {exc}")
        dags.append(result.to_json())
    return {"dags": dags, "errors": errors}


_PREWARM = (
    "airflow.dag_processing.dagbag",
    "airflow.serialization.serialized_objects",
    "airflow.providers.standard.operators.python",
    "airflow.providers.standard.operators.bash",
    "airflow.providers.standard.operators.empty",
    "airflow.providers.standard.decorators.python",
    "flytepath_airflow.migrate.extract",
    "flytepath_airflow.migrate.rebuild",
    "flytepath_airflow.backends.airflow.dag_builder",
    "flytepath_airflow.operators.task",
    "flytepath_airflow.operators.control",
)


def _prewarm() -> None:
    """Import, once and before any fork, what every child needs: each child then starts
    with it in memory instead of importing it again."""
    import importlib

    for name in _PREWARM:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional part; the child reports what it misses
            continue
    default_engine()


def run_files(
    files: list[Path],
    work: Callable[[str, str], None] | None = None,
    *,
    package: str,
    timeout: float,
    jobs: int,
    progress: Callable[[Path], None] | None = None,
) -> list[FileResult]:
    """Convert each file in its own forked child, `jobs` at a time, each within `timeout`.

    :param files: DAG files.
    :param work: the child's function (path, out); defaults to loading and converting.
    :param package: the package generated task modules go into.
    :param timeout: seconds a file may take to import and convert.
    :param jobs: children at a time.
    :param progress: called with each file as it finishes.
    :returns: one FileResult per file, in the order of `files`.
    """
    _prewarm()
    ctx = multiprocessing.get_context("fork")
    results: dict[Path, FileResult] = {}
    with tempfile.TemporaryDirectory(prefix="flytepath-convert-") as tmp:
        pending = list(enumerate(files))
        running: dict[int, tuple[Path, Any, float, str]] = {}
        while pending or running:
            while pending and len(running) < jobs:
                index, path = pending.pop(0)
                out = os.path.join(tmp, f"{index}.json")
                target = work or (lambda p, o: _child(p, package, o))
                proc = ctx.Process(target=target, args=(str(path), out), daemon=True)
                proc.start()
                running[index] = (path, proc, time.monotonic(), out)
            time.sleep(0.01)
            for index in list(running):
                path, proc, started, out = running[index]
                if proc.is_alive():
                    if time.monotonic() - started > timeout:
                        proc.kill()
                        proc.join()
                        results[path] = FileResult(str(path), error={
                            "kind": "timeout", "line": 1,
                            "message": f"importing took longer than {timeout:g} seconds; the "
                                       "import was stopped"})
                        del running[index]
                        if progress:
                            progress(path)
                    continue
                proc.join()
                del running[index]
                results[path] = _read_result(path, out, proc.exitcode)
                if progress:
                    progress(path)
    return [results[path] for path in files]


def _read_result(path: Path, out: str, exitcode: int | None) -> FileResult:
    try:
        with open(out, encoding="utf-8") as fh:
            payload = json.load(fh)
    except (OSError, ValueError):
        return FileResult(str(path), error={
            "kind": "crash", "line": 1,
            "message": f"the process importing the file ended with exit code {exitcode} "
                       "before reporting"})
    result = FileResult(str(path), dags=list(payload.get("dags", [])))
    errors = payload.get("errors") or []
    if errors:
        result.error = errors[0]
    return result
