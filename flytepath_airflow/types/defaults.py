"""The process-wide default engine, with every builtin transformer and the plugins.

Must not import at module level: pandas, pyarrow (nor airflow, kubernetes, stores).
"""

from __future__ import annotations

import threading
from typing import Any

from flytepath_airflow.types.builtins import builtin_transformers
from flytepath_airflow.types.dataframes import PandasDataFrameTransformer
from flytepath_airflow.types.engine import TypeEngine, TypeTransformer
from flytepath_airflow.types.files import DirectoryTransformer, FileTransformer
from flytepath_airflow.types.pickled import PickledTransformer

__all__ = ["builtin_engine", "default_engine"]

_default: TypeEngine | None = None
_lock = threading.Lock()


def _all_builtins() -> list[TypeTransformer[Any]]:
    # Registration order matters only for overlap: later ones are asked first, so the
    # Pickled() marker wins over any other claim on the type it wraps.
    return [
        *builtin_transformers(),
        FileTransformer(),
        DirectoryTransformer(),
        PandasDataFrameTransformer(),
        PickledTransformer(),
    ]


def builtin_engine(*, load_plugins: bool = False) -> TypeEngine:
    """A new engine with every builtin transformer registered.

    :param load_plugins: also load the `flytepath.plugins` entry points on first use.
    """
    return TypeEngine(_all_builtins(), load_plugins=load_plugins)


def default_engine() -> TypeEngine:
    """The process singleton: builtins, plus the `flytepath.plugins` entry points, which
    are loaded the first time the engine is used (so `register` calls made before that
    come first)."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = builtin_engine(load_plugins=True)
    return _default
