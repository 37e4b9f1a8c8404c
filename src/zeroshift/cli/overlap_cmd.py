"""``zeroshift overlap index|check|dedup|calibrate``: train/test overlap from the command line (a typer sub-app).

Features come from the engine's feature cache (:func:`zeroshift.engine.features.cached_features`, the same
loaders, fingerprints and banks as ``zeroshift run``): an image encoded once, by a run or by an index, is never
encoded again; an interrupted ``overlap index`` resumes from the cache.

Commands:

* ``overlap index CORPUS -m MODEL -o DIR``: index a training corpus (an image folder, webdataset shards as a folder,
  a file or a ``{00000..00009}.tar`` pattern, or ``zoo-train:NAME`` for a zoo model's training set, ``--sample N``
  of it), or precomputed embeddings (an ``img_emb/`` + ``metadata/`` folder, with ``--embedding-model``).
* ``overlap check -b BENCH --index DIR``: each benchmark image's nearest training neighbour and the overlap flag
  (the ``overlap_flags`` artefact: ``--threshold``, default from the model's default rule; ``--phash`` confirms
  by perceptual hash), the overlap rate, the closest pairs; ``--out FILE`` writes per-sample rows (CSV) and the
  metrics and protocol (JSON beside). ``zeroshift run --metrics overlap`` records the same in the results store.
* ``overlap dedup -b BENCH [-b OTHER] -m MODEL``: duplicates within one benchmark, or of the first against the
  second (ImageNet-V2 against ImageNet val), from their cached features alone.
* ``overlap calibrate --index DIR --distractors LOCATION``: plant near-duplicates of indexed images among
  distractors and measure precision and recall of the flag across thresholds, with and without pHash.

Example:
    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(app, ["index", "--help"])
    >>> result.exit_code, "--embedding-model" in result.output
    (0, True)

"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, json_safe, mean_with_ci
from zeroshift.overlap.features import DirectFeatures

app = typer.Typer(
    help="Train/test overlap: index a training corpus, flag evaluation images found in it, find duplicates.",
    no_args_is_help=True,
)


def _runner(data_root: Path | None, progress: bool = True) -> Any:
    from zeroshift.engine.runner import Runner, RunOptions

    return Runner(RunOptions(data_root=data_root, progress=progress, workers=0))


def _metric_line(m: MetricValue) -> str:
    ci = f" [{m.ci_low:.4f}, {m.ci_high:.4f}]" if m.ci_low is not None and np.isfinite(m.ci_low) else ""
    return f"{m.name} = {m.value:.4f}{ci}"


def _write_outputs(out: Path, rows: dict[str, list[Any]], metrics: list[MetricValue], protocol: dict[str, Any]) -> None:
    """``out`` as per-sample CSV (list cells as JSON) and ``out`` with ``.json``: metrics and protocol."""
    out.parent.mkdir(parents=True, exist_ok=True)
    names = list(rows)
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for values in zip(*(rows[n] for n in names), strict=True):
            writer.writerow([json.dumps(v) if isinstance(v, list | dict) else v for v in values])
    summary = {"metrics": [m.as_dict() for m in metrics], "protocol": protocol}
    out.with_suffix(".json").write_text(json.dumps(json_safe(summary), indent=1, default=str) + "\n")


def _benchmark_features(runner: Any, spec: str, model: str, limit: int | None) -> tuple[str, Any]:
    """The canonical benchmark spec and its cached features (``ArtefactRows``, normalised)."""
    from zeroshift.data import make_benchmark
    from zeroshift.engine.features import cached_features

    bench = make_benchmark(spec, runner.options.data_root)
    rows = cached_features(runner, model, bench.canonical, limit)
    if len(rows) == 0:
        raise UsageError(f"no image of {bench.canonical} could be decoded ({rows.protocol['counts']['skipped']})")
    return bench.canonical, rows


@app.command("index")
def index(
    corpus: str = typer.Argument(
        ...,
        help="Image folder, webdataset shards (folder, .tar, or {00000..00009}.tar), embeddings folder "
        "(img_emb/ + metadata/), or zoo-train:NAME (a zoo model's training set).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Index folder (created; rerun the command to resume)."),
    model: str = typer.Option(None, "--model", "-m", help="Model whose image features build the index."),
    corpus_kind: str = typer.Option("auto", "--corpus-kind", help="auto, folder, webdataset or embeddings."),
    embedding_model: str = typer.Option(
        None, "--embedding-model", help="Precomputed embeddings: the model spec that produced them."
    ),
    key_column: str = typer.Option(None, "--key-column", help="Precomputed embeddings: metadata key column."),
    index_kind: str = typer.Option("auto", "--index", help="auto (exact up to --exact-limit), flat, ivfpq or hnsw."),
    exact_limit: int = typer.Option(200_000, "--exact-limit", help="Largest corpus indexed exactly under auto."),
    chunk_size: int = typer.Option(1024, "--chunk-size", help="Precomputed embeddings: rows per chunk."),
    sample: int = typer.Option(None, "--sample", help="zoo-train:NAME: a seeded sample of N training images."),
    seed: int = typer.Option(0, "--seed", help="Seed of --sample."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw a progress bar."),
) -> None:
    """Build (or resume) the nearest-neighbour index of a training corpus."""
    from zeroshift.overlap.locate import locate_corpus

    source = locate_corpus(corpus, corpus_kind, embedding_model, key_column, sample, seed)
    if source.has_images:
        from zeroshift.engine.features import cached_features
        from zeroshift.overlap.cached import index_corpus
        from zeroshift.overlap.features import ModelRef

        if not model:
            raise UsageError(f"indexing the {source.kind} corpus {corpus} needs -m MODEL (whose image features)")
        runner = _runner(None, progress)
        ref = ModelRef(str(runner.handle(model).spec), runner.handle(model).fingerprint)
        location = corpus if corpus.startswith("zoo-train:") else str(Path(corpus).expanduser().resolve())
        built = index_corpus(lambda spec: cached_features(runner, model, spec), out, location, ref, sample, seed,
                             kind=index_kind, exact_limit=exact_limit)  # fmt: skip
    else:
        from zeroshift.overlap.index import build_index

        built = build_index(out, source, None, chunk_size=chunk_size, kind=index_kind, exact_limit=exact_limit,
                            progress=progress)  # fmt: skip
    counts = built.manifest["counts"]
    skipped = built.manifest["corpus"].get("skipped") or counts.get("failed_by_reason") or {}
    reasons = ", ".join(f"{n} {r}" for r, n in skipped.items())
    Console().print(
        f"{out}: {counts['embedded']:,} samples indexed ({built.plan.factory}, {built.dim}-d, {built.model.spec})"
        + (f"; skipped: {reasons}" if reasons else ""),
        soft_wrap=True,
    )


@app.command("check")
def check(
    benchmark: str = typer.Option(..., "--benchmark", "-b", help="Benchmark spec to check."),
    index_dir: Path = typer.Option(..., "--index", help="Index folder (zeroshift overlap index)."),
    model: str = typer.Option(None, "--model", "-m", help="Model of the features [default: the index's model]."),
    data_root: Path = typer.Option(None, "--data-root", "-d", help="Folder with datasets in their published layouts."),
    k: int = typer.Option(5, "-k", help="Nearest training neighbours searched per image."),
    threshold: float = typer.Option(None, "--threshold", help="Cosine threshold [default: the model's default rule]."),
    phash: bool = typer.Option(False, "--phash/--no-phash", help="Confirm flags by perceptual-hash distance."),
    max_hamming: int = typer.Option(None, "--max-hamming", help="pHash bits (of 64) that may differ [default rule]."),
    limit: int = typer.Option(None, "--limit", help="Check a seeded subset of N samples (as run --limit)."),
    out: Path = typer.Option(None, "--out", help="Per-sample CSV (metrics and protocol in the .json beside)."),
    show: int = typer.Option(10, "--show", help="Closest pairs to print."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw progress bars."),
) -> None:
    """Flag the benchmark's images whose nearest training neighbour is a duplicate."""
    from zeroshift.engine.runner import Runner, RunOptions
    from zeroshift.overlap.index import OverlapIndex
    from zeroshift.specs import RunSpec

    idx = OverlapIndex.open(index_dir)
    spec = model or idx.model.spec
    runner = Runner(RunOptions(data_root=data_root, progress=progress, workers=0, limit=limit))
    inputs = runner.inputs(RunSpec.make(spec, benchmark))
    params = {"index": str(index_dir), "k": k, "threshold": threshold, "phash": phash, "max_hamming": max_hamming}
    rows = inputs.artefact("overlap_flags", **params)
    table = rows.rows.numpy().reshape(-1, 4)
    flags = table[:, 1] > 0.5
    metrics = [mean_with_ci(flags.astype(np.float64), "overlap_rate", False, DEFAULT_BOOTSTRAP, {"n": len(flags)}),
               MetricValue("overlap_count", float(flags.sum()), False)]  # fmt: skip
    protocol = {**rows.protocol, "benchmark": inputs.condition.spec.benchmark.canonical, "limit": limit,
                "skipped": dict(inputs.stats.skipped)}  # fmt: skip
    per_sample = {
        "sample_id": list(rows.sample_ids),
        "overlap": flags.tolist(),
        "nn_key": [idx.keys[int(r)] if r >= 0 else "" for r in table[:, 3]],
        "nn_cosine": [None if c < -1.5 else round(float(c), 6) for c in table[:, 0]],
        "nn_hamming": [int(h) for h in table[:, 2]],
    }
    rule = protocol["rule"]
    console = Console()
    console.print(f"{protocol['benchmark']} against {index_dir} ({idx.model.spec}): " + "; ".join(
        _metric_line(m) for m in metrics), soft_wrap=True)  # fmt: skip
    console.print(f"flag: cosine >= {rule['threshold']}" + (f" and pHash <= {rule['max_hamming']} bits"
                  if rule["max_hamming"] is not None else "") + f" ({rule['source']})", soft_wrap=True)  # fmt: skip
    pairs = Table(title="closest pairs")
    for col in ("sample", "nearest training sample", "cosine", "pHash bits", "flag"):
        pairs.add_column(col, overflow="fold")
    for i in np.argsort(-table[:, 0], kind="stable")[:show]:
        cos = per_sample["nn_cosine"][i]
        pairs.add_row(per_sample["sample_id"][i], per_sample["nn_key"][i], f"{cos:.4f}" if cos is not None else "-",
                      str(per_sample["nn_hamming"][i]) if per_sample["nn_hamming"][i] >= 0 else "-",
                      "yes" if flags[i] else "")  # fmt: skip
    console.print(pairs)
    if out is not None:
        _write_outputs(out, per_sample, metrics, protocol)
        console.print(f"wrote {out} and {out.with_suffix('.json')}")


@app.command("dedup")
def dedup(
    benchmark: list[str] = typer.Option(
        ..., "--benchmark", "-b", help="One benchmark (within) or two (first, second)."
    ),
    model: str = typer.Option(..., "--model", "-m", help="Model whose image features compare the images."),
    data_root: Path = typer.Option(None, "--data-root", "-d", help="Folder with datasets in their published layouts."),
    threshold: float = typer.Option(None, "--threshold", help="Cosine threshold [default: the model's default rule]."),
    limit: int = typer.Option(None, "--limit", help="A seeded subset of N samples of each benchmark."),
    out: Path = typer.Option(None, "--out", help="Per-sample CSV (metrics and protocol in the .json beside)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw progress bars."),
) -> None:
    """Duplicates within one benchmark, or between two, from their cached features (no index)."""
    from zeroshift.overlap.checks import between_duplicates, default_rule, within_duplicates

    if len(benchmark) not in (1, 2):
        raise UsageError(f"give one benchmark (within) or two (first against second), got {len(benchmark)}")
    rule = default_rule(model)
    tau = threshold if threshold is not None else rule.threshold
    runner = _runner(data_root, progress)
    name_a, first = _benchmark_features(runner, benchmark[0], model, limit)
    emb_a = first.rows.numpy()
    if len(benchmark) == 1:
        metrics, protocol, rows = within_duplicates(emb_a, first.sample_ids, tau)
    else:
        name_b, second = _benchmark_features(runner, benchmark[1], model, limit)
        metrics, protocol, rows = between_duplicates(emb_a, second.rows.numpy(), first.sample_ids,
                                                     second.sample_ids, tau)  # fmt: skip
        protocol["against"] = name_b
    protocol.update(benchmark=name_a, model=model, limit=limit,
                    threshold_source=rule.source if threshold is None else "user (--threshold)")  # fmt: skip
    Console().print(f"{' vs '.join(benchmark)} ({model}, cosine >= {tau}): " + "; ".join(
        _metric_line(m) for m in metrics), soft_wrap=True)  # fmt: skip
    if out is not None:
        _write_outputs(out, rows, metrics, protocol)


@app.command("calibrate")
def calibrate_cmd(
    index_dir: Path = typer.Option(..., "--index", help="Index folder of an image corpus."),
    distractors: str = typer.Option(..., "--distractors", help="Images absent from the corpus (any corpus layout)."),
    max_distractors: int = typer.Option(1000, "--max-distractors", help="Use at most this many distractors."),
    n_sources: int = typer.Option(200, "--sources", help="Indexed images that get planted copies."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sources and the copies' random parameters."),
    max_hamming: int = typer.Option(10, "--max-hamming", help="pHash confirmation measured besides embedding only."),
    out: Path = typer.Option(None, "--out", help="JSON with the curves, the chosen thresholds and the protocol."),
) -> None:
    """Measure the flag's precision and recall on planted near-duplicates, and choose a threshold."""
    from zeroshift.overlap.calibration import calibrate
    from zeroshift.overlap.corpus import ImageCorpus
    from zeroshift.overlap.index import OverlapIndex
    from zeroshift.overlap.locate import locate_corpus, reopen_corpus

    idx = OverlapIndex.open(index_dir)
    corpus = reopen_corpus(idx.manifest["corpus"], idx.manifest["listing_digest"])
    if not isinstance(corpus, ImageCorpus):
        raise UsageError(f"{index_dir} indexes precomputed embeddings: calibration needs the corpus images")
    others = locate_corpus(distractors)
    if not isinstance(others, ImageCorpus):
        raise UsageError(f"the distractors {distractors} must be images, not embeddings")
    images = [item.image for item in others.items(0, max_distractors) if item.image is not None]
    # the planted copies exist only in memory: they are encoded directly (uncached), as the indexed originals are
    report = calibrate(idx, corpus, DirectFeatures().embedder(idx.model.spec), images, n_sources=n_sources, seed=seed,
                       max_hamming=max_hamming)  # fmt: skip
    console = Console()
    for name, chosen in report.chosen.items():
        if chosen["threshold"] is None:
            console.print(f"{name}: no threshold meets the requirement {chosen['requirement']}", soft_wrap=True)
            continue
        m = chosen["measured"]
        groups = ", ".join(f"{g} {v:.3f}" for g, v in m["recall_by_group"].items() if v is not None)
        console.print(f"{name}: threshold {chosen['threshold']} (feasible {chosen['feasible']}): precision "
                      f"{m['precision']:.3f}, recall {m['recall']:.3f}, FPR {m['fpr']:.4f}; recall by kind: {groups}",
                      soft_wrap=True)  # fmt: skip
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(json_safe(report.as_dict()), indent=1, default=str) + "\n")
        console.print(f"wrote {out}")
