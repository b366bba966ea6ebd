"""How the type engine finds the integrations: entry points or the bundled list, once each,
without importing pandera or Great Expectations until a type or value needs them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flytepath_airflow.ir.models import DataFrameType, ValidationRef
from flytepath_airflow.types import castability_error
from flytepath_airflow.types import engine as engine_mod
from flytepath_airflow.types._make import dataframe_type


def test_bundled_plugins_are_listed_even_when_no_installed_metadata_names_them() -> None:
    listed = {ep.name: ep.value for ep in engine_mod.plugin_entry_points()}
    for name, value in engine_mod.BUNDLED_PLUGINS.items():
        assert value in listed.values(), name


def test_an_installed_entry_point_is_not_listed_twice(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dist = tmp_path / "flytepath_pandera_shadow-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: flytepath-pandera-shadow\nVersion: 0.1\n")
    value = engine_mod.BUNDLED_PLUGINS["pandera"]
    (dist / "entry_points.txt").write_text(f"[{engine_mod.PLUGIN_GROUP}]\npandera = {value}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    values = [ep.value for ep in engine_mod.plugin_entry_points()]
    assert values.count(value) == 1


def test_loading_the_plugins_imports_neither_library() -> None:
    code = textwrap.dedent("""
        import sys
        from flytepath_airflow.types import default_engine
        engine = default_engine()
        engine.to_literal_type(int)
        names = [t.name for t in engine.transformers]
        assert "pandera.DataFrame" in names, names
        assert "great_expectations.GXValidate" in names, names
        heavy = [m for m in ("pandera", "great_expectations") if m in sys.modules]
        print("heavy:", heavy)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert "heavy: []" in proc.stdout


def _frame(*refs: ValidationRef) -> DataFrameType:
    base = dataframe_type(None, "pandas:DataFrame")
    return DataFrameType.model_validate({**dict(base), "validation": refs})


def _pandera(name: str, *bases: str) -> ValidationRef:
    return ValidationRef(library="pandera", name=name, digest="0" * 64, bases=bases)


def test_castability_compares_pandera_schemas_by_name_and_bases_only() -> None:
    orders, premium = _pandera("m:Orders"), _pandera("m:Premium", "m:Orders")
    refunds = _pandera("m:Refunds")
    assert castability_error(_frame(orders), _frame(orders)) is None
    assert castability_error(_frame(premium), _frame(orders)) is None
    assert castability_error(_frame(), _frame(orders)) is None  # validated when loaded
    assert castability_error(_frame(orders), _frame()) is None
    err = castability_error(_frame(orders), _frame(premium))
    assert err is not None and "m:Orders is neither m:Premium nor a subclass" in err
    assert castability_error(_frame(refunds), _frame(orders)) is not None
    gx = ValidationRef(library="great_expectations", name="s", digest="1" * 64)
    assert castability_error(_frame(orders), _frame(orders, gx)) is None  # GX: run time
