"""What the CLI's targets name: `FILE.py:NAME`, `package.module:NAME`, `spec.yaml`, `spec.json`.

Importing a file makes its folder (or its package root) importable, here and in the child
processes started from here, so tasks resolve the same way in `flytepath-execute`.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any, Literal, overload

from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import LaunchPlanSpec, TenantSpec, WorkflowSpec
from flytepath_airflow.ir.names import check_name
from flytepath_airflow.ir.spec_io import load_spec
from flytepath_airflow.sdk.compiler import compile_workflow, task_spec_workflow
from flytepath_airflow.sdk.launch_plan import LaunchPlan
from flytepath_airflow.sdk.task import PythonTask
from flytepath_airflow.sdk.workflow import PythonWorkflow
from flytepath_airflow.translators.yaml import compile_yaml


def _module_name_for(path: Path) -> tuple[str, Path]:
    """The dotted module name of a .py file and the directory to put on sys.path."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), folder


def _add_import_root(folder: Path) -> None:
    text = str(folder)
    if text not in sys.path:
        sys.path.insert(0, text)
    # Child processes (flytepath-execute, Airflow workers started from here) need it too.
    current = os.environ.get("PYTHONPATH", "")
    if text not in current.split(os.pathsep):
        os.environ["PYTHONPATH"] = text + (os.pathsep + current if current else "")


def import_source(source: str, target: str | None = None) -> Any:
    """Import `FILE.py` (its folder or package root becomes importable) or a module name."""
    target = target or source
    if source.endswith(".py"):
        path = Path(source)
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.exists():
            raise FlytePathUserError(f"file {source} does not exist (looked in {path}).")
        module_name, import_root = _module_name_for(path.resolve())
        _add_import_root(import_root)
    else:
        module_name = source
        _add_import_root(Path.cwd())
    try:
        return importlib.import_module(module_name)
    except FlytePathUserError:
        raise
    except SyntaxError as exc:
        raise FlytePathUserError(
            f"{exc.filename}:{exc.lineno}: syntax error: {exc.msg}. Fix the file and retry."
        ) from None
    except ImportError as exc:
        raise FlytePathUserError(
            f"cannot import {module_name!r} for {target!r}: {exc}. Check the path, or "
            "install the package that provides it."
        ) from None


def code_root_of(spec: WorkflowSpec) -> Path | None:
    """The import root (folder on sys.path) the spec's Python tasks were loaded from."""
    for task in spec.tasks.values():
        if task.fn:
            module = sys.modules.get(task.fn.partition(":")[0])
            path = getattr(module, "__file__", None)
            if path:
                return _module_name_for(Path(path).resolve())[1]
    return None


def load_module_workflows(source: str, *, project: str = "default",
                          domain: str = "development") -> list[WorkflowSpec]:
    """Compile every @workflow defined in a file or module (for `flytepath register`)."""
    module = import_source(source)
    workflows = [
        value for value in vars(module).values()
        if isinstance(value, PythonWorkflow) and value.fn.__module__ == module.__name__
    ]
    if not workflows:
        raise FlytePathUserError(
            f"{source} defines no @workflow; register FILE.py:NAME to register a task."
        )
    return [compile_workflow(wf, project=project, domain=domain) for wf in workflows]


def load_module_launch_plans(source: str, *, project: str = "default",
                             domain: str = "development") -> list[LaunchPlanSpec]:
    """Compile every LaunchPlan a file or module defines (for `flytepath register`)."""
    module = import_source(source)
    plans = sorted((value for value in vars(module).values() if isinstance(value, LaunchPlan)),
                   key=lambda plan: plan.name)
    return [plan.compile(project, domain) for plan in plans]


@overload
def load_target(target: str, *, project: str | None = None, domain: str | None = None,
                allow_launch_plan: Literal[False] = False) -> WorkflowSpec: ...


@overload
def load_target(target: str, *, project: str | None = None, domain: str | None = None,
                allow_launch_plan: Literal[True]) -> WorkflowSpec | LaunchPlanSpec: ...


def load_target(target: str, *, project: str | None = None, domain: str | None = None,
                allow_launch_plan: bool = False) -> WorkflowSpec | LaunchPlanSpec:
    """Compile or load whatever a CLI target names into a spec.

    `FILE.py:NAME` (relative to the current directory; its folder becomes importable),
    `package.module:NAME`, `spec.yaml` / `spec.yml`, or a compiled `spec.json`. NAME is a
    workflow, a task (run as a one-node workflow) or, with `allow_launch_plan=True`, a
    LaunchPlan, which compiles to a LaunchPlanSpec (its `workflow` is the compiled
    WorkflowSpec). Without `allow_launch_plan`, a launch plan target is a user error that
    names its workflow.
    """
    lowered = target.lower()
    if lowered.endswith((".yaml", ".yml")):
        return compile_yaml(target, project=project, domain=domain)
    if lowered.endswith(".json"):
        spec = load_spec(target)
        if project is not None or domain is not None:
            where = f"{target}: the tenant override"
            tenant = TenantSpec(
                project=spec.tenant.project if project is None
                else check_name(project, "project", where=where),
                domain=spec.tenant.domain if domain is None
                else check_name(domain, "domain", where=where))
            spec = spec.model_copy(update={"tenant": tenant})
        return spec
    source, sep, attr = target.rpartition(":")
    if not sep or not source or not attr:
        raise FlytePathUserError(
            f"cannot tell what {target!r} names. Use FILE.py:WORKFLOW, "
            "package.module:WORKFLOW, a .yaml spec or a compiled .json spec."
        )
    module = import_source(source, target)
    module_name = module.__name__
    obj = getattr(module, attr, None)
    if obj is None:
        found = sorted(
            name for name, value in vars(module).items()
            if isinstance(value, (PythonWorkflow, PythonTask, LaunchPlan))
        )
        raise FlytePathUserError(
            f"{module_name} has no workflow or task named '{attr}' (nor a launch plan). "
            f"Found: {', '.join(found) or 'none'}."
        )
    kwargs = {"project": "default" if project is None else project,
              "domain": "development" if domain is None else domain}
    if isinstance(obj, PythonWorkflow):
        return compile_workflow(obj, **kwargs)
    if isinstance(obj, PythonTask):
        return task_spec_workflow(obj, **kwargs)
    if isinstance(obj, LaunchPlan):
        if not allow_launch_plan:
            raise FlytePathUserError(
                f"{target} is launch plan '{obj.name}', which this command does not take. "
                f"Name its workflow instead ({module_name}:{obj.workflow.fn.__name__})."
            )
        return obj.compile(**kwargs)
    raise FlytePathUserError(
        f"{target} is a {type(obj).__name__}, not a @workflow, @task or launch plan."
    )


__all__ = [
    "code_root_of",
    "import_source",
    "load_module_launch_plans",
    "load_module_workflows",
    "load_target",
]
