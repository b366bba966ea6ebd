"""What the DAG files in `dags/` call: one DAG per compiled spec in the specs folder.

Airflow 3's Python DAG importer keeps either every DAG of a file or none: a DAG file that
raises loses all its DAGs, and the import error is recorded against that file, which also
marks the DAGs last parsed from it stale. So one broken spec must not raise in the file
that builds the DAGs. Instead (ADR 0006):

- `load_dags()` (called by `dags/flytepath_dags.py`) builds and validates every good spec
  and skips, with a log line, every spec that fails to load, build or validate (a bad cron
  expression, an unknown timetable, anything raised while building);
- `raise_spec_errors()` (called by `dags/flytepath_spec_errors.py`, a file that defines no
  DAG) checks, builds and validates the same folder and raises one `SpecFolderError` naming
  each broken file and its problem, which Airflow shows as that file's import error. Nothing
  is hidden by it; the price is that each spec is built twice per parse cycle, once in each
  file (see benchmarks/parse_time.py).

Must not import user code; imports Airflow only when a DAG is built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flytepath_airflow.backends.airflow.dag_builder import (
    build_dag,
    build_launch_plan_dag,
    check_spec,
    launch_plan_dag_id,
)
from flytepath_airflow.config import load_settings
from flytepath_airflow.errors import FlytePathError, FlytePathUserError
from flytepath_airflow.ir.spec_io import (
    is_launch_plan_document,
    load_document,
    parse_launch_plan_document,
    parse_spec_document,
)
from flytepath_airflow.platform.naming import dag_id_for
from flytepath_airflow.platform.settings import AirflowBackendSettings

if TYPE_CHECKING:
    from flytepath_airflow.ir.models import LaunchPlanSpec, WorkflowSpec

logger = logging.getLogger(__name__)



class SpecFolderError(FlytePathUserError):
    """One or more spec files in the specs folder cannot become DAGs."""


@dataclass(frozen=True)
class SpecFile:
    """A spec file of the folder, loaded and checked, or the reason it is broken."""

    path: Path
    spec: WorkflowSpec | None
    dag_id: str | None
    error: str | None
    launch_plan: LaunchPlanSpec | None = None


def specs_dir() -> Path:
    """The specs folder every FlytePath process agrees on (`config.load_settings`)."""
    return load_settings().specs_dir


def scan_specs(folder: str | Path | None = None) -> list[SpecFile]:
    """Load and check every `*.json` spec of a folder (sorted by name; not recursive).

    Two files of the same workflow (the same DAG id) are ambiguous: the first by name wins
    and the other is reported as broken, naming both.
    """
    root = Path(folder) if folder is not None else specs_dir()
    if not root.is_dir():
        logger.warning("FlytePath specs folder %s does not exist; no FlytePath DAGs", root)
        return []
    seen: dict[str, Path] = {}
    files: list[SpecFile] = []
    for path in sorted(root.glob("*.json")):
        plan = None
        try:
            doc = load_document(path)
            if is_launch_plan_document(doc):
                plan = parse_launch_plan_document(doc, str(path))
                spec = plan.workflow
            else:
                spec = parse_spec_document(doc, str(path))
            check_spec(spec)
        except FlytePathError as exc:
            files.append(SpecFile(path, None, None, str(exc)))
            continue
        except Exception as exc:  # a spec must never take the other DAGs down with it
            files.append(SpecFile(path, None, None, f"{type(exc).__name__}: {exc}"))
            continue
        dag_id = launch_plan_dag_id(plan) if plan is not None else dag_id_for(spec)
        if dag_id in seen:
            files.append(SpecFile(path, None, dag_id, (
                f"{path.name} defines DAG {dag_id!r} (workflow {spec.name!r}, project "
                f"{spec.tenant.project!r}, domain {spec.tenant.domain!r}), which "
                f"{seen[dag_id].name} already defines. Keep one spec per workflow and tenant "
                "in the folder; Airflow keeps the history of earlier versions."
            )))
            continue
        seen[dag_id] = path
        files.append(SpecFile(path, spec, dag_id, None, plan))
    return files


def _build(item: SpecFile, settings: AirflowBackendSettings) -> Any:
    """Build and validate one spec's DAG, as Airflow's DagBag will when it bags it.

    `dag.validate()` is what rejects, for example, a timetable Airflow cannot use; run here,
    its error stays with this spec instead of failing the whole DAG file.
    """
    assert item.spec is not None
    if item.launch_plan is not None:
        dag = build_launch_plan_dag(item.launch_plan, settings, spec_uri=str(item.path))
    else:
        dag = build_dag(item.spec, settings, spec_uri=str(item.path))
    dag.validate()
    return dag


def _build_error(item: SpecFile, exc: Exception) -> str:
    detail = str(exc) if isinstance(exc, FlytePathError) else f"{type(exc).__name__}: {exc}"
    return (f"building the DAG of {item.path.name} failed: {detail}. Fix the spec (recompile "
            "it), or remove it with `flytepath unregister`.")


def load_dags(
    folder: str | Path | None = None, settings: AirflowBackendSettings | None = None
) -> dict[str, Any]:
    """Build one DAG per good spec of the folder: {dag_id: DAG}. Broken specs are skipped.

    A spec that fails to load, to build or to validate is logged and left out; the
    other DAGs of the folder load as usual, and `raise_spec_errors` reports it.
    """
    if settings is None:
        settings = AirflowBackendSettings.from_airflow_config()
    dags: dict[str, Any] = {}
    for item in scan_specs(folder):
        if item.spec is None or item.dag_id is None:
            logger.error("skipping FlytePath spec %s: %s", item.path, item.error)
            continue
        try:
            dags[item.dag_id] = _build(item, settings)
        except Exception as exc:  # one spec must never take the other DAGs down with it
            logger.error("skipping FlytePath spec %s: %s", item.path, _build_error(item, exc))
    return dags


def spec_errors(
    folder: str | Path | None = None, settings: AirflowBackendSettings | None = None
) -> dict[str, str]:
    """{spec file path: problem} for every spec of the folder that cannot become a DAG.

    Each good spec is built and validated once more here (in the errors file's own parse),
    so a spec that fails only when its DAG is built is reported too.
    """
    errors: dict[str, str] = {}
    for item in scan_specs(folder):
        if item.error:
            errors[str(item.path)] = item.error
            continue
        if settings is None:
            settings = AirflowBackendSettings.from_airflow_config()
        try:
            _build(item, settings)
        except Exception as exc:  # reported, never raised past this spec
            errors[str(item.path)] = _build_error(item, exc)
    return errors


def raise_spec_errors(folder: str | Path | None = None) -> None:
    """Raise SpecFolderError naming every broken spec file and its problem (if any)."""
    errors = spec_errors(folder)
    if not errors:
        return
    lines = [
        f"{len(errors)} FlytePath spec file(s) could not become DAGs; the other FlytePath "
        "DAGs are loaded as usual.",
    ]
    for path, problem in errors.items():
        lines.append(f"\n--- {path}\n{problem}")
    raise SpecFolderError("\n".join(lines))
