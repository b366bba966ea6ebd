"""Jupyter notebooks as typed tasks, run by papermill (Flyte's `NotebookTask`).

    report = NotebookTask(name="report", notebook_path="notebooks/report.ipynb",
                          inputs=kwtypes(n=int), outputs=kwtypes(total=int))

How one runs (docs/integrations.md, "Notebooks and decks"):

1. The task's inputs are written into the notebook by papermill, as a cell right after
   the cell tagged `parameters` (File and Directory inputs arrive as local paths).
2. The notebook runs in a Jupyter kernel, a child process of the task, in the notebook's
   own folder, so relative paths behave as they do in Jupyter.
3. The notebook calls `record_outputs(name=value, ...)`; the values reach the task
   through a file in the attempt's private working folder, and each is checked against
   the declared type before anything is published.
4. The executed notebook becomes the File output `out_nb`; with `render_deck=True` its
   HTML rendering (nbconvert) is the task's "Notebook" deck, also when a cell raised.

The task is a Python task to the rest of FlytePath: its spec names this object by its
module-level variable, and its code digest is the notebook's bytes, so editing the
notebook changes the workflow's version and a worker with another notebook refuses to run
it (ADR 0040).

Imports papermill, nbformat and nbconvert only inside the functions that use them.
Must not import: airflow, kubernetes.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import pickle
import re
import shutil
import sys
import tempfile
import threading
import typing
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Any, NamedTuple

from typing_extensions import Unpack

from flytepath_airflow.errors import (
    CompileError,
    FlytePathUserError,
    RecoverableError,
    require,
)
from flytepath_airflow.ir.models import TaskSpec
from flytepath_airflow.ir.names import check_name
from flytepath_airflow.runtime.context import current_context
from flytepath_airflow.runtime.decks import Deck
from flytepath_airflow.sdk.task import TASK_OPTIONS, PythonTask, TaskOptions, check_options
from flytepath_airflow.types import Directory, File, default_engine
from flytepath_airflow.types.engine import MissingBlobContextError, type_repr
from flytepath_airflow.types.render import describe_value
from flytepath_airflow.utils.suggest import closest

logger = logging.getLogger(__name__)

EXTRA = "papermill"
OUTPUTS_ENV = "FLYTEPATH_NOTEBOOK_OUTPUTS"
"""Where `record_outputs` writes, set for the kernel only while a NotebookTask runs."""

NOTEBOOK_OUTPUT = "out_nb"
"""The File output holding the executed notebook (Flyte's name)."""

MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024
"""A notebook to run (32 MiB): committed notebooks are small; one with large embedded
outputs should be cleared before it is used as a task."""

MAX_RECORDED_BYTES = 2 * 1024 * 1024 * 1024
"""Recorded outputs (2 GiB): larger data belongs in a File the notebook writes."""

KERNEL_START_TIMEOUT = 120
"""Seconds papermill waits for the Jupyter kernel to start."""

_SCALARS = (int, float, str, bool)
_ENV_LOCK = threading.Lock()
_KERNEL_LOST = frozenset({"DeadKernelError", "TimeoutError"})
"""nbclient's errors for a kernel that died or did not start in time."""
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookError(FlytePathUserError):
    """A notebook that cannot be used as a task, or one that failed while it ran."""


# ------------------------------------------------------------------- the notebook side


def record_outputs(**outputs: Any) -> dict[str, Any]:
    """Record the notebook's outputs; call it in the notebook, once or several times.

    Inside a running NotebookTask the values go back to the task, which checks each one
    against the declared type. Run by hand (in Jupyter) it only returns them, so the same
    notebook works in both places.

    :param outputs: each output's name and value.
    :returns: everything recorded so far in this run of the notebook.
    """
    target = os.environ.get(OUTPUTS_ENV)
    if not target:
        print(f"record_outputs: not running as a FlytePath task; recorded "
              f"{', '.join(outputs) or 'nothing'} (shown, not stored).")
        return dict(outputs)
    path = Path(target)
    recorded: dict[str, Any] = {}
    if path.exists():
        with path.open("rb") as fh:
            recorded = pickle.load(fh)  # written by this function in this kernel
    recorded.update(outputs)
    # Written whole and renamed, so the task never reads half a file if the kernel dies.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".record-")
    with os.fdopen(fd, "wb") as fh:
        pickle.dump(recorded, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return dict(recorded)


# ----------------------------------------------------------------------- the task


def _caller() -> tuple[str, str | None, int]:
    """Module, file and line of the code that created the NotebookTask."""
    frame = sys._getframe(2)
    return (str(frame.f_globals.get("__name__", "__main__")), frame.f_globals.get("__file__"),
            frame.f_lineno)


def _parameter_type_problem(tp: Any) -> str | None:
    """Why papermill cannot pass a value of `tp` as a parameter (None when it can)."""
    if tp in _SCALARS or tp in (File, Directory):
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, UnionType):
        for arg in args:
            if arg is not type(None) and _parameter_type_problem(arg) is not None:
                return _parameter_type_problem(arg)
        return None
    if origin is list and args:
        return None if args[0] in _SCALARS else "lists may hold int, float, str or bool"
    if origin is dict and len(args) == 2:
        return None if args[0] is str and args[1] in _SCALARS else \
            "dicts map str to int, float, str or bool"
    return (f"papermill writes parameters into the notebook as Python source, which "
            f"{getattr(tp, '__name__', tp)} has no form for")


class NotebookTask(PythonTask):
    """A Jupyter notebook run as a typed task by papermill.

    :param name: the task's name, also its node id in workflows (e.g. "report").
    :param notebook_path: the .ipynb file, relative to the file that creates the task.
    :param inputs: `kwtypes(...)` of the parameters papermill injects; int, float, str,
        bool, their lists, dicts and Optionals, and File or Directory (given to the
        notebook as local paths).
    :param outputs: `kwtypes(...)` of what the notebook records with `record_outputs`;
        any type FlytePath supports. The executed notebook is added as `out_nb: File`.
    :param render_deck: attach the executed notebook's HTML rendering as a deck.
    :param kernel_name: the Jupyter kernel to run (default: the notebook's own, usually
        python3 of the running interpreter).
    :param options: the options of `@task` (retries, timeout, cache, resources, ...).
    """

    KIND = "notebook task"

    def __init__(self, name: str, notebook_path: str | os.PathLike[str],
                 inputs: Mapping[str, Any] | None = None,
                 outputs: Mapping[str, Any] | None = None, *, render_deck: bool = False,
                 kernel_name: str | None = None, **options: Unpack[TaskOptions]) -> None:
        module, file, line = _caller()
        self._where = f"{file or module}:{line}"
        check_name(name, "node", where=f"NotebookTask ({self._where})")
        check_options("NotebookTask", options, TASK_OPTIONS)
        self._inputs = dict(inputs or {})
        self._outputs = dict(outputs or {})
        if NOTEBOOK_OUTPUT in self._outputs or NOTEBOOK_OUTPUT in self._inputs:
            raise CompileError(
                f"NotebookTask '{name}' ({self._where}) declares '{NOTEBOOK_OUTPUT}', the "
                "name of the executed notebook it outputs itself; rename that variable.")
        for var, tp in self._inputs.items():
            problem = _parameter_type_problem(tp)
            if problem is not None:
                raise CompileError(
                    f"NotebookTask '{name}' ({self._where}) input '{var}' is "
                    f"{type_repr(tp)}, but {problem}. Pass it as a File "
                    "(the notebook gets its path) or as one of the supported types.")
        base = Path(file).resolve().parent if file else Path.cwd()
        self.notebook_path = (base / notebook_path).resolve()
        self.render_deck = bool(render_deck)
        self.kernel_name = kernel_name
        fn = self._function(name, module)
        super().__init__(fn, dict(options))

    # The runtime imports "module:variable" and calls the function behind it
    # (`__flytepath_fn__`), so the function carries the notebook task's whole interface.
    def _function(self, name: str, module: str) -> Any:
        def run_notebook(**values: Any) -> Any:
            return self._run(values)

        output_fields = [*self._outputs.items(), (NOTEBOOK_OUTPUT, File)]
        result = NamedTuple(f"{name.replace('-', '_')}_outputs", output_fields)  # type: ignore[misc]
        result.__module__ = __name__
        params = [inspect.Parameter(var, inspect.Parameter.KEYWORD_ONLY, annotation=tp)
                  for var, tp in self._inputs.items()]
        run_notebook.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            params, return_annotation=result)
        run_notebook.__annotations__ = {**self._inputs, "return": result}
        run_notebook.__name__ = name
        run_notebook.__qualname__ = name  # the variable name once it is known (to_spec)
        run_notebook.__module__ = module
        run_notebook.__doc__ = f"Runs the notebook {self.notebook_path.name}."
        run_notebook.__flytepath_code__ = self._code_text  # type: ignore[attr-defined]
        return run_notebook

    @property
    def location(self) -> str:
        """Where the NotebookTask is created (file:line)."""
        return self._where

    def _variable(self) -> str:
        module = sys.modules.get(self.fn.__module__)
        for var, value in vars(module).items() if module is not None else ():
            if value is self:
                return var
        raise CompileError(
            f"NotebookTask '{self.fn.__name__}' ({self._where}) is not assigned to a "
            "module-level name, so workers cannot find it. Create it at module level, e.g. "
            f"`{self.fn.__name__.replace('-', '_')} = NotebookTask(...)`.")

    def read_notebook(self) -> bytes:
        """The notebook's bytes, refused when missing or too large (a user error)."""
        path = self.notebook_path
        try:
            size = path.stat().st_size
            if size > MAX_NOTEBOOK_BYTES:
                raise NotebookError(
                    f"notebook {path} of task '{self.fn.__name__}' ({self._where}) has "
                    f"{size:,} bytes; the limit is {MAX_NOTEBOOK_BYTES:,}. Clear its "
                    "outputs (Jupyter: Edit > Clear Outputs of All Cells) and save it.")
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotebookError(
                f"notebook {path} of task '{self.fn.__name__}' ({self._where}) does not "
                "exist. notebook_path is relative to the file that creates the task; fix "
                "the path, or ship the notebook beside that file where tasks run.") from None

    def _code_text(self) -> str:
        # The code digest of a notebook task is its notebook: any saved edit is a new
        # version, and a worker holding another notebook refuses the run.
        return "notebook:" + hashlib.sha256(self.read_notebook()).hexdigest()

    def check_notebook(self) -> None:
        """Refuse, at compile time, a notebook that is not valid JSON, not a notebook, or
        lacks the `parameters` cell its inputs need."""
        data = self.read_notebook()
        where = f"notebook {self.notebook_path} of task '{self.fn.__name__}' ({self._where})"
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise NotebookError(
                f"{where} is not valid JSON ({exc}), so it is not a notebook Jupyter saved. "
                "Open and save it in Jupyter, or restore it from version control.") from None
        cells = doc.get("cells") if isinstance(doc, dict) else None
        if not isinstance(cells, list) or not isinstance(doc.get("nbformat"), int):
            raise NotebookError(
                f"{where} is JSON but not a notebook (it needs 'cells' and 'nbformat'). "
                "Point notebook_path at an .ipynb file saved by Jupyter.")
        if self._inputs and not any(
                isinstance(c, dict) and "parameters" in ((c.get("metadata") or {}).get("tags")
                                                         or ()) for c in cells):
            raise NotebookError(
                f"{where} has no cell tagged 'parameters', so papermill would put the "
                f"inputs ({', '.join(self._inputs)}) at the top, where the notebook's own "
                "defaults would overwrite them. Tag the cell that sets their defaults "
                "'parameters' (Jupyter: View > Cell Toolbar > Tags).")

    def to_spec(self) -> TaskSpec:
        """Compile the task; checks the notebook file and finds the task's variable."""
        self.fn.__qualname__ = self._variable()
        self.__qualname__ = self.fn.__qualname__
        self.check_notebook()
        return super().to_spec()

    # ------------------------------------------------------------------ running

    def _run(self, values: dict[str, Any]) -> Any:
        """Execute the notebook with `values` and return its checked outputs."""
        pm = require("papermill", EXTRA, f"NotebookTask '{self.fn.__name__}'")
        ctx = current_context()
        work = Path(ctx.working_dir) / "notebook"
        work.mkdir(parents=True, exist_ok=True)
        executed = work / self.notebook_path.name
        recorded_file = work / "recorded.pickle"
        parameters = {var: os.fspath(value.path) if isinstance(value, (File, Directory))
                      else value for var, value in values.items()}
        logger.info("running notebook %s (kernel %s)", self.notebook_path,
                    self.kernel_name or "from the notebook")
        failure: BaseException | None = None
        # The kernel talks to the task over Unix sockets in a private folder, not loopback
        # TCP: no other local user can connect. The folder is short-named under the system
        # temp dir because a socket path has a ~100-byte limit the scratch path may exceed.
        sockets = tempfile.mkdtemp(prefix="fp-kernel-")
        transport = _kernel_config(os.path.join(sockets, "k"))
        with _KernelEnvironment(str(recorded_file)):
            try:
                pm.execute_notebook(  # type: ignore[attr-defined]
                    str(self.notebook_path), str(executed), parameters=parameters,
                    kernel_name=self.kernel_name, progress_bar=False, log_output=False,
                    start_timeout=KERNEL_START_TIMEOUT, cwd=str(self.notebook_path.parent),
                    config=transport)
            except Exception as exc:  # papermill's own error, or one starting the kernel
                failure = exc
            finally:
                shutil.rmtree(sockets, ignore_errors=True)
        if self.render_deck and executed.exists():
            _render_deck(executed)
        if failure is not None:
            raise self._failure(failure, executed) from None
        recorded = _read_recorded(recorded_file, self.fn.__name__)
        return self.fn.__annotations__["return"](
            **self._checked_outputs(recorded), **{NOTEBOOK_OUTPUT: File(str(executed))})

    def _failure(self, exc: BaseException, executed: Path) -> Exception:
        name = self.notebook_path.name
        if type(exc).__name__ in _KERNEL_LOST:
            # The kernel died or never answered: the machine's trouble, not the notebook's,
            # so the attempt is retried (up to the task's retries).
            return RecoverableError(f"the kernel running notebook {name} of task "
                                    f"'{self.fn.__name__}' was lost: {type(exc).__name__}: "
                                    f"{exc}")
        if type(exc).__name__ != "PapermillExecutionError":
            return NotebookError(f"notebook {name} of task '{self.fn.__name__}' could not "
                                 f"run: {type(exc).__name__}: {exc}")
        index = int(getattr(exc, "cell_index", 0))
        # Number the cell as the user's notebook does: papermill inserted one of its own.
        injected = _injected_index(executed)
        if injected is not None and injected < index:
            index -= 1
        source = str(getattr(exc, "source", "")).strip().splitlines()
        excerpt = "\n".join(f"    {line}" for line in source[:4])
        if len(source) > 4:
            excerpt += f"\n    ... ({len(source) - 4} more lines)"
        count = getattr(exc, "exec_count", None)
        trace = [_ANSI.sub("", line) for line in getattr(exc, "traceback", None) or ()]
        # IPython marks the failing line of the cell with an arrow; show it under the cell.
        arrow = [line.strip() for line in "\n".join(trace).splitlines()
                 if line.lstrip().startswith("---->")]
        return NotebookError(
            f"notebook {name} of task '{self.fn.__name__}' failed in cell {index + 1}"
            f"{f' (In [{count}])' if count else ''}:\n{excerpt}\n"
            + (f"  {arrow[-1]}\n" if arrow else "")
            + f"{getattr(exc, 'ename', 'Error')}: {getattr(exc, 'evalue', '')}\n"
            "The executed notebook, with the error, is the task's 'Notebook' deck"
            + (" (flytepath deck RUN_ID NODE)." if self.render_deck else
               " when render_deck=True."))

    def _checked_outputs(self, recorded: dict[str, Any]) -> dict[str, Any]:
        name, nb = self.fn.__name__, self.notebook_path.name
        declared = self._outputs
        missing = [var for var in declared if var not in recorded]
        unknown = [var for var in recorded if var not in declared]
        if unknown:
            hints = [f"'{var}'" + (f" (did you mean '{c}'?)" if (c := closest(var, declared))
                                   else "") for var in unknown]
            raise NotebookError(
                f"notebook {nb} of task '{name}' recorded {', '.join(hints)}, which the task "
                f"does not declare (outputs: {', '.join(declared) or 'none'}). Add it to "
                "outputs=kwtypes(...) or stop recording it.")
        if missing:
            raise NotebookError(
                f"notebook {nb} of task '{name}' did not record {', '.join(missing)}. Call "
                f"record_outputs({', '.join(f'{v}=...' for v in missing)}) in the notebook "
                "(from flytepath_airflow.integrations.papermill import record_outputs).")
        engine = default_engine()
        for var, tp in declared.items():
            try:
                engine.to_literal(recorded[var], tp, None, var)
            except MissingBlobContextError:
                pass  # the value fits; it is stored when the task publishes its outputs
            except (FlytePathUserError, TypeError, ValueError) as exc:
                # The engine's reason helps when it points inside the value (`xs[2]`).
                reason = str(exc)
                inside = f" ({reason.rstrip('.')})" if reason[len(var):][:1] in "[." else ""
                raise NotebookError(
                    f"notebook {nb} of task '{name}' recorded output '{var}' as "
                    f"{describe_value(recorded[var])}, but the task declares it "
                    f"{type_repr(tp)}{inside}. Record a value of the declared "
                    f"type, or change outputs=kwtypes({var}=...).") from None
        return {var: recorded[var] for var in declared}


class _KernelEnvironment:
    """Set OUTPUTS_ENV while papermill starts the kernel (the kernel copies os.environ)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.previous: str | None = None

    def __enter__(self) -> None:
        _ENV_LOCK.acquire()
        self.previous = os.environ.get(OUTPUTS_ENV)
        os.environ[OUTPUTS_ENV] = self.target

    def __exit__(self, *exc: object) -> None:
        try:
            if self.previous is None:
                os.environ.pop(OUTPUTS_ENV, None)
            else:
                os.environ[OUTPUTS_ENV] = self.previous
        finally:
            _ENV_LOCK.release()


def _kernel_config(socket_prefix: str) -> Any:
    traitlets = require("traitlets.config", EXTRA, "running a notebook")
    return traitlets.Config(  # type: ignore[attr-defined]
        {"KernelManager": {"transport": "ipc", "ip": socket_prefix}})


def _read_recorded(path: Path, task: str) -> dict[str, Any]:
    if not path.exists():
        return {}
    size = path.stat().st_size
    if size > MAX_RECORDED_BYTES:
        raise NotebookError(
            f"task '{task}': the notebook recorded {size:,} bytes of outputs; the limit is "
            f"{MAX_RECORDED_BYTES:,}. Write large data to a file and record File(path).")
    # The file is this attempt's private hand-off from the kernel it started, which runs
    # the same user's code; it is read once and never stored.
    with path.open("rb") as fh:
        recorded = pickle.load(fh)
    if not isinstance(recorded, dict):
        raise NotebookError(f"task '{task}': the notebook's recorded outputs are damaged.")
    return recorded


def _injected_index(executed: Path) -> int | None:
    try:
        cells = json.loads(executed.read_text(encoding="utf-8")).get("cells") or []
    except (OSError, ValueError):
        return None
    for index, cell in enumerate(cells):
        if "injected-parameters" in ((cell.get("metadata") or {}).get("tags") or ()):
            return index
    return None


def render_notebook_html(path: Path) -> str:
    """An executed notebook as one HTML page (nbconvert's HTML exporter)."""
    nbformat = require("nbformat", EXTRA, "rendering a notebook deck")
    nbconvert = require("nbconvert", EXTRA, "rendering a notebook deck")
    notebook = nbformat.read(str(path), as_version=4)  # type: ignore[attr-defined]
    html, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)  # type: ignore[attr-defined]
    return str(html)


def _render_deck(executed: Path) -> None:
    try:
        html = render_notebook_html(executed)
    except FlytePathUserError:
        raise
    except Exception as exc:  # a rendering bug must not hide the notebook's own result
        logger.warning("could not render %s as HTML: %s", executed.name, exc)
        return
    Deck("Notebook", html)


__all__ = ["NOTEBOOK_OUTPUT", "NotebookError", "NotebookTask", "record_outputs",
           "render_notebook_html"]
