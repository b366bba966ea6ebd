"""The typed YAML front-end: a hand-written workflow file compiled into a WorkflowSpec.

For shell and container tasks and for people who do not write Python. The format is
documented in docs/yaml-spec.md; the reference syntax `${{ inputs.n }}` /
`${{ nodes.<id>.outputs.<name> }}` is recorded in docs/adr/0005-yaml-binding-syntax.md.

Every error names the file, the line and the field path (`pipeline.yaml:12: tasks.count.
retries: ...`). YAML is read with YAML 1.2 core scalars only (true/false, null, decimal
numbers; `yes`, `no`, `on`, `off` and dates stay strings), duplicate keys are errors, and
unknown keys are errors with a "did you mean". The result is checked by
`translators.checks.check_workflow` and returned with its content-hash version.

The stages, lowest first, each importing only those before it:
`loader` (YAML text -> located values), `type_expr` (type text -> LiteralType),
`reader` (positions, errors, value shapes), `interface`, `tasks`, `nodes`, and `compiler`
(the whole document -> WorkflowSpec). `names` holds the naming rules they share.

Must not import: airflow, kubernetes, the sdk, or user code (python tasks are named by
"module:qualname" and never imported here).
"""

from __future__ import annotations

from flytepath_airflow.translators.yaml.compiler import compile_yaml, compile_yaml_text
from flytepath_airflow.translators.yaml.loader import format_path
from flytepath_airflow.translators.yaml.type_expr import (
    TypeExpressionError,
    make_union,
    parse_type,
)

__all__ = [
    "TypeExpressionError",
    "compile_yaml",
    "compile_yaml_text",
    "format_path",
    "make_union",
    "parse_type",
]
