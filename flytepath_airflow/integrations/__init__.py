"""Integrations with optional libraries: one module per library, each behind its extra.

- `pandera`: `pandera.typing.DataFrame[Schema]` as a task input or output type
  (`pip install 'airflow-provider-flytepath[pandera]'`).
- `great_expectations`: `GXValidate(...)` on a DataFrame or File, `gx_validate(...)` inside
  a task, and `gx_task(...)` as a task of its own
  (`pip install 'airflow-provider-flytepath[great-expectations]'`).
- `papermill`: `NotebookTask(...)` runs a notebook as a typed task, with `record_outputs`
  (`pip install 'airflow-provider-flytepath[papermill]'`).

The type engine finds the validation transformers through the `flytepath.plugins` entry
point group (types/engine.py `BUNDLED_PLUGINS` names them too), so the layers below never
import this package. A module here imports its library inside the functions that use it,
so importing the module (a workflow file does) costs nothing, and a missing library is a
user error with the `pip install` line.

Must not import at module level: pandas, pandera, great_expectations, papermill, airflow,
kubernetes.
"""
