"""Fuzz campaign: any input is a clean FlytePath error or a valid spec, never anything else.

Runs `--cases` generated inputs (default 20,000) through four entry points, split evenly:

- yaml: `compile_yaml_text` on mutations of real workflow files (examples/ and a spec that
  uses every part of the format), structural (a value, key or subtree replaced by a hostile
  one) and textual (bytes inserted, cut, duplicated);
- ir: `loads_spec` on mutations of those workflows compiled to spec JSON;
- type: `parse_type` on mutated type expressions;
- cli: `parse_cli_value` (`--input x=...`) on hostile text for a range of types.

Hostile atoms: control characters, lone surrogates, deep nesting, integers of thousands of
digits, 1e400 / inf / nan / 1e99999999, huge durations, very long strings, wrong types.

Each case runs in a worker process (one per core) under a per-case time budget
(`signal.setitimer`) and an address-space limit (`RLIMIT_AS`, the worker's size plus
`--memory-mb`), so it is classified as: valid, clean error (a FlytePathError), crash (any
other exception), hang (over the budget), memory blow-up (MemoryError), or wrong result
(a valid spec whose dump does not load back to the same version, that holds a non-finite
number, or whose timeouts overflow a timedelta; a CLI value that is not JSON).
The cases are a pure function of `--seed` and their index, so a crash is reproduced with
`--only <index>`.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/fuzz_campaign.py [--cases 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import resource
import signal
import statistics
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINTS = ("yaml", "ir", "type", "cli")

FULL_SPEC = """\
name: churn_scoring
description: Score customers.
project: growth
domain: development
labels: {team: growth}
inputs:
  day: str
  threshold: {type: float, default: 0.5}
  segments: {type: "Optional[list[str]]"}
  limit: {type: int, default: 10}
  window: {type: duration, default: 3600}
outputs:
  flagged: ${{ nodes.score.outputs.flagged }}
  summary: {type: str, value: "${{ nodes.report.outputs.text }}"}
defaults:
  image: ghcr.io/acme/churn:1.4.2
  retries: 2
  retry_delay: 30s
  timeout: 30m
  env: {LOG_LEVEL: info}
tasks:
  extract:
    inputs: {day: str, limit: int}
    outputs: {rows: int}
    resources:
      requests: {cpu: 500m, mem: 1Gi, ephemeral_storage: 10Gi}
      limits: {cpu: 2, mem: 4Gi, gpu: 1}
    secrets: [warehouse/password]
    script: |
      echo "{{ inputs.day }}" > "$FLYTEPATH_OUTPUT_DIR/rows"
  score:
    inputs: {rows: int, threshold: float, segments: "Optional[list[str]]"}
    outputs: {flagged: "list[str]"}
    command: [python, -m, churn.score]
    args: [--threshold, "{{inputs.threshold}}"]
    cache: {version: "3", ignore_inputs: [segments]}
    interruptible: true
    timeout: 1h
  report:
    fn: churn.report:render
    inputs:
      flagged: list[str]
      title: {type: str, default: Churn}
      weights: {type: "dict[str, float]", default: {a: 1.5}}
    outputs: {text: str}
nodes:
  - id: extract
    inputs: {day: "${{ inputs.day }}", limit: "${{ inputs.limit }}"}
  - id: score
    inputs:
      rows: ${{ nodes.extract.outputs.rows }}
      threshold: ${{ inputs.threshold }}
      segments: [enterprise, "${{ inputs.day }}"]
  - id: report
    task: report
    inputs:
      flagged: ${{ nodes.score.outputs.flagged }}
      title: Weekly churn
    after: [extract]
"""

TYPE_SEEDS = (
    "int", "str", "float", "bool", "bytes", "datetime", "date", "duration", "json", "None",
    "list[int]", "dict[str, float]", "dict[str, list[dict[str, int]]]", "Optional[str]",
    "Union[int, str]", "int | str | None", "File", "File[csv]", "Directory[parquet]",
    "DataFrame", "DataFrame[a: int, b: Optional[str]]", "list[File[csv]]",
    "Optional[Union[list[int], dict[str, bool]]]",
)

CLI_SEED_VALUES = (
    "42", "-7", "0.5", "true", "0", "null", "2024-01-01", "2024-01-01T10:00:00",
    "90s", "1h30m", "2d", "[1, 2, 3]", '{"a": 1.5}', '"text"', "aGVsbG8=", "hello",
)


def _deep(open_: str, close: str, depth: int, inner: str = "1") -> str:
    return open_ * depth + inner + close * depth


def text_atoms(rng: random.Random) -> list[str]:
    """Hostile pieces of text; the long and deep ones are built on demand."""
    return [
        "\x00", "\x01", "\x07", "\x1b[31m", "\x7f", "\x80", "\x85", "\x9f", "\ufeff", "\u2028",
        "\uffff", "\ud800",
        "\udfff", "\ud83d", "\t", "\r", "\r\n", "\\", "'", '"', "\"\\ud800\"", "\"\\x00\"",
        "\"\\x07\"", "1e400", "-1e400", "1e300", "1e99999999", "1e-99999999", "-0",
        "9" * rng.choice((19, 20, 400, 4301, 5000, 20000)),
        "-" + "9" * rng.choice((4301, 5000)),
        "0." + "1" * 5000, "1" + "0" * 400 + ".5", ".inf", "-.inf", ".nan", "NaN",
        "Infinity", "-Infinity", "inf", "nan", "1e308", "0x1F", "0o17", "1_000",
        "99999999999999999999d", "1e300s", "9" * 400 + "w", "1e99999999Gi", "9" * 5000 + "Ei",
        "1e400Mi", "-1", "0", "true", "null", "~", "''", "[]", "{}", "&a [*a]", "*a",
        "!!python/object:os.system", "!!binary aGk=", "!!timestamp 2024-01-01", "<<: *a",
        _deep("[", "]", rng.choice((50, 999, 1000, 3000, 20000))),
        _deep("{a: ", "}", rng.choice((50, 999, 1000, 3000))),
        _deep("list[", "]", rng.choice((50, 400, 1000, 5000)), "int"),
        _deep("Optional[", "]", rng.choice((50, 1000, 5000)), "int"),
        "x" * rng.choice((1000, 100_000, 2_000_000)),
        "${{ " * 200, "${{ nodes." + "a." * 1000 + " }}", "{{ inputs." + "x" * 5000 + " }}",
    ]


def value_atoms(rng: random.Random) -> list[Any]:
    """Hostile Python values for structural mutations (the dumper writes them)."""
    deep: Any = 1
    for _ in range(rng.choice((20, 200, 600))):
        deep = [deep] if rng.random() < 0.5 else {"a": deep}
    return [
        None, True, False, 0, -1, 1.5, float("inf"), float("-inf"), float("nan"), 1e300,
        -1e300, 10 ** 30, 2 ** 63, -(2 ** 63) - 1, "", " ", "x" * 10_000, [], {}, [1, "a"],
        {"a": None}, deep, *text_atoms(rng)[:60],
    ]


# ------------------------------------------------------------------- case generation


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*prefix, index)))
    return out


def _mutate_structure(rng: random.Random, doc: Any) -> Any:
    """Replace, delete, rename or duplicate one random part of a loaded document."""
    import copy

    doc = copy.deepcopy(doc)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            return doc
        path = rng.choice(paths)
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        op = rng.random()
        if op < 0.65:
            parent[last] = rng.choice(value_atoms(rng))
        elif op < 0.75 and isinstance(parent, dict):
            del parent[last]
        elif op < 0.85 and isinstance(parent, dict):
            parent[rng.choice(text_atoms(rng)[:40])] = parent.pop(last)
        elif op < 0.92 and isinstance(parent, dict):
            parent[last] = {"type": "int", "default": rng.choice(value_atoms(rng))}
        else:
            parent[last] = [parent[last], parent[last]]
    return doc


def _mutate_text(rng: random.Random, text: str, atoms: list[str]) -> str:
    """Insert, cut, duplicate or replace a span of text."""
    for _ in range(rng.choice((1, 1, 2, 3))):
        if not text:
            return rng.choice(atoms)
        pos = rng.randrange(len(text) + 1)
        op = rng.random()
        if op < 0.45:
            text = text[:pos] + rng.choice(atoms) + text[pos:]
        elif op < 0.6:
            text = text[:pos] + text[pos + rng.randrange(1, 40):]
        elif op < 0.7:
            end = min(len(text), pos + rng.randrange(1, 200))
            text = text[:end] + text[pos:end] * rng.choice((2, 50)) + text[end:]
        elif op < 0.8:
            text = text[:pos] + chr(rng.randrange(0, 0x110000)) + text[pos + 1:]
        else:
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            if ":" in lines[i]:
                head = lines[i].split(":", 1)[0]
                lines[i] = f"{head}: {rng.choice(atoms)}"
            text = "\n".join(lines)
    return text


class Seeds:
    """The real documents the mutations start from, loaded once per process."""

    def __init__(self) -> None:
        import yaml

        from flytepath_airflow.ir.spec_io import dump_spec
        from flytepath_airflow.translators.yaml import compile_yaml_text

        example = (ROOT / "examples" / "shell_pipeline.yaml").read_text(encoding="utf-8")
        self.yaml_texts = [example, FULL_SPEC]
        self.yaml_docs = [yaml.safe_load(t) for t in self.yaml_texts]
        self.ir_texts = [dump_spec(compile_yaml_text(t)) for t in self.yaml_texts]
        self.ir_docs = [json.loads(t) for t in self.ir_texts]


def make_case(seeds: Seeds, seed: int, index: int) -> tuple[str, Any]:
    """The entry point and input of case `index` (a pure function of seed and index)."""
    import yaml

    rng = random.Random(f"{seed}:{index}")
    entry = ENTRY_POINTS[index % len(ENTRY_POINTS)]
    atoms = text_atoms(rng)
    if entry == "yaml":
        which = rng.randrange(len(seeds.yaml_texts))
        if rng.random() < 0.55:
            doc = _mutate_structure(rng, seeds.yaml_docs[which])
            try:
                text = yaml.dump(doc, allow_unicode=True, sort_keys=False, width=1 << 20)
            except (yaml.YAMLError, RecursionError, ValueError):
                text = seeds.yaml_texts[which]
            if rng.random() < 0.3:
                text = _mutate_text(rng, text, atoms)
        else:
            text = _mutate_text(rng, seeds.yaml_texts[which], atoms)
        return entry, text
    if entry == "ir":
        which = rng.randrange(len(seeds.ir_texts))
        if rng.random() < 0.55:
            doc = _mutate_structure(rng, seeds.ir_docs[which])
            try:
                text = json.dumps(doc, allow_nan=True, ensure_ascii=rng.random() < 0.5)
            except (RecursionError, ValueError):
                text = seeds.ir_texts[which]
            if rng.random() < 0.2:
                text = _mutate_text(rng, text, atoms)
        else:
            json_atoms = [*atoms, "Infinity", "NaN", "-Infinity", '"\\ud800"', "1e400",
                          _deep("[", "]", 100_000), _deep('{"a":', "}", 5000)]
            text = _mutate_text(rng, seeds.ir_texts[which], json_atoms)
        return entry, text
    if entry == "type":
        text = rng.choice(TYPE_SEEDS)
        if rng.random() < 0.2:
            text = rng.choice(atoms)
        elif rng.random() < 0.15:
            text = _deep(rng.choice(("list[", "Optional[", "dict[str, ")), "]",
                         rng.choice((10, 500, 1000, 3000, 50_000)), "int")
        else:
            text = _mutate_text(rng, text, [*atoms, *TYPE_SEEDS, "[", "]", ",", "|", ":"])
        return entry, text
    type_text = rng.choice(TYPE_SEEDS)
    value = rng.choice(CLI_SEED_VALUES) if rng.random() < 0.4 else rng.choice(atoms)
    if rng.random() < 0.4:
        value = _mutate_text(rng, value, atoms)
    return entry, (type_text, value)


# ------------------------------------------------------------------------ run a case


def _check_valid_spec(spec: Any) -> str | None:
    """Why a spec that loaded is wrong (None when it is right)."""
    from flytepath_airflow.ir.spec_io import compute_version, dump_spec, loads_spec

    text = dump_spec(spec)
    try:
        json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except ValueError as exc:
        return f"dumped spec holds a non-JSON number {exc}"
    again = loads_spec(text)
    if compute_version(again) != compute_version(spec) or again != spec:
        return "dump then load gives a different spec or version"
    for name, task in spec.tasks.items():
        for field in ("timeout", "retry_delay"):
            seconds = getattr(task, field)
            if seconds is not None:
                try:
                    dt.timedelta(seconds=seconds)
                except (OverflowError, ValueError) as exc:
                    return f"task {name} {field}={seconds!r} cannot run: {exc}"
    return None


def run_case(entry: str, payload: Any) -> tuple[str, str]:
    """Run one case: (outcome, detail) with outcome valid, error, crash or wrong."""
    from flytepath_airflow.errors import FlytePathError
    from flytepath_airflow.ir.spec_io import loads_spec
    from flytepath_airflow.translators.yaml import compile_yaml_text, parse_type
    from flytepath_airflow.types.cli_values import parse_cli_value

    try:
        if entry == "yaml":
            wrong = _check_valid_spec(compile_yaml_text(payload, "fuzz.yaml"))
        elif entry == "ir":
            wrong = _check_valid_spec(loads_spec(payload, "fuzz.json"))
        elif entry == "type":
            parse_type(payload)
            wrong = None
        else:
            type_text, text = payload
            value = parse_cli_value(text, parse_type(type_text), "x")
            try:
                json.dumps(value, allow_nan=False)
                wrong = None
            except (TypeError, ValueError) as exc:
                wrong = f"CLI value is not JSON: {exc}"
    except FlytePathError:
        return "error", ""
    except (MemoryError, _CaseTimeout):
        raise
    except BaseException as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        last = frames[-1] if frames else None
        at = f" at {Path(last.filename).name}:{last.lineno}" if last else ""
        return "crash", f"{type(exc).__name__}{at}: {str(exc)[:160]!r}"
    if wrong is not None:
        return "wrong", wrong
    return "valid", ""


class _CaseTimeout(BaseException):
    """A case ran past its time budget (a BaseException so no `except Exception` eats it)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _CaseTimeout()


_SEEDS: Seeds | None = None


def _worker_init(memory_mb: int) -> None:
    global _SEEDS
    _SEEDS = Seeds()
    signal.signal(signal.SIGALRM, _on_alarm)
    with open("/proc/self/statm") as fh:
        size = int(fh.read().split()[0]) * resource.getpagesize()
    limit = size + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))


def run_chunk(args: tuple[int, list[int], float]) -> list[tuple[int, str, str, str, float]]:
    """Run cases by index in this worker: (index, entry, outcome, detail, seconds)."""
    seed, indexes, budget = args
    assert _SEEDS is not None
    results = []
    for index in indexes:
        entry, payload = make_case(_SEEDS, seed, index)
        start = time.perf_counter()
        try:
            signal.setitimer(signal.ITIMER_REAL, budget)
            try:
                outcome, detail = run_case(entry, payload)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _CaseTimeout:
            outcome, detail = "hang", f"over {budget} s"
        except MemoryError:
            outcome, detail = "blowup", "MemoryError"
        results.append((index, entry, outcome, detail, time.perf_counter() - start))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--budget", type=float, default=10.0,
                        help="seconds one case may take before it counts as a hang")
    parser.add_argument("--memory-mb", type=int, default=1024,
                        help="address space one worker may add before a case is a blow-up")
    parser.add_argument("--only", type=int, help="run the case with this index and show it")
    args = parser.parse_args(argv)

    if args.only is not None:
        entry, payload = make_case(Seeds(), args.seed, args.only)
        print(f"case {args.only} ({entry}): {payload!r}"[:2000])
        print(run_case(entry, payload))
        return 0

    indexes = list(range(args.cases))
    chunks = [(args.seed, indexes[i::args.workers * 20], args.budget)
              for i in range(args.workers * 20)]
    started = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    results: list[tuple[int, str, str, str, float]] = []
    with ctx.Pool(args.workers, initializer=_worker_init, initargs=(args.memory_mb,)) as pool:
        for part in pool.imap_unordered(run_chunk, chunks):
            results.extend(part)
    elapsed = time.perf_counter() - started

    tally: dict[str, Counter[str]] = {e: Counter() for e in ENTRY_POINTS}
    examples: dict[str, list[str]] = {}
    for index, entry, outcome, detail, _ in sorted(results):
        tally[entry][outcome] += 1
        if outcome in ("crash", "hang", "blowup", "wrong"):
            key = f"{entry} {outcome}: {detail}"
            examples.setdefault(key.split("'")[0], []).append(f"{key} (case {index})")
    outcomes = ("valid", "error", "crash", "hang", "blowup", "wrong")
    print(f"fuzz campaign: {len(results)} cases, seed {args.seed}, {args.workers} workers, "
          f"{elapsed:.1f} s")
    print(f"{'entry':<6}{'tried':>8}" + "".join(f"{o:>8}" for o in outcomes))
    for entry in ENTRY_POINTS:
        row = tally[entry]
        print(f"{entry:<6}{sum(row.values()):>8}" + "".join(f"{row[o]:>8}" for o in outcomes))
    total = sum(tally.values(), Counter())
    print(f"{'all':<6}{sum(total.values()):>8}" + "".join(f"{total[o]:>8}" for o in outcomes))
    times = sorted(r[4] for r in results)
    slowest = max(results, key=lambda r: r[4])
    print(f"time per case: median {statistics.median(times) * 1000:.2f} ms, "
          f"p99 {times[int(len(times) * 0.99)] * 1000:.1f} ms, max {times[-1] * 1000:.0f} ms "
          f"(case {slowest[0]}, {slowest[1]})")
    if examples:
        print(f"\n{len(examples)} kinds of failure (first case of each; rerun with --only):")
        for group in sorted(examples.values(), key=len, reverse=True):
            print(f"  {len(group):>5} x {group[0]}")
    bad = sum(total[o] for o in ("crash", "hang", "blowup", "wrong"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
