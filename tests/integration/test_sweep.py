"""`zeroshift sweep` end to end: a real local Ray instance (2 CPUs) and a real PostgreSQL server, three zoo models over
two suites against the same runs done with `zeroshift run`, a worker killed midway, a rerun, the dry run.

One Ray instance and one PostgreSQL server serve the whole module (Ray takes ~30 s to start on two busy cores). The
module is slow (about 15 minutes on two shared, loaded cores): `pytest -m slow tests/integration/test_sweep.py`;
test_sweep_resume.py and tests/unit/test_sweep_plan.py are the default tests of sweeps.
"""

import contextlib
import io
import json
from pathlib import Path

import pytest

from tests.helpers import start_postgres
from zeroshift.cli.main import main
from zeroshift.results.store import Store
from zeroshift.sweep.worker import DIE_ENV

pytestmark = pytest.mark.slow

MODELS = ["zoo:clip-cnn-diverse", "zoo:sup-cnn-tiny", "zoo:siglip-cnn-diverse"]
SUITE_A = """runs:
  - {benchmark: "factorworld(n=24)", metrics: [accuracy, calibration]}
  - {benchmark: "factorworld(n=24)", shift: "corruption(name='fog', severity=3)"}
"""
SUITE_B = """runs:
  - {benchmark: "factorworld_sketch(n=24)"}
"""
N_CONDITIONS = 9  # 3 models x 3 runs (one prompt set)
KILLED = "zoo:clip-cnn-diverse"  # its first attempt dies after computing its 2nd condition, before reporting it


def key(record):
    return record.model, record.benchmark, record.shift, record.prompts, record.label_space


def cli(args, env):
    """`zeroshift ARGS` in this process with ``env`` set: (exit code, stdout)."""
    out = io.StringIO()
    code = 0
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.delenv(DIE_ENV, raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        try:
            main(args)
        except SystemExit as exit_info:
            code = exit_info.code
    return code, out.getvalue().strip().splitlines()[-1] if out.getvalue().strip() else ""  # the JSON line


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("study")
    (folder / "suite_a.yaml").write_text(SUITE_A)
    (folder / "suite_b.yaml").write_text(SUITE_B)
    (folder / "plan.yaml").write_text(f"models: {json.dumps(MODELS)}\nsuites: [suite_a.yaml, suite_b.yaml]\n"
                                      "bootstrap: 50\n")  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def reference(study, tmp_path_factory):
    """The same runs with `zeroshift run` (its own cache and store): key -> record."""
    folder = tmp_path_factory.mktemp("reference")
    env = {"ZEROSHIFT_CACHE": str(folder / "cache")}
    store = folder / "ref.db"
    for suite in ("suite_a.yaml", "suite_b.yaml"):
        models = [arg for m in MODELS for arg in ("-m", m)]
        code, _ = cli(["run", *models, "--suite", str(study / suite), "--store", str(store), "--bootstrap", "50",
                       "--no-progress", "--json"], env)  # fmt: skip
        assert code == 0
    records = {key(r): r for r in Store(store).records()}
    assert len(records) == N_CONDITIONS
    return records, store


@pytest.fixture(scope="module")
def ray_instance():
    from zeroshift.sweep.ray_exec import init_local_ray

    ray = init_local_ray(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    """A PostgreSQL server's URL; a SQLite file where no server can be started (test_postgres_store says why)."""
    try:
        pytest.importorskip("psycopg", reason="psycopg is needed for PostgreSQL (pip install zeroshift[postgres])")
        url, stop = start_postgres()
    except pytest.skip.Exception:
        yield str(tmp_path_factory.mktemp("no-postgres") / "sweep.db")
        return
    yield url
    stop()


def test_postgres_store(postgres_url):
    if "postgresql" not in postgres_url:
        pytest.skip("no PostgreSQL server could be started here: the Ray sweep wrote to a SQLite file instead")
    assert Store(postgres_url).display.startswith("postgresql")


@pytest.fixture(scope="module")
def ray_sweep(study, ray_instance, postgres_url, tmp_path_factory):
    """The plan on the Ray instance into PostgreSQL, the first attempt of KILLED's task dying midway."""
    cache = tmp_path_factory.mktemp("ray-sweep") / "cache"
    env = {"ZEROSHIFT_CACHE": str(cache), DIE_ENV: f"{KILLED}=2"}
    args = ["sweep", str(study / "plan.yaml"), "--executor", "ray", "--store", postgres_url, "--no-progress", "--json"]
    code, out = cli(args, env)
    assert code == 0, out
    return json.loads(out), env, args


def assert_same_records(records, reference):
    assert {key(r) for r in records} == set(reference)
    for record in records:
        expected = reference[key(record)]
        assert [m.name for m in record.metrics] == [m.name for m in expected.metrics]
        for got, want in zip(record.metrics, expected.metrics, strict=True):
            assert (got.value, got.ci_low, got.ci_high) == pytest.approx((want.value, want.ci_low, want.ci_high),
                                                                         abs=1e-9, nan_ok=True), got.name  # fmt: skip
        assert record.fingerprints["dataset"] == expected.fingerprints["dataset"]
        assert record.fingerprints["model"] == expected.fingerprints["model"]


def test_ray_sweep_gives_the_records_of_zeroshift_run(ray_sweep, reference, postgres_url):
    summary, _, _ = ray_sweep
    assert summary["totals"] == {"tasks": 3, "conditions": N_CONDITIONS, "done": N_CONDITIONS, "skipped": 0,
                                 "failed": 0, "failed_tasks": 0}  # fmt: skip
    records = Store(postgres_url).records()
    assert_same_records(records, reference[0])
    assert {r.provenance["sweep"]["executor"] for r in records} == {"ray"}


def test_killed_worker_loses_nothing_and_duplicates_nothing(ray_sweep, postgres_url):
    summary, _, _ = ray_sweep
    attempts = {o["model"]: o["attempts"] for o in summary["outcomes"]}
    assert attempts == {KILLED: 2, "zoo:sup-cnn-tiny": 1, "zoo:siglip-cnn-diverse": 1}
    killed = next(o for o in summary["outcomes"] if o["model"] == KILLED)
    assert any("died" in e for e in killed["errors"]), killed["errors"]
    records = Store(postgres_url).records()
    assert len(records) == len({key(r) for r in records}) == N_CONDITIONS  # nothing lost, nothing twice
    # the condition the dead worker had computed (cached) but not reported is resumed from the cache
    fog = next(r for r in records if r.model == KILLED and r.shift)
    assert fog.provenance["sweep"]["attempt"] == 2 and fog.counts["encoded_total"] == 0


def test_rerun_of_a_finished_sweep_encodes_nothing(ray_sweep, postgres_url):
    _, env, args = ray_sweep
    before = Store(postgres_url).count()
    code, out = cli(args, {k: v for k, v in env.items() if k != DIE_ENV})
    assert code == 0
    summary = json.loads(out)
    assert summary["totals"]["skipped"] == N_CONDITIONS and summary["totals"]["done"] == 0
    assert all(o["attempts"] == 0 for o in summary["outcomes"])
    assert Store(postgres_url).count() == before
    code, out = cli(["sweep", *args[1:2], "--dry-run", "--json", "--store", postgres_url], env)
    dry = json.loads(out)["tasks"]
    assert code == 0 and [t["images"] for t in dry] == [0, 0, 0] and [t["stored"] for t in dry] == [3, 3, 3]


def test_dry_run_counts_images_after_cache_hits_and_estimates_compute(study, reference, tmp_path):
    records, ref_store = reference
    plan = str(study / "plan.yaml")
    # a fresh cache, no store: every image of every condition is to encode (each once per model), compute unknown
    code, out = cli(["sweep", plan, "--dry-run", "--json", "--store", str(tmp_path / "none.db")],
                    {"ZEROSHIFT_CACHE": str(tmp_path / "fresh")})  # fmt: skip
    dry = {t["model"]: t for t in json.loads(out)["tasks"]}
    assert code == 0 and not (tmp_path / "none.db").exists()
    assert {m: t["images"] for m, t in dry.items()} == {m: 72 for m in MODELS}  # 24 clean + 24 fog + 24 sketch
    assert all(t["seconds"] is None and t["to_run"] == 3 for t in dry.values())
    # the same with the reference's store: its measured throughput gives the compute
    code, out = cli(["sweep", plan, "--dry-run", "--json", "--store", str(ref_store)],
                    {"ZEROSHIFT_CACHE": str(tmp_path / "fresh")})  # fmt: skip
    dry = {t["model"]: t for t in json.loads(out)["tasks"]}
    assert all(t["stored"] == 3 and t["images"] == 0 and t["seconds"] == 0 for t in dry.values())
    # the reference's cache but a store without its records: everything to run, nothing to encode
    ref_cache = ref_store.parent / "cache"
    code, out = cli(["sweep", plan, "--dry-run", "--json", "--store", str(tmp_path / "none.db")],
                    {"ZEROSHIFT_CACHE": str(ref_cache)})  # fmt: skip
    dry = {t["model"]: t for t in json.loads(out)["tasks"]}
    assert all(t["to_run"] == 3 and t["images"] == 0 and t["seconds"] == 0 for t in dry.values())
    # and with a --limit the plan is new to the store: 10 images per condition, at the measured rates
    code, out = cli(["sweep", plan, "--dry-run", "--json", "--store", str(ref_store), "--limit", "10"],
                    {"ZEROSHIFT_CACHE": str(tmp_path / "fresh")})  # fmt: skip
    dry = {t["model"]: t for t in json.loads(out)["tasks"]}
    for model, task in dry.items():
        rates = [r.counts["images_per_s"] for k, r in records.items() if k[0] == model]
        assert task["images"] == 30 and task["seconds"] > 0 and min(rates) <= task["images_per_s"] <= max(rates)


def test_local_executor_with_a_killed_worker(study, reference, tmp_path):
    store = tmp_path / "local.db"
    env = {"ZEROSHIFT_CACHE": str(tmp_path / "cache"), DIE_ENV: "zoo:sup-cnn-tiny=1"}
    code, out = cli(["sweep", str(study / "plan.yaml"), "--workers", "2", "--store", str(store), "--no-progress",
                     "--json"], env)  # fmt: skip
    assert code == 0, out
    summary = json.loads(out)
    assert {o["model"]: o["attempts"] for o in summary["outcomes"]}["zoo:sup-cnn-tiny"] == 2
    records = Store(store).records()
    assert len(records) == N_CONDITIONS
    assert_same_records(records, reference[0])
    assert {r.provenance["sweep"]["executor"] for r in records} == {"local"}
