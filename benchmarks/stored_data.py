"""Probes of stored data read back: edited specs, damaged cache rows, run outputs.

    .venv/bin/python benchmarks/stored_data.py

Prints, for docs/reliability.md ("Stored data is verified when read"):
- specs: compiled specs edited in one field with their version left as it was; each
  load must be refused (a SpecError naming both versions), never accepted;
- cache rows: the cache row of a cached task damaged in SQLite in several ways; each
  rerun must return the right value, recompute, and end `succeeded`;
- outputs: the metadata bytes a 2 MB workflow output costs (execution row, end event).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

HOME = Path(tempfile.mkdtemp(prefix="fp-bench-stored-"))
os.environ["FLYTEPATH_HOME"] = str(HOME)
os.environ.pop("FLYTEPATH_METADATA_URL", None)
sys.path.insert(0, str(HOME))

FLOW = '''
from flytepath_airflow import task, workflow

@task(cache=True, cache_version="1", retries=1)
def square(n: int) -> int:
    return n * n

@task
def big(n: int) -> str:
    return "x" * n

@workflow
def squares(n: int = 7) -> int:
    return square(n=n)

@workflow
def made(n: int = 2097152) -> str:
    return big(n=n)
'''


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def spec_probes() -> None:
    from flytepath_airflow.errors import SpecError
    from flytepath_airflow.ir.spec_io import dump_spec, loads_spec
    from flytepath_airflow.sdk.targets import load_target

    genuine = json.loads(dump_spec(load_target(f"{HOME}/flow.py:squares")))
    task = next(iter(genuine["tasks"]))
    edits = {
        "code digest": lambda d: d["tasks"][task].update(code_digest="0" * 64),
        "function": lambda d: d["tasks"][task].update(fn="flow:other"),
        "cache version": lambda d: d["tasks"][task]["cache"].update(version="2"),
        "retries": lambda d: d["tasks"][task].update(retries=5),
        "input default": lambda d: d["interface"]["inputs"][0].update(default=8),
        "image": lambda d: d["tasks"][task].update(image="evil:latest"),
        "node binding": lambda d: d["nodes"][0]["inputs"].update(
            n={"kind": "literal", "value": 3}),
        "workflow name": lambda d: d.update(name="flow.other"),
    }
    clean = accepted = crashed = 0
    for label, edit in edits.items():
        doc = json.loads(json.dumps(genuine))
        edit(doc)
        try:
            loads_spec(json.dumps(doc), label)
            accepted += 1
        except SpecError as exc:
            clean += "claims version" in str(exc)
        except Exception:
            crashed += 1
    print(f"specs: tried {len(edits)}, clean errors {clean}, accepted {accepted}, "
          f"crashes {crashed}")


def cache_probes() -> None:
    from flytepath_airflow.runtime.local import run_local
    from flytepath_airflow.sdk.targets import load_target
    from flytepath_airflow.stores.metadata import MetadataStore

    logging.disable(logging.WARNING)
    damage: dict[str, Any] = {
        "edited inline value": None,  # filled from the stored row
        "inline value without hash": json.dumps({"o0": {"value": 49}}),
        "not JSON": "{not json",
        "binary": b"\xff\xfe",
        "a number": 12,
        "a list": "[49]",
        "a string": '"49"',
        "output missing": "{}",
        "entry not an object": '{"o0": 49}',
        "entry without value or uri": '{"o0": {"sha256": "00"}}',
        "wrong type, right hash": json.dumps({"o0": {"value": "49", "sha256": _sha("49")}}),
        "bad blob pointer": '{"o0": {"uri": 5, "sha256": null}}',
        "blob outside the store": json.dumps({"o0": {"uri": "file:///etc/hostname",
                                                      "sha256": "0" * 64}}),
    }
    db_path = HOME / "metadata.db"
    clean = wrong = crashed = not_succeeded = 0
    for index, (label, raw) in enumerate(damage.items()):
        root = str(HOME / f"store-{index}")
        spec = load_target(f"{HOME}/flow.py:squares", project=f"p{index}")
        run_local(spec, {"n": 7}, root=root)
        with sqlite3.connect(db_path) as db:
            if raw is None:
                [(text,)] = db.execute("SELECT outputs FROM flytepath_cache_entries WHERE "
                                       "project = ?", (f"p{index}",)).fetchall()
                doc = json.loads(text)
                doc["o0"]["value"] = 50
                raw = json.dumps(doc)
            db.execute("UPDATE flytepath_cache_entries SET outputs = ? WHERE project = ?",
                       (raw, f"p{index}"))
        try:
            again = run_local(spec, {"n": 7}, root=root)
        except Exception as exc:
            crashed += 1
            [latest] = MetadataStore().list_executions(project=f"p{index}", limit=1)
            not_succeeded += latest.status != "succeeded"
            print(f"  {label}: crashed ({type(exc).__name__}), run left {latest.status}")
            continue
        execution = MetadataStore().get_execution(again.run_id)
        status = execution.status if execution else "?"
        if again.outputs != {"o0": 49}:
            wrong += 1
            print(f"  {label}: wrong value {again.outputs}")
        elif again.node_states.get("square") == "succeeded" and status == "succeeded":
            clean += 1
        if status != "succeeded":
            not_succeeded += 1
    print(f"cache rows: tried {len(damage)}, clean misses {clean}, wrong results {wrong}, "
          f"crashes {crashed}, runs not ending succeeded {not_succeeded}")


def output_sizes() -> None:
    from flytepath_airflow.runtime.local import run_local
    from flytepath_airflow.sdk.targets import load_target

    result = run_local(load_target(f"{HOME}/flow.py:made"), {}, root=str(HOME / "big"))
    with sqlite3.connect(HOME / "metadata.db") as db:
        [(row,)] = db.execute("SELECT length(outputs) FROM flytepath_executions WHERE "
                              "run_id = ?", (result.run_id,)).fetchall()
        [(event,)] = db.execute("SELECT length(payload) FROM flytepath_events WHERE run_id = ?"
                                " AND kind = 'succeeded' AND node_id IS NULL",
                                (result.run_id,)).fetchall()
    print(f"2 MiB output: execution row outputs {row} bytes, end event payload {event} bytes")


if __name__ == "__main__":
    (HOME / "flow.py").write_text(textwrap.dedent(FLOW))
    spec_probes()
    cache_probes()
    output_sizes()
