"""Probe: hostile names through every way a name reaches the store, and the name pairs that
once collided (docs/reliability.md, "Names never escape the store or collide").

Each hostile value goes in as a project, a domain, a workflow name, a version and a node
id of a compiled spec document (the loader, then registration and a node's output key), as
a run id (`prepare_run`) and as a blob key. An attempt ends in a clean error (a FlytePath
error), a crash (any other exception), a breach (a file appeared outside the store, the
specs folder and the metadata database) or an accepted name that stayed inside.

`python tests/runtime/test_name_probes.py` prints the figures; with PYTHONPATH pointing at
an older checkout it measures that one (it uses only APIs that predate the naming rules).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flytepath_airflow.errors import FlytePathError
from flytepath_airflow.ir.spec_io import parse_spec_document
from flytepath_airflow.platform.naming import dag_id_of
from flytepath_airflow.platform.settings import AirflowBackendSettings
from flytepath_airflow.runtime.registry import loader_file_name, register_spec
from flytepath_airflow.runtime.run import pointer_key, prepare_run
from flytepath_airflow.stores.blob import BlobStore

HOSTILE = [
    "../../../x", "../../../../x", "..", ".", "/abs", "a/../../b", "a/b", "", "a\x00b",
    "a\nb", "a\\..\\b", "-rf", ".hidden", "x" * 300, "p\u0430yments", "caf\u00e9", "a\u200bb",
    "a b", "ML team", "a..b", "~", "$(touch x)", "a/./b", "%2e%2e%2fx",
]
"""Hostile values: traversal, absolute, separators, NUL, newline, 300 characters, unicode
look-alikes (Cyrillic a, zero-width space), shell text, URL-encoded dots."""

FIELDS = ["project", "domain", "workflow", "version", "node"]

COLLIDING = [
    (("a.b", "c", "wf"), ("a", "b.c", "wf")),
    (("a_b", "c", "wf"), ("a", "b_c", "wf")),
    (("ML team", "prod", "wf"), ("ML_team", "prod", "wf")),
    (("ml", "prod", "a b"), ("ml", "prod", "a_b")),
    (("ml", "prod", "x" * 260), ("ml", "prod", "x" * 261)),
]
"""Pairs of (project, domain, workflow) that shared a DAG id, pool or loader file."""

_BASE: dict[str, Any] = {
    "schema_version": 1, "name": "wf", "version": "",  # register_spec fills in the hash
    "tenant": {"project": "ml", "domain": "development"},
    "nodes": [{"id": "n0", "task": "t"}],
    "tasks": {"t": {"name": "t", "fn": "m:f"}},
}


def _document(field: str, value: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(_BASE))
    if field in ("project", "domain"):
        doc["tenant"][field] = value
    elif field == "workflow":
        doc["name"] = value
    elif field == "version":
        doc["version"] = value
    else:
        doc["nodes"][0]["id"] = value
    return doc


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _attempt(base: Path, action: Callable[[], object]) -> str:
    allowed = (base / "home",)
    before = _files(base)
    try:
        action()
        outcome = "accepted"
    except FlytePathError:
        outcome = "clean error"
    except Exception:  # a crash is what the probe counts
        outcome = "crash"
    new = _files(base) - before
    if any(not any(folder in p.parents for folder in allowed) for p in new):
        return "breach"
    store = base / "home" / "store"
    if any(store not in p.parents and p.name != "metadata.db" and
           (base / "home" / "specs") not in p.parents for p in new):
        return "breach"
    return outcome


def probe(base: Path) -> Counter[str]:
    """Run every hostile value through every entry; count the outcomes."""
    home = base / "home"
    root, specs = str(home / "store"), str(home / "specs")
    db = f"sqlite:///{home / 'metadata.db'}"
    home.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()

    def through_spec(field: str, value: str) -> None:
        spec = parse_spec_document(_document(field, value), "probe.json")
        register_spec(spec, root=root, metadata_url=db, specs_dir=specs)
        node = spec.nodes[0].id
        BlobStore(root).write_json(pointer_key("fp-probe", node), {"outputs": {}})

    simple = parse_spec_document(_BASE, "probe.json")
    for value in HOSTILE:
        for field in FIELDS:
            counts[_attempt(base, lambda f=field, v=value: through_spec(f, v))] += 1
        counts[_attempt(base, lambda v=value: prepare_run(
            simple, {}, root, run_id=v, metadata_url=db))] += 1
        # A key may hold any name that stays inside the root ("a/b", ".hidden"): the
        # store only has to contain it, so "accepted" is fine here, a breach is not.
        stored = _attempt(base, lambda v=value: BlobStore(root).write_bytes(v, b"x"))
        counts[stored if stored != "accepted" else "key kept inside"] += 1
    counts["tried"] = len(HOSTILE) * (len(FIELDS) + 2)

    pools = AirflowBackendSettings()
    for pair in COLLIDING:
        counts["pairs"] += 1
        try:
            specs = [parse_spec_document(_named(t), "pair.json") for t in pair]
        except FlytePathError:
            counts["pair refused"] += 1  # the rules refuse one of them: it cannot exist
            continue
        derived = [(dag_id_of(s.tenant.project, s.tenant.domain, s.name),
                    pools.pool_for(s.tenant.project, s.tenant.domain).pool,
                    loader_file_name(s)) for s in specs]
        counts["collisions"] += int(any(a == b for a, b in zip(*derived, strict=True)))
    return counts


def _named(triple: tuple[str, str, str]) -> dict[str, Any]:
    doc = json.loads(json.dumps(_BASE))
    doc["tenant"] = {"project": triple[0], "domain": triple[1]}
    doc["name"] = triple[2]
    return doc


def test_no_hostile_name_escapes_the_store_or_crashes(tmp_path: Path) -> None:
    counts = probe(tmp_path / "probe")
    assert counts["breach"] == 0 and counts["crash"] == 0
    # Every hostile name is refused with a FlytePath error wherever it becomes a name.
    assert counts["accepted"] == 0
    assert counts["clean error"] + counts["key kept inside"] == counts["tried"]
    assert counts["collisions"] == 0 and counts["pair refused"] == len(COLLIDING)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        figures = probe(Path(folder) / "probe")
    order = ("tried", "clean error", "crash", "breach", "accepted", "key kept inside", "pairs",
             "pair refused", "collisions")
    sys.stdout.write(", ".join(f"{k}: {figures[k]}" for k in order) + "\n")
