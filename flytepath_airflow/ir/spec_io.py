"""Canonical JSON, content-hash versions, and loading specs of any schema version.

The version of a spec is the sha256 of its canonical JSON: sorted keys, compact
separators, fields at their default value left out (so a new optional field does not
change old hashes), with `version` and `tenant` removed. Task code enters the hash
through each task's `code_digest`. The same code and spec give the same version on any
machine. The tenant is left out so that promoting a workflow from development to
production keeps its version.

A loaded spec that claims a version is checked against that hash (`check_version`): a
spec edited after it was compiled would otherwise run, and register, under a version that
names other content. A spec with no version claims nothing and is accepted.

Must not import: airflow, kubernetes, the sdk, or user code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flytepath_airflow.errors import SpecError
from flytepath_airflow.ir.models import SCHEMA_VERSION, LaunchPlanSpec, WorkflowSpec
from flytepath_airflow.utils.limits import InputLimitError, loads_json

VERSION_LENGTH = 16

# schema_version N -> function turning a raw N document into a raw N+1 document.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def spec_document(spec: WorkflowSpec) -> dict[str, Any]:
    """The JSON document of a spec, defaults left out, schema_version always present."""
    doc = spec.model_dump(mode="json", exclude_defaults=True)
    doc["schema_version"] = spec.schema_version
    return doc


def canonical_json(doc: Any) -> str:
    """Compact JSON with sorted keys: the form that is hashed."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_version(spec: WorkflowSpec) -> str:
    """The content-hash version of a spec (ignores its current version and tenant)."""
    doc = spec_document(spec)
    doc.pop("version", None)
    doc.pop("tenant", None)
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()[:VERSION_LENGTH]


def with_version(spec: WorkflowSpec) -> WorkflowSpec:
    """Return the spec with its content-hash version filled in."""
    return spec.model_copy(update={"version": compute_version(spec)})


def _refuse_edited(source: str, what: str, claimed: str, computed: str, fix: str) -> None:
    """Raise SpecError when a stored version is not the hash of the content it came with.

    :param fix: the rest of the message, after "it was edited after it was compiled".
    """
    if computed != claimed:
        raise SpecError(f"{source} claims {what} {claimed} but its content hashes to "
                        f"{computed}: it was edited after it was compiled{fix}")


def check_version(spec: WorkflowSpec, source: str) -> WorkflowSpec:
    """Return `spec` when its version is the hash of its content (or it claims none).

    :param spec: a spec as loaded.
    :param source: where it was loaded from, for the error.
    :raises SpecError: the claimed version is not the content's hash.
    """
    if spec.version:
        _refuse_edited(source, "version", spec.version, compute_version(spec),
                       ", so its version no longer names what it holds. Recompile it with "
                       "`flytepath compile` instead of editing the compiled spec.")
    return spec


def check_launch_plan_version(plan: LaunchPlanSpec, source: str) -> LaunchPlanSpec:
    """Return `plan` when its version is the hash of its settings and workflow (or none).

    :param plan: a launch plan as loaded (its workflow already checked).
    :param source: where it was loaded from, for the error.
    :raises SpecError: the claimed version is not the hash.
    """
    if plan.version:
        _refuse_edited(source, "launch plan version", plan.version, launch_plan_version(plan),
                       ". Recompile it with `flytepath compile` instead of editing the "
                       "compiled file.")
    return plan


def dump_spec(spec: WorkflowSpec) -> str:
    """Serialize a spec as stable, readable JSON (byte-identical for identical specs)."""
    return json.dumps(spec_document(spec), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors()[:5]:
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  at {path}: {err['msg']}")
    more = f"\n  ... and {exc.error_count() - 5} more" if exc.error_count() > 5 else ""
    return (
        f"{source} is not a valid FlytePath spec:\n" + "\n".join(lines) + more +
        "\nRecompile it with `flytepath compile`, or fix the fields named above."
    )


def launch_plan_document(plan: LaunchPlanSpec) -> dict[str, Any]:
    """The JSON document of a launch plan (its workflow as spec_document gives it)."""
    doc = plan.model_dump(mode="json", exclude_defaults=True, exclude={"workflow"})
    doc["schema_version"] = plan.schema_version
    doc["kind"] = plan.kind
    doc["workflow"] = spec_document(plan.workflow)
    return doc


def launch_plan_version(plan: LaunchPlanSpec) -> str:
    """The content-hash version of a launch plan: its settings and its workflow's version."""
    doc = launch_plan_document(plan)
    doc.pop("version", None)
    doc["workflow"] = {"name": plan.workflow.name,
                       "version": plan.workflow.version or compute_version(plan.workflow)}
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()[:VERSION_LENGTH]


def dump_launch_plan(plan: LaunchPlanSpec) -> str:
    """Serialize a launch plan as stable, readable JSON."""
    return json.dumps(launch_plan_document(plan), sort_keys=True, indent=2,
                      ensure_ascii=False) + "\n"


def is_launch_plan_document(doc: Any) -> bool:
    """True for the JSON document of a launch plan."""
    return isinstance(doc, dict) and doc.get("kind") == "launch_plan"


def parse_launch_plan_document(doc: Any, source: str = "launch plan", *,
                               verify: bool = True) -> LaunchPlanSpec:
    """Validate a raw launch-plan document into a LaunchPlanSpec.

    :param doc: the raw JSON document.
    :param source: where it came from, for errors.
    :param verify: check the plan's and its workflow's versions (`check_version`).
    """
    if not is_launch_plan_document(doc):
        raise SpecError(f"{source} is not a FlytePath launch plan (no \"kind\": "
                        "\"launch_plan\").")
    workflow = parse_spec_document(doc.get("workflow"), f"{source} workflow", verify=verify)
    try:
        plan = LaunchPlanSpec.model_validate({**doc, "workflow": workflow})
    except ValidationError as exc:
        raise SpecError(_format_validation_error(exc, source)) from None
    return check_launch_plan_version(plan, source) if verify else plan


def load_document(source: str | Path) -> Any:
    """The raw JSON document of a spec or launch-plan file."""
    return _decode(read_text(str(source)), str(source))


def _decode(text: str, source: str) -> Any:
    """JSON text within `utils.limits` (finite numbers, 64-bit integers, bounded size and
    depth, text UTF-8 can write), or a SpecError saying where it breaks them."""
    try:
        return loads_json(text, check_all=False)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{source} line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg}). "
            "Recompile it with `flytepath compile`."
        ) from None
    except InputLimitError as exc:
        raise SpecError(f"{source}: {exc}. Recompile it with `flytepath compile`, or fix "
                        "the value named above.") from None


def parse_spec_document(doc: Any, source: str = "spec", *, verify: bool = True) -> WorkflowSpec:
    """Validate a raw document (any known schema_version) into a WorkflowSpec.

    A launch plan's document gives the workflow it launches, so a task reading its DAG's
    spec file works the same for workflow and launch-plan DAGs.

    :param doc: the raw JSON document.
    :param source: where it came from, for errors.
    :param verify: refuse a claimed version that is not the content's hash
        (`check_version`). Only a caller that versions the spec again itself (compiling a
        converted document) passes False. A document migrated from an older
        schema_version is not checked: its version was hashed from the old form.
    """
    if is_launch_plan_document(doc):
        return parse_launch_plan_document(doc, source, verify=verify).workflow
    if not isinstance(doc, dict):
        raise SpecError(f"{source} must be a JSON object, found {type(doc).__name__}.")
    version = doc.get("schema_version")
    if not isinstance(version, int):
        raise SpecError(
            f"{source} has no integer 'schema_version'; is it a FlytePath spec? "
            "Compile workflows with `flytepath compile`."
        )
    if version > SCHEMA_VERSION:
        raise SpecError(
            f"{source} has schema_version {version}, newer than this FlytePath understands "
            f"({SCHEMA_VERSION}). Upgrade airflow-provider-flytepath where it is loaded."
        )
    migrated = version < SCHEMA_VERSION
    while version < SCHEMA_VERSION:
        migrate = MIGRATIONS.get(version)
        if migrate is None:
            raise SpecError(f"{source}: no migration from schema_version {version}.")
        doc = migrate(doc)
        version = doc["schema_version"]
    try:
        spec = WorkflowSpec.model_validate(doc)
    except ValidationError as exc:
        raise SpecError(_format_validation_error(exc, source)) from None
    return check_version(spec, source) if verify and not migrated else spec


def load_spec(source: str | Path) -> WorkflowSpec:
    """Load a spec from a JSON file path (or an fsspec URL)."""
    return parse_spec_document(load_document(source), str(source))


def loads_spec(text: str, source: str = "spec") -> WorkflowSpec:
    """Load a spec from JSON text.

    :param text: the spec's JSON.
    :param source: the name messages give the text.
    :raises SpecError: the text is not JSON, breaks a bound of `utils.limits`, or is not a
        valid spec; the message names the position or the field.
    """
    return parse_spec_document(_decode(text, source), source)


def read_text(uri: str) -> str:
    """Read a local path or an fsspec URL as UTF-8 text."""
    if "://" not in uri:
        try:
            return Path(uri).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError(f"spec file {uri} does not exist.") from None
        except UnicodeDecodeError as exc:
            raise SpecError(f"{uri}: byte {exc.start + 1} is not UTF-8 ({exc.reason}). "
                            "Recompile it with `flytepath compile`.") from None
    import fsspec

    try:
        with fsspec.open(uri, "r", encoding="utf-8") as fh:
            return str(fh.read())
    except FileNotFoundError:
        raise SpecError(f"spec {uri} does not exist.") from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of WorkflowSpec (committed under ir/schema/)."""
    return WorkflowSpec.model_json_schema()
