"""Carry functions and classes out of a DAG file into a generated task module.

A TaskFlow function or a PythonOperator callable is copied from the DAG file's source
(Python's `ast`): its decorators are removed, its type hints and docstring kept, and the
module-level names it uses (imports, helper functions and classes, constants) are copied
with it, so the generated module runs without importing the DAG file (which would build
the DAGs again). What cannot be carried is listed in `ModuleBuilder.unresolved`.

Never imports airflow; never executes the DAG file.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import re
from dataclasses import dataclass, field
from typing import Any

_BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__"}
_IDENT = re.compile(r"[^A-Za-z0-9_]+")


def module_name_for(text: str) -> str:
    """A Python module name made from a DAG id (letters, digits and `_`)."""
    name = _IDENT.sub("_", text).strip("_") or "dag"
    return f"dag_{name}" if name[0].isdigit() else name


class CannotCarry(Exception):
    """A callable or class cannot be copied out of its DAG file (the reason is the text)."""


@dataclass
class _TopLevel:
    node: ast.stmt
    names: tuple[str, ...]


@dataclass
class ModuleBuilder:
    """Collects the definitions one generated module needs, in the DAG file's order.

    :param path: the DAG file.
    :param source: its text.
    :param module: the name the DAG file was imported under (DagBag's unusual prefix).
    :param target: the dotted name of the generated module.
    """

    path: str
    source: str
    module: str
    target: str
    unresolved: dict[str, list[str]] = field(default_factory=dict)
    _tree: ast.Module = field(init=False)
    _lines: list[str] = field(init=False)
    _top: dict[str, _TopLevel] = field(init=False)
    _future: bool = field(init=False, default=False)
    _imports: dict[int, str] = field(init=False, default_factory=dict)
    _helpers: dict[int, str] = field(init=False, default_factory=dict)
    _defs: dict[str, tuple[int, str]] = field(init=False, default_factory=dict)
    _by_code: dict[Any, str] = field(init=False, default_factory=dict)
    _consts: dict[str, str] = field(init=False, default_factory=dict)
    _json_hints: dict[str, tuple[str, ...]] = field(init=False, default_factory=dict)
    _returns_none: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._tree = ast.parse(self.source, filename=self.path)
        self._lines = self.source.splitlines(keepends=True)
        self._top = {}
        for stmt in self._tree.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                self._future = True
                continue
            for name in _bound_names(stmt):
                self._top.setdefault(name, _TopLevel(stmt, _bound_names(stmt)))

    # ----------------------------------------------------------------------- public
    @property
    def empty(self) -> bool:
        """True when nothing was added."""
        return not self._defs

    def carry(self, obj: Any, preferred: str) -> str:
        """Copy a function or class into the module; returns "module:name".

        Objects defined outside the DAG file are referenced where they live.
        :raises CannotCarry: when the object's source cannot be found in the file.
        """
        target = inspect.unwrap(obj) if callable(obj) and not inspect.isclass(obj) else obj
        module = getattr(target, "__module__", None)
        qualname = getattr(target, "__qualname__", "")
        if module != self.module:
            if module and "<" not in qualname and not module.startswith("unusual_prefix_"):
                return f"{module}:{qualname}"
            raise CannotCarry(f"{qualname or obj!r} comes from a module the DAG file loaded "
                              "by path; it cannot be imported by name")
        key = getattr(target, "__code__", target)
        if key in self._by_code:
            return f"{self.target}:{self._by_code[key]}"
        node = self._find(target)
        if isinstance(node, ast.Lambda):
            name = self._unique(_IDENT.sub("_", preferred) + "_fn")
            text = f"{name} = {ast.get_source_segment(self.source, node)}\n"
            free = _free_names(node)
        else:
            name = self._unique(node.name)
            text = self._segment(node, skip_decorators=True)
            if name != node.name:
                text = re.sub(rf"\b(def|class)\s+{node.name}\b", rf"\1 {name}", text, count=1)
            free = _free_names(node)
        self._by_code[key] = name
        self._defs[name] = (node.lineno, text)
        self._resolve(free, name, getattr(target, "__closure__", None),
                      getattr(getattr(target, "__code__", None), "co_freevars", ()))
        return f"{self.target}:{name}"

    def type_as_json(self, path: str, names: tuple[str, ...],
                     returns_none: bool = False) -> None:
        """Annotate the untyped parameters (and "return") of a carried function as JSON.

        The converted spec types them json; the task's code must say the same, since the
        runtime reads a task's types from its annotations. `returns_none` annotates an
        untyped function that returns nothing as `-> None`.
        """
        name = path.rpartition(":")[2]
        if not path.startswith(f"{self.target}:") or name not in self._defs:
            return
        if names:
            self._json_hints[name] = tuple(sorted(set(self._json_hints.get(name, ())) |
                                                  set(names)))
        if returns_none:
            self._returns_none.add(name)

    def render(self, header: str) -> str:
        """The module's text: header, imports, helpers, then the carried definitions."""
        parts = [f'"""{header}"""\n']
        if self._future:
            parts.append("\nfrom __future__ import annotations\n")
        if self._imports:
            parts.append("\n" + "".join(self._imports[k] for k in sorted(self._imports)))
        if any(self._json_hints.values()):
            parts.append("\nfrom flytepath_airflow.types import JSON as _FlytePathJSON\n")
        for name in sorted(self._consts):
            parts.append(f"\n{name} = {self._consts[name]}\n")
        for key in sorted(self._helpers):
            parts.append("\n\n" + self._helpers[key])
        for name, (_, text) in sorted(self._defs.items(), key=lambda item: item[1]):
            parts.append("\n\n" + text)
            entries = [f"{n!r}: _FlytePathJSON" for n in self._json_hints.get(name, ())]
            if name in self._returns_none:
                entries.append("'return': None")
            if entries:
                parts.append(f"# Untyped in the DAG file: typed JSON (any JSON value).\n"
                             f"{name}.__annotations__.update({{{', '.join(entries)}}})\n")
        return "".join(parts).rstrip() + "\n"

    # ---------------------------------------------------------------------- helpers
    def _unique(self, name: str) -> str:
        candidate, n = name, 2
        while candidate in self._defs:
            candidate, n = f"{name}_{n}", n + 1
        return candidate

    def _find(self, target: Any) -> Any:
        if inspect.isclass(target):
            for node in ast.walk(self._tree):
                if isinstance(node, ast.ClassDef) and node.name == target.__name__:
                    return node
            raise CannotCarry(f"class {target.__qualname__} is not in {self.path}")
        code = getattr(target, "__code__", None)
        if code is None:
            raise CannotCarry(f"{target!r} is not a function")
        first = code.co_firstlineno
        for node in ast.walk(self._tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and \
                    node.name == code.co_name:
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if start == first or node.lineno == first:
                    return node
            if isinstance(node, ast.Lambda) and code.co_name == "<lambda>" and \
                    node.lineno == first:
                return node
        raise CannotCarry(f"the source of {code.co_name} (line {first}) is not in {self.path}")

    def _segment(self, node: Any, skip_decorators: bool) -> str:
        start = node.lineno if skip_decorators else min(
            [node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        lines = self._lines[start - 1:node.end_lineno]
        indent = node.col_offset
        out = []
        for line in lines:
            prefix = line[:indent]
            out.append(line[indent:] if not prefix.strip() else line.lstrip())
        text = "".join(out)
        return text if text.endswith("\n") else text + "\n"

    def _resolve(self, free: set[str], owner: str, closure: Any, freevars: tuple[str, ...]
                 ) -> None:
        cells = dict(zip(freevars, closure or (), strict=False))
        for name in sorted(free):
            if name in _BUILTINS or name in self._defs or name in self._consts:
                continue
            if name in cells:
                value = _cell_value(cells[name])
                if value is None:
                    self.unresolved.setdefault(owner, []).append(name)
                else:
                    self._consts[name] = value
                continue
            top = self._top.get(name)
            if top is None:
                self.unresolved.setdefault(owner, []).append(name)
                continue
            stmt = top.node
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                self._imports[stmt.lineno * 1000 + len(self._imports)] = _import_line(stmt, name)
                continue
            if stmt.lineno in self._helpers:
                continue
            if _builds_dags(stmt):
                self.unresolved.setdefault(owner, []).append(name)
                continue
            self._helpers[stmt.lineno] = self._segment(stmt, skip_decorators=False)
            self._resolve(_free_names(stmt), owner, None, ())


def _cell_value(cell: Any) -> str | None:
    try:
        value = cell.cell_contents
    except ValueError:
        return None
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return None
    return repr(json.loads(text)) if isinstance(value, int | float | str | bool) or \
        value is None else text


def _bound_names(stmt: ast.stmt) -> tuple[str, ...]:
    if isinstance(stmt, ast.Import):
        return tuple((a.asname or a.name).split(".")[0] for a in stmt.names)
    if isinstance(stmt, ast.ImportFrom):
        return tuple(a.asname or a.name for a in stmt.names if a.name != "*")
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return (stmt.name,)
    if isinstance(stmt, ast.Assign | ast.AnnAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return tuple(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return ()


def _import_line(stmt: ast.Import | ast.ImportFrom, name: str) -> str:
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if (alias.asname or alias.name).split(".")[0] == name:
                return f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "") \
                    + "\n"
    assert isinstance(stmt, ast.ImportFrom)
    for alias in stmt.names:
        if (alias.asname or alias.name) == name:
            module = "." * stmt.level + (stmt.module or "")
            return f"from {module} import {alias.name}" + \
                (f" as {alias.asname}" if alias.asname else "") + "\n"
    return ""


_DAG_BUILDERS = frozenset({"DAG", "dag", "task", "task_group", "TaskGroup", "chain",
                           "cross_downstream", "chain_linear"})


def _builds_dags(stmt: ast.stmt) -> bool:
    """True for statements that build DAGs or tasks (they must not run in a task module)."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        for dec in stmt.decorator_list:
            root = dec.func if isinstance(dec, ast.Call) else dec
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in _DAG_BUILDERS:
                return True
        return False
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else \
                fn.attr if isinstance(fn, ast.Attribute) else ""
            if name in _DAG_BUILDERS or name.endswith(("Operator", "Sensor")):
                return True
    return isinstance(stmt, ast.With)


def _free_names(node: ast.AST) -> set[str]:
    """Names a definition reads that it does not bind itself (a conservative estimate)."""
    loaded: set[str] = set()
    bound: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (loaded if isinstance(sub.ctx, ast.Load) else bound).add(sub.id)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if sub is not node:
                bound.add(sub.name)
        elif isinstance(sub, ast.Import | ast.ImportFrom):
            bound.update(_bound_names(sub))
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bound.add(sub.name)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        # Decorators were removed; what they read is not needed.
        for dec in node.decorator_list:
            for sub in ast.walk(dec):
                if isinstance(sub, ast.Name):
                    loaded.discard(sub.id)
    return loaded - bound
