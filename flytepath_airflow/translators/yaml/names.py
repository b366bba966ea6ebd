"""The naming rules of the YAML format: which text is a valid identifier, id or import path.

Shared by the loader (to render field paths), the type parser (column names) and the
compiler (inputs, outputs, fields, env vars, nodes, tasks, workflows), so every part of the
format accepts the same names.

Must not import: anything but the standard library.
"""

from __future__ import annotations

import re

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
"""Inputs, outputs, fields, columns and env vars: a Python-style identifier."""
NODE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
TASK_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
WORKFLOW_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
FN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*\Z")
"""A python task's import path, "module:qualname"."""

__all__ = ["FN", "IDENT", "NODE_ID", "TASK_NAME", "WORKFLOW_NAME"]
