"""A private Airflow and FlytePath home for a benchmark, set up before Airflow is imported.

    from _airflow_home import private_home
    HOME = private_home("flytepath-map-scale-", {"AIRFLOW__CORE__MAX_MAP_LENGTH": "100000"})

`HOME.work` is importable (task modules go there), `HOME.dags` is the DAG folder, `HOME.specs`
the FlytePath specs folder and `HOME.store` the store root, all in a new temporary folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PrivateHome:
    work: Path
    dags: Path
    specs: Path
    store: Path


def private_home(prefix: str, extra_env: dict[str, str] | None = None) -> PrivateHome:
    """Create the folders and point Airflow (SQLite) and FlytePath at them."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    home = PrivateHome(work, work / "dags", work / "specs", work / "store")
    for folder in (home.dags, home.specs, home.store):
        folder.mkdir(parents=True)
    os.environ.update({
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home.dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{work}/airflow.db",
        "AIRFLOW__FLYTEPATH__STORE_ROOT": str(home.store),
        "FLYTEPATH_SPECS_DIR": str(home.specs),
        "FLYTEPATH_HOME": str(work / "home"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(work), os.environ.get("PYTHONPATH")])),
        **(extra_env or {}),
    })
    sys.path.insert(0, str(work))
    return home
