"""The typed YAML front-end (translators/yaml/): format, errors with file:line, example."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flytepath_airflow.errors import (
    CompileError,
    FlytePathUserError,
    SpecError,
    TypeMismatchError,
)
from flytepath_airflow.ir.models import (
    BlobType,
    DataFrameType,
    EnumType,
    FieldSpec,
    ListBinding,
    ListType,
    LiteralBinding,
    LiteralType,
    MapBinding,
    MapType,
    OutputRef,
    SimpleType,
    StructType,
    UnionType,
)
from flytepath_airflow.ir.spec_io import compute_version, dump_spec
from flytepath_airflow.translators.yaml import (
    TypeExpressionError,
    compile_yaml,
    compile_yaml_text,
    format_path,
    parse_type,
)
from flytepath_airflow.types.render import render_type

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "shell_pipeline.yaml"

BASE = """\
name: scoring
project: ml
inputs:
  n: int
  label:
    type: str
    default: x
tasks:
  prep:
    inputs:
      n: int
    outputs:
      rows: list[str]
    script: |
      echo start
      seq "{{ inputs.n }}" > "$FLYTEPATH_OUTPUT_DIR/rows"
  score:
    inputs:
      df: list[str]
      label: str
    outputs:
      auc: float
    command: [python, -m, score]
nodes:
  - id: prep
    inputs:
      n: ${{ inputs.n }}
  - id: score
    inputs:
      df: ${{ nodes.prep.outputs.rows }}
      label: ${{ inputs.label }}
outputs:
  auc: ${{ nodes.score.outputs.auc }}
"""


def write(tmp_path: Path, text: str, name: str = "pipeline.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the YAML text")


def mutate(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


# --------------------------------------------------------------------------- happy path


def test_base_workflow_compiles(tmp_path: Path) -> None:
    spec = compile_yaml(write(tmp_path, BASE))
    assert [n.id for n in spec.nodes] == ["prep", "score"]
    assert spec.tenant.project == "ml" and spec.tenant.domain == "development"
    assert spec.tasks["prep"].kind == "shell"
    assert spec.tasks["score"].kind == "container"
    assert spec.tasks["score"].container is not None
    assert spec.tasks["score"].container.command == ("python", "-m", "score")
    assert spec.node("score").inputs["df"] == OutputRef(node="prep",
                                                        output="rows")
    label = spec.interface.input("label")
    assert label is not None and not label.required and label.default == "x"
    auc = spec.interface.output("auc")
    assert auc is not None and render_type(auc.type) == "float"  # taken from the reference
    assert spec.version == compute_version(spec)


def test_example_compiles_with_defaults_applied() -> None:
    spec = compile_yaml(EXAMPLE)
    assert spec.name == "word_stats"
    assert [n.id for n in spec.nodes] == ["generate", "count", "summarize"]
    for task in spec.tasks.values():
        assert (task.kind, task.image, task.retries, task.timeout) == \
            ("shell", "bash:5.2", 1, 120.0)
    assert spec.tasks["count"].cache is not None
    assert spec.tasks["count"].cache.version == "1"
    outputs = {v.name: render_type(v.type) for v in spec.interface.outputs}
    assert outputs == {"total_words": "int", "counts": "dict[str, int]", "top_word": "str",
                       "top_share": "float", "report": "str"}
    assert (spec.tenant.project, spec.tenant.domain) == ("examples", "development")


def test_compiling_twice_gives_byte_identical_json() -> None:
    first, second = dump_spec(compile_yaml(EXAMPLE)), dump_spec(compile_yaml(EXAMPLE))
    assert first == second
    code = ("import sys\nfrom flytepath_airflow.translators.yaml import compile_yaml\n"
            "from flytepath_airflow.ir.spec_io import dump_spec\n"
            "sys.stdout.write(dump_spec(compile_yaml(sys.argv[1])))\n")
    other = subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "7"})
    assert other.stdout == first


def test_example_runs_end_to_end_with_bash(tmp_path: Path) -> None:
    env = {**os.environ, "FLYTEPATH_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "-m", "flytepath_airflow.cli.main", "run", str(EXAMPLE), "--local",
         "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    outputs = json.loads(proc.stdout.strip().splitlines()[-1])["outputs"]
    assert outputs == {
        "total_words": 30,
        "counts": {"cloud": 5, "ember": 4, "river": 8, "stone": 8, "willow": 5},
        "top_word": "river",
        "top_share": 0.2667,
        "report": '30 words, 5 distinct; "river" is the most frequent (0.2667 of all words).',
    }


def test_project_and_domain_arguments_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    spec = compile_yaml(path, project="fraud", domain="production")
    assert (spec.tenant.project, spec.tenant.domain) == ("fraud", "production")
    assert spec.version == compile_yaml(path).version


def test_optional_inputs_default_to_none(tmp_path: Path) -> None:
    spec = compile_yaml(write(tmp_path, mutate("  n: int\n", "  n: int\n  k: Optional[int]\n")))
    k = spec.interface.input("k")
    assert k is not None and not k.required and k.default is None


def test_bindings_literal_list_map_and_escape(tmp_path: Path) -> None:
    text = mutate("  score:\n", "  merge:\n    inputs:\n      xs: list[str]\n"
                  "      m: dict[str, int]\n      fixed: list[int]\n      s: str\n"
                  "    script: 'true'\n  score:\n")
    text = text.replace("\noutputs:\n", "\n  - id: merge\n    inputs:\n"
                        "      xs: [a, '${{ inputs.label }}']\n"
                        "      m: {one: 1, n: '${{ inputs.n }}'}\n"
                        "      fixed: [1, 2]\n"
                        "      s: 'costs $${{ price }}'\n"
                        "outputs:\n")
    spec = compile_yaml(write(tmp_path, text))
    merge = spec.node("merge").inputs
    assert isinstance(merge["xs"], ListBinding)
    assert merge["xs"].items[0] == LiteralBinding(value="a")
    assert isinstance(merge["m"], MapBinding) and set(merge["m"].entries) == {"one", "n"}
    assert merge["fixed"] == LiteralBinding(value=[1, 2])
    assert merge["s"] == LiteralBinding(value="costs ${{ price }}")


def test_task_options(tmp_path: Path) -> None:
    options = ("    retries: 3\n    retry_delay: 30s\n    timeout: 1h30m\n"
               "    interruptible: true\n"
               "    resources:\n      requests: {cpu: 500m, mem: 1Gi}\n"
               "      limits: {cpu: 2, gpu: 1}\n"
               "    cache: {version: 2, ignore_inputs: [n], serialize: true}\n"
               "    env: {MODE: fast, LEVEL: 3}\n"
               "    secrets: [db, db/password, {group: s3, key: token, mount: file}]\n"
               "    pod_overrides: {accelerator: a100, shared_memory: 2Gi}\n"
               "    description: Make rows.\n")
    text = mutate("    script: |\n", options + "    script: |\n")
    text = text.replace("tasks:\n", "defaults:\n  image: bash:5.2\n  env: {LEVEL: 1, ZONE: eu}\n"
                        "tasks:\n")
    spec = compile_yaml(write(tmp_path, text))
    prep, score = spec.tasks["prep"], spec.tasks["score"]
    assert (prep.retries, prep.retry_delay, prep.timeout, prep.interruptible) == \
        (3, 30.0, 5400.0, True)
    assert prep.resources.requests.cpu == "500m" and prep.resources.limits.cpu == "2"
    assert prep.resources.limits.gpu == "1"
    assert prep.cache is not None
    assert (prep.cache.version, prep.cache.ignore_inputs, prep.cache.serialize) == \
        ("2", ("n",), True)
    assert prep.env == {"MODE": "fast", "LEVEL": "3", "ZONE": "eu"}
    assert [(s.group, s.key, s.mount) for s in prep.secrets] == \
        [("db", None, "env"), ("db", "password", "env"), ("s3", "token", "file")]
    assert prep.docs == "Make rows." and prep.image == "bash:5.2"
    assert prep.pod_overrides is not None
    assert (prep.pod_overrides.accelerator, prep.pod_overrides.shared_memory) == \
        ("a100", "2Gi")
    assert score.container is not None and score.container.image == "bash:5.2"
    assert score.image is None and score.env == {"LEVEL": "1", "ZONE": "eu"}


def test_python_task_is_named_by_import_path(tmp_path: Path) -> None:
    text = mutate("    command: [python, -m, score]\n", "    fn: mypkg.scoring:score\n")
    spec = compile_yaml(write(tmp_path, text))
    assert spec.tasks["score"].kind == "python"
    assert spec.tasks["score"].fn == "mypkg.scoring:score"


def test_type_mapping_forms(tmp_path: Path) -> None:
    text = mutate("  n: int\n", "  n: int\n"
                  "  color:\n    type: {enum: [red, green], name: Color}\n"
                  "  point:\n    type:\n      struct: {x: float, y: {type: float, default: 0.0}}\n"
                  "      python_type: geo:Point\n"
                  "  table:\n    type: {dataframe: {id: int, score: float}}\n"
                  "    default: null\n")
    with pytest.raises(TypeMismatchError, match=r"inputs\.table\.default"):
        compile_yaml(write(tmp_path, text))
    spec = compile_yaml(write(tmp_path, text.replace("    default: null\n", "")))
    color, point, table = (spec.interface.input(n) for n in ("color", "point", "table"))
    assert color is not None and isinstance(color.type, EnumType)
    assert color.type.values == ("red", "green") and color.type.name == "Color"
    assert point is not None and isinstance(point.type, StructType)
    assert point.type.python_type == "geo:Point" and point.type.name == "point"
    assert [(f.name, f.required) for f in point.type.fields] == [("x", True), ("y", False)]
    assert table is not None and isinstance(table.type, DataFrameType)
    assert render_type(table.type) == "DataFrame[id: int, score: float]"


# --------------------------------------------------------------------- type expressions


@pytest.mark.parametrize("text", [
    "int", "float", "str", "bool", "bytes", "datetime", "date", "timedelta", "JSON", "None",
    "list[str]", "dict[str, float]", "Optional[int]", "Union[int, str]",
    "Optional[Union[int, str]]", "File", "File[csv]", "Directory", "DataFrame",
    "DataFrame[a: int, b: Optional[float]]", "list[dict[str, list[int]]]",
])
def test_type_expressions_round_trip_through_render_type(text: str) -> None:
    assert render_type(parse_type(text)) == text
    assert parse_type(render_type(parse_type(text))) == parse_type(text)


@pytest.mark.parametrize(("text", "same_as"), [
    ("int | None", "Optional[int]"), ("List[str]", "list[str]"),
    ("Dict[str, int]", "dict[str, int]"), ("json", "JSON"), ("duration", "timedelta"),
    ("Union[int, Union[str, int]]", "Union[int, str]"), ("Optional[Optional[int]]",
                                                          "Optional[int]"),
    (" list[ str ] ", "list[str]"),
])
def test_type_expression_aliases(text: str, same_as: str) -> None:
    assert parse_type(text) == parse_type(same_as)


def test_file_format_and_unions_build_the_right_models() -> None:
    assert parse_type("File[csv]") == BlobType(format="csv")
    optional = parse_type("Optional[int]")
    assert isinstance(optional, UnionType) and len(optional.variants) == 2


@pytest.mark.parametrize(("text", "message"), [
    ("lst[int]", r"\(column 1\): unknown type 'lst'\. Did you mean 'list'\?"),
    ("list[int", r"\(column 9\): expected '\]' but found the end"),
    ("dict[int, str]", "dict keys must be str"),
    ("list", r"list needs exactly one item type, e.g\. list\[str\]"),
    ("Optional[int, str]", "Optional needs exactly one type"),
    ("Union[int]", "Union needs at least two types"),
    ("int]", r"\(column 4\): unexpected '\]'"),
    ("int!", r"unexpected '!'"),
    ("", "the type is empty"),
    ("DataFrame[a int]", "expected ':'"),
    ("DataFrame[a: int, a: str]", "column 'a' appears twice"),
    ("File[]", r"File\[\.\.\.\] takes a format name"),
])
def test_type_expression_errors(text: str, message: str) -> None:
    with pytest.raises(TypeExpressionError, match=message):
        parse_type(text)


# ------------------------------------------------------------------------------- errors


def replace_all(*pairs: tuple[str, str]) -> str:
    text = BASE
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# (id, YAML text, error class, text on the reported line, message regex)
ERROR_CASES = [
    ("yaml-syntax", mutate("  n: int\n", "  n: [int\n"), SpecError, "  label:",
     r"not valid YAML: .*Inside \{ \} or \[ \], quote values"),
    ("flow-mapping-type", mutate("      n: int\n", "      {n: list[int]}\n"), SpecError,
     "{n: list[int]}", r"not valid YAML"),
    ("duplicate-key", mutate("project: ml\n", "project: ml\nproject: ml2\n"), SpecError,
     "project: ml2", r"project: the key 'project' appears twice \(first at line 2\)"),
    ("unknown-top-key", BASE + "lables: {a: b}\n", SpecError, "lables:",
     r"lables: unknown key 'lables'\. Did you mean 'labels'\? Allowed keys: name,"),
    ("missing-top-key", BASE.replace("name: scoring\n", ""), SpecError, "project: ml",
     r"\(top level\): missing required key 'name'"),
    ("unknown-task-key", mutate("    script: |\n", "    retrys: 2\n    script: |\n"),
     SpecError, "retrys", r"tasks\.prep\.retrys: unknown key 'retrys'\. Did you mean 'retries'"),
    ("unknown-node-key", mutate("  - id: prep\n", "  - id: prep\n    taks: prep\n"), SpecError,
     "taks:", r"nodes\[0\]\.taks: unknown key 'taks'\. Did you mean 'task'\?"),
    ("unknown-variable-key", mutate("    default: x\n", "    defualt: x\n"), SpecError,
     "defualt", r"inputs\.label\.defualt: unknown key 'defualt'\. Did you mean 'default'\?"),
    ("bad-type", mutate("      n: int\n", "      n: integer\n"), SpecError, "n: integer",
     r"tasks\.prep\.inputs\.n: invalid type 'integer' \(column 1\): unknown type 'integer'\. "
     r"Did you mean 'int'\?"),
    ("bad-default", mutate("    default: x\n", "    default: 3\n"), TypeMismatchError,
     "default: 3", r"inputs\.label\.default: the default 3 does not match the type str"),
    ("bad-reference", mutate("${{ inputs.n }}", "${{ input.n }}"), SpecError, "input.n",
     r"nodes\[0\]\.inputs\.n: cannot read the reference '\$\{\{ input\.n \}\}'\. Write "
     r"\$\{\{ inputs\.<name> \}\}"),
    ("mixed-reference", mutate("${{ inputs.n }}", "n=${{ inputs.n }}"), SpecError, "n=${{",
     r"mixes a reference with other text"),
    ("unknown-node-ref", mutate("nodes.prep.outputs.rows", "nodes.prp.outputs.rows"),
     CompileError, "nodes.prp",
     r"^Node 'score' input 'df' refers to node 'prp', which does not exist "
     r"\(.*pipeline\.yaml:\d+\)\. Nodes: 'prep', 'score'\. Did you mean 'prep'\?"),
    ("unknown-output-ref", mutate("outputs.rows }}", "outputs.row }}"), CompileError,
     "outputs.row }}", r"refers to output 'row' of node 'prep'.*Did you mean 'rows'\?"),
    ("unknown-input-ref", mutate("${{ inputs.label }}", "${{ inputs.lable }}"), CompileError,
     "inputs.lable", r"refers to workflow input 'lable'.*Did you mean 'label'\?"),
    ("unknown-node-input", mutate("      n: ${{ inputs.n }}\n",
                                  "      n: ${{ inputs.n }}\n      m: 3\n"),
     CompileError, "      m: 3", r"^Node 'prep' sets input 'm', which task 'prep' does not have"),
    ("missing-input", mutate("      label: ${{ inputs.label }}\n", ""), CompileError,
     "  - id: score", r"^Node 'score' does not bind required input 'label' \(str\)"),
    ("type-mismatch", mutate("      df: list[str]\n", "      df: DataFrame\n"),
     TypeMismatchError, "df: ${{",
     r"^Node 'score' input 'df' expects DataFrame but 'prep\.rows' produces list\[str\] "
     r"\(.*pipeline\.yaml:\d+\)\. list\[str\] cannot be used as DataFrame\. Change the type "
     r"of output 'rows' of task 'prep' or of input 'df' of task 'score', or insert a "
     r"conversion task\.$"),
    ("literal-mismatch", mutate("${{ inputs.n }}", "ten"), TypeMismatchError, "n: ten",
     r"^Node 'prep' input 'n' expects int but is given the literal \"ten\""),
    ("duplicate-node", mutate("  - id: score\n", "  - id: prep\n"), CompileError,
     "  - id: prep\n    inputs:\n      df",
     r"^Node id 'prep' is used twice, by nodes 0 and 1 .*The first one is at "),
    ("unknown-task", mutate("  - id: prep\n", "  - id: prepare\n"), CompileError,
     "id: prepare", r"^Node 'prepare' runs task 'prepare', which workflow 'scoring' does not "
     r"define .*Did you mean 'prep'\?"),
    ("unknown-after", mutate("  - id: score\n", "  - id: score\n    after: [prp]\n"),
     CompileError, "after: [prp]", r"^Node 'score' waits for node 'prp', which does not exist"),
    ("cycle", mutate("      n: ${{ inputs.n }}", "      n: ${{ nodes.score.outputs.auc }}"),
     CompileError, "  - id: prep", r"^Nodes form a cycle: prep -> score -> prep"),
    ("output-not-a-ref", mutate("  auc: ${{ nodes.score.outputs.auc }}", "  auc: 0.5"),
     SpecError, "auc: 0.5", r"outputs\.auc: write a reference like"),
    ("output-type-mismatch", mutate("  auc: ${{ nodes.score.outputs.auc }}",
                                    "  auc:\n    type: int\n    value: "
                                    "${{ nodes.score.outputs.auc }}"),
     TypeMismatchError, "value: ${{", r"^Workflow output 'auc' expects int but 'score\.auc' "
     r"produces float"),
    ("output-unknown-node", mutate("nodes.score.outputs.auc", "nodes.scor.outputs.auc"),
     CompileError, "nodes.scor", r"^Workflow output 'auc' refers to node 'scor'"),
    ("pydantic-retries", mutate("    script: |\n", "    retries: -1\n    script: |\n"),
     SpecError, "retries: -1",
     r"tasks\.prep\.retries: Input should be greater than or equal to 0, got -1\."),
    ("pydantic-description", mutate("    script: |\n", "    description: [a]\n    script: |\n"),
     SpecError, "description: [a]", r"tasks\.prep\.description: Input should be a valid "
     r"string"),
    ("duration", mutate("    script: |\n", "    timeout: 10 minutes\n    script: |\n"),
     SpecError, "timeout:", r"tasks\.prep\.timeout: '10 minutes' is not a valid duration"),
    ("quantity", mutate("    script: |\n", "    resources:\n      requests:\n        mem: 1GB\n"
                        "    script: |\n"), SpecError, "mem: 1GB",
     r"resources\.requests\.mem: '1GB' has the unknown suffix 'GB'.*Write bytes such as "
     r"512Mi or 8Gi\.$"),
    ("gpu", mutate("    script: |\n", "    resources: {limits: {gpu: 0.5}}\n    script: |\n"),
     SpecError, "gpu: 0.5", r"limits\.gpu: 0\.5 is not a whole number"),
    ("request-over-limit", mutate("    script: |\n", "    resources:\n      requests: {cpu: 4}\n"
                                  "      limits: {cpu: 2}\n    script: |\n"), SpecError,
     "    resources:", r"task 'prep' \(.*pipeline\.yaml:\d+\): requests\.cpu \(4\) is more "
     r"than limits\.cpu \(2\)"),
    ("pod-override-key", mutate("    script: |\n", "    pod_overrides: {acelerator: a100}\n"
                                "    script: |\n"), SpecError, "acelerator",
     r"tasks\.prep\.pod_overrides\.acelerator: 'acelerator' is not a pod setting a task may "
     r"choose\. Did you mean 'accelerator'\?"),
    ("pod-override-size", mutate("    script: |\n", "    pod_overrides: {shared_memory: 2GB}\n"
                                 "    script: |\n"), SpecError, "shared_memory",
     r"task 'prep' \(.*pipeline\.yaml:\d+\): pod_overrides\.shared_memory '2GB' has the "
     r"unknown suffix"),
    ("cache-true", mutate("    script: |\n", "    cache: true\n    script: |\n"), SpecError,
     "cache: true", r"tasks\.prep\.cache: caching needs a version .* cache: \{version: \"1\"\}"),
    ("cache-ignore", mutate("    script: |\n", "    cache: {version: '1', ignore_inputs: [m]}\n"
                            "    script: |\n"), SpecError, "ignore_inputs",
     r"cache\.ignore_inputs\[0\]: 'm' is not an input of this task"),
    ("two-kinds", mutate("    script: |\n", "    fn: a:b\n    script: |\n"), SpecError,
     "  prep:", r"tasks\.prep: this task has 'script' and 'fn', but a task runs one thing"),
    ("no-kind", mutate("    command: [python, -m, score]\n", ""), SpecError, "  score:",
     r"tasks\.score: say what the task runs"),
    ("unknown-kind", mutate("    command: [python, -m, score]\n",
                            "    kind: contianer\n    command: [python]\n"), SpecError,
     "kind: contianer", r"unknown kind 'contianer'\. Did you mean 'container'\?"),
    ("template", mutate('seq "{{ inputs.n }}"', 'seq "{{ inputs.m }}"'), SpecError,
     "inputs.m", r"tasks\.prep\.script: \{\{ inputs\.m \}\} names no input of task 'prep'\."
     r" Its inputs: n\."),
    ("env-reserved", mutate("    script: |\n", "    env: {FLYTEPATH_X: a}\n    script: |\n"),
     SpecError, "FLYTEPATH_X", r"env\.FLYTEPATH_X: names starting with FLYTEPATH_ are reserved"),
    ("secret-env-reserved", mutate("    script: |\n", "    secrets: [{group: db, env_var: "
                                   "FLYTEPATH_METADATA_URL}]\n    script: |\n"), SpecError,
     "secrets", r"env_var: FLYTEPATH_METADATA_URL: names starting with FLYTEPATH_ are "
     r"reserved for the platform"),
    ("secret-derived-name-reserved", mutate("    script: |\n", "    secrets: [flytepath/"
                                            "metadata_url]\n    script: |\n"), SpecError,
     "secrets", r"secret flytepath/metadata_url would be the variable FLYTEPATH_METADATA_URL, "
     r"but names starting with FLYTEPATH_ are reserved for the platform"),
    ("label-value-too-long", mutate("    script: |\n", "    pod_overrides: {labels: {team: "
                                    + "r" * 64 + "}}\n    script: |\n"), SpecError,
     "pod_overrides", r"task 'prep' \(.*pipeline\.yaml:\d+\): pod_overrides\.labels\['team'\] "
     r"value 'r{64}' is not a valid label value: it has 64 characters; Kubernetes allows 63"),
    ("label-value-charset", mutate("    script: |\n", "    pod_overrides: {labels: {team: "
                                   "'recsys & ads'}}\n    script: |\n"), SpecError,
     "pod_overrides", r"labels\['team'\] value 'recsys & ads' is not a valid label value: it "
     r"must be empty or letters, digits"),
    ("annotation-key", mutate("    script: |\n", "    pod_overrides: {annotations: "
                              "{'Team.Example.com/owner': x}}\n    script: |\n"), SpecError,
     "pod_overrides", r"annotations key 'Team\.Example\.com/owner' is not a valid Kubernetes "
     r"key: its prefix 'Team\.Example\.com' must be a DNS subdomain"),
    ("annotations-over-256KiB", mutate("    script: |\n", "    pod_overrides: {annotations: "
                                       "{note: " + "x" * 300_000 + "}}\n    script: |\n"),
     SpecError, "pod_overrides", r"pod_overrides\.annotations take 300004 bytes together, more "
     r"than the 262144 bytes \(256 KiB\) Kubernetes allows on one object \(the largest is "
     r"'note'\)"),
    ("template-in-single-quotes", mutate('seq "{{ inputs.n }}"', "seq '{{ inputs.n }}'"),
     SpecError, "seq '", r"tasks\.prep\.script: \{\{inputs\.n\}\} stands inside single "
     r"quotes, .*\"\$FLYTEPATH_INPUT_N\" as a word, or \$\{FLYTEPATH_INPUT_N\} inside double "
     r"quotes"),
    ("template-in-arithmetic", mutate('seq "{{ inputs.n }}"', 'seq $(( {{ inputs.n }} + 1 ))'),
     SpecError, "seq $((", r"stands inside arithmetic, which bash evaluates as code"),
    ("env-value", mutate("    script: |\n", "    env: {A: [1]}\n    script: |\n"), SpecError,
     "env: {A", r"env\.A: expected text; found a list"),
    ("env-collision", mutate("      n: int\n    outputs", "      n: int\n      N: int\n"
                             "    outputs"), SpecError, "      N: int",
     r"inputs 'n' and 'N' would both be passed as \$FLYTEPATH_INPUT_N"),
    ("yaml-1.1-boolean", mutate("    script: |\n", "    interruptible: yes\n    script: |\n"),
     SpecError, "interruptible", r"expected true or false; found the text 'yes'"),
    ("unsupported-tag", mutate("    default: x\n", "    default: !!timestamp 2024-01-01\n"),
     SpecError, "!!timestamp", r"the YAML tag tag:yaml.org,2002:timestamp is not supported"),
    ("key-not-text", mutate("  n: int\n", "  n: int\n  1: int\n"), SpecError, "  1: int",
     r"the key '1' is not text\. Quote it"),
    ("node-id", mutate("  - id: prep\n", "  - id: pre.p\n"), SpecError, "pre.p",
     r"nodes\[0\]\.id: the node id 'pre\.p' is not valid"),
    ("secret", mutate("    script: |\n", "    secrets: [a/b/c]\n    script: |\n"), SpecError,
     "secrets", r"secrets\[0\]: 'a/b/c' is not \"group\" or \"group/key\""),
    ("container-command", mutate("    command: [python, -m, score]\n",
                                 "    command: python -m score\n"), SpecError, "command:",
     r"command must be a list of strings"),
    ("fn-format", mutate("    command: [python, -m, score]\n", "    fn: mypkg.score\n"),
     SpecError, "fn:", r"fn 'mypkg\.score' is not valid: use \"module:qualname\""),
]


@pytest.mark.parametrize(("text", "error", "needle", "message"),
                         [case[1:] for case in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors_name_file_line_and_path(tmp_path: Path, text: str,
                                        error: type[FlytePathUserError], needle: str,
                                        message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(error) as info:
        compile_yaml(path)
    got = str(info.value)
    assert type(info.value) is error, got
    assert re.search(message, got, re.DOTALL), got
    line = line_of(text, needle.splitlines()[0]) if "\n" not in needle else \
        text[:text.index(needle)].count("\n") + 1
    assert f"{path}:{line}" in got, got
    assert info.value.exit_code == 2


def test_template_error_points_at_the_line_inside_the_script(tmp_path: Path) -> None:
    text = mutate('seq "{{ inputs.n }}"', 'seq "{{ inputs.m }}"')
    with pytest.raises(SpecError) as info:
        compile_yaml(write(tmp_path, text))
    assert str(info.value).startswith(f"{tmp_path / 'pipeline.yaml'}:{line_of(text, 'seq')}: ")


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"pipeline\.yaml:1: the file is empty"):
        compile_yaml(write(tmp_path, "# nothing\n"))
    with pytest.raises(SpecError, match=r"pipeline\.yaml:1: \(top level\): a workflow file "
                       r"must be a mapping"):
        compile_yaml(write(tmp_path, "- a\n- b\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        compile_yaml(tmp_path / "absent.yaml")


def test_yaml_1_1_words_and_dates_stay_text(tmp_path: Path) -> None:
    text = mutate("    default: x\n", "    default: no\n").replace(
        "  n: int\n", "  n: int\n  day:\n    type: str\n    default: 2024-01-01\n", 1)
    spec = compile_yaml(write(tmp_path, text))
    label, day = spec.interface.input("label"), spec.interface.input("day")
    assert label is not None and label.default == "no"
    assert day is not None and day.default == "2024-01-01"


def test_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    text = mutate("tasks:\n", "defaults: &d\n  retries: 2\ntasks:\n").replace(
        "    script: |\n", "    <<: *d\n    timeout: 5m\n    script: |\n")
    spec = compile_yaml(write(tmp_path, text))
    assert spec.tasks["prep"].retries == 2 and spec.tasks["prep"].timeout == 300.0


def test_compile_yaml_text_names_its_source() -> None:
    with pytest.raises(SpecError, match=r"^inline\.yaml:1: name: the workflow name"):
        compile_yaml_text("name: 'bad name'\ntasks: {}\nnodes: []\n", "inline.yaml")


def test_format_path() -> None:
    assert format_path(("nodes", 2, "inputs", "x")) == "nodes[2].inputs.x"
    assert format_path(("labels", "a.b")) == 'labels["a.b"]'
    assert format_path(()) == "(top level)"


def test_the_full_example_in_the_docs_compiles() -> None:
    doc = (ROOT / "docs" / "yaml-spec.md").read_text(encoding="utf-8")
    found = re.search(r"```yaml\n(.*?)```", doc, re.DOTALL)
    assert found is not None
    spec = compile_yaml_text(found.group(1), "docs/yaml-spec.md")
    assert [n.id for n in spec.nodes] == ["extract", "score", "report"]
    assert {t.kind for t in spec.tasks.values()} == {"shell", "container", "python"}


def test_defaults_are_stored_normalized(tmp_path: Path) -> None:
    text = mutate("  n: int\n", "  n: int\n  rate: {type: float, default: 1}\n")
    spec = compile_yaml(write(tmp_path, text))
    rate = spec.interface.input("rate")
    assert rate is not None and rate.default == 1.0 and isinstance(rate.default, float)


def _normal_types() -> st.SearchStrategy[LiteralType]:
    """Literal types in the form the parser produces: flat unions of distinct variants,
    null last, never a union of one."""
    simple = st.sampled_from(["int", "float", "str", "bool", "bytes", "datetime", "date",
                              "duration", "json"]).map(lambda n: SimpleType(name=n))
    blobs = st.builds(lambda d, f: BlobType(dimensionality=d, format=f),
                      st.sampled_from(["file", "directory"]), st.sampled_from(["", "csv"]))
    columns = st.lists(st.tuples(st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True),
                                 simple), max_size=3, unique_by=lambda c: c[0])
    frames = st.one_of(st.just(DataFrameType()), columns.map(
        lambda cs: DataFrameType(columns=tuple(FieldSpec(name=n, type=t) for n, t in cs))))

    def extend(inner: st.SearchStrategy[LiteralType]) -> st.SearchStrategy[LiteralType]:
        non_union = inner.filter(lambda t: not isinstance(t, UnionType))
        unions = st.tuples(st.lists(non_union, min_size=1, max_size=3, unique=True),
                           st.booleans()).filter(lambda vn: len(vn[0]) + vn[1] >= 2).map(
            lambda vn: UnionType(variants=(
                *vn[0], *([SimpleType(name="none")] if vn[1] else []))))
        return st.one_of(inner.map(lambda t: ListType(item=t)),
                         inner.map(lambda t: MapType(value=t)), unions)

    return st.recursive(st.one_of(simple, blobs, frames), extend, max_leaves=6)


@settings(max_examples=200, deadline=None)
@given(_normal_types())
def test_parse_type_inverts_render_type(lt: LiteralType) -> None:
    assert parse_type(render_type(lt)) == lt
