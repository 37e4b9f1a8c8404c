"""Training corpora as a stable sequence of samples: an image folder, webdataset tar shards, or precomputed embeddings.

Three published layouts are read, each listed cheaply once (no image is decoded to list a corpus) in an order that
never changes for the same files, so an index build can be cut into chunks by position and resumed:

* **image folder**: every image under a folder at any depth (hidden entries skipped); the key of a sample is its
  path relative to the folder (POSIX).
* **webdataset shards** in the img2dataset layout: ``00000.tar, 00001.tar, ...`` (a folder, a brace pattern such
  as ``/data/{00000..00009}.tar``, or a list of files), each holding ``KEY.jpg`` (or ``.png``, ``.webp``...) with
  ``KEY.txt``/``KEY.json`` beside it. Members are grouped into samples as webdataset does (the key is the member
  path up to the first dot of its file name). The shards are read with the standard library's ``tarfile``, not
  with the ``webdataset`` pipeline: ``tarfile`` gives each member's offset, so a sample can be decoded by position
  (what loader workers and a resumed build need), and every failure keeps its reason, where webdataset's
  streaming handlers either stop or silently skip. A shard cut short is read up to its last whole member and the
  cut is counted.
* **precomputed embeddings** as clip-retrieval and LAION release them: ``img_emb/img_emb_0000.npy`` (float rows)
  beside ``metadata/metadata_0000.parquet`` (one row per embedding, with a ``key``, ``image_path`` or ``url``
  column; read with pyarrow), paired by their number. Such a corpus has no pixels; the model that produced the
  rows is declared by the user and recorded.

Images that cannot be decoded are never fatal: :meth:`ImageCorpus.items` yields them with a
:class:`~zeroshift.errors.BadImageError` whose reason is one of the run's skip reasons
(:data:`zeroshift.data.images.SKIP_REASONS`), plus ``"no image member"`` for a webdataset sample without an image.

Example:
    >>> import tempfile
    >>> from PIL import Image
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "a").mkdir()
    >>> Image.new("RGB", (8, 8), "red").save(root / "a" / "x.png")
    >>> _ = (root / "b.jpg").write_bytes(b"")
    >>> corpus = open_corpus(root)
    >>> corpus.kind, corpus.keys()
    ('folder', ['a/x.png', 'b.jpg'])
    >>> [(item.key, item.image is not None, item.error.reason if item.error else "") for item in corpus.items()]
    [('a/x.png', True, ''), ('b.jpg', False, 'empty file')]

"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from zeroshift.data.base import IMAGE_EXTENSIONS, Dataset
from zeroshift.data.images import MAX_PIXELS, _to_8bit
from zeroshift.data.ood import list_images_recursive
from zeroshift.errors import BadImageError, DatasetError, UsageError

#: member extensions that hold the image of a webdataset sample, in order of preference
WDS_IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif", "ppm")
#: metadata columns that can key an embedding row, in order of preference (clip-retrieval writes image_path;
#: LAION's metadata has key and url)
KEY_COLUMNS = ("key", "image_path", "url")
#: the layouts, for error messages
LAYOUTS = {
    "folder": "a folder of images at any depth (FOLDER/**/*.jpg|png|...)",
    "webdataset": "webdataset tar shards in the img2dataset layout (DIR/00000.tar with KEY.jpg + KEY.txt/KEY.json)",
    "embeddings": "DIR/img_emb/img_emb_0000.npy + DIR/metadata/metadata_0000.parquet (clip-retrieval / LAION layout)",
    "array": "embeddings given in memory",
    "factorworld": "a zoo model's FactorWorld training set, regenerated from its recipe and seed",
}


@dataclass(frozen=True)
class CorpusItem:
    """One sample of an image corpus: its key and either the decoded RGB image or the reason it failed.

    Attributes:
        key: the sample's key in the corpus (relative path, webdataset key).
        image: the RGB image, or None when decoding failed.
        error: the decoding failure, or None.
        note: what conversion decoding applied (``"L->RGB"``...), as runs record it.

    """

    key: str
    image: Image.Image | None
    error: BadImageError | None = None
    note: str = ""


class Corpus(ABC):
    """A training corpus listed once in a stable order (see the module docstring)."""

    #: ``folder``, ``webdataset``, ``embeddings`` or ``factorworld``
    kind: ClassVar[str] = ""
    #: whether the corpus gives vectors (precomputed embeddings) rather than images
    has_images: ClassVar[bool] = True

    @abstractmethod
    def keys(self) -> list[str]:
        """The sample keys, in the corpus order."""

    def __len__(self) -> int:
        return len(self.keys())

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What is recorded about the corpus in an index manifest (kind, location, counts)."""

    @abstractmethod
    def listing_digest(self) -> str:
        """A digest of the listing (keys and the sizes that say the bytes are the same); a resumed build needs
        the same digest.
        """

    def check_not_empty(self) -> None:
        """Raise DatasetError naming the expected layout when the corpus holds no sample."""
        if len(self) == 0:
            where = self.describe().get("root")
            raise DatasetError(f"{self.kind} corpus {where} holds no samples; expected {LAYOUTS[self.kind]}")


class ImageCorpus(Corpus):
    """A corpus of images decoded on demand by position."""

    @abstractmethod
    def load(self, i: int) -> tuple[Image.Image, str]:
        """Decode sample ``i`` as RGB; returns ``(image, conversion note)`` or raises BadImageError."""

    def content_key(self, i: int) -> str:
        """A key that changes when sample ``i``'s bytes change (the feature cache keys on it)."""
        return self.keys()[i]

    def items(self, start: int = 0, stop: int | None = None) -> Iterator[CorpusItem]:
        """The samples ``start..stop`` in order, each decoded or carrying its failure."""
        keys = self.keys()
        for i in range(start, len(keys) if stop is None else min(stop, len(keys))):
            try:
                image, note = self.load(i)
            except BadImageError as err:
                yield CorpusItem(keys[i], None, err)
            else:
                yield CorpusItem(keys[i], image, None, note)

    def as_dataset(self) -> Dataset:
        """The corpus as an unlabelled :class:`~zeroshift.data.base.Dataset`, for the engine's loader and feature
        cache (sample ids are the keys; content keys come from :meth:`content_key`).
        """
        return CorpusDataset(self)


class CorpusDataset(Dataset):
    """An image corpus seen as an unlabelled dataset (see :meth:`ImageCorpus.as_dataset`)."""

    def __init__(self, corpus: ImageCorpus) -> None:
        keys = corpus.keys()
        super().__init__(f"corpus:{corpus.kind}", None, [], list(keys), np.full(len(keys), -1, dtype=np.int64))
        self.corpus = corpus
        self.positions = list(range(len(keys)))

    def content_key(self, i: int) -> str:  # noqa: D102
        return self.corpus.content_key(self.positions[i])

    def load(self, i: int) -> tuple[Image.Image, str]:  # noqa: D102
        return self.corpus.load(self.positions[i])

    def subset(self, indices: Sequence[int]) -> CorpusDataset:  # noqa: D102
        clone = super().subset(indices)
        assert isinstance(clone, CorpusDataset)
        clone.positions = [self.positions[i] for i in indices]
        return clone


def _digest(lines: Iterator[str] | list[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return h.hexdigest()[:24]


# --- decoding bytes ----------------------------------------------------------------------------------------


def _as_rgb(image: Image.Image) -> tuple[Image.Image, str]:
    """The RGB conversions of :func:`zeroshift.data.images.load_rgb` (16/32-bit greyscale rescaled, palette
    transparency through RGBA), so a tar member decodes as the same file would.
    """
    mode = image.mode
    if mode == "RGB":
        return image, ""
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _to_8bit(image).convert("RGB"), f"{mode}->8-bit"
    if mode == "P" and "transparency" in image.info:
        return image.convert("RGBA").convert("RGB"), "P+transparency->RGB"
    return image.convert("RGB"), f"{mode}->RGB"


def decode_image_bytes(data: bytes, name: str, max_pixels: int = MAX_PIXELS) -> tuple[Image.Image, str]:
    """Decode an encoded image held in memory (a tar member) as RGB, with the skip reasons of ``load_rgb``.

    Example:
        >>> buf = io.BytesIO(); Image.new("L", (4, 4)).save(buf, "PNG")
        >>> image, note = decode_image_bytes(buf.getvalue(), "x.png")
        >>> image.mode, note
        ('RGB', 'L->RGB')
        >>> decode_image_bytes(b"plain text", "x.txt")
        Traceback (most recent call last):
        ...
        zeroshift.errors.BadImageError: x.txt: not an image
        >>> buf = io.BytesIO(); Image.linear_gradient("L").save(buf, "JPEG")
        >>> try:
        ...     decode_image_bytes(buf.getvalue()[:1000], "cut.jpg")
        ... except BadImageError as err:
        ...     print(err.reason)
        truncated

    """
    if not data:
        raise BadImageError(name, "empty file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as err:
            raise BadImageError(name, "too large", str(err)) from None
        except UnidentifiedImageError:
            raise BadImageError(name, "not an image") from None
        except OSError as err:
            raise BadImageError(name, _reason(err), str(err)) from None
        if image.width * image.height > max_pixels:
            raise BadImageError(name, "too large", f"{image.width}x{image.height} pixels")
        try:
            image.load()
        except (OSError, SyntaxError, ValueError) as err:
            raise BadImageError(name, _reason(err), str(err)) from None
    return _as_rgb(image)


def _reason(err: Exception) -> str:
    """``truncated`` for a file cut short (as ``load_rgb`` tells them apart), else ``unreadable``."""
    text = str(err).lower()
    return "truncated" if "truncat" in text or "broken data" in text else "unreadable"


# --- image folder ------------------------------------------------------------------------------------------


class FolderCorpus(ImageCorpus):
    """Every image under a folder, at any depth, keyed by its relative path (see the module docstring)."""

    kind = "folder"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"corpus folder {self.root} does not exist; expected {LAYOUTS['folder']}")
        self._keys = list_images_recursive(self.root)

    def keys(self) -> list[str]:  # noqa: D102
        return self._keys

    def load(self, i: int) -> tuple[Image.Image, str]:  # noqa: D102
        from zeroshift.data.images import load_rgb

        return load_rgb(self.root / self._keys[i])

    def content_key(self, i: int) -> str:
        """Relative path, size and modification time, as folder datasets key their samples."""
        try:
            st = os.stat(self.root / self._keys[i])
        except OSError:
            return f"{self._keys[i]}|missing"
        return f"{self._keys[i]}|{st.st_size}|{st.st_mtime_ns}"

    def describe(self) -> dict[str, Any]:  # noqa: D102
        return {"kind": self.kind, "root": str(self.root.resolve()), "n": len(self._keys)}

    def listing_digest(self) -> str:  # noqa: D102
        return _digest(self.content_key(i) for i in range(len(self._keys)))


# --- webdataset shards -------------------------------------------------------------------------------------

#: webdataset's split of a member path into (key, extension): the key runs up to the first dot of the file name
_WDS_NAME = re.compile(r"^((?:.*/|)[^./]+)\.([^/]*)$")


@dataclass(frozen=True)
class _Member:
    shard: int
    name: str
    offset: int
    size: int


def expand_shards(spec: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The shard files a spec names: a folder (its ``*.tar``, sorted), a brace pattern, a file, or a list.

    Example:
        >>> [p.name for p in expand_shards("/data/{00000..00002}.tar")]
        ['00000.tar', '00001.tar', '00002.tar']

    """
    if isinstance(spec, list | tuple):
        return [Path(s) for s in spec]
    text = os.fspath(spec)
    if "{" in text:
        from braceexpand import braceexpand

        return [Path(p) for p in braceexpand(text)]
    path = Path(text)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix == ".tar" and not p.name.startswith("."))
    return [path]


class WebDatasetCorpus(ImageCorpus):
    """Samples of webdataset tar shards in the img2dataset layout (see the module docstring).

    Attributes:
        shards: the shard files, in order.
        shard_errors: ``{shard: reason}`` for shards that are cut short or unreadable (their whole members are
            kept).

    """

    kind = "webdataset"

    def __init__(self, shards: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> None:
        self.spec = os.fspath(shards) if isinstance(shards, str | os.PathLike) else None
        self.shards = expand_shards(shards)
        if not self.shards:
            raise DatasetError(f"no tar shards in {shards}; expected {LAYOUTS['webdataset']}")
        missing = [str(p) for p in self.shards if not p.is_file()]
        if missing:
            raise DatasetError(f"webdataset shard {missing[0]} does not exist; expected {LAYOUTS['webdataset']}")
        self.shard_errors: dict[str, str] = {}
        self._keys: list[str] = []
        self._image: list[_Member | None] = []
        self._list()

    def _list(self) -> None:
        """Read every shard's member headers once (no image data is read)."""
        seen: dict[str, str] = {}
        for s, path in enumerate(self.shards):
            samples: dict[str, _Member | None] = {}
            try:
                with tarfile.open(path, mode="r:") as tar:
                    for info in self._members(tar, path):
                        if not info.isfile():
                            continue
                        match = _WDS_NAME.match(info.name)
                        if match is None:
                            continue  # a member without an extension belongs to no sample (webdataset skips it too)
                        key, ext = match.group(1), match.group(2).lower()
                        if key.startswith("__") or "/." in f"/{key}":
                            continue
                        samples.setdefault(key, None)
                        if ext in WDS_IMAGE_EXTENSIONS and samples[key] is None:
                            samples[key] = _Member(s, info.name, info.offset_data, info.size)
            except (tarfile.TarError, OSError) as err:
                self.shard_errors[str(path)] = f"unreadable shard ({err})"
                continue
            for key, member in samples.items():
                if key in seen:
                    raise DatasetError(
                        f"webdataset key {key!r} appears in {seen[key]} and {path}; keys must be unique across shards"
                    )
                seen[key] = str(path)
                self._keys.append(key)
                self._image.append(member)

    def _members(self, tar: tarfile.TarFile, path: Path) -> Iterator[tarfile.TarInfo]:
        """The members of a shard; a shard cut short ends at its last whole header and the cut is recorded."""
        size = path.stat().st_size
        while True:
            try:
                info = tar.next()
            except (tarfile.ReadError, EOFError) as err:
                self.shard_errors[str(path)] = f"truncated shard ({err})"
                return
            if info is None:
                return
            if info.isfile() and info.offset_data + info.size > size:
                self.shard_errors[str(path)] = f"truncated shard (member {info.name} is cut)"
                return
            yield info

    def keys(self) -> list[str]:  # noqa: D102
        return self._keys

    def load(self, i: int) -> tuple[Image.Image, str]:  # noqa: D102
        member = self._image[i]
        if member is None:
            raise BadImageError(self._keys[i], "no image member", f"no {'/'.join(WDS_IMAGE_EXTENSIONS)} member")
        path = self.shards[member.shard]
        name = f"{path.name}:{member.name}"
        try:
            with open(path, "rb") as f:
                f.seek(member.offset)
                data = f.read(member.size)
        except OSError as err:
            raise BadImageError(name, "unreadable", str(err)) from None
        if len(data) < member.size:
            raise BadImageError(name, "truncated", f"{len(data)} of {member.size} bytes")
        return decode_image_bytes(data, name)

    def content_key(self, i: int) -> str:
        """Shard, member, offset and size of the sample's image (a shard rewritten changes them)."""
        member = self._image[i]
        if member is None:
            return f"{self._keys[i]}|no-image"
        return f"{self.shards[member.shard].name}:{member.name}|{member.offset}|{member.size}"

    def describe(self) -> dict[str, Any]:  # noqa: D102
        return {
            "kind": self.kind,
            "root": self.spec or str(self.shards[0].parent),
            "shards": [str(p) for p in self.shards],
            "n": len(self._keys),
            "shard_errors": dict(self.shard_errors),
            "reader": "tarfile (member offsets; webdataset key grouping)",
        }

    def listing_digest(self) -> str:  # noqa: D102
        return _digest(f"{k}|{self.content_key(i)}" for i, k in enumerate(self._keys))


# --- precomputed embeddings --------------------------------------------------------------------------------

_NUMBERED = re.compile(r"^(?P<stem>img_emb|metadata)_(?P<num>\d+)\.(?:npy|parquet)$")


class EmbeddingCorpus(Corpus):
    """Precomputed image embeddings in the clip-retrieval / LAION layout (see the module docstring).

    Args:
        root: the folder holding ``img_emb/`` and ``metadata/``.
        model: the model spec whose image encoder produced the rows (recorded, and checked against every check).
        key_column: the metadata column that keys the rows (default: the first of :data:`KEY_COLUMNS` present).

    """

    kind = "embeddings"
    has_images = False

    def __init__(self, root: str | os.PathLike[str], model: str | None, key_column: str | None = None) -> None:
        import pyarrow.parquet as pq

        self.root = Path(root)
        if not model:
            raise UsageError(
                f"precomputed embeddings at {self.root} need the model that produced them "
                "(--embedding-model open_clip:ViT-L-14@openai, say)"
            )
        self.model = model
        emb_dir, meta_dir = self.root / "img_emb", self.root / "metadata"
        if not emb_dir.is_dir() or not meta_dir.is_dir():
            raise DatasetError(f"no img_emb/ and metadata/ folders in {self.root}; expected {LAYOUTS['embeddings']}")
        embs = self._numbered(emb_dir, ".npy")
        metas = self._numbered(meta_dir, ".parquet")
        if set(embs) != set(metas):
            lonely = sorted(set(embs) ^ set(metas))[0]
            have = embs.get(lonely) or metas.get(lonely)
            raise DatasetError(f"{have} has no partner (img_emb_N.npy and metadata_N.parquet come in pairs)")
        self.pairs = [(embs[n], metas[n]) for n in sorted(embs)]
        self.key_column = key_column
        self._keys: list[str] = []
        self._offsets = [0]
        self.dim: int | None = None
        for npy, parquet in self.pairs:
            try:
                rows = np.load(npy, mmap_mode="r")
            except (OSError, ValueError) as err:
                raise DatasetError(f"{npy} is not a readable .npy array ({err})") from None
            if rows.ndim != 2 or not np.issubdtype(rows.dtype, np.floating):
                raise DatasetError(f"{npy} holds {rows.dtype} {rows.shape}; expected float rows (N, D)")
            if self.dim is None:
                self.dim = int(rows.shape[1])
            elif rows.shape[1] != self.dim:
                raise DatasetError(f"{npy} has {rows.shape[1]}-d rows, the earlier shards {self.dim}-d")
            schema = pq.read_schema(parquet)
            column = self.key_column or next((c for c in KEY_COLUMNS if c in schema.names), None)
            if column is None or column not in schema.names:
                raise DatasetError(
                    f"{parquet} has no key column ({', '.join(key_column and [key_column] or KEY_COLUMNS)}); "
                    f"its columns: {', '.join(schema.names)}"
                )
            self.key_column = column
            keys = [str(k) for k in pq.read_table(parquet, columns=[column]).column(column).to_pylist()]
            if len(keys) != rows.shape[0]:
                raise DatasetError(f"{parquet} has {len(keys)} rows but {npy} has {rows.shape[0]} embeddings")
            self._keys.extend(keys)
            self._offsets.append(self._offsets[-1] + len(keys))

    @staticmethod
    def _numbered(folder: Path, suffix: str) -> dict[int, Path]:
        out = {}
        for p in folder.iterdir():
            match = _NUMBERED.match(p.name)
            if match and p.suffix == suffix:
                out[int(match.group("num"))] = p
        return out

    def keys(self) -> list[str]:  # noqa: D102
        return self._keys

    def vectors(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start..stop`` as float32 (read from the memory-mapped shards)."""
        parts = []
        for s, (npy, _) in enumerate(self.pairs):
            lo, hi = self._offsets[s], self._offsets[s + 1]
            if hi <= start or lo >= stop:
                continue
            rows = np.load(npy, mmap_mode="r")
            parts.append(np.asarray(rows[max(start, lo) - lo : min(stop, hi) - lo], dtype=np.float32))
        return np.concatenate(parts) if parts else np.zeros((0, self.dim or 0), dtype=np.float32)

    def describe(self) -> dict[str, Any]:  # noqa: D102
        return {
            "kind": self.kind,
            "root": str(self.root.resolve()),
            "shards": [p[0].name for p in self.pairs],
            "n": len(self._keys),
            "dim": self.dim,
            "key_column": self.key_column,
            "declared_model": self.model,
        }

    def listing_digest(self) -> str:  # noqa: D102
        lines = [f"{a.name}|{a.stat().st_size}|{b.name}|{b.stat().st_size}" for a, b in self.pairs]
        return _digest(lines + [json.dumps(self.key_column)])


class ArrayCorpus(Corpus):
    """Embeddings already in memory (or produced by a function of a row range), with the model that produced them.

    Args:
        vectors: an ``(N, D)`` array, or ``rows(start, stop) -> array`` producing them on demand (so a corpus of a
            million rows need not sit in memory).
        model: whose features these are.
        keys: the row keys (default ``"0", "1", ...``).
        n: the number of rows (needed when ``vectors`` is a function).
        name: a name that identifies the content (recorded; part of the listing digest).

    Example:
        >>> from zeroshift.overlap.features import ModelRef
        >>> c = ArrayCorpus(np.eye(3), ModelRef("zoo:x", "fp"))
        >>> len(c), c.vectors(1, 3).tolist()
        (3, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])

    """

    kind = "array"
    has_images = False

    def __init__(
        self,
        vectors: np.ndarray | Callable[[int, int], np.ndarray],
        model: Any,
        keys: Sequence[str] | None = None,
        n: int | None = None,
        name: str = "array",
    ) -> None:
        self._rows = vectors
        self.model = model
        if n is None:
            if callable(vectors):
                raise UsageError("an ArrayCorpus built from a function needs n")
            n = int(np.asarray(vectors).shape[0])
        self.n = n
        self._keys = [str(k) for k in keys] if keys is not None else [str(i) for i in range(n)]
        if len(self._keys) != n:
            raise UsageError(f"{len(self._keys)} keys for {n} embeddings")
        self.name = name

    def keys(self) -> list[str]:  # noqa: D102
        return self._keys

    def vectors(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start..stop`` as float32."""
        stop = min(stop, self.n)
        rows = self._rows(start, stop) if callable(self._rows) else np.asarray(self._rows)[start:stop]
        return np.asarray(rows, dtype=np.float32)

    def describe(self) -> dict[str, Any]:  # noqa: D102
        return {"kind": self.kind, "root": self.name, "n": self.n}

    def listing_digest(self) -> str:  # noqa: D102
        return _digest([self.name, str(self.n), _digest(self._keys)])


# --- opening a corpus by its layout ------------------------------------------------------------------------


def _is_embeddings(path: Path) -> bool:
    return (path / "img_emb").is_dir()


def _is_webdataset(path: Path) -> bool:
    text = str(path)
    if "{" in text or path.suffix == ".tar":
        return True
    return (
        path.is_dir()
        and any(p.suffix == ".tar" for p in path.iterdir())
        and not any(p.suffix.lower() in IMAGE_EXTENSIONS for p in path.iterdir())
    )


#: how each kind is recognised (checked in order) and opened: ``opener(location, model, key_column)``
CORPUS_KINDS: dict[str, tuple[Callable[[Path], bool], Callable[[str, str | None, str | None], Corpus]]] = {
    "embeddings": (_is_embeddings, lambda loc, model, key_column: EmbeddingCorpus(loc, model, key_column)),
    "webdataset": (_is_webdataset, lambda loc, model, key_column: WebDatasetCorpus(loc)),
    "folder": (lambda p: p.is_dir(), lambda loc, model, key_column: FolderCorpus(loc)),
}


def open_corpus(
    location: str | os.PathLike[str], kind: str = "auto", model: str | None = None, key_column: str | None = None
) -> Corpus:
    """Open a corpus by its layout (``kind='auto'`` recognises it), refusing an empty one with one clear line.

    Args:
        location: a folder, a shard pattern or file, or an embeddings folder.
        kind: ``auto``, ``folder``, ``webdataset`` or ``embeddings``.
        model: for precomputed embeddings, the model spec that produced them.
        key_column: for precomputed embeddings, the metadata column of the keys.

    Raises:
        DatasetError: the location does not exist, has none of the layouts, or holds no sample.

    """
    text = os.fspath(location)
    path = Path(text)
    if kind == "auto":
        if not path.exists() and "{" not in text:
            raise DatasetError(f"corpus {text} does not exist; expected one of: {'; '.join(LAYOUTS.values())}")
        kind = next((k for k, (test, _) in CORPUS_KINDS.items() if test(path)), "")
        if not kind:
            raise DatasetError(f"{text} is none of: {'; '.join(LAYOUTS.values())}")
    if kind not in CORPUS_KINDS:
        raise UsageError(f"unknown corpus kind {kind!r}; choose auto, {', '.join(CORPUS_KINDS)}")
    corpus = CORPUS_KINDS[kind][1](text, model, key_column)
    corpus.check_not_empty()
    return corpus
