"""``OverlapIndex``: a FAISS inner-product index over a training corpus's unit image embeddings, built in resumable
chunks and kept in a folder with a manifest.

**Build.** The corpus is cut by position into chunks of ``chunk_size`` samples. Each chunk is decoded, embedded by
the ``embed(images)`` callable (or read from precomputed embeddings), L2-normalised to float32, and written to
``chunks/NNNNNN.npy`` with a JSON sidecar (keys, failures with their reasons, pHashes, the sha256 of the array);
both are written atomically and the sidecar last, so a build killed at any point resumes from its last whole chunk
and never re-encodes one (the sidecar is the commit point; a chunk whose bytes do not match it is redone). When
every chunk is there the build is finalised: the rows become ``vectors.npy`` (float32, one row per embedded
sample), the keys ``keys.json`` (inline in the manifest up to :data:`INLINE_KEYS`), the hashes ``phash.npy``, and
for an approximate index the trained FAISS index ``index.faiss``; the manifest turns ``complete`` and the chunks go.

**Index type by size** (:func:`plan_index`, recorded in the manifest): exact ``IndexFlatIP`` up to
:data:`EXACT_LIMIT` rows (it is ``vectors.npy`` itself, loaded into FAISS on open); beyond it ``IVF{nlist},PQ{m}``
with ``nlist = round(4 sqrt(N))`` coarse cells (at most N/39: FAISS's k-means wants 39 rows a
centroid), ``m`` 8-bit sub-quantisers (the largest of 64, 48, 32, 24, 16, 8,
4, 2, 1 that divides D with at least 4 dimensions each), ``nprobe = max(16, round(sqrt(nlist)))`` cells visited,
trained on a seeded sample of ``40 nlist`` rows; or HNSW (``HNSW32,Flat``) on request. The candidates an
approximate index returns are re-ranked by their exact cosine from ``vectors.npy`` (memory-mapped), so a
reported cosine is always the true one and the same threshold means the same thing for every index type.

**Manifest** (``manifest.json``): format, status, the model reference whose features built it, the corpus
description and listing digest, chunk size, counts (samples, embedded, failed by reason), the index plan, the
pHash protocol, and the keys (or the name of the file that holds them).

Example:
    >>> import tempfile
    >>> from zeroshift.overlap.corpus import ArrayCorpus
    >>> from zeroshift.overlap.features import ModelRef
    >>> rng = np.random.default_rng(0)
    >>> corpus = ArrayCorpus(rng.normal(size=(100, 16)), ModelRef("zoo:x", "fp-x"), name="doc")
    >>> index = build_index(Path(tempfile.mkdtemp()) / "idx", corpus, chunk_size=32)
    >>> index.size, index.plan.type, index.manifest["status"]
    (100, 'flat', 'complete')
    >>> cos, keys = index.query(corpus.vectors(5, 7), k=1)
    >>> keys.tolist(), np.round(cos, 4).tolist()
    ([['5'], ['6']], [[1.0], [1.0]])

"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from zeroshift.core.io import atomic_write_bytes
from zeroshift.errors import DatasetError, UsageError
from zeroshift.overlap.corpus import Corpus, ImageCorpus
from zeroshift.overlap.features import ModelRef, unit_rows
from zeroshift.overlap.hashes import NO_HASH, PHASH_PROTOCOL, from_hex, phash64, to_hex

#: manifest format version
FORMAT = 1
#: up to this many rows the index is exact (``IndexFlatIP``)
EXACT_LIMIT = 200_000
#: up to this many keys they are written inline in the manifest, beyond it in ``keys.json``
INLINE_KEYS = 10_000
#: samples per chunk of a build (one ``embed`` call each)
DEFAULT_CHUNK = 1024
#: index kinds :func:`plan_index` knows
INDEX_KINDS = ("auto", "flat", "ivfpq", "hnsw")
#: query rows per block (bounds the memory of re-ranking)
QUERY_BLOCK = 1024

Embed = Callable[[Sequence[Image.Image]], np.ndarray]


# --- plans -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexPlan:
    """The FAISS index chosen for a corpus and its parameters (all recorded).

    Attributes:
        type: ``flat``, ``ivfpq`` or ``hnsw``.
        factory: the ``faiss.index_factory`` string.
        params: search and training parameters (nprobe, efSearch, training rows, re-ranking).

    """

    type: str
    factory: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """For the manifest."""
        return {"type": self.type, "factory": self.factory, "metric": "inner_product", "params": dict(self.params)}

    @property
    def approximate(self) -> bool:
        """Whether search may miss neighbours (candidates are then re-ranked exactly)."""
        return self.type != "flat"


def pq_subquantizers(dim: int) -> int:
    """The number of PQ sub-quantisers for ``dim``-d rows: the largest of 64, 48, 32, 24, 16, 8, 4, 2, 1 that
    divides ``dim`` with at least 4 dimensions each (1 for tiny dims).

    Example:
        >>> pq_subquantizers(512), pq_subquantizers(768), pq_subquantizers(64), pq_subquantizers(6)
        (64, 64, 16, 1)

    """
    for m in (64, 48, 32, 24, 16, 8, 4, 2, 1):
        if dim % m == 0 and dim // m >= 4:
            return m
    return 1


def rerank_candidates(k: int) -> int:
    """How many candidates an approximate index returns for a top-``k`` query before exact re-ranking."""
    return max(4 * k, 32)


def plan_index(n: int, dim: int, kind: str = "auto", exact_limit: int = EXACT_LIMIT) -> IndexPlan:
    """Choose the index for ``n`` rows of ``dim`` dimensions (see the module docstring).

    Example:
        >>> plan_index(1000, 512).factory, plan_index(1_000_000, 512).factory
        ('Flat', 'IVF4000,PQ64')
        >>> plan_index(1_000_000, 512).params["nprobe"]
        63

    """
    if kind not in INDEX_KINDS:
        raise UsageError(f"unknown index kind {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    if kind == "flat" or (kind == "auto" and n <= exact_limit):
        return IndexPlan("flat", "Flat", {"exact_limit": exact_limit, "stored_as": "vectors.npy"})
    if kind == "hnsw":
        return IndexPlan("hnsw", "HNSW32,Flat", {"M": 32, "efConstruction": 80, "efSearch": 128})
    nlist = max(1, min(int(round(4 * math.sqrt(n))), n // 39 or 1))
    m = pq_subquantizers(dim)
    return IndexPlan(
        "ivfpq",
        f"IVF{nlist},PQ{m}",
        {
            "nlist": nlist,
            "pq_m": m,
            "pq_bits": 8,
            "nprobe": min(nlist, max(16, int(round(math.sqrt(nlist))))),
            "train_rows": min(n, 40 * nlist),
            "train_seed": 0,
            "rerank": "exact cosine from vectors.npy over max(4k, 32) candidates",
            "exact_limit": exact_limit,
        },
    )


def _faiss_index(plan: IndexPlan, dim: int) -> Any:
    import faiss

    index = faiss.index_factory(dim, plan.factory, faiss.METRIC_INNER_PRODUCT)
    if plan.type == "hnsw":
        index.hnsw.efConstruction = plan.params["efConstruction"]
    return index


def _set_search_params(index: Any, plan: IndexPlan) -> None:
    import faiss

    if plan.type == "ivfpq":
        faiss.extract_index_ivf(index).nprobe = plan.params["nprobe"]
    elif plan.type == "hnsw":
        index.hnsw.efSearch = plan.params["efSearch"]


# --- files -------------------------------------------------------------------------------------------------


def _write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=1, default=str).encode())


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _replace_with(path: Path, write: Callable[[Path], None]) -> None:
    """Write a large file through ``write(tmp)`` beside ``path`` and rename it into place (atomic, like
    ``atomic_write_bytes``, without holding the bytes in memory).
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of an index folder, or None when there is none."""
    try:
        return json.loads((folder / "manifest.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise UsageError(f"{folder}/manifest.json is unreadable ({err}); remove the folder and build again") from None


# --- the build ---------------------------------------------------------------------------------------------


@dataclass
class _Chunk:
    keys: list[str]
    rows: np.ndarray
    failures: dict[str, str]
    phash: list[str] | None


def _corpus_model(corpus: Corpus, embed: Embed | None) -> ModelRef:
    """Whose features the index holds: the embedder's, or the model declared with precomputed embeddings."""
    if corpus.has_images:
        if embed is None:
            raise UsageError(f"indexing the {corpus.kind} corpus needs an image embedder (a model)")
        model = getattr(embed, "model", None)
        if not isinstance(model, ModelRef):
            raise UsageError("the embedder must say whose features it gives (an Embedder with a ModelRef .model)")
        return model
    declared = corpus.model  # type: ignore[attr-defined]
    model = declared if isinstance(declared, ModelRef) else ModelRef.of(str(declared))
    other = getattr(embed, "model", None)
    if isinstance(other, ModelRef) and not other.same(model):
        raise UsageError(f"the embeddings were made by {model.spec}, not by {other.spec}")
    return model


def _embed_chunk(corpus: Corpus, start: int, stop: int, embed: Embed | None, phash: bool) -> _Chunk:
    keys = corpus.keys()[start:stop]
    failures: dict[str, str] = {}
    if isinstance(corpus, ImageCorpus):
        ok_keys, images = [], []
        for item in corpus.items(start, stop):
            if item.image is None:
                assert item.error is not None
                failures[item.key] = item.error.reason
            else:
                ok_keys.append(item.key)
                images.append(item.image)
        raw = np.asarray(embed(images)) if images else np.zeros((0, 0), dtype=np.float32)  # type: ignore[misc]
        if images and (raw.ndim != 2 or raw.shape[0] != len(images)):
            raise ValueError(f"the embedder returned shape {raw.shape} for {len(images)} images")
        hashes = phash64(images) if phash and images else np.zeros(len(images), dtype=np.uint64)
    else:
        raw = corpus.vectors(start, stop)  # type: ignore[attr-defined]
        ok_keys, hashes = list(keys), np.zeros(len(keys), dtype=np.uint64)
    rows, ok = unit_rows(raw) if len(ok_keys) else (raw.astype(np.float32), np.zeros(0, dtype=bool))
    for key in (k for k, good in zip(ok_keys, ok, strict=True) if not good):
        failures[key] = "bad embedding"
    kept = [k for k, good in zip(ok_keys, ok, strict=True) if good]
    return _Chunk(kept, rows[ok], failures, to_hex(hashes[ok]) if phash and corpus.has_images else None)


class _Build:
    """The chunk files of a build in progress (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.chunks = folder / "chunks"

    def paths(self, j: int) -> tuple[Path, Path]:
        return self.chunks / f"{j:06d}.npy", self.chunks / f"{j:06d}.json"

    def done(self, j: int) -> dict[str, Any] | None:
        """The sidecar of chunk ``j`` if the chunk is whole (its array matches the recorded sha256)."""
        npy, side = self.paths(j)
        try:
            meta = json.loads(side.read_text())
            data = npy.read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            return None
        return meta

    def write(self, j: int, start: int, stop: int, chunk: _Chunk) -> None:
        npy, side = self.paths(j)
        data = _npy_bytes(np.ascontiguousarray(chunk.rows, dtype=np.float32))
        atomic_write_bytes(npy, data)
        meta = {
            "chunk": j,
            "start": start,
            "stop": stop,
            "keys": chunk.keys,
            "failures": chunk.failures,
            "phash": chunk.phash,
            "rows": int(chunk.rows.shape[0]),
            "dim": int(chunk.rows.shape[1]) if chunk.rows.ndim == 2 and chunk.rows.shape[0] else None,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        _write_json(side, meta)  # written last: the commit point of the chunk

    def rows(self, j: int) -> np.ndarray:
        return np.load(self.paths(j)[0], mmap_mode="r")


def build_index(
    folder: str | os.PathLike[str],
    corpus: Corpus,
    embed: Embed | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    kind: str = "auto",
    exact_limit: int = EXACT_LIMIT,
    phash: bool = True,
    progress: bool = False,
) -> OverlapIndex:
    """Build (or resume building, or reopen) the index of ``corpus`` in ``folder``.

    Args:
        folder: the index folder (created; an interrupted build there is resumed).
        corpus: the training corpus (images, or precomputed embeddings with their declared model).
        embed: ``embed(images) -> (N, D)`` for an image corpus; an :class:`~zeroshift.overlap.features.Embedder`
            (its ``model`` is recorded).
        chunk_size: samples per chunk (one ``embed`` call each; the unit of resumption).
        kind: ``auto`` (by size), ``flat``, ``ivfpq`` or ``hnsw``.
        exact_limit: the largest corpus indexed exactly under ``auto``.
        phash: also store each image's 64-bit pHash (for the confirmation of flags; image corpora only).
        progress: draw a progress bar.

    Raises:
        UsageError: the folder holds another build (another model, another corpus), or bad arguments.
        DatasetError: an empty corpus, or no sample that could be embedded.

    """
    from zeroshift.engine.progress import progress_bar

    folder = Path(folder)
    if chunk_size < 1:
        raise UsageError(f"chunk size must be at least 1, got {chunk_size}")
    if kind not in INDEX_KINDS:
        raise UsageError(f"unknown index kind {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    corpus.check_not_empty()
    model = _corpus_model(corpus, embed)
    listing = corpus.listing_digest()
    header = {
        "format": FORMAT,
        "status": "building",
        "model": model.as_dict(),
        "corpus": corpus.describe(),
        "listing_digest": listing,
        "chunk_size": chunk_size,
        "phash": bool(phash and corpus.has_images),
        "requested": {"kind": kind, "exact_limit": exact_limit},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    existing = read_manifest(folder)
    if existing is not None:
        _check_same_build(folder, existing, model, listing)
        if existing["status"] == "complete":
            return OverlapIndex.open(folder)
        header.update(chunk_size=existing["chunk_size"], phash=existing["phash"], started=existing["started"])
        header["resumed"] = existing.get("resumed", 0) + 1
    elif folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty and holds no overlap index; choose an empty or new folder")
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "manifest.json", header)
    build = _Build(folder)
    size = header["chunk_size"]
    n = len(corpus)
    n_chunks = math.ceil(n / size)
    todo = [j for j in range(n_chunks) if build.done(j) is None]
    with progress_bar(f"index {corpus.kind}", len(todo) * size, progress) as advance:
        for j in todo:
            start, stop = j * size, min(n, (j + 1) * size)
            build.write(j, start, stop, _embed_chunk(corpus, start, stop, embed, header["phash"]))
            advance(stop - start)
    return _finalise(folder, build, header, n_chunks, kind, exact_limit)


def _check_same_build(folder: Path, manifest: dict[str, Any], model: ModelRef, listing: str) -> None:
    """Refuse to mix two builds in one folder, naming what differs."""
    theirs = ModelRef.from_dict(manifest["model"])
    if not theirs.same(model):
        raise UsageError(
            f"{folder} holds an index of features of {theirs.spec} (fingerprint {theirs.fingerprint}), not of "
            f"{model.spec} (fingerprint {model.fingerprint}); choose another folder"
        )
    if manifest.get("listing_digest") != listing:
        state = "a finished" if manifest.get("status") == "complete" else "an interrupted"
        raise UsageError(
            f"{folder} holds {state} build of another corpus listing ({manifest['corpus'].get('root')}, "
            f"{manifest['corpus'].get('n')} samples); the corpus changed or differs: choose another folder"
        )


def _finalise(
    folder: Path, build: _Build, header: dict[str, Any], n_chunks: int, kind: str, exact_limit: int
) -> OverlapIndex:
    """Gather the chunks into the final files, train and fill the FAISS index, mark the manifest complete."""
    metas = []
    for j in range(n_chunks):
        meta = build.done(j)
        if meta is None:  # written above in this call, so only a concurrent writer can cause this
            raise UsageError(f"{folder}: chunk {j} vanished while finishing the build; run the build again")
        metas.append(meta)
    keys = [k for m in metas for k in m["keys"]]
    failures = {k: r for m in metas for k, r in m["failures"].items()}
    dims = {m["dim"] for m in metas if m["dim"] is not None}
    if not keys:
        reasons = Counter(failures.values()).most_common()
        summary = ", ".join(f"{c} {r}" for r, c in reasons)
        raise DatasetError(f"no sample of the corpus {header['corpus'].get('root')} could be embedded ({summary})")
    if len(dims) != 1:
        raise UsageError(f"the embedder returned rows of different sizes across chunks: {sorted(dims)}")
    dim = dims.pop()
    plan = plan_index(len(keys), dim, kind, exact_limit)

    def write_vectors(tmp: Path) -> None:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(keys), dim))
        at = 0
        for j, m in enumerate(metas):
            if m["rows"]:  # a chunk whose every image failed holds a (0, 0) array
                out[at : at + m["rows"]] = build.rows(j)
                at += m["rows"]
        out.flush()
        del out

    _replace_with(folder / "vectors.npy", write_vectors)
    if header["phash"]:
        hashes = np.concatenate([from_hex(m["phash"]) for m in metas])
        atomic_write_bytes(folder / "phash.npy", _npy_bytes(hashes))
    if plan.approximate:
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        index = _train_and_fill(plan, vectors)
        import faiss

        _replace_with(folder / "index.faiss", lambda tmp: faiss.write_index(index, str(tmp)))
    manifest = dict(header)
    manifest.update(
        status="complete",
        finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
        dim=dim,
        index=plan.as_dict(),
        counts={
            "samples": sum(m["stop"] - m["start"] for m in metas),
            "embedded": len(keys),
            "failed": len(failures),
            "failed_by_reason": dict(Counter(failures.values())),
        },
        phash_protocol=PHASH_PROTOCOL if header["phash"] else None,
        normalisation="L2 (float32), inner product = cosine",
    )
    if failures:
        _write_json(folder / "failures.json", failures)
    if len(keys) <= INLINE_KEYS:
        manifest["keys"] = keys
    else:
        _write_json(folder / "keys.json", keys)
        manifest["keys_file"] = "keys.json"
    _write_json(folder / "manifest.json", manifest)  # the commit point of the whole build
    shutil.rmtree(build.chunks, ignore_errors=True)
    return OverlapIndex.open(folder)


def _train_and_fill(plan: IndexPlan, vectors: np.ndarray, block: int = 65536) -> Any:
    """Train an approximate index on a seeded sample of rows and add every row in blocks."""
    index = _faiss_index(plan, vectors.shape[1])
    if not index.is_trained:
        n_train = plan.params["train_rows"]
        rng = np.random.default_rng(plan.params["train_seed"])
        pick = np.sort(rng.choice(vectors.shape[0], size=n_train, replace=False))
        index.train(np.ascontiguousarray(vectors[pick]))
    for start in range(0, vectors.shape[0], block):
        index.add(np.ascontiguousarray(vectors[start : start + block]))
    return index


# --- the index ---------------------------------------------------------------------------------------------


class OverlapIndex:
    """A finished index folder, opened for queries (see the module docstring).

    Attributes:
        folder: the index folder.
        manifest: its manifest.
        keys: the key of each row, in row order.
        vectors: ``(N, D)`` float32 unit rows (memory-mapped).
        phashes: ``(N,)`` uint64 pHashes of the rows, or None (embeddings-only corpora, or built without).
        plan: the index type and its parameters.

    """

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self.manifest = manifest
        self.plan = IndexPlan(manifest["index"]["type"], manifest["index"]["factory"], manifest["index"]["params"])
        keys = manifest.get("keys")
        self.keys: list[str] = keys if keys is not None else json.loads((folder / manifest["keys_file"]).read_text())
        self.vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        if self.vectors.shape[0] != len(self.keys):
            raise UsageError(f"{folder}: vectors.npy has {self.vectors.shape[0]} rows for {len(self.keys)} keys")
        self.phashes = np.load(folder / "phash.npy") if manifest.get("phash") else None
        self._index: Any = None

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> OverlapIndex:
        """Open a finished index; one clear line when the folder holds none or an unfinished build.

        Raises:
            UsageError: no manifest, an unfinished build, or another format.

        """
        folder = Path(folder)
        manifest = read_manifest(folder)
        if manifest is None:
            raise UsageError(
                f"{folder} holds no overlap index (no manifest.json); build one with zeroshift overlap index"
            )
        if manifest.get("format") != FORMAT:
            raise UsageError(
                f"{folder} holds an index of format {manifest.get('format')}; this zeroshift reads {FORMAT}"
            )
        if manifest.get("status") != "complete":
            done = len(list((folder / "chunks").glob("*.json"))) if (folder / "chunks").is_dir() else 0
            raise UsageError(
                f"{folder} holds an unfinished index build ({done} chunks of {manifest['chunk_size']} samples done); "
                "run the same zeroshift overlap index command again to resume it"
            )
        return cls(folder, manifest)

    @property
    def model(self) -> ModelRef:
        """Whose features built the index."""
        return ModelRef.from_dict(self.manifest["model"])

    @property
    def size(self) -> int:
        """Rows in the index."""
        return len(self.keys)

    @property
    def dim(self) -> int:
        """Row dimension."""
        return int(self.manifest["dim"])

    def require_model(self, model: ModelRef) -> None:
        """Refuse a check whose features come from another model than the index's, naming both.

        Example:
            >>> from types import SimpleNamespace
            >>> idx = SimpleNamespace(model=ModelRef("zoo:a", "fa"), folder=Path("idx"))
            >>> OverlapIndex.require_model(idx, ModelRef("zoo:b", "fb"))  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            zeroshift.errors.UsageError: the index idx was built with features of zoo:a (fingerprint fa), but the ...

        """
        if not self.model.same(model):
            raise UsageError(
                f"the index {self.folder} was built with features of {self.model.spec} (fingerprint "
                f"{self.model.fingerprint}), but the check uses {model.spec} (fingerprint {model.fingerprint}); "
                f"check with -m {self.model.spec} or build an index with {model.spec}"
            )

    def describe(self) -> dict[str, Any]:
        """What a check records about the index it used."""
        m = self.manifest
        return {
            "folder": str(self.folder.resolve()),
            "model": m["model"],
            "corpus": m["corpus"],
            "index": m["index"],
            "counts": m["counts"],
            "phash": m.get("phash_protocol"),
        }

    def _faiss(self) -> Any:
        if self._index is None:
            import faiss

            if self.plan.type == "flat":
                index = faiss.IndexFlatIP(self.dim)
                for start in range(0, self.size, 65536):
                    index.add(np.ascontiguousarray(self.vectors[start : start + 65536]))
            else:
                index = faiss.read_index(str(self.folder / "index.faiss"))
            _set_search_params(index, self.plan)
            self._index = index
        return self._index

    def search(self, queries: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows of each query by cosine: ``(cosines (n, k) float32, row ids (n, k) int64)``.

        Queries are L2-normalised first. Missing neighbours (``k`` above the index size, or an approximate index
        that found fewer) have id -1 and cosine NaN; a query row that cannot be normalised gets only those.
        """
        if k < 1:
            raise UsageError(f"k must be at least 1, got {k}")
        q, ok = unit_rows(queries)
        if q.shape[1] != self.dim:
            raise UsageError(f"queries have {q.shape[1]} dimensions, the index {self.dim} ({self.model.spec})")
        index = self._faiss()
        cos = np.full((q.shape[0], k), np.nan, dtype=np.float32)
        ids = np.full((q.shape[0], k), -1, dtype=np.int64)
        fetch = rerank_candidates(k) if self.plan.approximate else k
        for start in range(0, q.shape[0], QUERY_BLOCK):
            block = q[start : start + QUERY_BLOCK]
            d, i = index.search(block, min(fetch, self.size))
            if self.plan.approximate:
                d, i = self._rerank(block, i, k)
            got = min(k, i.shape[1])
            cos[start : start + len(block), :got] = np.where(i[:, :got] >= 0, d[:, :got], np.nan)
            ids[start : start + len(block), :got] = i[:, :got]
        cos[~ok], ids[~ok] = np.nan, -1
        return cos, ids

    def _rerank(self, queries: np.ndarray, cand: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact cosines of the candidates from the stored rows; the top ``k`` by them."""
        flat = cand.ravel()
        valid = flat >= 0
        uniq, inverse = np.unique(flat[valid], return_inverse=True)
        rows = np.asarray(self.vectors[uniq])  # sorted ids: sequential reads of the memory map
        exact = np.full(flat.shape, -np.inf, dtype=np.float32)
        qrow = np.repeat(np.arange(cand.shape[0]), cand.shape[1])[valid]
        exact[valid] = np.einsum("ij,ij->i", queries[qrow], rows[inverse])
        exact = exact.reshape(cand.shape)
        order = np.argsort(-exact, axis=1, kind="stable")[:, :k]
        top = np.take_along_axis(exact, order, axis=1)
        ids = np.take_along_axis(cand, order, axis=1)
        ids[~np.isfinite(top)] = -1
        return top, ids

    def query(self, queries: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`search`, with keys instead of row ids (``""`` where there is no neighbour)."""
        cos, ids = self.search(queries, k)
        keys = np.asarray(self.keys + [""], dtype=object)
        return cos, keys[np.where(ids >= 0, ids, len(self.keys))]

    def phash_of(self, ids: np.ndarray) -> np.ndarray:
        """The stored pHashes of rows ``ids`` (:data:`~zeroshift.overlap.hashes.NO_HASH` where id is -1)."""
        if self.phashes is None:
            raise UsageError(
                f"the index {self.folder} holds no perceptual hashes (built from embeddings, or without pHash); "
                "check without pHash confirmation"
            )
        ids = np.asarray(ids)
        return np.where(ids >= 0, self.phashes[np.clip(ids, 0, None)], NO_HASH)


__all__ = ["IndexPlan", "OverlapIndex", "build_index", "plan_index", "pq_subquantizers"]
