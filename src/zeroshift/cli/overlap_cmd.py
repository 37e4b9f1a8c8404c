"""``zeroshift overlap index|check|dedup|calibrate``: train/test overlap from the command line (a typer sub-app).

Not registered in ``cli/main.py`` yet: the engine will supply the features (``set_feature_provider``) and register
it with ``app.add_typer(overlap_cmd.app, name="overlap")``. Until then :class:`~zeroshift.overlap.features.
DirectFeatures` encodes images in-process, uncached.

Commands:

* ``overlap index CORPUS -m MODEL -o DIR``: index a training corpus (an image folder, webdataset shards as a folder,
  a file or a ``{00000..00009}.tar`` pattern, a ``img_emb/`` + ``metadata/`` embeddings folder with
  ``--embedding-model``, or ``zoo-train:NAME`` for a zoo model's training set, ``--sample N`` of it). Rerunning the
  same command resumes an interrupted build.
* ``overlap check -b BENCH --index DIR``: each benchmark image's nearest training neighbours and the overlap flag
  (``--threshold``, default from the model's default rule; ``--phash`` confirms by perceptual hash), the overlap
  rate, the closest pairs; ``--out FILE`` writes per-sample rows (CSV) and the metrics and protocol (JSON beside).
* ``overlap dedup -b BENCH [-b OTHER] -m MODEL``: duplicates within one benchmark, or of the first against the
  second (ImageNet-V2 against ImageNet val), from their features alone.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from zeroshift.errors import UsageError
from zeroshift.metrics.base import MetricValue, json_safe
from zeroshift.overlap.features import DirectFeatures, FeatureProvider

app = typer.Typer(
    help="Train/test overlap: index a training corpus, flag evaluation images found in it, find duplicates.",
    no_args_is_help=True,
)

_provider_factory: Callable[[], FeatureProvider] = DirectFeatures


def set_feature_provider(factory: Callable[[], FeatureProvider]) -> None:
    """Make the commands take their features from ``factory()`` (the engine's cached extractor, once it has one)."""
    global _provider_factory
    _provider_factory = factory


def _provider() -> FeatureProvider:
    return _provider_factory()


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


def _benchmark_features(spec: str, model: str, data_root: Path | None, limit: int | None, keep_images: bool) -> Any:
    from zeroshift.data import make_benchmark
    from zeroshift.paths import data_root as default_root

    bench = make_benchmark(spec, default_root(data_root))
    dataset = bench.dataset()
    if limit is not None:
        dataset = dataset.subset(range(min(limit, len(dataset))))
    if len(dataset) == 0:
        raise UsageError(f"{bench.canonical} has no samples")
    feats = _provider().dataset_features(model, dataset, keep_images=keep_images)
    if len(feats.positions) == 0:
        raise UsageError(f"no image of {bench.canonical} could be decoded ({len(feats.failures)} failed)")
    return bench, dataset, feats


@app.command("index")
def index(
    corpus: str = typer.Argument(
        ...,
        help="Image folder, webdataset shards (folder, .tar, or {00000..00009}.tar), embeddings folder "
        "(img_emb/ + metadata/), or zoo-train:NAME (a zoo model's training set).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Index folder (created; an interrupted build there resumes)."),
    model: str = typer.Option(None, "--model", "-m", help="Model whose image features build the index."),
    corpus_kind: str = typer.Option("auto", "--corpus-kind", help="auto, folder, webdataset or embeddings."),
    embedding_model: str = typer.Option(
        None, "--embedding-model", help="Precomputed embeddings: the model spec that produced them."
    ),
    key_column: str = typer.Option(None, "--key-column", help="Precomputed embeddings: metadata key column."),
    index_kind: str = typer.Option("auto", "--index", help="auto (exact up to --exact-limit), flat, ivfpq or hnsw."),
    exact_limit: int = typer.Option(200_000, "--exact-limit", help="Largest corpus indexed exactly under auto."),
    chunk_size: int = typer.Option(1024, "--chunk-size", help="Samples per chunk (the unit of resumption)."),
    phash: bool = typer.Option(True, "--phash/--no-phash", help="Store perceptual hashes (image corpora)."),
    sample: int = typer.Option(None, "--sample", help="zoo-train:NAME: a seeded sample of N training images."),
    seed: int = typer.Option(0, "--seed", help="Seed of --sample."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw a progress bar."),
) -> None:
    """Build (or resume) the nearest-neighbour index of a training corpus."""
    from zeroshift.overlap.index import build_index
    from zeroshift.overlap.locate import locate_corpus

    source = locate_corpus(corpus, corpus_kind, embedding_model, key_column, sample, seed)
    if source.has_images and not model:
        raise UsageError(f"indexing the {source.kind} corpus {corpus} needs -m MODEL (whose image features to use)")
    embed = _provider().embedder(model) if model else None
    built = build_index(out, source, embed, chunk_size=chunk_size, kind=index_kind, exact_limit=exact_limit,
                        phash=phash, progress=progress)  # fmt: skip
    counts = built.manifest["counts"]
    reasons = ", ".join(f"{n} {r}" for r, n in counts["failed_by_reason"].items())
    Console().print(
        f"{out}: {counts['embedded']:,} of {counts['samples']:,} samples indexed ({built.plan.factory}, "
        f"{built.dim}-d, {built.model.spec})" + (f"; skipped: {reasons}" if reasons else ""),
        soft_wrap=True,
    )


@app.command("check")
def check(
    benchmark: str = typer.Option(..., "--benchmark", "-b", help="Benchmark spec to check."),
    index_dir: Path = typer.Option(..., "--index", help="Index folder (zeroshift overlap index)."),
    model: str = typer.Option(None, "--model", "-m", help="Model of the features [default: the index's model]."),
    data_root: Path = typer.Option(None, "--data-root", "-d", help="Folder with datasets in their published layouts."),
    k: int = typer.Option(5, "-k", help="Nearest training neighbours kept per image."),
    threshold: float = typer.Option(None, "--threshold", help="Cosine threshold [default: the model's default rule]."),
    phash: bool = typer.Option(False, "--phash/--no-phash", help="Confirm flags by perceptual-hash distance."),
    max_hamming: int = typer.Option(None, "--max-hamming", help="pHash bits (of 64) that may differ [default rule]."),
    limit: int = typer.Option(None, "--limit", help="Check the first N samples only."),
    out: Path = typer.Option(None, "--out", help="Per-sample CSV (metrics and protocol in the .json beside)."),
    show: int = typer.Option(10, "--show", help="Closest pairs to print."),
) -> None:
    """Flag the benchmark's images whose nearest training neighbour is a duplicate."""
    from zeroshift.overlap.checks import FlagRule, default_rule, overlap_check
    from zeroshift.overlap.features import ModelRef
    from zeroshift.overlap.hashes import phash64
    from zeroshift.overlap.index import OverlapIndex

    idx = OverlapIndex.open(index_dir)
    spec = model or idx.model.spec
    idx.require_model(ModelRef.of(spec))
    base = default_rule(idx.model, phash=phash)
    rule = FlagRule(
        threshold if threshold is not None else base.threshold,
        (max_hamming if max_hamming is not None else base.max_hamming) if phash else None,
        "user (--threshold/--max-hamming)" if threshold is not None or max_hamming is not None else base.source,
    )
    bench, dataset, feats = _benchmark_features(benchmark, spec, data_root, limit, keep_images=phash)
    ids = [dataset.sample_ids[int(i)] for i in feats.positions]
    hashes = phash64(feats.images) if phash else None
    metrics, protocol, rows = overlap_check(idx, feats.embeddings, ids, idx.model, k=k, rule=rule, query_phash=hashes)
    protocol.update(benchmark=bench.canonical, failures=feats.failures)
    console = Console()
    console.print(f"{bench.canonical} against {index_dir} ({idx.model.spec}): " + "; ".join(
        _metric_line(m) for m in metrics), soft_wrap=True)  # fmt: skip
    console.print(f"flag: cosine >= {rule.threshold}" + (f" and pHash <= {rule.max_hamming} bits" if rule.max_hamming
                  is not None else "") + f" ({rule.source})", soft_wrap=True)  # fmt: skip
    order = np.argsort([-(c if c is not None else -2.0) for c in rows["nn_cosine"]])[:show]
    table = Table(title="closest pairs")
    for col in ("sample", "nearest training sample", "cosine", "pHash bits", "flag"):
        table.add_column(col, overflow="fold")
    for i in order:
        cos = rows["nn_cosine"][i]
        table.add_row(rows["sample_id"][i], rows["nn_key"][i], f"{cos:.4f}" if cos is not None else "-",
                      str(rows["nn_hamming"][i]) if rows["nn_hamming"][i] >= 0 else "-",
                      "yes" if rows["overlap"][i] else "")  # fmt: skip
    console.print(table)
    if out is not None:
        _write_outputs(out, rows, metrics, protocol)
        console.print(f"wrote {out} and {out.with_suffix('.json')}")


@app.command("dedup")
def dedup(
    benchmark: list[str] = typer.Option(
        ..., "--benchmark", "-b", help="One benchmark (within) or two (first vs second)."
    ),
    model: str = typer.Option(..., "--model", "-m", help="Model whose image features compare the images."),
    data_root: Path = typer.Option(None, "--data-root", "-d", help="Folder with datasets in their published layouts."),
    threshold: float = typer.Option(None, "--threshold", help="Cosine threshold [default: the model's default rule]."),
    limit: int = typer.Option(None, "--limit", help="The first N samples of each benchmark only."),
    out: Path = typer.Option(None, "--out", help="Per-sample CSV (metrics and protocol in the .json beside)."),
) -> None:
    """Duplicates within one benchmark, or between two, from their features (no index)."""
    from zeroshift.overlap.checks import between_duplicates, default_rule, within_duplicates

    if len(benchmark) not in (1, 2):
        raise UsageError(f"give one benchmark (within) or two (first against second), got {len(benchmark)}")
    rule = default_rule(model)
    tau = threshold if threshold is not None else rule.threshold
    first = _benchmark_features(benchmark[0], model, data_root, limit, keep_images=False)
    ids_a = [first[1].sample_ids[int(i)] for i in first[2].positions]
    if len(benchmark) == 1:
        metrics, protocol, rows = within_duplicates(first[2].embeddings, ids_a, tau)
    else:
        second = _benchmark_features(benchmark[1], model, data_root, limit, keep_images=False)
        ids_b = [second[1].sample_ids[int(i)] for i in second[2].positions]
        metrics, protocol, rows = between_duplicates(first[2].embeddings, second[2].embeddings, ids_a, ids_b, tau)
        protocol["against"] = second[0].canonical
    protocol.update(benchmark=first[0].canonical, model=model,
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
    report = calibrate(idx, corpus, _provider().embedder(idx.model.spec), images, n_sources=n_sources, seed=seed,
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
