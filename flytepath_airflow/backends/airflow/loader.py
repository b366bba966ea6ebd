"""What the DAG files in `dags/` call: one DAG per compiled spec in the specs folder.

Airflow 3's Python DAG importer keeps either every DAG of a file or none: a DAG file that
raises loses all its DAGs, and the import error is recorded against that file, which also
marks the DAGs last parsed from it stale. So one broken spec must not raise in the file
that builds the DAGs. Instead (ADR 0005):

- `load_dags()` (called by `dags/flytepath_dags.py`) builds every good spec and skips, with
  a log line, every spec that fails to load or build;
- `raise_spec_errors()` (called by `dags/flytepath_spec_errors.py`, a file that defines no
  DAG) checks the same folder and raises one `SpecFolderError` naming each broken file and
  its problem, which Airflow shows as that file's import error. Nothing is hidden by it.

Must not import user code; imports Airflow only when a DAG is built.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flytepath_airflow.backends.airflow.dag_builder import (
    build_dag,
    build_launch_plan_dag,
    check_spec,
    launch_plan_dag_id,
)
from flytepath_airflow.errors import FlytePathError, FlytePathUserError
from flytepath_airflow.ir.spec_io import (
    is_launch_plan_document,
    load_document,
    parse_launch_plan_document,
    parse_spec_document,
)
from flytepath_airflow.platform.naming import dag_id_for
from flytepath_airflow.platform.settings import (
    CONFIG_SECTION,
    AirflowBackendSettings,
    default_specs_dir,
)

if TYPE_CHECKING:
    from flytepath_airflow.ir.models import LaunchPlanSpec, WorkflowSpec

logger = logging.getLogger(__name__)

SPECS_DIR_ENV = "FLYTEPATH_SPECS_DIR"


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
    """The specs folder: FLYTEPATH_SPECS_DIR, else `[flytepath] specs_dir`, else the default."""
    env = os.environ.get(SPECS_DIR_ENV)
    if env:
        return Path(env)
    try:
        from airflow.configuration import conf

        configured = conf.get(CONFIG_SECTION, "specs_dir", fallback=None)
    except ImportError:  # rendering without Airflow installed
        configured = None
    return Path(configured) if configured else Path(default_specs_dir())


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


def load_dags(
    folder: str | Path | None = None, settings: AirflowBackendSettings | None = None
) -> dict[str, Any]:
    """Build one DAG per good spec of the folder: {dag_id: DAG}. Broken specs are skipped."""
    if settings is None:
        settings = AirflowBackendSettings.from_airflow_config()
    dags: dict[str, Any] = {}
    for item in scan_specs(folder):
        if item.spec is None or item.dag_id is None:
            logger.error("skipping FlytePath spec %s: %s", item.path, item.error)
            continue
        try:
            if item.launch_plan is not None:
                dags[item.dag_id] = build_launch_plan_dag(item.launch_plan, settings,
                                                          spec_uri=str(item.path))
            else:
                dags[item.dag_id] = build_dag(item.spec, settings, spec_uri=str(item.path))
        except Exception:
            logger.exception("skipping FlytePath spec %s: building its DAG failed", item.path)
    return dags


def spec_errors(folder: str | Path | None = None) -> dict[str, str]:
    """{spec file path: problem} for every spec of the folder that cannot become a DAG."""
    return {str(item.path): item.error for item in scan_specs(folder) if item.error}


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
