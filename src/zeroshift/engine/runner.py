"""RunSpec -> RunRecord: the flow of one evaluation (DESIGN, "One run, as data").

1. resolve the specs (benchmark with its defaults, label space, prompt set, shift);
2. text head from the head bank (only missing classes are encoded);
3. image features from the feature bank (only missing samples are encoded, in chunks written atomically);
4. class scores through the label space;
5. metric groups (pure functions of the outputs) with bootstrap intervals;
6. one RunRecord, written in one transaction.

The model is loaded only if something must be encoded: a run whose features and head are cached reads the
model's facts (kind, logit scale, metadata) from a small JSON beside the banks.

How runs execute is :class:`~zeroshift.engine.options.RunOptions`; what a metric group may ask while a run is
going is :class:`~zeroshift.engine.context.EvalContext`.

Example:
    >>> runner = Runner(RunOptions(limit=10))
    >>> runner.options.limit, runner.store is None
    (10, True)

"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import numpy as np
import torch

from zeroshift.data import make_benchmark
from zeroshift.data.base import Benchmark, Dataset, LabelSpace
from zeroshift.data.ood import OODBenchmark
from zeroshift.engine.cache import Cache, atomic_write_bytes
from zeroshift.engine.context import EncodeStats, EvalContext
from zeroshift.engine.loader import PixelDataset, default_workers, make_loader
from zeroshift.engine.options import RunOptions, autocast_dtype, resolve_device
from zeroshift.engine.outputs import Classifier, LocalOutputs, Outputs, class_logits
from zeroshift.engine.progress import progress_bar
from zeroshift.engine.provenance import provenance
from zeroshift.errors import UsageError
from zeroshift.metrics import DEFAULT_BOOTSTRAP, MetricValue, metrics
from zeroshift.models import ModelHandle, adapters, resolve_model
from zeroshift.models.base import ModelInfo, ZeroShotModel
from zeroshift.models.heads import head_fingerprint, text_head
from zeroshift.models.metadata import apply_user_metadata
from zeroshift.prompts import PromptSet, load_prompts
from zeroshift.results.schema import RunRecord, SampleOutputs
from zeroshift.results.store import Store
from zeroshift.shifts import Shift, make_shift, per_image_seed
from zeroshift.specs import CallSpec, RunSpec, fingerprint

#: artefact kinds of the image banks and what their fingerprints say they hold
ARTEFACTS = {"features": "image features", "local": "patch embeddings (float16)"}


class Runner:
    """Executes RunSpecs with shared caches, loaded models and one results store.

    Example:
        >>> runner = Runner(RunOptions())
        >>> runner.device.type in ("cpu", "cuda")
        True

    """

    def __init__(self, options: RunOptions | None = None) -> None:
        self.options = options or RunOptions()
        self.cache = Cache(self.options.cache_dir)
        self._store: Store | None = None
        self.device = resolve_device(self.options.device)
        self._handles: dict[str, ModelHandle] = {}
        self._datasets: dict[tuple[str, str], Dataset] = {}

    @property
    def store(self) -> Store | None:
        """The results store, opened on first use (a command refused by its checks leaves no empty store behind)."""
        if self._store is None and self.options.store:
            self._store = Store(self.options.store)
        return self._store

    # --- models -----------------------------------------------------------------------------------------
    def handle(self, model: str | Any) -> ModelHandle:
        """The (memoised) handle of a model spec."""
        key = str(model)
        if key not in self._handles:
            self._handles[key] = resolve_model(model)
        return self._handles[key]

    def model_facts(self, handle: ModelHandle) -> dict[str, Any]:
        """Kind, universe, logit scale/bias, metadata and preprocessing, without loading when cached."""
        path = self.cache.root / "models" / f"{handle.fingerprint}.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
        model = handle.load()
        facts = {
            "spec": str(handle.spec),
            "identity": handle.identity,
            "kind": model.kind,
            "backend": model.backend,
            "universe": model.universe,
            "logit_scale": model.logit_scale,
            "logit_bias": model.logit_bias,
            "info": model.info.as_dict(),
            "preprocess": model.preprocess.record,
            "supports_local": model.kind == "zero_shot" and model.supports_local,
        }
        atomic_write_bytes(path, json.dumps(facts, default=str).encode())
        return facts

    # --- features ---------------------------------------------------------------------------------------
    def feature_fingerprint(
        self,
        handle: ModelHandle,
        shift: Shift | None,
        seed: int,
        attack_head: str | None = None,
        artefact: str = "features",
    ) -> str:
        """Fingerprint of the feature bank (or the ``local`` patch bank) of a model under a shift.

        Attacks also key on the head.
        """
        precision = self.options.precision if self.device.type == "cuda" else "fp32"
        return fingerprint(
            {
                "model": handle.fingerprint,
                "shift": shift.canonical if shift else None,
                "seed": seed if shift else None,
                "attack_head": attack_head,
                "precision": precision,
                "what": ARTEFACTS[artefact],
            }
        )

    def features(
        self,
        handle: ModelHandle,
        benchmark: Benchmark,
        dataset: Dataset,
        shift: Shift | None,
        seed: int,
        ctx: EvalContext | None = None,
        artefact: str = "features",
    ) -> tuple[torch.Tensor, np.ndarray, EncodeStats]:
        """Rows of one artefact for every sample (encoding only what the banks lack); (rows, kept indices, stats).

        ``artefact`` is ``features`` (global embeddings or fixed-head logits) or ``local`` (patch embeddings,
        float16). Asking for ``local`` also fills the global bank in the same forward pass, so an image is never
        encoded twice for the two.
        """
        attack_head = None
        classifier = None
        depends = shift.depends_on() if shift is not None else frozenset()
        if depends:
            # the shifted pixels follow the label space and/or the text head: both key the features
            assert ctx is not None
            facts = self.model_facts(handle)
            attack_head = fingerprint(
                {
                    "head": head_fingerprint(handle, ctx.prompts)
                    if "head" in depends and facts["kind"] == "zero_shot"
                    else None,
                    "space": ctx.label_space.fingerprint_data if "label_space" in depends else None,
                }
            )
        kinds = ["features"] if artefact == "features" else ["features", artefact]
        producer = {"model": str(handle.spec), "shift": shift.canonical if shift else None}
        banks = {
            kind: self.cache.bank(kind, self.feature_fingerprint(handle, shift, seed, attack_head, kind), producer)
            for kind in kinds
        }
        keys = dataset.content_keys()
        stats = EncodeStats(total=len(keys), fingerprint=banks[artefact].folder.name)

        def lacking() -> dict[str, set[str]]:
            return {kind: {k for k in keys if not bank.has(k)} for kind, bank in banks.items()}

        missing = lacking()
        if any(missing.values()):
            for bank in banks.values():
                bank.refresh()  # another process may have written chunks meanwhile
            missing = lacking()
        todo = [i for i, k in enumerate(keys) if any(k in m for m in missing.values())]
        stats.from_cache = len(keys) - len(todo)
        if todo:
            if shift is not None and shift.kind == "attack":
                assert ctx is not None
                classifier = self.classifier(handle, ctx.label_space, ctx.prompts)
            self._encode(handle, benchmark, dataset, todo, keys, banks, missing, shift, seed, stats, ctx, classifier)
        bank = banks[artefact]
        failures = bank.failures
        kept = np.asarray([i for i, k in enumerate(keys) if k not in failures], dtype=np.int64)
        for i, k in enumerate(keys):
            if k in failures:
                stats.skipped[failures[k]] += 1
                examples = stats.skipped_examples.setdefault(failures[k], [])
                if len(examples) < 20:
                    examples.append(dataset.sample_ids[i])
        rows = bank.get([keys[i] for i in kept]) if len(kept) else torch.empty(0, 0)
        return rows, kept, stats

    def _encode(
        self,
        handle: ModelHandle,
        benchmark: Benchmark,
        dataset: Dataset,
        todo: list[int],
        keys: list[str],
        banks: dict[str, Any],
        missing: dict[str, set[str]],
        shift: Shift | None,
        seed: int,
        stats: EncodeStats,
        ctx: EvalContext | None,
        classifier: Classifier | None,
    ) -> None:
        model = handle.load()
        model.to(self.device)
        want_local = "local" in banks
        if want_local and not model.supports_local:
            raise UsageError(f"{handle.spec} exposes no patch embeddings (needed for GL-MCM)")
        opts = self.options
        shift_params = ctx.shift_params() if ctx is not None else None
        loader = self.pixel_loader(model, benchmark, dataset, todo, shift, seed, shift_params)
        dtype = autocast_dtype(opts.precision, self.device)
        labels_all = (
            benchmark.native_to_label(ctx.label_space)[dataset.targets]
            if ctx is not None and benchmark.labelled
            else None
        )
        pending_keys: dict[str, list[str]] = {kind: [] for kind in banks}
        pending_rows: dict[str, list[torch.Tensor]] = {kind: [] for kind in banks}
        pending_fail: dict[str, dict[str, str]] = {kind: {} for kind in banks}
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal last_flush
            for kind, bank in banks.items():
                if pending_keys[kind] or pending_fail[kind]:
                    rows = torch.cat(pending_rows[kind]) if pending_rows[kind] else torch.empty(0)
                    bank.put(pending_keys[kind], rows, pending_fail[kind])
                pending_keys[kind].clear()
                pending_rows[kind].clear()
                pending_fail[kind].clear()
            last_flush = time.monotonic()

        def add(kind: str, batch_keys: list[str], rows: torch.Tensor) -> None:
            # only rows the bank lacks: a chunk is never rewritten with bytes that may differ on another device
            wanted = [j for j, k in enumerate(batch_keys) if k in missing[kind]]
            if wanted:
                pending_keys[kind].extend(batch_keys[j] for j in wanted)
                pending_rows[kind].append(rows[wanted])

        start = time.perf_counter()
        label = f"{dataset.name}" + (f" [{shift.canonical}]" if shift else "")
        with progress_bar(f"encode {label}", len(todo), opts.progress) as advance:
            for batch in loader:
                for position, reason, message in batch.failures:
                    if opts.on_bad_image == "fail":
                        raise UsageError(
                            f"bad image {message}; rerun with --on-bad-image skip to skip and count such files"
                        )
                    key = keys[todo[position]]
                    for kind in banks:
                        if key in missing[kind]:
                            pending_fail[kind][key] = reason
                for _, note in batch.notes:
                    stats.converted[note.split("; ")[-1].split(" ")[0]] += 1  # "reduced WxH; L->RGB" -> "L->RGB"
                if batch.pixels is not None:
                    x = batch.pixels.to(self.device, non_blocking=True)
                    if classifier is not None and shift is not None:
                        idx = [todo[p] for p in batch.positions]
                        y = torch.as_tensor(labels_all[idx], device=self.device)
                        seeds = [per_image_seed(seed, shift.canonical, dataset.sample_ids[i]) for i in idx]
                        params = [shift_params[i] for i in idx] if shift_params is not None else None
                        x = shift.attack(classifier, x, y, seeds, params).detach()
                    with (
                        torch.inference_mode(),
                        torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None),
                    ):
                        x = model.preprocess.normalize(x)
                        feats, local = model.encode_image_and_local(x) if want_local else (model.encode_image(x), None)
                    batch_keys = [keys[todo[p]] for p in batch.positions]
                    add("features", batch_keys, feats.float().cpu())
                    if want_local:
                        add("local", batch_keys, local.to(torch.float16).cpu())
                    stats.encoded += len(batch.positions)
                advance(len(batch.positions) + len(batch.failures))
                n_pending = max(len(v) for v in pending_keys.values())
                if n_pending >= opts.chunk_rows or time.monotonic() - last_flush > opts.chunk_seconds:
                    flush()
            flush()
        stats.seconds = time.perf_counter() - start

    def pixel_loader(
        self,
        model: ZeroShotModel,
        benchmark: Benchmark,
        dataset: Dataset,
        indices: list[int],
        shift: Shift | None,
        seed: int,
        shift_params: list[dict[str, Any]] | None,
    ) -> torch.utils.data.DataLoader:
        """Batches of ``dataset[indices]`` through the model's geometry and a pixel shift, in loader workers.

        Each :class:`~zeroshift.engine.loader.Batch` gives positions into ``indices``, the [0, 1] pixels and the
        images that could not be read; used by the encoder and by metric groups that need pixels (attacks).
        """
        pixels = PixelDataset(
            dataset,
            indices,
            model.preprocess.geometry,
            shift,
            seed,
            benchmark.class_display_names(dataset),
            shift_params,
        )
        workers = default_workers() if self.options.workers is None else self.options.workers
        return make_loader(pixels, self.options.batch_size, workers, pin_memory=self.device.type == "cuda")

    def classifier(self, handle: ModelHandle, space: LabelSpace, prompts: PromptSet) -> Classifier:
        """The differentiable classifier of a model over a label space (for attacks)."""
        model = handle.load()
        model.to(self.device)
        head = self.head(handle, space, prompts) if model.kind == "zero_shot" else None
        for p in model.module.parameters():
            p.requires_grad_(False)
        return Classifier(model, head.to(self.device) if head is not None else None, space).to(self.device)

    def head(self, handle: ModelHandle, space: LabelSpace, prompts: PromptSet) -> torch.Tensor:
        """Text-head rows for the label space's used columns."""
        names = [space.universe_names[c] for c in space.used_columns]
        with progress_bar("text head", len(names), self.options.progress, unit="cls/s") as advance:
            return text_head(handle, prompts, names, self.cache, self.device, on_encode=advance)

    # --- outputs ----------------------------------------------------------------------------------------
    def check(self, spec: RunSpec) -> None:
        """Validate a run's specs without reading data or loading weights (raises UsageError).

        The CLI checks every planned run first, so a bad spec stops the command before any work.
        """
        handle = self.handle(spec.model)
        benchmark = make_benchmark(spec.benchmark, self.options.data_root)
        benchmark.resolve_label_space(spec.label_space)
        shift = make_shift(spec.shift) if spec.shift is not None else None
        load_prompts(spec.prompts)
        check_gradients(handle, shift)
        check_metric_groups(self.metric_groups(benchmark, shift), benchmark, shift)
        self.dataset_of(benchmark)  # a missing dataset stops a suite before its first run, not hours into it
        if isinstance(benchmark, OODBenchmark):  # scored against its in-distribution set: that one must be there too
            self.dataset_of(benchmark.id_benchmark())

    def metric_groups(self, benchmark: Benchmark, shift: Shift | None) -> tuple[str, ...]:
        """The groups a run computes: ``options.metrics``, else the benchmark's and the shift's defaults."""
        return tuple(self.options.metrics or default_metric_groups(benchmark, shift))

    def dataset_of(self, benchmark: Benchmark) -> Dataset:
        """The samples of a benchmark, listed once per runner (a suite of 95 corruptions lists ImageNet once)."""
        key = (benchmark.canonical, str(benchmark.data_root))
        if key not in self._datasets:
            self._datasets[key] = benchmark.dataset()
        return self._datasets[key]

    def prepare(self, spec: RunSpec, limit: int | None = None) -> EvalContext:
        """Resolve the specs of a run into an EvalContext (checks data layout and names, loads nothing)."""
        handle = self.handle(spec.model)
        benchmark = make_benchmark(spec.benchmark, self.options.data_root)
        space_name = benchmark.resolve_label_space(spec.label_space)
        space = benchmark.label_space(space_name)
        shift = make_shift(spec.shift) if spec.shift is not None else None
        check_gradients(handle, shift)
        prompts = load_prompts(spec.prompts)
        dataset = self.dataset_of(benchmark)
        limit = limit if limit is not None else self.options.limit
        if limit is not None and limit < len(dataset):
            chosen = np.sort(np.random.default_rng(spec.seed).permutation(len(dataset))[:limit])
            dataset = dataset.subset(chosen.tolist())
        resolved = RunSpec(
            spec.model,
            CallSpec.parse(benchmark.canonical),
            spec.shift and CallSpec.parse(shift.canonical),
            spec.prompts,
            space_name,
            spec.seed,
        )
        return EvalContext(self, resolved, handle, benchmark, dataset, space, prompts, shift)

    def outputs_for(
        self,
        spec: RunSpec,
        limit: int | None = None,
        ctx: EvalContext | None = None,
        artefacts: set[str] | frozenset[str] = frozenset(),
    ) -> tuple[Outputs, EncodeStats, EvalContext]:
        """Outputs of one condition, through the caches.

        ``artefacts`` names what the metric groups will also read (``local``: patch embeddings); images that must be
        encoded are then encoded once for all of them, and the stats count that pass.
        """
        ctx = ctx or self.prepare(spec, limit)
        facts = self.model_facts(ctx.handle)
        space = ctx.label_space
        if facts["kind"] == "fixed_head" and space.universe != facts["universe"]:
            raise UsageError(
                f"{ctx.handle.spec} is a fixed-head classifier over {facts['universe']}; label space "
                f"{space.name!r} of {ctx.benchmark.name} needs {space.universe}"
                + (
                    f" (try --label-space {ctx.benchmark.label_spaces[0]})"
                    if space.name != ctx.benchmark.label_spaces[0]
                    else ""
                )
            )
        prefetched = None
        if "local" in artefacts and facts.get("supports_local") and space.reduce != "mean_prob":
            _, _, prefetched = self.features(
                ctx.handle, ctx.benchmark, ctx.dataset, ctx.shift, ctx.spec.seed, ctx, artefact="local"
            )
        feats, kept, stats = self.features(ctx.handle, ctx.benchmark, ctx.dataset, ctx.shift, ctx.spec.seed, ctx)
        if prefetched is not None:  # the pass that filled both banks is this condition's encoding
            stats.encoded += prefetched.encoded
            stats.from_cache -= prefetched.encoded
            stats.seconds += prefetched.seconds
        head = self.head(ctx.handle, space, ctx.prompts) if facts["kind"] == "zero_shot" else None
        scale = facts["logit_scale"] if facts["kind"] == "zero_shot" else 1.0
        bias = facts["logit_bias"] if facts["kind"] == "zero_shot" else 0.0
        if len(kept):
            logits, cos = class_logits(feats, facts["kind"], head, scale, bias, space)
        else:
            logits, cos = torch.empty(0, len(space.class_names)), None
        if ctx.benchmark.labelled:
            labels = ctx.benchmark.native_to_label(space)[ctx.dataset.targets[kept]]
        else:
            labels = np.full(len(kept), -1, dtype=np.int64)
        meta = {k: [v[i] for i in kept] for k, v in ctx.dataset.meta.items()}
        out = Outputs(
            [ctx.dataset.sample_ids[i] for i in kept],
            np.asarray(labels, dtype=np.int64),
            logits.float(),
            None if cos is None else cos.float(),
            space,
            scale,
            bias,
            meta,
            kept,
        )
        return out, stats, ctx

    def local_outputs_for(
        self, spec: RunSpec, limit: int | None = None, ctx: EvalContext | None = None
    ) -> tuple[LocalOutputs, EncodeStats, EvalContext]:
        """Patch embeddings of one condition with the text head of its label space, through the caches."""
        ctx = ctx or self.prepare(spec, limit)
        facts = self.model_facts(ctx.handle)
        if facts["kind"] != "zero_shot" or not facts.get("supports_local"):
            raise UsageError(f"{ctx.handle.spec} exposes no patch embeddings (GL-MCM needs an open_clip ViT)")
        if ctx.label_space.reduce == "mean_prob":
            raise UsageError(f"label space {ctx.label_space.name!r} maps probabilities, not cosines: no local score")
        rows, kept, stats = self.features(
            ctx.handle, ctx.benchmark, ctx.dataset, ctx.shift, ctx.spec.seed, ctx, artefact="local"
        )
        head = self.head(ctx.handle, ctx.label_space, ctx.prompts)
        if not len(kept):
            rows = torch.empty(0, 0, head.shape[1], dtype=torch.float16)
        out = LocalOutputs([ctx.dataset.sample_ids[i] for i in kept], rows, head, ctx.label_space, kept)
        return out, stats, ctx

    # --- runs -------------------------------------------------------------------------------------------
    def existing_record(self, ctx: EvalContext, dataset_fp: str) -> RunRecord | None:
        """A stored record of exactly this condition (same model weights, data content and protocol), if any."""
        if self.store is None:
            return None
        groups = list(self.metric_groups(ctx.benchmark, ctx.shift))
        shift = ctx.spec.shift.canonical if ctx.spec.shift else None
        for record in reversed(
            self.store.records(model=str(ctx.handle.spec), benchmark=ctx.spec.benchmark.canonical, shift=shift)
        ):
            same = (
                record.shift == shift  # the store's filter reads shift=None as "any shift", not as "clean"
                and record.label_space == ctx.label_space.name
                and record.seed == ctx.spec.seed
                and record.fingerprints.get("model") == ctx.handle.fingerprint
                and record.fingerprints.get("dataset") == dataset_fp
                and record.config.get("limit") == self.options.limit
                and record.protocol.get("metric_groups") == groups
                and record.protocol.get("metric_params") == self.options.metric_params
                and (record.protocol.get("prompts") or {}).get("digest") in (None, ctx.prompts.digest)
            )
            if same:
                return record
        return None

    def run(self, spec: RunSpec) -> RunRecord:
        """Evaluate one RunSpec and write its record to the store (if any)."""
        started = time.perf_counter()
        ctx = self.prepare(spec)
        dataset_fp = hashlib.sha256("\n".join(ctx.dataset.content_keys()).encode()).hexdigest()[:24]
        if self.options.skip_existing and (existing := self.existing_record(ctx, dataset_fp)) is not None:
            return existing
        groups = self.metric_groups(ctx.benchmark, ctx.shift)
        boot = {**DEFAULT_BOOTSTRAP, "n_boot": self.options.bootstrap}
        params = {group: {**boot, **self.options.metric_params.get(group, {})} for group in groups}
        # a group may read more than class scores (GL-MCM reads patch embeddings): encode those in the same pass
        artefacts = set().union(*(group_artefacts(metrics.get(g), params[g]) for g in groups))
        outputs, stats, ctx = self.outputs_for(ctx.spec, ctx=ctx, artefacts=artefacts)
        facts = self.model_facts(ctx.handle)
        if stats.total - sum(stats.skipped.values()) == 0:
            raise UsageError(
                f"{ctx.benchmark.name}: no image could be read ({dict(stats.skipped)}); nothing to evaluate"
            )
        values: list[MetricValue] = []
        for group in groups:
            values.extend(metrics.get(group)(outputs, ctx, **params[group]))
        info = apply_user_metadata(ModelInfo(**facts["info"]), self.options.model_meta)
        head_fp = head_fingerprint(ctx.handle, ctx.prompts) if facts["kind"] == "zero_shot" else None
        record = RunRecord.new(
            model=str(ctx.handle.spec),
            benchmark=ctx.spec.benchmark.canonical,
            shift=ctx.spec.shift.canonical if ctx.spec.shift else None,
            prompts=ctx.prompts.name if facts["kind"] == "zero_shot" else "n/a (fixed head)",
            label_space=ctx.label_space.name,
            seed=ctx.spec.seed,
            model_info={**info.as_dict(), "kind": facts["kind"], "backend": facts["backend"]},
            protocol={
                "label_space": ctx.label_space.fingerprint_data,
                "prompts": ctx.prompts.record if facts["kind"] == "zero_shot" else None,
                "logits": {
                    "formula": "logit_scale * cos + logit_bias"
                    if facts["kind"] == "zero_shot"
                    else "classifier logits over the universe columns",
                    "logit_scale": outputs.logit_scale,
                    "logit_bias": outputs.logit_bias,
                },
                "bootstrap": boot,
                "limit": {"n": self.options.limit, "seed": ctx.spec.seed} if self.options.limit else None,
                "metric_groups": list(groups),
                "metric_params": self.options.metric_params,
                "preprocess": facts["preprocess"],
                **({"benchmark": ctx.benchmark.record} if ctx.benchmark.record else {}),
                "shift": ctx.shift.protocol if ctx.shift is not None else None,
                **ctx.protocol,
            },
            fingerprints={
                "model": ctx.handle.fingerprint,
                "dataset": dataset_fp,
                "features": stats.fingerprint,
                "head": head_fp or "",
            },
            config={
                "data_root": str(self.options.data_root) if self.options.data_root else None,
                "device": str(self.device),
                "precision": self.options.precision,
                "batch_size": self.options.batch_size,
                "workers": default_workers() if self.options.workers is None else self.options.workers,
                "limit": self.options.limit,
                "on_bad_image": self.options.on_bad_image,
                "cache_dir": str(self.cache.root),
            },
            counts={
                **stats.as_dict(),
                "related": ctx.related,
                "encoded_total": stats.encoded + sum(r["encoded"] for r in ctx.related),
            },
            provenance={**provenance(self.device), "wall_time_s": round(time.perf_counter() - started, 3)},
            metrics=values,
        )
        if self.options.save_samples:
            record.samples = sample_outputs(outputs, ctx.sample_columns)
        if self.store is not None:
            self.store.write(record)
        return record


def group_artefacts(group: Any, params: dict[str, Any]) -> set[str]:
    """What a metric group reads beyond class scores: its optional ``artefacts(**params)`` attribute, else nothing.

    Example:
        >>> group_artefacts(lambda outputs, ctx: [], {})
        set()

    """
    declare = getattr(group, "artefacts", None)
    return set(declare(**params)) if declare is not None else set()


def check_metric_groups(names: Any, benchmark: Benchmark, shift: Shift | None) -> None:
    """Ask each metric group whether it applies to a condition, before any work: its optional
    ``check(benchmark, shift)`` attribute raises UsageError when it does not (``ood`` on a labelled set, ...).

    Example:
        >>> from zeroshift.shifts import make_shift
        >>> check_metric_groups(["accuracy", "typographic"], make_benchmark("imagenet_r", None), None)
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: the typographic metric group needs a typographic shift (--shift "typographic()")

    """
    for name in names:
        check = getattr(metrics.get(name), "check", None)
        if check is not None:
            check(benchmark, shift)


def check_gradients(handle: ModelHandle, shift: Shift | None) -> None:
    """Refuse an attack shift on a model whose adapter says it gives no input gradients (without loading it).

    Example:
        >>> from zeroshift.models import resolve_model
        >>> from zeroshift.shifts import make_shift
        >>> check_gradients(resolve_model("random:timm/test_resnet?seed=0"), make_shift("fgsm(eps=0.01)"))

    """
    if shift is None or shift.kind != "attack":
        return
    adapter = adapters.get(handle.spec.scheme)
    differentiable = getattr(adapter, "differentiable", None)
    if differentiable is not None and not differentiable(handle.spec):
        raise UsageError(
            f"{handle.spec} gives no gradients for its input pixels, so the attack {shift.canonical} cannot run on "
            "it; evaluate it under corruptions or typographic shifts instead"
        )


def default_metric_groups(benchmark: Benchmark, shift: Shift | None) -> tuple[str, ...]:
    """The benchmark's default metric groups followed by those the shift adds (e.g. ``typographic``).

    Example:
        >>> from zeroshift.data import make_benchmark
        >>> from zeroshift.shifts import make_shift
        >>> default_metric_groups(make_benchmark("imagenet_r", None), make_shift("pgd(eps=0.01)"))
        ('accuracy', 'adversarial')

    """
    extra = shift.metric_groups if shift is not None else ()
    return tuple(benchmark.metric_groups) + tuple(g for g in extra if g not in benchmark.metric_groups)


def sample_outputs(outputs: Outputs, columns: dict[str, list[Any]] | None = None, k: int = 5) -> SampleOutputs:
    """Per-sample top-k labels and probabilities, with any extra columns."""
    k = min(k, outputs.logits.shape[1]) if outputs.logits.ndim == 2 and outputs.logits.shape[1] else 0
    if len(outputs) and k:
        probs = torch.softmax(outputs.logits.float(), dim=1)
        top = torch.topk(probs, k, dim=1)
        idx, p = top.indices.tolist(), [[round(float(v), 6) for v in row] for row in top.values.tolist()]
    else:
        idx, p = [[] for _ in outputs.sample_ids], [[] for _ in outputs.sample_ids]
    return SampleOutputs(list(outputs.sample_ids), [int(x) for x in outputs.labels], idx, p, dict(columns or {}))
