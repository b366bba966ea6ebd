"""Nodes and bindings in a YAML document: which task a node runs and where its inputs come from.

A binding is exactly one `${{ inputs.<name> }}` or `${{ nodes.<id>.outputs.<name> }}`
reference (docs/adr/0005-yaml-binding-syntax.md), a literal (`$${{` stands for the text
`${{`), or a list or mapping holding references. Mixing a reference with other text is an
error: text is built from values in a task.

Must not import: airflow, kubernetes, the sdk, or the task and workflow readers.
"""

from __future__ import annotations

import re
from typing import Any

from flytepath_airflow.translators.checks import FieldPath
from flytepath_airflow.translators.yaml.loader import YamlPath
from flytepath_airflow.translators.yaml.names import NODE_ID
from flytepath_airflow.translators.yaml.reader import DocumentReader, describe

REF_OPEN = re.compile(r"(?<!\$)\$\{\{")
"""The start of a `${{ ... }}` reference (`$${{` is an escaped literal, not a reference)."""
_REF = re.compile(r"\$\{\{(.*?)\}\}\Z", re.DOTALL)
_INPUT_REF = re.compile(r"inputs\.([A-Za-z_][A-Za-z0-9_]*)\Z")
_OUTPUT_REF = re.compile(r"nodes\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)\Z")
_NODE_KEYS = ("id", "task", "inputs", "after")


class NodeReader(DocumentReader):
    """Reads `nodes[i]` entries and their bindings into NodeSpec documents."""

    def binding(self, value: Any, path: YamlPath, spath: FieldPath) -> dict[str, Any]:
        """A binding: a `${{ ... }}` reference, a literal, or a collection holding refs."""
        self.link(spath, path)
        if isinstance(value, str) and REF_OPEN.search(value):
            return self.reference(value, path)
        if not _has_reference(value):
            return {"kind": "literal", "value": _unescape(value)}
        if isinstance(value, list):
            return {"kind": "list", "items": [
                self.binding(item, (*path, i), (*spath, "items", i))
                for i, item in enumerate(value)]}
        assert isinstance(value, dict)
        return {"kind": "map", "entries": {
            key: self.binding(item, (*path, key), (*spath, "entries", key))
            for key, item in value.items()}}

    def reference(self, text: str, path: YamlPath) -> dict[str, Any]:
        match = _REF.match(text.strip())
        if match is None or REF_OPEN.search(text.strip(), 1):
            raise self.error(path, f"{text!r} mixes a reference with other text. A value is "
                             "either exactly one ${{ ... }} reference or a literal; to build "
                             "text from values, do it in a task. Write $${{ for a literal "
                             "'${{'.")
        body = match.group(1).strip()
        found = _INPUT_REF.match(body)
        if found:
            return {"kind": "input", "name": found.group(1)}
        found = _OUTPUT_REF.match(body)
        if found:
            return {"kind": "output", "node": found.group(1), "output": found.group(2)}
        raise self.error(path, f"cannot read the reference {text.strip()!r}. Write "
                         "${{ inputs.<name> }} for a workflow input or "
                         "${{ nodes.<node id>.outputs.<output name> }} for a node output.")

    # ----------------------------------------------------------------------- nodes

    def node(self, index: int, raw: Any) -> dict[str, Any]:
        path: YamlPath = ("nodes", index)
        spath: FieldPath = ("nodes", index)
        self.link(spath, path)
        raw = self.mapping(raw, path, _NODE_KEYS, required=("id",), what="a node")
        node_id = self.name(raw["id"], (*path, "id"), NODE_ID, "the node id",
                            "letters, digits, _ and -, not starting with a digit or -, at most 120 "
                            "characters")
        self.link((*spath, "id"), (*path, "id"))
        task = raw.get("task", node_id)
        self.link((*spath, "task"), (*path, "task") if "task" in raw else (*path, "id"))
        node: dict[str, Any] = {"id": node_id, "task": self.text(task, (*path, "task"),
                                                                 "task")}
        bindings = raw.get("inputs") or {}
        if not isinstance(bindings, dict):
            raise self.error((*path, "inputs"), "inputs must be a mapping of input names to "
                             f"values or references; found {describe(bindings)}.")
        node["inputs"] = {name: self.binding(value, (*path, "inputs", name),
                                             (*spath, "inputs", name))
                          for name, value in bindings.items()}
        after = raw.get("after", [])
        if isinstance(after, str):
            after = [after]
        if not isinstance(after, list):
            raise self.error((*path, "after"), "after is a list of node ids.")
        for k, dep in enumerate(after):
            self.text(dep, (*path, "after", k), "a node id")
            self.link((*spath, "upstream", k), (*path, "after", k))
        node["upstream"] = after
        return node


def _has_reference(value: Any) -> bool:
    if isinstance(value, str):
        return REF_OPEN.search(value) is not None
    if isinstance(value, list):
        return any(_has_reference(v) for v in value)
    if isinstance(value, dict):
        return any(_has_reference(v) for v in value.values())
    return False


def _unescape(value: Any) -> Any:
    """`$${{` in a literal stands for the text `${{`."""
    if isinstance(value, str):
        return value.replace("$${{", "${{")
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    if isinstance(value, dict):
        return {k: _unescape(v) for k, v in value.items()}
    return value



__all__ = ["REF_OPEN", "NodeReader"]
