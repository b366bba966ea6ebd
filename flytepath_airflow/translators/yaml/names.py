"""The naming rules of the YAML format: which text is a valid identifier, id or import path.

Shared by the loader (to render field paths), the type parser (column names) and the
compiler (inputs, outputs, fields, env vars, nodes, tasks, workflows), so every part of the
format accepts the same names. The rules themselves live in `ir.names`, next to the rules
the spec models apply to every name that becomes a path or an id (ADR 0033).

Must not import: anything but the standard library and `ir.names`.
"""

from __future__ import annotations

from flytepath_airflow.ir.names import FN, IDENT, NODE_ID, TASK_NAME, WORKFLOW_NAME

__all__ = ["FN", "IDENT", "NODE_ID", "TASK_NAME", "WORKFLOW_NAME"]
