"""`kwtypes`: an ordered interface declared as keywords, for tasks that have no Python
signature to read (a notebook's inputs and outputs).

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.names import IDENT


def kwtypes(**types: Any) -> OrderedDict[str, Any]:
    """Name -> Python type, in the order written: `kwtypes(n=int, label=str)`.

    The types are checked where the interface is compiled (the type engine knows which it
    supports); here only the names are, since they become Python identifiers in the
    notebook's parameters cell.

    :param types: each variable's name and its Python type.
    :raises CompileError: a name is not a Python identifier or a value is not a type.
    """
    for name, tp in types.items():
        if not IDENT.match(name):
            raise CompileError(f"kwtypes: {name!r} is not a Python identifier; the names "
                               "become variables, e.g. kwtypes(n_rows=int).")
        if tp is None or isinstance(tp, (str, int, float, bool)):
            raise CompileError(f"kwtypes: '{name}' is given the value {tp!r}, not a type; "
                               f"write the type, e.g. kwtypes({name}=int).")
    return OrderedDict(types)


__all__ = ["kwtypes"]
