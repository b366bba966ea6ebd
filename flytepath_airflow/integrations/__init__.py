"""Integrations with data-validation libraries: one module per library, each an extra.

- `pandera`: `pandera.typing.DataFrame[Schema]` as a task input or output type
  (`pip install 'airflow-provider-flytepath[pandera]'`).
- `great_expectations`: `GXValidate(...)` on a DataFrame or File, `gx_validate(...)` inside
  a task, and `gx_task(...)` as a task of its own
  (`pip install 'airflow-provider-flytepath[great-expectations]'`).

The type engine finds the transformers through the `flytepath.plugins` entry point group
(types/engine.py `BUNDLED_PLUGINS` names them too), so the layers below never import this
package. Importing this package or its modules imports neither library: that happens when
a value or a type from the library is met.

Must not import at module level: pandas, pandera, great_expectations, airflow, kubernetes.
"""
