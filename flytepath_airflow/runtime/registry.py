"""The registry of immutable workflow versions.

Registering stores the compiled spec at
`<root>/specs/<project>/<domain>/<name>/<version>.json` (never overwritten: the version is
the content hash), records it in the metadata store, and refreshes the specs folder the
Airflow DAG loader reads with the newest version of the workflow. Any registered version
can be loaded again to run or rerun.

It lives in the runtime, not in `stores/`: it coordinates the blob store, the metadata
store and code bundles (`runtime.code`), and stores never import the runtime.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flytepath_airflow.config import load_settings
from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.ir.models import LaunchPlanSpec, WorkflowSpec
from flytepath_airflow.ir.names import check_name
from flytepath_airflow.ir.spec_io import (
    check_version,
    dump_launch_plan,
    dump_spec,
    loads_spec,
    with_version,
)
from flytepath_airflow.runtime.code import build_code_bundle, store_code_bundle
from flytepath_airflow.stores.blob import BlobStore
from flytepath_airflow.stores.metadata import MetadataStore
from flytepath_airflow.utils.atomic import write_if_changed
from flytepath_airflow.utils.suggest import closest_dotted, dotted_suffix_matches

REGISTER_HINT = "Register it with `flytepath register FILE.py --project P --domain D`."
_LISTED = 10
"""How many known names an unknown-name message lists."""


def default_specs_dir() -> str:
    """The configured specs folder (`config.load_settings`): the folder the DAG loader reads."""
    return str(load_settings().specs_dir)


def spec_key(project: str, domain: str, name: str, version: str) -> str:
    """Blob-store key of a registered spec version."""
    return f"specs/{project}/{domain}/{name}/{version}.json"


def check_spec_names(spec: WorkflowSpec) -> None:
    """Refuse a spec whose tenant, name or version breaks the naming rules (ADR 0033).

    The models check these when a spec is built or loaded; this catches a spec changed
    with `model_copy`, which skips validation, before its names become keys and files.

    :raises InvalidNameError: naming the field, the rule and a valid example.
    """
    where = f"workflow {spec.name!r}"
    check_name(spec.tenant.project, "project", where=f"{where}: tenant.project")
    check_name(spec.tenant.domain, "domain", where=f"{where}: tenant.domain")
    check_name(spec.name, "workflow", where="workflow name")
    check_name(spec.version, "version", where=f"{where}: version")


def loader_file_name(spec: WorkflowSpec) -> str:
    """The file in the specs folder that holds a workflow's newest version."""
    return f"{spec.tenant.project}.{spec.tenant.domain}.{spec.name}.json"


@dataclass(frozen=True)
class Registration:
    """What `register_spec` did."""

    spec: WorkflowSpec
    spec_uri: str
    created: bool
    loader_path: str | None


def register_spec(
    spec: WorkflowSpec,
    *,
    root: str,
    metadata_url: str | None = None,
    specs_dir: str | None = None,
    code_root: str | Path | None = None,
) -> Registration:
    """Store `spec` as an immutable version and point the DAG loader at it.

    With `code_root`, the .py files under it are stored with the version (a code
    bundle), so the version runs later with exactly this code. Re-registering identical
    code is a no-op that returns the same version (the first bundle stays).

    A spec whose version is not the hash of its content is refused (`SpecError`), so an
    edited spec can never take the version of the genuine one; a spec without a version
    gets its content hash.
    """
    check_spec_names(spec)  # before anything is stored or recorded
    spec = check_version(spec, f"workflow '{spec.name}'") if spec.version else \
        with_version(spec)
    store = BlobStore(root)
    key = spec_key(spec.tenant.project, spec.tenant.domain, spec.name, spec.version)
    text = dump_spec(spec)
    code_key = key.removesuffix(".json") + ".code.json"
    if code_root is not None and not store.exists(code_key):
        store.write_json(code_key, store_code_bundle(store, build_code_bundle(code_root)))
    if not store.exists(key):
        store.write_bytes(key, text.encode())
    meta = MetadataStore(metadata_url)
    try:
        created = meta.register_version(
            project=spec.tenant.project, domain=spec.tenant.domain, name=spec.name,
            version=spec.version, spec_uri=store.uri(key), spec_json=text,
        )
    finally:
        meta.close()
    loader_path = None
    if specs_dir != "":
        folder = Path(specs_dir or default_specs_dir())
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / loader_file_name(spec)
        write_if_changed(target, text)
        loader_path = str(target)
    return Registration(spec, store.uri(key), created, loader_path)


def register_launch_plan(
    plan: LaunchPlanSpec,
    *,
    root: str,
    metadata_url: str | None = None,
    specs_dir: str | None = None,
    code_root: str | Path | None = None,
) -> Registration:
    """Register a launch plan's workflow version and put the plan where the DAG loader reads.

    The plan's file (`project.domain.<plan>.json`) becomes its own DAG with its schedule;
    a plan named like its workflow replaces that workflow's file, so the workflow's DAG
    runs on the plan's schedule (Flyte's default launch plan).
    """
    workflow = register_spec(plan.workflow, root=root, metadata_url=metadata_url,
                             specs_dir=specs_dir, code_root=code_root)
    if specs_dir == "":
        return workflow
    tenant = plan.workflow.tenant
    check_name(plan.name, "launch_plan", where="launch plan name")
    folder = Path(specs_dir or default_specs_dir())
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{tenant.project}.{tenant.domain}.{plan.name}.json"
    text = dump_launch_plan(plan)
    write_if_changed(target, text)
    return Registration(plan.workflow, workflow.spec_uri, workflow.created, str(target))


def resolve_workflow_name(name: str, known: Iterable[str], *, where: str,
                          kind: str = "registered workflow", fix: str = REGISTER_HINT) -> str:
    """The full workflow name `name` stands for among `known`.

    A workflow is registered as `module.function`, so a user who wrote `@workflow def
    training_pipeline` in `ml_pipeline.py` naturally types `training_pipeline`: a name is
    taken as it is when it is one of `known`, else as the last part(s) of the one known name
    that ends with it after a dot.

    :param name: what the user wrote: `module.function` or its last part(s).
    :param known: the full names to choose from (e.g. the tenant's registered workflows).
    :param where: where `known` comes from, for the message (e.g. "ml/development").
    :param kind: what `known` are, for the message.
    :param fix: what to do when nothing matches, for the message.
    :raises FlytePathUserError: several known names end with `name` (the message lists
        them), or none does (the message names the closest and what is known).
    """
    names = sorted(set(known))
    matches = dotted_suffix_matches(name, names)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise FlytePathUserError(
            f"workflow name '{name}' is ambiguous in {where}: it is the last part of "
            f"{', '.join(matches)}. Give the full name of one of them."
        )
    close = closest_dotted(name, names)
    listing = ", ".join(names[:_LISTED]) + (f" and {len(names) - _LISTED} more"
                                           if len(names) > _LISTED else "")
    raise FlytePathUserError(
        f"no {kind} is named '{name}' in {where}."
        + (f" Did you mean '{close}'?" if close else "")
        + (f" Known there: {listing}." if names else "") + f" {fix}"
    )


def load_registered(
    name: str,
    *,
    project: str = "default",
    domain: str = "development",
    version: str | None = None,
    metadata_url: str | None = None,
) -> WorkflowSpec:
    """A registered version of a workflow (the newest when `version` is None).

    :param name: the workflow's full name, or its last part(s) when they are unique in the
        tenant (`resolve_workflow_name`).
    :param project: the tenant's project.
    :param domain: the tenant's domain.
    :param version: the version to load; the newest when None.
    :param metadata_url: the metadata store (default: the configured one).
    :raises FlytePathUserError: the name is unknown or ambiguous in the tenant, or the
        version is not registered.
    """
    meta = MetadataStore(metadata_url)
    try:
        known = [n for _p, _d, n in meta.list_workflows(project=project, domain=domain)]
        name = resolve_workflow_name(name, known, where=f"{project}/{domain}")
        if version is None:
            record = meta.latest_version(project, domain, name)
        else:
            record = meta.get_version(project, domain, name, version)
        known = [r.version for r in meta.list_versions(name, project=project, domain=domain)]
    finally:
        meta.close()
    if record is None:
        what = f"version {version} of " if version else ""
        raise FlytePathUserError(
            f"no {what}workflow '{name}' is registered in {project}/{domain}. "
            + (f"Registered versions: {', '.join(known)}." if known else
               "Register it with `flytepath register FILE.py --project P --domain D`.")
        )
    return loads_spec(record.spec_json, f"{name}@{record.version}")


def unregister(
    name: str,
    *,
    project: str = "default",
    domain: str = "development",
    version: str | None = None,
    specs_dir: str | None = None,
) -> Path:
    """Take a workflow or launch plan out of the specs folder, so its DAG goes away.

    Registered versions stay in the store and the metadata database (versions are
    immutable, and past runs keep their history); only the DAG loader stops building a DAG
    for it. Registering again brings it back. Returns the file removed.

    :param name: the workflow's name (`module.function`), its last part when that is unique
        in the tenant, or a launch plan's name.
    :param project: the tenant's project.
    :param domain: the tenant's domain.
    :param version: remove it only if this is the version the specs folder holds.
    :param specs_dir: the specs folder (default: the configured one).
    :raises FlytePathUserError: nothing of that name is in the folder, the name is
        ambiguous, or the folder holds another version.
    """
    check_name(project, "project", where="unregister: project")
    check_name(domain, "domain", where="unregister: domain")
    folder = Path(specs_dir or default_specs_dir())
    prefix = f"{project}.{domain}."
    names = sorted(p.name[len(prefix):-len(".json")]
                   for p in folder.glob(f"{prefix}*.json")) if folder.is_dir() else []
    matches = [n for n in names if n == name] or [n for n in names if n.rsplit(".", 1)[-1] == name]
    if len(matches) != 1:
        listing = ", ".join(names) or "none"
        problem = "matches several" if matches else "is not"
        raise FlytePathUserError(
            f"{name!r} {problem} in the specs folder {folder} for {project}/{domain} "
            f"(there: {listing}). Give the full name of one of them, or the right "
            "--project/--domain."
        )
    path = folder / f"{prefix}{matches[0]}.json"
    if version is not None:
        held = loads_spec(path.read_text(encoding="utf-8"), str(path)).version
        if held != version:
            raise FlytePathUserError(
                f"the specs folder holds version {held} of {matches[0]!r}, not {version}; "
                "nothing was removed. Leave out --version to remove whatever it holds."
            )
    path.unlink()
    return path


def registered_code_bundle(spec: WorkflowSpec, *, root: str) -> dict[str, str] | None:
    """The code bundle stored with a registered version, if any."""
    store = BlobStore(root)
    key = spec_key(spec.tenant.project, spec.tenant.domain, spec.name, spec.version)
    code_key = key.removesuffix(".json") + ".code.json"
    if not store.exists(code_key):
        return None
    return dict(store.read_json(code_key))
