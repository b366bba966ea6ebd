"""`flytepath cache|versions|executions|history` against a real SQLite metadata store."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import typer
from click.testing import Result
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from flytepath_airflow.cli.data_commands import parse_duration
from flytepath_airflow.cli.data_commands import register as register_commands
from flytepath_airflow.cli.main import main
from flytepath_airflow.errors import FlytePathUserError
from flytepath_airflow.stores.metadata import MetadataStore

KEY_A = "a1" * 32
KEY_B = "b2" * 32
KEY_OLD = "a1ff" + "0" * 60
VERSION = "f" * 64

Invoke = Callable[..., Result]


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    monkeypatch.setenv("FLYTEPATH_METADATA_URL", url)
    monkeypatch.setenv("COLUMNS", "240")  # rich tables at a width that does not fold keys
    return url


@pytest.fixture
def cli() -> Invoke:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """The test CLI (what cli/main.py's app gets from register)."""

    register_commands(app)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    return invoke


def put(meta: MetadataStore, key: str, *, task: str = "pkg.train", version: str = "1",
        project: str = "alpha", domain: str = "development", run_id: str = "r0") -> None:
    meta.put_cache_entry(
        key=key, project=project, domain=domain, task=task, cache_version=version,
        interface_hash="c" * 64, inputs_hash="d" * 64,
        outputs={"o0": {"value": 42}, "model": {"uri": "file:///store/m.pkl", "sha256": "e" * 64}},
        run_id=run_id, node_id="n0",
    )


@pytest.fixture
def seeded(url: str) -> str:
    with MetadataStore(url) as meta:
        put(meta, KEY_A)
        put(meta, KEY_B, task="pkg.score", project="beta")
        put(meta, KEY_OLD, version="0")
    # Backdated from outside the store: its API never rewrites a timestamp.
    engine = create_engine(url)
    old = (datetime.now(timezone.utc) - timedelta(days=30)).replace(tzinfo=None)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE flytepath_cache_entries SET created_at = :t "
                              "WHERE cache_key = :k"), {"t": old, "k": KEY_OLD})
    finally:
        engine.dispose()
    return url


def keys(result: Result) -> set[str]:
    assert result.exit_code == 0, result.output
    return {e["key"] for e in json.loads(result.stdout)}


def test_register_adds_the_data_commands(cli: Invoke) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("cache", "versions", "executions", "history"):
        assert command in result.stdout
    result = cli("cache", "--help")
    for command in ("ls", "inspect", "evict"):
        assert command in result.stdout


# -- cache ------------------------------------------------------------------------------


def test_cache_ls_shows_entries_and_filters_them(cli: Invoke, seeded: str) -> None:
    result = cli("cache", "ls")
    assert result.exit_code == 0, result.output
    assert "3 cache entries" in result.stdout
    assert KEY_A[:16] in result.stdout and "alpha/development" in result.stdout
    assert keys(cli("cache", "ls", "--json")) == {KEY_A, KEY_B, KEY_OLD}
    assert keys(cli("cache", "ls", "--task", "pkg.score", "--json")) == {KEY_B}
    assert keys(cli("cache", "ls", "--project", "alpha", "--json")) == {KEY_A, KEY_OLD}
    assert keys(cli("cache", "ls", "--version", "0", "--json")) == {KEY_OLD}
    assert keys(cli("cache", "ls", "--older-than", "7d", "--json")) == {KEY_OLD}
    assert keys(cli("cache", "ls", "--project", "nobody", "--json")) == set()


def test_cache_ls_rejects_a_bad_age(cli: Invoke, seeded: str) -> None:
    result = cli("cache", "ls", "--older-than", "soon")
    assert isinstance(result.exception, FlytePathUserError)
    assert "--older-than 'soon' is not a duration" in str(result.exception)


def test_metadata_url_option_overrides_the_environment(
    cli: Invoke, seeded: str, tmp_path: Path
) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert keys(cli("cache", "ls", "--json", "--metadata-url", other)) == set()
    assert len(keys(cli("cache", "ls", "--json", "--metadata-url", seeded))) == 3


def test_cache_inspect_by_key_or_unique_prefix(cli: Invoke, seeded: str) -> None:
    result = cli("cache", "inspect", KEY_B)
    assert result.exit_code == 0, result.output
    for text_ in (KEY_B, "pkg.score", "beta/development", "run r0, node n0", "42",
                  "file:///store/m.pkl"):
        assert text_ in result.stdout
    doc = json.loads(cli("cache", "inspect", "b2b2", "--json").stdout)
    assert doc["key"] == KEY_B and doc["outputs"]["o0"] == {"value": 42}
    assert doc["reservation"] is None


def test_cache_inspect_refuses_ambiguous_or_unknown_keys(cli: Invoke, seeded: str) -> None:
    ambiguous = cli("cache", "inspect", "a1")
    assert isinstance(ambiguous.exception, FlytePathUserError)
    assert "several entries" in str(ambiguous.exception)
    unknown = cli("cache", "inspect", "0123")
    assert isinstance(unknown.exception, FlytePathUserError)
    assert "flytepath cache ls" in str(unknown.exception)


def test_cache_evict_refuses_without_a_filter(cli: Invoke, seeded: str) -> None:
    result = cli("cache", "evict", "--yes")
    assert isinstance(result.exception, FlytePathUserError)
    assert "without --all" in str(result.exception)
    combined = cli("cache", "evict", "--key", KEY_A, "--all", "--yes")
    assert isinstance(combined.exception, FlytePathUserError)
    assert len(keys(cli("cache", "ls", "--json"))) == 3


def test_cache_evict_by_filter_asks_first(cli: Invoke, seeded: str) -> None:
    declined = cli("cache", "evict", "--project", "alpha", input="n\n")
    assert declined.exit_code == 1 and "evict 2 cache entries" in declined.output
    assert len(keys(cli("cache", "ls", "--json"))) == 3
    accepted = cli("cache", "evict", "--project", "alpha", input="y\n")
    assert accepted.exit_code == 0 and "evicted 2 cache entries" in accepted.stdout
    assert keys(cli("cache", "ls", "--json")) == {KEY_B}


def test_cache_evict_one_key_or_everything(cli: Invoke, seeded: str) -> None:
    result = cli("cache", "evict", "--key", KEY_B[:8], "--yes")
    assert result.exit_code == 0 and "evicted 1 cache entry" in result.stdout
    assert keys(cli("cache", "ls", "--json")) == {KEY_A, KEY_OLD}
    aged = cli("cache", "evict", "--older-than", "1w", "--yes")
    assert "evicted 1 cache entry" in aged.stdout
    none = cli("cache", "evict", "--task", "pkg.nothing", "--yes")
    assert none.exit_code == 0 and "no cache entries match" in none.output
    everything = cli("cache", "evict", "--all", "--yes")
    assert "evicted 1 cache entry" in everything.stdout
    assert keys(cli("cache", "ls", "--json")) == set()


# -- versions and executions --------------------------------------------------------------


def test_versions_lists_newest_first_and_marks_the_latest(cli: Invoke, url: str) -> None:
    with MetadataStore(url) as meta:
        for version in ("1" * 64, VERSION):
            meta.register_version(project="alpha", domain="development", name="train",
                                  version=version, spec_uri=f"file:///specs/{version}.json",
                                  spec_json="{}")
    result = cli("versions", "train")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "alpha/development" in line]
    assert VERSION in lines[0] and "latest" in lines[0]
    assert "1" * 64 in lines[1] and "latest" not in lines[1]
    doc = json.loads(cli("versions", "train", "--json").stdout)
    assert [d["version"] for d in doc] == [VERSION, "1" * 64]
    assert "spec_json" not in doc[0] and doc[0]["spec_uri"].endswith(".json")
    missing = cli("versions", "train", "--project", "beta")
    assert isinstance(missing.exception, FlytePathUserError)
    assert "flytepath register" in str(missing.exception)


def register(meta: MetadataStore, name: str, project: str = "ml",
             domain: str = "development", version: str = VERSION) -> None:
    meta.register_version(project=project, domain=domain, name=name, version=version,
                          spec_uri=f"file:///specs/{name}/{version}.json", spec_json="{}")


def flytepath(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`flytepath ARGS` as a user runs it: main() maps errors onto exit codes."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_versions_takes_the_short_name_of_a_registered_workflow(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # As docs/data-plane.md shows it: `register examples/ml_pipeline.py` registers
    # ml_pipeline.training_pipeline, and the user asks for training_pipeline.
    with MetadataStore(url) as meta:
        register(meta, "ml_pipeline.training_pipeline")
        register(meta, "ml_pipeline.scoring")
        register(meta, "other.training_pipeline", project="beta")
    code, out, err = flytepath("versions", "training_pipeline", "--project", "ml",
                               "--domain", "development", "--json", capsys=capsys)
    assert code == 0, err
    assert [(d["name"], d["version"]) for d in json.loads(out)] == [
        ("ml_pipeline.training_pipeline", VERSION)]
    code, out, err = flytepath("versions", "training_pipeline", "--project", "ml",
                               capsys=capsys)
    assert code == 0, err
    assert "versions of ml_pipeline.training_pipeline" in out and VERSION in out


def test_versions_names_the_candidates_of_an_ambiguous_or_unknown_name(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with MetadataStore(url) as meta:
        register(meta, "ml_pipeline.training_pipeline")
        register(meta, "other.training_pipeline", project="beta")
    # Unique in project ml, not across projects.
    code, _, err = flytepath("versions", "training_pipeline", capsys=capsys)
    assert code == 2
    assert "ambiguous" in err and "ml_pipeline.training_pipeline" in err
    assert "other.training_pipeline" in err and "Traceback" not in err
    code, _, err = flytepath("versions", "trainig_pipeline", "--project", "ml", capsys=capsys)
    assert code == 2
    assert "Did you mean 'ml_pipeline.training_pipeline'?" in err
    assert "flytepath register" in err


def test_executions_filter_takes_the_short_name_of_a_workflow(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with MetadataStore(url) as meta:
        for run_id, workflow in (("run-1", "ml_pipeline.training_pipeline"),
                                 ("run-2", "ml_pipeline.scoring")):
            meta.create_execution(run_id=run_id, project="ml", domain="development",
                                  workflow=workflow, version=VERSION, inputs={},
                                  backend="local")
    code, out, err = flytepath("executions", "--workflow", "training_pipeline", "--json",
                               capsys=capsys)
    assert code == 0, err
    assert [d["run_id"] for d in json.loads(out)] == ["run-1"]
    code, _, err = flytepath("executions", "--workflow", "nothing_like_it", capsys=capsys)
    assert code == 2
    assert "ml_pipeline.scoring, ml_pipeline.training_pipeline" in err


def test_executions_lists_runs(cli: Invoke, url: str) -> None:
    with MetadataStore(url) as meta:
        for run_id, workflow in (("run-1", "train"), ("run-2", "score")):
            meta.create_execution(run_id=run_id, project="alpha", domain="development",
                                  workflow=workflow, version=VERSION, inputs={"n": 1},
                                  backend="airflow")
        meta.finish_execution("run-1", status="succeeded", outputs={"o0": 1})
    result = cli("executions")
    assert result.exit_code == 0, result.output
    assert "run-1" in result.stdout and "succeeded" in result.stdout
    assert "run-2" in result.stdout and "running" in result.stdout
    doc = json.loads(cli("executions", "--workflow", "train", "--json").stdout)
    assert [d["run_id"] for d in doc] == ["run-1"] and doc[0]["outputs"] == {"o0": 1}


# -- history ------------------------------------------------------------------------------


def record_run(meta: MetadataStore, run_id: str, source: str | None) -> None:
    """Events as the runtime appends them: one node, computed or restored from `source`."""
    meta.append_event(run_id=run_id, kind="queued", payload={
        "workflow": "train", "version": VERSION, "inputs": {"n": 3}, "project": "alpha",
        "domain": "development"})
    meta.append_event(run_id=run_id, kind="running", node_id="fit", attempt=1)
    if source is None:
        meta.append_event(run_id=run_id, kind="cache_miss", node_id="fit", attempt=1,
                          payload={"key": KEY_A})
        meta.append_event(run_id=run_id, kind="cache_write", node_id="fit", attempt=1,
                          payload={"key": KEY_A})
    else:
        meta.append_event(run_id=run_id, kind="cache_hit", node_id="fit", attempt=1,
                          payload={"key": KEY_A, "source_run_id": source,
                                   "source_node_id": "fit"})
    meta.append_event(run_id=run_id, kind="succeeded", node_id="fit", attempt=1, payload={
        "outputs": {"model": {"uri": "file:///store/runs/r0/m.pkl", "sha256": "e" * 64},
                    "score": {"value": 0.93}},
        "inputs_hash": "d" * 64, "task": "pkg.fit", "version": VERSION})
    meta.append_event(run_id=run_id, kind="succeeded", payload={"outputs": {"score": 0.93}})


@pytest.fixture
def runs(url: str) -> str:
    with MetadataStore(url) as meta:
        record_run(meta, "r0", None)
        record_run(meta, "r1", "r0")
        record_run(meta, "r2", "r1")
    return url


def test_history_prints_the_timeline_and_lineage(cli: Invoke, runs: str) -> None:
    result = cli("history", "r2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "run r2" in out and "status: succeeded" in out
    assert VERSION in out and "alpha/development" in out and '{"n":3}' in out
    assert "nodes:    1 succeeded (1 from the cache)" in out
    timeline = out[out.index("timeline"):out.index("outputs and their lineage")]
    kinds = [k for k in ("queued", "running", "cache_hit", "succeeded") if k in timeline]
    assert kinds == ["queued", "running", "cache_hit", "succeeded"]
    assert "from run r1 node fit" in timeline
    lineage = out[out.index("outputs and their lineage"):]
    assert "model" in lineage and "file:///store/runs/r0/m.pkl" in lineage
    assert "score" in lineage and "0.93" in lineage and "task pkg.fit" in lineage
    assert "computed by run r0 node fit" in lineage  # followed r2 -> r1 -> r0


def test_history_json_carries_the_origin_of_cached_outputs(cli: Invoke, runs: str) -> None:
    doc = json.loads(cli("history", "r2", "--json").stdout)
    assert (doc["workflow"], doc["version"], doc["inputs"]) == ("train", VERSION, {"n": 3})
    fit = doc["lineage"]["fit"]
    assert fit["source_run_id"] == "r1" and fit["cache_key"] == KEY_A
    assert fit["origin"]["run_id"] == "r0" and fit["origin"]["found"] is True
    assert [hop["run_id"] for hop in fit["origin"]["hops"]] == ["r1", "r0"]
    first = json.loads(cli("history", "r0", "--json").stdout)
    assert first["lineage"]["fit"]["origin"] is None
    assert [e["kind"] for e in first["events"]] == [
        "queued", "running", "cache_miss", "cache_write", "succeeded", "succeeded"]


def test_history_of_an_unknown_run_is_a_user_error(cli: Invoke, url: str) -> None:
    result = cli("history", "nope")
    assert isinstance(result.exception, FlytePathUserError)
    assert "flytepath executions" in str(result.exception)


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text_", "seconds"), [
    ("90s", 90), ("15m", 900), ("12h", 43200), ("7d", 604800), ("2w", 1209600),
    ("1d12h", 129600), ("1.5h", 5400),
])
def test_parse_duration(text_: str, seconds: float) -> None:
    assert parse_duration(text_) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text_", ["", "7", "d", "7x", "7d junk", "-1d"])
def test_parse_duration_rejects(text_: str) -> None:
    with pytest.raises(FlytePathUserError, match="not a duration"):
        parse_duration(text_)
