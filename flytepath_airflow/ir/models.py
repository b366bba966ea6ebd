"""The FlytePath spec (IR): frozen, strict pydantic models that are pure data.

A spec names code by import path ("pkg.mod:fn") and never holds callables or Airflow
objects, so `build_dag(spec)` and the runtime can load it without the user's code.
The schema only grows: new fields are optional, and a field is never renamed or reused.

Must not import: airflow, kubernetes, the sdk, or user code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.names import RULES, name_problem
from flytepath_airflow.ir.pod_metadata import check_pod_metadata
from flytepath_airflow.ir.quantities import QuantityError, check_quantity
from flytepath_airflow.utils.durations import MAX_SECONDS, MAX_TASK_SECONDS
from flytepath_airflow.utils.limits import MAX_COLUMN_INT, InputLimitError, check_json_value

SCHEMA_VERSION: Literal[1] = 1

def _within_limits(value: Any) -> Any:
    if value is None or isinstance(value, bool):  # most defaults: skip the walk
        return value
    try:
        check_json_value(value)
    except InputLimitError as exc:  # pydantic names the field; add the path inside it
        raise ValueError(str(exc) if exc.path else exc.problem) from None
    return value


JsonValue = Annotated[Any, AfterValidator(_within_limits)]
"""A JSON-compatible value (null, bool, number, string, list, object) within
`utils.limits`: finite numbers, 64-bit integers, UTF-8-writable text, bounded nesting."""


def _name_rule(kind: str, *, allow_empty: bool = False) -> AfterValidator:
    """A field validator applying the naming rule `kind` of `ir.names` (ADR 0033)."""
    rule = RULES[kind]

    def check(value: str) -> str:
        if allow_empty and value == "":
            return value
        problem = name_problem(value, kind)
        if problem is not None:
            shown = value if len(value) <= 80 else value[:77] + "..."
            raise ValueError(f"{rule.what} {shown!r} {problem}; {rule.text} "
                             f"(e.g. {rule.example!r})")
        return value

    return AfterValidator(check)


ProjectName = Annotated[str, _name_rule("project")]
DomainName = Annotated[str, _name_rule("domain")]
WorkflowName = Annotated[str, _name_rule("workflow")]
LaunchPlanName = Annotated[str, _name_rule("launch_plan")]
TaskName = Annotated[str, _name_rule("task")]
NodeId = Annotated[str, _name_rule("node")]
Version = Annotated[str, _name_rule("version", allow_empty=True)]
"""Empty until the content hash is filled in (`spec_io.with_version`)."""


class SpecModel(BaseModel):
    """Base of every spec model: immutable, unknown fields are an error, and float fields
    refuse infinity and NaN (JSON has neither; ADR 0036)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class _Kinded(SpecModel):
    """A member of a discriminated union.

    `kind` has a default so models can be built without naming it, and it is always
    serialized, even with `exclude_defaults`, because parsing dispatches on it.
    """

    @model_serializer(mode="wrap")
    def _always_kind(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            data["kind"] = self.kind  # type: ignore[attr-defined]
        return data


# --------------------------------------------------------------------------- types

SimpleName = Literal[
    "int", "float", "str", "bool", "bytes", "datetime", "date", "duration", "none", "json"
]


class SimpleType(_Kinded):
    """A scalar: int, float, str, bool, bytes, datetime, date, duration, none, or json.

    `json` is any JSON-compatible value; it is what untyped values become when an
    Airflow DAG is converted.
    """

    kind: Literal["simple"] = "simple"
    name: SimpleName


class ListType(_Kinded):
    """A homogeneous list."""

    kind: Literal["list"] = "list"
    item: LiteralType


class MapType(_Kinded):
    """A mapping with string keys."""

    kind: Literal["map"] = "map"
    value: LiteralType


class FieldSpec(SpecModel):
    """One field of a struct."""

    name: str
    type: LiteralType
    required: bool = True
    default: JsonValue = None


class StructType(_Kinded):
    """A dataclass or pydantic model, described field by field.

    `python_type` ("module:qualname") lets the runtime rebuild the object; castability
    between structs is decided by the fields, not the Python class.
    """

    kind: Literal["struct"] = "struct"
    name: str
    python_type: str | None = None
    fields: tuple[FieldSpec, ...] = ()


class EnumType(_Kinded):
    """A Python Enum; its literal is the member's value."""

    kind: Literal["enum"] = "enum"
    name: str
    python_type: str | None = None
    values: tuple[JsonValue, ...]


class UnionType(_Kinded):
    """A union of variants; `Optional[T]` is `T | none`."""

    kind: Literal["union"] = "union"
    variants: tuple[LiteralType, ...]


class ValidationRef(SpecModel):
    """A validation that a value of this type passes at every task boundary.

    The spec holds only the validator's identity, never the validator: `name` is a
    pandera model's import path ("pkg.mod:Orders") or a Great Expectations suite's name,
    `digest` the sha256 of its definition, so changing a check changes the spec's version.
    `bases` are the import paths of the schemas it extends, which lets the compiler accept
    a subclass where its parent is expected without importing user code.
    """

    library: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=512)
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    bases: tuple[str, ...] = ()


class BlobType(_Kinded):
    """A file or a directory held in the blob store (a `File` or `Directory` handle)."""

    kind: Literal["blob"] = "blob"
    dimensionality: Literal["file", "directory"] = "file"
    format: str = ""
    validation: tuple[ValidationRef, ...] = ()


class DataFrameType(_Kinded):
    """A table stored in the blob store (Parquet by default), optionally with typed columns
    and the validations (a pandera schema, a GX suite) its values pass."""

    kind: Literal["dataframe"] = "dataframe"
    format: str = "parquet"
    columns: tuple[FieldSpec, ...] | None = None
    python_type: str | None = None
    validation: tuple[ValidationRef, ...] = ()


class PickledType(_Kinded):
    """An opaque pickled Python object: explicit opt-in only (`Annotated[T, Pickled()]`)."""

    kind: Literal["pickled"] = "pickled"
    python_type: str


LiteralType = Annotated[
    SimpleType
    | ListType
    | MapType
    | StructType
    | EnumType
    | UnionType
    | BlobType
    | DataFrameType
    | PickledType,
    Field(discriminator="kind"),
]


# ----------------------------------------------------------------------- interface


class Variable(SpecModel):
    """A named, typed input or output."""

    name: str
    type: LiteralType
    description: str | None = None
    required: bool = True
    default: JsonValue = None


class TypedInterface(SpecModel):
    """Ordered inputs and outputs of a task or workflow."""

    inputs: tuple[Variable, ...] = ()
    outputs: tuple[Variable, ...] = ()

    def input(self, name: str) -> Variable | None:
        """Return the input called `name`, or None."""
        return next((v for v in self.inputs if v.name == name), None)

    def output(self, name: str) -> Variable | None:
        """Return the output called `name`, or None."""
        return next((v for v in self.outputs if v.name == name), None)


# -------------------------------------------------------------------------- tasks


class ResourceList(SpecModel):
    """Kubernetes-style quantities ("500m", "2", "8Gi"); None means not set."""

    cpu: str | None = None
    mem: str | None = None
    gpu: str | None = None
    ephemeral_storage: str | None = None


class ResourcesSpec(SpecModel):
    """Requests and limits of a task."""

    requests: ResourceList = ResourceList()
    limits: ResourceList = ResourceList()


class CacheSpec(SpecModel):
    """Memoization settings of a task (present only when caching is on)."""

    version: str
    ignore_inputs: tuple[str, ...] = ()
    serialize: bool = False
    scope: Literal["tenant", "global"] = "tenant"


class CheckpointSpec(SpecModel):
    """Checkpoint policy of a task (absent: checkpoints on, resume, keep the last 3 attempts).

    :param enabled: False makes `current_context().checkpoint` refuse every call, so a task
        that should start over on every attempt cannot resume by accident.
    :param keep: checkpoints of this many most recent attempts of a node stay in the store;
        older attempts' checkpoints are deleted when a new attempt saves.
    :param load: `resume` shows a new attempt the newest valid checkpoint of an earlier
        attempt; `fresh` shows it none (it still saves, for the attempts after it).
    """

    enabled: bool = True
    keep: int = Field(default=3, ge=1, le=1000)
    load: Literal["resume", "fresh"] = "resume"


PLATFORM_ENV_PREFIX = "FLYTEPATH_"
"""Environment variables with this prefix belong to the platform: no task's `env` or secret
may set one, locally or in a pod."""


class SecretRef(SpecModel):
    """A reference to a secret (never its value)."""

    group: str
    key: str | None = None
    mount: Literal["env", "file"] = "env"
    env_var: str | None = None

    def env_name(self) -> str:
        """The variable a secret mounted as "env" is in: `env_var`, else GROUP_KEY upper-cased
        with every character that is not a letter, digit or _ as _."""
        if self.env_var:
            return self.env_var
        raw = f"{self.group}_{self.key}" if self.key else self.group
        return re.sub(r"[^A-Za-z0-9_]", "_", raw).upper()


class ContainerSpec(SpecModel):
    """A container task: image and command run as they are."""

    image: str | None = None
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()


class TolerationSpec(SpecModel):
    """A toleration a task asks for; the platform decides which keys a task may tolerate."""

    key: str
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


class PodOverridesSpec(SpecModel):
    """Per-task pod settings, from a fixed allow-list: any other field is an error.

    Only what a task may safely choose is here; namespace, service account, pool, priority,
    security context, host access and volumes are never a task's choice. The platform's
    settings further limit the values (which node-selector and toleration keys, which
    label and annotation prefixes, which accelerators).

    :param accelerator: the GPU type, a name the platform maps to a node selector.
    :param node_selector: extra node labels to schedule on.
    :param tolerations: extra taints to tolerate.
    :param labels: extra pod labels.
    :param annotations: extra pod annotations.
    :param shared_memory: size of a memory-backed /dev/shm (PyTorch data loaders need one).
    :param scratch_size: size limit of the writable scratch volume (the root is read-only).
    :param termination_grace_period: seconds the task gets to stop after SIGTERM.
    """

    accelerator: str | None = None
    node_selector: dict[str, str] = {}
    tolerations: tuple[TolerationSpec, ...] = ()
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    shared_memory: str | None = None
    scratch_size: str | None = None
    termination_grace_period: int | None = Field(default=None, ge=0, le=3600)

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any] | PodOverridesSpec, task: str, where: str = ""
    ) -> PodOverridesSpec:
        """Build overrides from a task option, or raise CompileError naming the field.

        :param options: a mapping of the fields above (or an already built spec).
        :param task: the task's name, for the message.
        :param where: where the task is defined ("pipeline.py:12"), for the message.
        """
        from pydantic import ValidationError

        at = f" ({where})" if where else ""
        if isinstance(options, PodOverridesSpec):
            spec = options
        elif not isinstance(options, Mapping):
            raise CompileError(
                f"task '{task}'{at}: pod_overrides must be a dict of "
                f"{', '.join(cls.model_fields)}; got {type(options).__name__}."
            )
        else:
            unknown = sorted(str(k) for k in options if k not in cls.model_fields)
            if unknown:
                raise CompileError(
                    f"task '{task}'{at}: pod_overrides field {', '.join(map(repr, unknown))} "
                    f"is not allowed. A task may set only: {', '.join(cls.model_fields)}; "
                    "everything else on its pod is decided by the platform's settings."
                )
            try:
                spec = cls.model_validate(dict(options))
            except ValidationError as exc:
                first = exc.errors()[0]
                path = ".".join(str(p) for p in first["loc"])
                raise CompileError(
                    f"task '{task}'{at}: pod_overrides.{path}: {first['msg']}."
                ) from None
        for field in ("shared_memory", "scratch_size"):
            value = getattr(spec, field)
            if value is None:
                continue
            try:
                check_quantity(value, "mem")
            except QuantityError as exc:
                raise CompileError(
                    f"task '{task}'{at}: pod_overrides.{field} {exc}. Write a size such as "
                    '"2Gi".'
                ) from None
        check_pod_metadata(spec.labels, spec.annotations, f"task '{task}'{at}")
        return spec


class OperatorSpec(SpecModel):
    """An Airflow operator kept as it was, for a converted DAG (a pass-through node).

    `kwargs` are the operator's own arguments as JSON values; the Airflow backend builds
    `class_path(**kwargs)` unchanged. Only DAGs converted by `flytepath convert` use it.
    """

    class_path: str
    kwargs: dict[str, JsonValue] = {}


class DynamicOptions(SpecModel):
    """How far a `@dynamic` task's generated graph may reach.

    On Airflow the generated nodes run level by level in `max_levels` mapped tasks
    (ADR 0014), so a graph deeper than that is refused with a message.
    """

    max_levels: int = Field(default=8, ge=1, le=64)


class TaskSpec(SpecModel):
    """One unit of work: a Python function, a container, a shell script, a dynamic
    workflow body, or (in converted DAGs) an Airflow operator kept as is."""

    name: TaskName
    kind: Literal["python", "container", "shell", "dynamic", "airflow"] = "python"
    fn: str | None = None
    container: ContainerSpec | None = None
    script: str | None = None
    interface: TypedInterface = TypedInterface()
    resources: ResourcesSpec = ResourcesSpec()
    retries: int = Field(default=0, ge=0, le=1000)
    retry_delay: float | None = Field(default=None, ge=0, le=MAX_TASK_SECONDS)
    timeout: float | None = Field(default=None, gt=0, le=MAX_TASK_SECONDS)
    interruptible: bool = False
    cache: CacheSpec | None = None
    checkpoint: CheckpointSpec | None = None
    image: str | None = None
    env: dict[str, str] = {}
    secrets: tuple[SecretRef, ...] = ()
    docs: str | None = None
    code_digest: str | None = None
    pod_overrides: PodOverridesSpec | None = None
    dynamic: DynamicOptions | None = None
    operator: OperatorSpec | None = None
    enable_deck: bool = False
    """Attach input and output summaries as decks (Flyte's `enable_deck`)."""

    @model_validator(mode="after")
    def _check_kind(self) -> TaskSpec:
        if self.kind in ("python", "dynamic") and not self.fn:
            raise ValueError(f"a {self.kind} task needs 'fn' (\"module:qualname\")")
        if self.kind == "airflow" and self.operator is None:
            raise ValueError("an airflow task needs 'operator' (class_path, kwargs)")
        if self.kind == "container" and self.container is None:
            raise ValueError("a container task needs 'container' (image, command, args)")
        if self.kind == "shell" and not self.script:
            raise ValueError("a shell task needs 'script'")
        return self


# ------------------------------------------------------------------------ bindings


class LiteralBinding(_Kinded):
    """A constant value."""

    kind: Literal["literal"] = "literal"
    value: JsonValue


class OutputRef(_Kinded):
    """An output of an upstream node."""

    kind: Literal["output"] = "output"
    node: NodeId
    output: str


class InputRef(_Kinded):
    """An input of the enclosing workflow."""

    kind: Literal["input"] = "input"
    name: str


class ListBinding(_Kinded):
    """A list whose items are bindings."""

    kind: Literal["list"] = "list"
    items: tuple[BindingSpec, ...]


class MapBinding(_Kinded):
    """A string-keyed map whose values are bindings."""

    kind: Literal["map"] = "map"
    entries: dict[str, BindingSpec]


BindingSpec = Annotated[
    LiteralBinding | OutputRef | InputRef | ListBinding | MapBinding,
    Field(discriminator="kind"),
]


def binding_refs(binding: BindingSpec) -> list[OutputRef]:
    """All upstream output references inside a binding, in order."""
    if isinstance(binding, OutputRef):
        return [binding]
    if isinstance(binding, ListBinding):
        return [ref for item in binding.items for ref in binding_refs(item)]
    if isinstance(binding, MapBinding):
        return [ref for value in binding.entries.values() for ref in binding_refs(value)]
    return []


# -------------------------------------------------------------------- nodes, specs


class ComparisonSpec(_Kinded):
    """`left <op> right`, where each side is a literal, a workflow input or a node output."""

    kind: Literal["compare"] = "compare"
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: BindingSpec
    right: BindingSpec


class ConjunctionSpec(_Kinded):
    """`left & right` (kind "and") or `left | right` (kind "or")."""

    kind: Literal["and", "or"]
    left: ConditionSpec
    right: ConditionSpec


class NegationSpec(_Kinded):
    """`~operand`."""

    kind: Literal["not"] = "not"
    operand: ConditionSpec


ConditionSpec = Annotated[
    ComparisonSpec | ConjunctionSpec | NegationSpec, Field(discriminator="kind")
]


def condition_refs(condition: ConditionSpec) -> list[OutputRef]:
    """Upstream output references a condition reads, in order."""
    if isinstance(condition, ComparisonSpec):
        return binding_refs(condition.left) + binding_refs(condition.right)
    if isinstance(condition, ConjunctionSpec):
        return condition_refs(condition.left) + condition_refs(condition.right)
    return condition_refs(condition.operand)


class CaseSpec(SpecModel):
    """One case of a branch: `condition` None is the `else_`; `fail` fails the run."""

    condition: ConditionSpec | None = None
    fail: str | None = None


class BranchSpec(SpecModel):
    """A conditional's decision: the first case whose condition holds is taken.

    Nodes of case i carry `guard=(this node, i)`; the others are skipped. A spec without
    a final `else_` case is refused at compile time.
    """

    cases: tuple[CaseSpec, ...] = Field(min_length=1)


class GuardSpec(SpecModel):
    """A node runs only when branch node `branch` takes case `case`."""

    branch: NodeId
    case: int = Field(ge=0, le=MAX_COLUMN_INT)


class MergeSpec(SpecModel):
    """A conditional's outputs: per case, the bindings of the outputs all cases share."""

    branch: NodeId
    cases: tuple[dict[str, BindingSpec], ...]


class MapSpec(SpecModel):
    """A task run once per element of its `mapped` list inputs (Flyte's map task).

    The other inputs are fixed for every element (`functools.partial`). Outputs become
    lists; with `min_success_ratio` below 1 their items are optional (None where the
    element failed) and the node fails only when too few elements succeed.
    """

    mapped: tuple[str, ...] = Field(min_length=1)
    concurrency: int | None = Field(default=None, ge=1, le=MAX_COLUMN_INT)
    min_success_ratio: float = Field(default=1.0, gt=0, le=1)


class AirflowNodeOptions(SpecModel):
    """Airflow task settings kept from a converted DAG (FlytePath-built DAGs leave it unset)."""

    trigger_rule: str | None = None
    pool: str | None = None
    pool_slots: int | None = Field(default=None, ge=1, le=MAX_COLUMN_INT)
    priority_weight: int | None = Field(default=None, ge=-MAX_COLUMN_INT, le=MAX_COLUMN_INT)
    weight_rule: str | None = None
    queue: str | None = None
    owner: str | None = None
    task_display_name: str | None = None


NodeKind = Literal["task", "map", "branch", "merge", "dynamic"]


class NodeSpec(SpecModel):
    """One node of a workflow graph.

    kind "task" runs `task` once; "map" runs it per element (`map`); "dynamic" runs a
    `@dynamic` task's body and then the graph it builds; "branch" decides a conditional
    (`branch`) and "merge" publishes its outputs (`merge`, typed by `outputs`).
    `group` is the path of subworkflow calls the node was inlined from (Airflow
    TaskGroups); `guard` ties a node to one case of a conditional.
    """

    id: NodeId
    kind: NodeKind = "task"
    task: TaskName | None = None
    inputs: dict[str, BindingSpec] = {}
    upstream: tuple[NodeId, ...] = ()
    group: tuple[str, ...] = ()
    guard: GuardSpec | None = None
    map: MapSpec | None = None
    branch: BranchSpec | None = None
    merge: MergeSpec | None = None
    outputs: tuple[Variable, ...] = ()
    airflow: AirflowNodeOptions | None = None

    @model_validator(mode="after")
    def _check_kind(self) -> NodeSpec:
        needs = {"map": "map", "branch": "branch", "merge": "merge"}
        for kind, attr in needs.items():
            if (self.kind == kind) != (getattr(self, attr) is not None):
                raise ValueError(f"node {self.id!r}: '{attr}' is set exactly on {kind} nodes")
        if self.kind in ("branch", "merge") and self.task:
            raise ValueError(f"node {self.id!r}: a {self.kind} node runs no task")
        return self

    def dependencies(self) -> list[str]:
        """Upstream node ids: bindings, conditions and merged outputs first, then explicit ones."""
        refs = [ref for binding in self.inputs.values() for ref in binding_refs(binding)]
        if self.branch is not None:
            refs += [ref for case in self.branch.cases if case.condition is not None
                     for ref in condition_refs(case.condition)]
        deps: list[str] = []
        if self.merge is not None:
            deps.append(self.merge.branch)
            refs += [ref for case in self.merge.cases for binding in case.values()
                     for ref in binding_refs(binding)]
        if self.guard is not None and self.guard.branch not in deps:
            deps.append(self.guard.branch)
        for ref in refs:
            if ref.node not in deps:
                deps.append(ref.node)
        for node in self.upstream:
            if node not in deps:
                deps.append(node)
        return deps


class TenantSpec(SpecModel):
    """The project and domain a spec belongs to."""

    project: ProjectName = "default"
    domain: DomainName = "development"


class WorkflowSpec(SpecModel):
    """A compiled workflow: the unit that is versioned, registered and run."""

    schema_version: Literal[1]
    name: WorkflowName
    version: Version = ""
    tenant: TenantSpec = TenantSpec()
    description: str | None = None
    interface: TypedInterface = TypedInterface()
    nodes: tuple[NodeSpec, ...] = ()
    tasks: dict[TaskName, TaskSpec] = {}
    outputs: dict[str, BindingSpec] = {}
    labels: dict[str, str] = {}
    on_failure: NodeSpec | None = None

    def node(self, node_id: str) -> NodeSpec:
        """Return the node `node_id` (the failure node too); KeyError names the known ids."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        if self.on_failure is not None and self.on_failure.id == node_id:
            return self.on_failure
        raise KeyError(f"workflow {self.name!r} has no node {node_id!r}")

    def task_of(self, node: NodeSpec) -> TaskSpec:
        """Return the task a task node runs."""
        if node.task is None:
            raise KeyError(f"node {node.id!r} of workflow {self.name!r} runs no task")
        return self.tasks[node.task]


class ScheduleSpec(SpecModel):
    """When a launch plan runs: a cron expression or a fixed rate, in a timezone.

    `kickoff_time_input` names a workflow input that receives the scheduled time
    (Flyte's kickoff time argument); `catchup` replays missed intervals (off by default).
    """

    cron: str | None = None
    fixed_rate: float | None = Field(default=None, gt=0, le=MAX_SECONDS)
    timezone: str = "UTC"
    kickoff_time_input: str | None = None
    catchup: bool = False
    start_date: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ScheduleSpec:
        if (self.cron is None) == (self.fixed_rate is None):
            raise ValueError("a schedule needs exactly one of 'cron' and 'fixed_rate'")
        return self


class LaunchPlanSpec(SpecModel):
    """A named way to launch a workflow: defaults, fixed inputs and a schedule.

    Built into its own Airflow DAG; `fixed_inputs` cannot be overridden by a trigger.
    """

    schema_version: Literal[1]
    kind: Literal["launch_plan"] = "launch_plan"
    name: LaunchPlanName
    version: Version = ""
    workflow: WorkflowSpec
    default_inputs: dict[str, JsonValue] = {}
    fixed_inputs: dict[str, JsonValue] = {}
    schedule: ScheduleSpec | None = None
    description: str | None = None


for _model in (ListType, MapType, FieldSpec, StructType, UnionType, DataFrameType, Variable,
               ListBinding, MapBinding, ComparisonSpec, ConjunctionSpec, NegationSpec, CaseSpec,
               BranchSpec, MergeSpec, NodeSpec):
    _model.model_rebuild()
