"""The two Airflow DAG files a deployment puts in its DAGs folder, shipped in the wheel.

`flytepath_dags.py` builds one DAG per spec and `flytepath_spec_errors.py` reports broken
specs as its own import error (ADR 0006). They live here so that an installed provider has
them: `flytepath dags-file` writes them into a DAGs folder, and the checkout's `dags/`
holds identical copies (a test keeps them so) for the demo and the tests.

FlytePath never imports the two files as modules: Airflow runs them, from the DAGs folder.
`dag_file_sources()` reads them as text.

Must not import: airflow, kubernetes (nor the two DAG files themselves).
"""

from __future__ import annotations

from importlib import resources

DAG_FILE_NAMES = ("flytepath_dags.py", "flytepath_spec_errors.py")
"""The DAG files, in the order `flytepath dags-file` writes them."""


def dag_file_sources() -> dict[str, str]:
    """The text of each shipped DAG file, by file name (the order of `DAG_FILE_NAMES`)."""
    folder = resources.files(__name__)
    return {name: folder.joinpath(name).read_text(encoding="utf-8") for name in DAG_FILE_NAMES}


__all__ = ["DAG_FILE_NAMES", "dag_file_sources"]
