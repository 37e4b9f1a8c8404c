"""Producing artefacts: the rows a condition lacks, computed once and written to the cache in atomic chunks.

Image kinds of one condition are produced in **one pass** over the images any of them lacks: decode -> geometry ->
pixel shift in loader workers, an attack on the batch where the condition has one, one encoder forward shared by
the kinds that read the encoder's outputs, then each kind's ``compute``; kinds with ``grad`` (attack searches) run
outside inference mode. Text kinds are produced in the kind's own batches of strings. Every row is written to the
kind's bank, keyed by the condition's content keys or the strings, so a later run (or another metric) finds it.

Example:
    >>> stats = EncodeStats(total=4, encoded=4, seconds=2.0)
    >>> stats.as_dict()["images_per_s"], stats.as_dict()["evaluated"]
    (2.0, 4)

"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from zeroshift.artefacts import ArtefactKind, kinds
from zeroshift.core.outputs import ArtefactRows
from zeroshift.core.vectors import Cache, VectorBank, missing_keys
from zeroshift.engine.classifier import Classifier
from zeroshift.engine.loader import SHIFTED_PIXELS, PixelDataset, ShiftedPixels, default_workers, make_loader
from zeroshift.engine.options import RunOptions, autocast
from zeroshift.engine.progress import progress_bar
from zeroshift.errors import UsageError
from zeroshift.shifts import per_image_seed

#: conditions needing at most this many images are loaded in the encoding process: a loader pool's start-up
#: (a fork per worker and its first batch) outweighs its parallelism there (3.9 s -> 0.8 s per 100-image
#: corruption condition on two cores); pixels are the same either way (shifts are seeded per image)
IN_PROCESS_IMAGES = 256


@dataclass
class EncodeStats:
    """What happened while producing the image rows of one condition."""

    total: int = 0
    fingerprint: str = ""
    from_cache: int = 0
    encoded: int = 0
    seconds: float = 0.0
    skipped: Counter = field(default_factory=Counter)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    converted: Counter = field(default_factory=Counter)
    #: images encoded by the passes of kinds with a geometry of their own (e.g. ``dense``)
    encoded_other_passes: int = 0

    def as_dict(self) -> dict[str, Any]:
        """For the record's ``counts``."""
        out = asdict(self)
        out["skipped"] = dict(self.skipped)
        out["converted"] = dict(self.converted)
        out["evaluated"] = self.total - sum(self.skipped.values())
        out["images_per_s"] = self.encoded / self.seconds if self.seconds > 0 else None
        return out


@dataclass(frozen=True, eq=False)
class Request:
    """One artefact asked of a condition: its kind and resolved parameters (equal when both are)."""

    kind: ArtefactKind
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def identity(self) -> tuple[str, str]:
        """The kind's name and a text of its parameters (what makes two requests the same)."""
        return self.kind.name, repr([(k, getattr(v, "digest", v)) for k, v in self.params])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Request) and self.identity == other.identity

    def __hash__(self) -> int:
        return hash(self.identity)

    @classmethod
    def of(cls, name: str, params: Mapping[str, Any] | None = None) -> Request:
        """The request for kind ``name`` with its parameters checked."""
        kind = kinds.get(name)
        return cls(kind, tuple(sorted(kind.resolve(params or {}).items())))

    @property
    def kwargs(self) -> dict[str, Any]:
        """The parameters as a dict."""
        return dict(self.params)

    @property
    def base(self) -> Request:
        """The request of the kind a derived kind's rows come from (``derives``), with the parameters of this
        request that the base kind declares (so settings both kinds share reach the rows they derive from).

        Example:
            >>> Request.of("answers", {"protocol": "choice", "normalise": "sum"}).base.kwargs["protocol"]
            'choice'

        """
        base = kinds.get(self.kind.derives)
        return Request.of(base.name, {k: v for k, v in self.params if k in base.params})


class _Batch:
    """The :class:`~zeroshift.artefacts.base.ImageBatch` of one pass."""

    def __init__(
        self, producer: Producer, scope: Any, pixels: torch.Tensor, indices: list[int], fps: dict[str, str], model: Any
    ):
        self._producer, self.scope, self.pixels, self.indices, self._fps = producer, scope, pixels, indices, fps
        self.model = model
        self.outputs: dict[str, torch.Tensor] = {}

    def labels(self) -> torch.Tensor:
        labels = self.scope.benchmark.native_to_label(self.scope.label_space)[self.scope.dataset.targets]
        return torch.as_tensor(np.asarray(labels)[self.indices], device=self.pixels.device)

    def seeds(self, tag: str) -> list[int]:
        ids = self.scope.dataset.sample_ids
        return [per_image_seed(self.scope.seed, tag, ids[i]) for i in self.indices]

    def shift_params(self) -> list[dict[str, Any]] | None:
        rows = self.scope.shift_params()
        return [rows[i] for i in self.indices] if rows is not None else None

    def classifier(self) -> Classifier:
        return self._producer.classifier(self.scope)

    def fingerprint(self, kind: str) -> str:
        return self._fps[kind]

    def autocast(self) -> Any:
        return autocast(self.scope.precision, self.pixels.device)


class Producer:
    """Computes and caches artefact rows (see the module docstring)."""

    def __init__(self, cache: Cache, options: RunOptions, device: torch.device) -> None:
        self.cache, self.options, self.device = cache, options, device
        self._classifiers: dict[tuple[Any, ...], Classifier] = {}

    def bank(self, scope: Any, request: Request) -> VectorBank:
        """The bank holding ``request``'s rows for the condition."""
        producer = {"model": str(scope.handle.spec), "shift": scope.shift.canonical if scope.shift else None}
        return self.cache.bank(request.kind.cache_folder, self.bank_fingerprint(scope, request), producer)

    def bank_fingerprint(self, scope: Any, request: Request) -> str:
        """The fingerprint naming ``request``'s bank for the condition (read-only: nothing is loaded or written)."""
        # a kind computed from the images alone (per_model=False) is shared by every model
        return request.kind.bank_fingerprint(scope, request.kwargs)

    def lacking(self, scope: Any, request: Request, keys: Sequence[str]) -> list[str]:
        """The content keys ``request``'s bank has neither a row nor a failure for, read from the chunks' sidecars
        only (no tensor is read; a sweep's dry run asks this of every condition).
        """
        folder = self.cache.root / request.kind.cache_folder / self.bank_fingerprint(scope, request)
        return missing_keys(folder, keys)

    # --- image kinds ------------------------------------------------------------------------------------
    def images(self, scope: Any, requests: Sequence[Request]) -> tuple[dict[Request, ArtefactRows], EncodeStats]:
        """Rows of image kinds for every sample of the condition, computing in one pass only what the banks lack.

        The stats describe the pass and the first request's bank (its failures count as skipped samples). Kinds
        with a ``geometry`` of their own are produced in a pass of their own; kinds that derive from another kind's
        rows (``derives``) are computed from those rows after the pass.
        """
        passes: dict[Any, list[Request]] = {}
        for request in requests:
            passes.setdefault(None if request.kind.geometry is None else request, []).append(request)
        out: dict[Request, ArtefactRows] = {}
        first: EncodeStats | None = None
        for group in passes.values():
            rows, stats = self._images(scope, group)
            out.update(rows)
            if first is None:
                first = stats
            else:
                first.encoded_other_passes += stats.encoded
        assert first is not None
        return out, first

    def _images(self, scope: Any, requests: Sequence[Request]) -> tuple[dict[Request, ArtefactRows], EncodeStats]:
        """:meth:`images` for requests taken on the same pixels."""
        for request in requests:
            if request.kind.check is not None:
                request.kind.check(scope, request.kwargs)
        derived = [r for r in requests if r.kind.derives]
        if derived:
            direct = [r for r in requests if not r.kind.derives]
            direct += [b for b in dict.fromkeys(r.base for r in derived) if b not in direct]
            out, stats = self.images(scope, direct)
            for request in derived:
                out[request] = self._derive(scope, request, out[request.base])
            return out, stats
        banks = {request: self.bank(scope, request) for request in requests}
        keys = scope.dataset.content_keys()
        stats = EncodeStats(total=len(keys), fingerprint=banks[requests[0]].folder.name)

        def lacking() -> dict[Request, set[str]]:
            return {r: {k for k in keys if not bank.has(k)} for r, bank in banks.items()}

        missing = lacking()
        if any(missing.values()):
            for bank in banks.values():
                bank.refresh()  # another process may have written chunks meanwhile
            missing = lacking()
        todo = [i for i, k in enumerate(keys) if any(k in m for m in missing.values())]
        stats.from_cache = len(keys) - len(todo)
        if todo:
            self._pass(scope, banks, todo, keys, missing, stats)
        out = {}
        first = banks[requests[0]]
        for request, bank in banks.items():
            kept = [i for i, k in enumerate(keys) if k not in bank.failures]
            rows = bank.get([keys[i] for i in kept]) if kept else torch.empty(0, 0)
            ids = [scope.dataset.sample_ids[i] for i in kept]
            protocol = request.kind.protocol(scope, request.kwargs, bank.folder.name) if request.kind.protocol else {}
            out[request] = ArtefactRows(request.kind.name, ids, rows, bank.folder.name, protocol)
        for i, k in enumerate(keys):
            if k in first.failures:
                reason = first.failures[k]
                stats.skipped[reason] += 1
                examples = stats.skipped_examples.setdefault(reason, [])
                if len(examples) < 20:
                    examples.append(scope.dataset.sample_ids[i])
        return out, stats

    def _derive(self, scope: Any, request: Request, base: ArtefactRows) -> ArtefactRows:
        """Rows of a derived kind from the cached rows of its base kind, computing only what its bank lacks."""
        bank = self.bank(scope, request)
        key_of = dict(zip(scope.dataset.sample_ids, scope.dataset.content_keys(), strict=True))
        keys = [key_of[sid] for sid in base.sample_ids]
        if any(not bank.has(k) for k in keys):
            bank.refresh()
        todo = list({k: j for j, k in enumerate(keys) if not bank.has(k)}.values())
        if todo:
            sub = ArtefactRows(base.kind, [base.sample_ids[j] for j in todo], base.rows[todo], base.fingerprint,
                               base.protocol)  # fmt: skip
            bank.put([keys[j] for j in todo], request.kind.compute(sub, scope, request.kwargs), {})
        rows = bank.get(keys) if keys else torch.empty(0, 0)
        protocol = request.kind.protocol(scope, request.kwargs, bank.folder.name) if request.kind.protocol else {}
        return ArtefactRows(request.kind.name, list(base.sample_ids), rows, bank.folder.name, protocol)

    def _pass(
        self,
        scope: Any,
        banks: dict[Request, VectorBank],
        todo: list[int],
        keys: list[str],
        missing: dict[Request, set[str]],
        stats: EncodeStats,
    ) -> None:
        model = scope.handle.load()
        model.to(self.device)
        opts = self.options
        shift = scope.shift
        shift_params = scope.shift_params()
        attack = shift is not None and shift.kind == "attack"
        reads = set().union(*(r.kind.reads for r in banks if not r.kind.grad))
        if "local" in reads and not model.supports_local:
            raise UsageError(f"{scope.handle.spec} exposes no patch embeddings (needed for GL-MCM)")
        fps = {r.kind.name: bank.folder.name for r, bank in banks.items()}
        pending: dict[Request, tuple[list[str], list[torch.Tensor], dict[str, str]]] = {r: ([], [], {}) for r in banks}
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal last_flush
            for request, bank in banks.items():
                batch_keys, rows, failed = pending[request]
                if batch_keys or failed:
                    bank.put(batch_keys, torch.cat(rows) if rows else torch.empty(0), failed)
                pending[request] = ([], [], {})
            last_flush = time.monotonic()

        start = time.perf_counter()
        own = next(iter(banks)).kind.geometry  # one pass, one geometry (see images)
        geometry = own(model, next(iter(banks)).kwargs) if own is not None else None
        loader = self.pixel_loader(model, scope, todo, shift_params, geometry)
        label = scope.dataset.name + (f" [{shift.canonical}]" if shift else "")
        with progress_bar(f"encode {label}", len(todo), opts.progress) as advance:
            for batch in loader:
                for position, reason, message in batch.failures:
                    if opts.on_bad_image == "fail":
                        raise UsageError(
                            f"bad image {message}; rerun with --on-bad-image skip to skip and count such files"
                        )
                    key = keys[todo[position]]
                    for request in banks:
                        if key in missing[request]:
                            pending[request][2][key] = reason
                for _, note in batch.notes:
                    stats.converted[note.split("; ")[-1].split(" ")[0]] += 1  # "reduced WxH; L->RGB" -> "L->RGB"
                if batch.pixels is not None:
                    indices = [todo[p] for p in batch.positions]
                    x = batch.pixels.to(self.device, non_blocking=True)
                    view = _Batch(self, scope, x, indices, fps, model)
                    if attack:
                        y = view.labels()
                        seeds = [
                            per_image_seed(scope.seed, shift.canonical, scope.dataset.sample_ids[i]) for i in indices
                        ]
                        with view.autocast():
                            x = shift.attack(self.classifier(scope), x, y, seeds, view.shift_params()).detach()
                        view.pixels = x
                    batch_keys = [keys[i] for i in indices]
                    # only rows a bank lacks: a chunk is never rewritten with bytes that may differ on another device
                    wanted = {r: [j for j, k in enumerate(batch_keys) if k in missing[r]] for r in banks}
                    needed = set().union(*(r.kind.reads for r in banks if wanted[r] and not r.kind.grad))
                    if needed:
                        with torch.inference_mode(), view.autocast():
                            xn = model.preprocess.normalize(x)
                            if "local" in needed:
                                view.outputs["image"], view.outputs["local"] = model.encode_image_and_local(xn)
                            else:
                                view.outputs["image"] = model.encode_image(xn)
                    for request in banks:
                        if not wanted[request]:
                            continue
                        rows = request.kind.compute(view, request.kwargs)
                        pending[request][0].extend(batch_keys[j] for j in wanted[request])
                        pending[request][1].append(rows[wanted[request]])
                    stats.encoded += len(batch.positions)
                advance(len(batch.positions) + len(batch.failures))
                n_pending = max(len(p[0]) for p in pending.values())
                if n_pending >= opts.chunk_rows or time.monotonic() - last_flush > opts.chunk_seconds:
                    flush()
            flush()
        stats.seconds = time.perf_counter() - start

    def pixel_loader(
        self,
        model: Any,
        scope: Any,
        indices: list[int],
        shift_params: list[dict[str, Any]] | None,
        geometry: Any = None,
    ) -> torch.utils.data.DataLoader:
        """Batches of the condition's samples at ``indices`` through a geometry (default: the model's) and a pixel
        shift.
        """
        geometry = geometry if geometry is not None else model.preprocess.geometry
        workers = default_workers() if self.options.workers is None else self.options.workers
        if len(indices) <= IN_PROCESS_IMAGES:
            workers = (
                0  # starting a worker pool costs more than it saves on a few images (benchmarks/small_conditions.py)
            )
        memo = None
        if workers == 0 and scope.shift is not None and shift_params is None:
            key = ShiftedPixels.key(geometry, scope.shift, scope.seed, scope.dataset, scope.benchmark.canonical)
            memo = SHIFTED_PIXELS.table(key) if key is not None else None
        pixels = PixelDataset(
            scope.dataset,
            indices,
            geometry,
            scope.shift,
            scope.seed,
            scope.benchmark.class_display_names(scope.dataset),
            shift_params,
            memo,
        )
        return make_loader(pixels, self.options.batch_size, workers, pin_memory=self.device.type == "cuda")

    def classifier(self, scope: Any) -> Classifier:
        """The differentiable classifier of the condition's model over its label space (memoised)."""
        key = (scope.model_fingerprint, scope.label_space.fingerprint_data["digest"], scope.prompts.digest)
        if key not in self._classifiers:
            model = scope.handle.load()
            model.to(self.device)
            head = scope.head() if scope.facts.has_text_head else None
            for p in model.module.parameters():
                p.requires_grad_(False)
            self._classifiers[key] = Classifier(model, head.to(self.device) if head is not None else None,
                                                scope.label_space).to(self.device)  # fmt: skip
        return self._classifiers[key]

    # --- text kinds -------------------------------------------------------------------------------------
    def texts(self, scope: Any, request: Request, keys: Sequence[str]) -> torch.Tensor:
        """Rows of a text kind for ``keys``, computing only the strings its bank lacks."""
        kind, params = request.kind, request.kwargs
        if kind.check is not None:
            kind.check(scope, params)
        bank = self.bank(scope, request)
        missing = list(dict.fromkeys(bank.missing(list(keys))))
        if missing:
            encoder = scope.handle.load()
            encoder.to(self.device)
            groups = kind.batches(missing, scope, params) if kind.batches else _chunks(missing, 64)
            with progress_bar(kind.description, len(missing), self.options.progress, unit="key/s") as advance:
                for group in groups:
                    bank.put(group, kind.compute(encoder, group, params, scope))
                    advance(len(group))
        return bank.get(list(keys))


def _chunks(items: list[str], size: int) -> Any:
    for start in range(0, len(items), size):
        yield items[start : start + size]
