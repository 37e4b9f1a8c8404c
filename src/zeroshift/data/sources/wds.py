"""CLIP_benchmark's webdataset releases as a data source: tar shards read at random by the loader workers.

The layout is the one ``clip_benchmark_export_wds`` writes and the ``clip-benchmark/wds_*`` repositories on the
Hugging Face hub publish (``clip_benchmark/datasets/builder.py``, ``build_wds_dataset``)::

    wds_imagenet-r/
        classnames.txt                          one class name per line, in label order
        zeroshot_classification_templates.txt   (not read: prompts are a run option)
        test/nshards.txt                        the number of shards N
        test/0.tar ... test/<N-1>.tar           samples KEY.webp|png|jpg|jpeg + KEY.cls (the label, as text)

Listing indexes every shard's members once (:mod:`~zeroshift.data.sources.tar_index`) and reads the labels;
loading a sample is one ``pread`` of its image member in whichever loader worker asks, through a file descriptor
that worker opens on first use. Sample ids are ``<native class>/<key>`` (the folder layout's ``<class>/<file>``),
content keys name the shard, the member, its size and the shard's size and mtime, so a re-downloaded shard is
re-encoded and an unchanged one never is. An image member that cannot be decoded, or that a cut-short shard
lost, is reported like an unreadable file (``not an image``, ``truncated``) and the run goes on.

Example:
    >>> source = WebDatasetSource("/nonexistent/wds_imagenet-r", where="imagenet_r")
    >>> source.option("split"), source.option("labels")
    ('test', 'names')
    >>> try:
    ...     source.dataset("imagenet_r", ["n01443537"], ["goldfish"])
    ... except Exception as err:
    ...     print(str(err)[:58])
    imagenet_r: no webdataset release at /nonexistent/wds_imag

"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from zeroshift.data.base import IMAGE_EXTENSIONS, Dataset
from zeroshift.data.images import decode_rgb
from zeroshift.data.sources.base import DataSource
from zeroshift.data.sources.classmap import map_labels, targets_from
from zeroshift.data.sources.tar_index import Member, TarIndex, index_tar
from zeroshift.errors import BadImageError, DatasetError

#: image extensions in CLIP_benchmark's order of preference (``to_tuple(["webp", "png", "jpg", "jpeg"])``), then
#: any other image format zeroshift decodes
_PREFERRED = ("webp", "png", "jpg", "jpeg")
IMAGE_EXTS = _PREFERRED + tuple(e[1:] for e in IMAGE_EXTENSIONS if e[1:] not in _PREFERRED)


@dataclass
class ShardDataset(Dataset):
    """A dataset whose images are members of tar shards, read with ``pread`` by whichever process loads them.

    ``locations[i]`` is ``(shard position, member)`` of sample ``i`` (member None: the sample has no image);
    ``shards`` are absolute shard paths and ``stamps`` their ``size|mtime_ns`` at listing time.
    """

    shards: list[str] = field(default_factory=list)
    stamps: list[str] = field(default_factory=list)
    locations: list[tuple[int, Member | None]] = field(default_factory=list)
    _fds: dict[int, int] = field(default_factory=dict, repr=False)
    _pid: int = field(default=0, repr=False)

    def _label(self, i: int) -> str:
        shard, member = self.locations[i]
        rel = os.path.relpath(self.shards[shard], self.root) if self.root else self.shards[shard]
        return f"{rel}:{member.name if member else self.sample_ids[i]}"

    def content_key(self, i: int) -> str:
        """Sample id, shard and member, member size and the shard's size and mtime."""
        shard, member = self.locations[i]
        size = member.size if member else -1
        return f"{self.sample_ids[i]}|{self._label(i)}|{size}|{self.stamps[shard]}{self.key_suffix}"

    def _fd(self, shard: int) -> int:
        # descriptors are per process: a forked loader worker opens its own on first use
        if self._pid != os.getpid():
            self._fds, self._pid = {}, os.getpid()
        if shard not in self._fds:
            self._fds[shard] = os.open(self.shards[shard], os.O_RDONLY)
        return self._fds[shard]

    def load(self, i: int) -> tuple[Image.Image, str]:
        """Read and decode the image member of sample ``i``; raises BadImageError like a bad file would."""
        shard, member = self.locations[i]
        label = self._label(i)
        if member is None:
            raise BadImageError(label, "not an image", f"no image member ({', '.join(IMAGE_EXTS[:4])})")
        try:
            data = os.pread(self._fd(shard), member.size, member.offset)
        except OSError as err:
            raise BadImageError(label, "unreadable", str(err)) from None
        if len(data) < member.size:
            raise BadImageError(label, "truncated", f"{len(data)} of {member.size} bytes (the shard is cut short)")
        return decode_rgb(data, label)

    def subset(self, indices: Sequence[int]) -> ShardDataset:
        """A dataset of the given samples (their locations follow them)."""
        idx = list(indices)
        clone = super().subset(idx)
        clone.locations = [self.locations[i] for i in idx]
        clone._fds, clone._pid = {}, 0
        return clone

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fds"], state["_pid"] = {}, 0  # descriptors never travel to another process
        return state


class WebDatasetSource(DataSource):
    """A CLIP_benchmark webdataset release (``classnames.txt`` + ``<split>/{0..N-1}.tar``)."""

    kind = "wds"
    options: ClassVar[dict[str, Any]] = {"split": "test", "labels": "names"}
    layout = "classnames.txt + <split>/nshards.txt + <split>/{0..N-1}.tar of KEY.webp|png|jpg + KEY.cls"

    def _error(self, problem: str) -> DatasetError:
        return DatasetError(f"{self.where}: {problem}. Expected a CLIP_benchmark webdataset release: {self.layout}")

    def class_names(self) -> list[str] | None:
        """The lines of ``classnames.txt`` (None when the release has none)."""
        path = self.path / "classnames.txt"
        if not path.is_file():
            return None
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def shard_paths(self) -> list[Path]:
        """The shards, checked against ``nshards.txt`` when the release has one (CLIP_benchmark requires it)."""
        if not self.path.is_dir():
            raise self._error(f"no webdataset release at {self.path}")
        folder = self.path / str(self.option("split"))
        if not folder.is_dir():
            raise self._error(f"no split folder {folder}")
        found = {p.name: p for p in folder.iterdir() if p.suffix == ".tar" and not p.name.startswith(".")}
        count_file = folder / "nshards.txt"
        if count_file.is_file():
            try:
                count = int(count_file.read_text().strip())
            except ValueError:
                raise self._error(f"{count_file} does not hold a number") from None
            missing = [f"{k}.tar" for k in range(count) if f"{k}.tar" not in found]
            if missing:
                raise self._error(
                    f"{len(missing)} of the {count} shards named by {count_file} are missing ({missing[0]})"
                )
            return [found[f"{k}.tar"] for k in range(count)]
        if not found:
            raise self._error(f"no .tar shards in {folder}")
        return sorted(found.values(), key=lambda p: (len(p.stem), p.stem))  # 2.tar before 10.tar

    def dataset(self, benchmark: str, native: Sequence[str], display: Sequence[str]) -> ShardDataset:
        """Index the shards, read the labels and map them onto the benchmark's classes."""
        shards = self.shard_paths()
        names = self.class_names()
        lookup, how = map_labels(names, native, display, str(self.option("labels")), where=f"{self.path}")
        samples: dict[str, tuple[int, Member | None, int | None]] = {}
        damaged: dict[str, str] = {}
        for position, shard in enumerate(shards):
            index = index_tar(shard)
            if index.damaged:
                damaged[shard.name] = index.damaged
            for key, image, label in _samples(shard, index, damaged):
                if key in samples:
                    raise self._error(f"sample key {key!r} appears twice ({shard.name} and an earlier shard)")
                samples[key] = (position, image, label)
        unlabelled = [k for k, (_, _, label) in samples.items() if label is None]
        if unlabelled:
            raise self._error(f"sample {unlabelled[0]!r} has no readable .cls label ({len(unlabelled)} in all)")
        if not samples:
            raise self._error(f"no samples in the shards of {self.path / str(self.option('split'))}")
        keys = list(samples)
        raw = np.asarray([samples[k][2] for k in keys], dtype=np.int64)
        targets = targets_from(raw, lookup, names, benchmark, str(self.path))
        ids = [f"{native[t]}/{k}" for k, t in zip(keys, targets, strict=True)]
        order = np.argsort(np.asarray(ids, dtype=object), kind="stable")
        stamps = [f"{p.stat().st_size}|{p.stat().st_mtime_ns}" for p in shards]
        self._how = {**how, **({"damaged": damaged} if damaged else {})}
        return ShardDataset(
            benchmark,
            self.path,
            list(native),
            [ids[i] for i in order],
            targets[order],
            shards=[str(p.resolve()) for p in shards],
            stamps=stamps,
            locations=[(samples[keys[i]][0], samples[keys[i]][1]) for i in order],
        )

    @property
    def record(self) -> dict[str, Any]:
        """Kind, path, options, shard count and bytes, a digest of ``classnames.txt`` and how labels matched."""
        names = self.class_names()
        try:
            shards = self.shard_paths()
        except DatasetError:
            shards = []
        return {
            **super().record,
            "shards": len(shards),
            "bytes": sum(p.stat().st_size for p in shards),
            "classnames_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest()[:16] if names else None,
            **getattr(self, "_how", {}),
        }


def _samples(shard: Path, index: TarIndex, damaged: dict[str, str]) -> list[tuple[str, Member | None, int | None]]:
    """Group a shard's members by key: ``(key, image member or None, label or None)`` in shard order."""
    groups: dict[str, dict[str, Member]] = {}
    for member in index.members:
        groups.setdefault(member.key, {})[member.ext] = member
    out = []
    last = next(reversed(groups), None)
    with open(shard, "rb") as f:
        for key, by_ext in groups.items():
            image = next((by_ext[e] for e in IMAGE_EXTS if e in by_ext), None)
            label = None
            if "cls" in by_ext:
                cls = by_ext["cls"]
                f.seek(cls.offset)
                data = f.read(cls.size)
                try:
                    label = int(data.decode().strip()) if len(data) == cls.size else None
                except (UnicodeDecodeError, ValueError):
                    label = None
            if label is None and index.damaged and key == last:
                # the cut fell inside this sample: count it lost rather than call the release malformed
                damaged[shard.name] += f"; sample {key!r} lost its label"
                continue
            out.append((key, image, label))
    return out
