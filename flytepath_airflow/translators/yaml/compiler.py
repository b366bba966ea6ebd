"""The YAML compiler: a whole workflow document into a checked, versioned WorkflowSpec.

`_Compiler` puts the readers together (interface, tasks, nodes) and reads the top level:
name, tenant, workflow inputs and outputs, defaults. The document is validated by the spec
models (a pydantic error is mapped back to its YAML line), checked by
`translators.checks.check_workflow` (with `locate()` giving `file:line`) and returned with
its content-hash version.

A document with a top-level `schema_version` is not this format but a compiled spec in
YAML (the IR's own fields, as `flytepath convert` writes them; ADR 0024): it is validated
by the spec models and returned as it is (a launch plan document gives its workflow).

Must not import: airflow, kubernetes, the sdk, or user code (python tasks are named by
"module:qualname" and never imported here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flytepath_airflow.errors import SpecError
from flytepath_airflow.ir.models import (
    SCHEMA_VERSION,
    InputRef,
    OutputRef,
    SimpleType,
    WorkflowSpec,
)
from flytepath_airflow.ir.names import check_name
from flytepath_airflow.ir.spec_io import parse_spec_document, with_version
from flytepath_airflow.translators.checks import binding_type, check_workflow
from flytepath_airflow.translators.yaml.loader import LocatedYaml, YamlPath, format_path
from flytepath_airflow.translators.yaml.names import IDENT, WORKFLOW_NAME
from flytepath_airflow.translators.yaml.nodes import REF_OPEN, NodeReader
from flytepath_airflow.translators.yaml.reader import short_json
from flytepath_airflow.translators.yaml.tasks import TaskReader

_TOP_KEYS = ("name", "description", "project", "domain", "labels", "inputs", "outputs",
             "defaults", "tasks", "nodes")
_DEFAULT_KEYS = ("image", "retries", "retry_delay", "timeout", "interruptible", "resources",
                 "env")


class _Compiler(TaskReader, NodeReader):
    """Reads the top level of a workflow document and puts tasks and nodes together."""

    def compile(self, project: str | None, domain: str | None) -> WorkflowSpec:
        if isinstance(self.doc.data, dict) and "schema_version" in self.doc.data:
            return self.spec_document(project, domain)
        top = self.mapping(self.doc.data, (), _TOP_KEYS, required=("name", "tasks", "nodes"),
                           what="a workflow file")
        doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        doc["name"] = self.name(top["name"], ("name",), WORKFLOW_NAME, "the workflow name",
                                "letters, digits, _, - and . (never '..'), "
                                "at most 120 characters")
        for key in ("description", "labels"):
            if key in top:
                doc[key] = top[key]
                self.link((key,), (key,))
        tenant = {}
        for key, override in (("project", project), ("domain", domain)):
            if override is not None:
                tenant[key] = check_name(override, key,
                                         where=f"{self.doc.source}: the {key} override")
            elif key in top:
                tenant[key] = self.text(top[key], (key,), key)
                self.link(("tenant", key), (key,))
        doc["tenant"] = tenant

        inputs = self.variables(top.get("inputs"), ("inputs",), ("interface", "inputs"),
                                outputs=False)
        defaults = self.mapping(top.get("defaults") or {}, ("defaults",), _DEFAULT_KEYS,
                                what="defaults")
        tasks = top["tasks"]
        if not isinstance(tasks, dict) or not tasks:
            raise self.error(("tasks",), "tasks must be a non-empty mapping of task names to "
                             "task definitions.")
        doc["tasks"] = {name: self.task(name, raw, defaults) for name, raw in tasks.items()}
        nodes = top["nodes"]
        if not isinstance(nodes, list) or not nodes:
            raise self.error(("nodes",), "nodes must be a non-empty list of "
                             "{id, task, inputs, after} entries.")
        doc["nodes"] = [self.node(i, raw) for i, raw in enumerate(nodes)]
        doc["interface"] = {"inputs": inputs, "outputs": []}
        spec = self.validate(doc)
        outputs, bindings = self.workflow_outputs(top.get("outputs"), spec)
        doc["interface"]["outputs"] = outputs
        doc["outputs"] = bindings
        spec = self.validate(doc)
        check_workflow(spec, self.locate)
        return with_version(spec)

    def spec_document(self, project: str | None, domain: str | None) -> WorkflowSpec:
        """A compiled spec written as YAML (what `flytepath convert` writes, ADR 0024).

        It is the IR's own document, already compiled: it is validated by the models, not
        compiled again; a launch plan document gives its workflow.
        """
        data = dict(self.doc.data)
        if data.get("kind") == "launch_plan":
            workflow = data.get("workflow")
            if not isinstance(workflow, dict):
                raise self.error(("workflow",), "a launch plan document needs its 'workflow'.")
            data = dict(workflow)
        # Compiling versions it again below, so a version it claims is not checked.
        spec = parse_spec_document(data, self.doc.source, verify=False)
        overrides = {k: v for k, v in (("project", project), ("domain", domain))
                     if v is not None}
        for key, value in overrides.items():
            check_name(value, key, where=f"{self.doc.source}: the {key} override")
        tenant = spec.tenant.model_copy(update=overrides)
        return with_version(spec.model_copy(update={"tenant": tenant}))

    def workflow_outputs(self, value: Any, spec: WorkflowSpec
                         ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Outputs as `name: ${{ ref }}` (type taken from the ref) or {type, value, ...}."""
        if value is None:
            return [], {}
        if not isinstance(value, dict):
            raise self.error(("outputs",), "outputs must be a mapping of output names to "
                             "references or {type, value} mappings.")
        variables: list[dict[str, Any]] = []
        bindings: dict[str, Any] = {}
        for index, (name, raw) in enumerate(value.items()):
            path: YamlPath = ("outputs", name)
            self.name(name, path, IDENT, "the output name", "letters, digits and _")
            self.link(("interface", "outputs", index), path)
            var: dict[str, Any] = {"name": name}
            if isinstance(raw, dict):
                self.mapping(raw, path, ("type", "value", "description"),
                             required=("type", "value"), what="a workflow output")
                var["type"] = self.type_of(raw["type"], (*path, "type"), name)
                if "description" in raw:
                    var["description"] = raw["description"]
                    self.link(("interface", "outputs", index, "description"),
                              (*path, "description"))
                binding = self.binding(raw["value"], (*path, "value"), ("outputs", name))
            else:
                if not (isinstance(raw, str) and REF_OPEN.search(raw)):
                    raise self.error(path, "write a reference like "
                                     "${{ nodes.<id>.outputs.<name> }}, or the long form "
                                     "{type: ..., value: ...} for any other value.")
                binding = self.binding(raw, path, ("outputs", name))
                ref: InputRef | OutputRef = (
                    InputRef(name=binding["name"]) if binding["kind"] == "input"
                    else OutputRef(node=binding["node"], output=binding["output"]))
                # An unknown reference keeps json here; check_workflow then names the problem.
                var["type"] = binding_type(spec, ref) or SimpleType(name="json")
            variables.append(var)
            bindings[name] = binding
        return variables, bindings

    def validate(self, doc: dict[str, Any]) -> WorkflowSpec:
        try:
            return WorkflowSpec.model_validate(doc)
        except ValidationError as exc:
            lines = []
            for err in exc.errors()[:5]:
                path = self.yaml_path_of([p for p in err["loc"] if isinstance(p, (str, int))])
                where = path if path is not None else ()
                shown = f", got {short_json(err['input'])}" if "input" in err else ""
                lines.append(f"{self.where(where)}: {format_path(where)}: "
                             f"{err['msg']}{shown}.")
            more = f"\n... and {exc.error_count() - 5} more" if exc.error_count() > 5 else ""
            raise SpecError("\n".join(lines) + more) from None



def compile_yaml(path: str | Path, *, project: str | None = None,
                 domain: str | None = None) -> WorkflowSpec:
    """Compile a typed YAML workflow file into a checked, versioned WorkflowSpec.

    Every error message starts with or contains "file:line".

    :param path: the YAML file; messages name it as given.
    :param project: the tenant project; overrides the file's `project` (default "default").
    :param domain: the tenant domain; overrides the file's `domain` (default "development").
    :raises SpecError: the file is not valid YAML or does not follow the format (unknown
        keys, wrong shapes, invalid types, durations, quantities, references).
    :raises TypeMismatchError: a default or a literal does not match its type, or a
        binding's type cannot feed its target.
    :raises CompileError: the graph is wrong (see `translators.checks.check_workflow`).
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{source}: no such file. Check the path of the workflow file."
                        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{source}: cannot be read ({exc}).") from None
    return _Compiler(LocatedYaml(source, text)).compile(project, domain)


def compile_yaml_text(text: str, source: str = "<yaml>", *, project: str | None = None,
                      domain: str | None = None) -> WorkflowSpec:
    """Compile YAML workflow text (as `compile_yaml`), naming it `source` in messages.

    :param text: the YAML document.
    :param source: the name messages give the text, e.g. a file name.
    :param project: the tenant project; overrides the document's `project`.
    :param domain: the tenant domain; overrides the document's `domain`.
    :raises SpecError, TypeMismatchError, CompileError: as `compile_yaml`.
    """
    return _Compiler(LocatedYaml(source, text)).compile(project, domain)



__all__ = ["compile_yaml", "compile_yaml_text"]
