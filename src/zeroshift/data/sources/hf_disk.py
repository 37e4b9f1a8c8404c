"""Hugging Face ``datasets`` folders written by ``save_to_disk`` as a data source.

The folder holds ``dataset_info.json``, ``state.json`` and ``data-*.arrow`` (one split), or
``dataset_dict.json`` and one such folder per split (a ``DatasetDict``; choose with ``split``). It is opened with
``datasets.load_from_disk``, which memory-maps the Arrow files: listing reads the label column and the image
column's file names without decoding any image, and a loader worker opens the folder on first use and reads one
row's bytes per sample. The image column is the dataset's one ``Image`` feature and the label column its one
``ClassLabel`` (else a column called ``label``) unless ``image_column`` / ``label_column`` say otherwise; labels
map onto the benchmark's classes by their ``ClassLabel`` names (or the strings of a text column), or by number
(``labels: index`` / ``imagenet_index``, see :mod:`~zeroshift.data.sources.classmap`).

Sample ids are ``<native class>/<stored file name>`` when every row stored a distinct file name, else
``<native class>/<row number>``; content keys add the dataset's fingerprint (``state.json``) and its files' sizes
and mtimes.

Example:
    >>> source = HFDiskSource("/nonexistent/imagenet-r-hf", where="imagenet_r")
    >>> sorted(source.options)
    ['image_column', 'label_column', 'labels', 'split']
    >>> try:
    ...     source.dataset("imagenet_r", ["n01443537"], ["goldfish"])
    ... except Exception as err:
    ...     print(str(err)[:63])
    imagenet_r: no Hugging Face datasets folder at /nonexistent/ima

"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from zeroshift.data.base import Dataset
from zeroshift.data.images import decode_rgb, load_rgb
from zeroshift.data.sources.base import DataSource
from zeroshift.data.sources.classmap import map_labels, targets_from
from zeroshift.errors import BadImageError, DatasetError


@dataclass
class HFRowsDataset(Dataset):
    """A dataset whose images are rows of a memory-mapped ``datasets`` folder (``rows[i]``: sample ``i``'s row)."""

    folder: str = ""
    image_column: str = "image"
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stamp: str = ""
    _column: Any = field(default=None, repr=False)
    _pid: int = field(default=0, repr=False)

    def content_key(self, i: int) -> str:
        """Sample id, row, and the dataset's fingerprint and files (any rewrite of the folder changes it)."""
        return f"{self.sample_ids[i]}|row={int(self.rows[i])}|{self.stamp}{self.key_suffix}"

    def _cells(self) -> Any:
        # opened once per process: a forked loader worker maps the Arrow files itself on first use
        if self._pid != os.getpid() or self._column is None:
            import datasets

            self._column = datasets.load_from_disk(self.folder).data.column(self.image_column)
            self._pid = os.getpid()
        return self._column

    def load(self, i: int) -> tuple[Image.Image, str]:
        """Decode sample ``i``'s stored bytes (or the file its row points to); BadImageError like a bad file."""
        row = int(self.rows[i])
        label = f"{self.folder}#{row}"
        cell = self._cells()[row].as_py() or {}
        data, path = cell.get("bytes"), cell.get("path")
        if data is not None:
            return decode_rgb(data, label)
        if path:
            # a dataset built from local files without embedding them keeps their paths
            target = Path(path) if os.path.isabs(path) else Path(self.folder) / path
            return load_rgb(target)
        raise BadImageError(label, "not an image", "the row holds neither image bytes nor a path")

    def subset(self, indices: Sequence[int]) -> HFRowsDataset:
        """A dataset of the given samples (their rows follow them)."""
        idx = list(indices)
        clone = super().subset(idx)
        clone.rows = self.rows[idx]
        clone._column, clone._pid = None, 0
        return clone

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_column"], state["_pid"] = None, 0  # memory maps never travel to another process
        return state


class HFDiskSource(DataSource):
    """A folder saved by ``datasets.Dataset.save_to_disk`` (or ``DatasetDict.save_to_disk`` with ``split``)."""

    kind = "hf"
    options: ClassVar[dict[str, Any]] = {"split": None, "image_column": None, "label_column": None, "labels": "names"}
    layout = "a datasets.save_to_disk folder (dataset_info.json, state.json, data-*.arrow; or dataset_dict.json)"

    def _error(self, problem: str) -> DatasetError:
        return DatasetError(f"{self.where}: {problem}. Expected {self.layout}")

    def split_folder(self) -> Path:
        """The folder of the chosen split (the folder itself for a single Dataset)."""
        if not self.path.is_dir():
            raise self._error(f"no Hugging Face datasets folder at {self.path}")
        split = self.option("split")
        if (self.path / "dataset_dict.json").is_file():
            splits = json.loads((self.path / "dataset_dict.json").read_text()).get("splits", [])
            if split is None and len(splits) == 1:
                split = splits[0]
            if split not in splits:
                raise self._error(f"{self.path} holds splits {', '.join(splits)}: say which one with split")
            return self.path / str(split)
        if not (self.path / "state.json").is_file():
            raise self._error(f"{self.path} has no state.json or dataset_dict.json")
        if split is not None:
            raise self._error(f"{self.path} is a single split; it has no split {split!r}")
        return self.path

    def _columns(self, features: Any) -> tuple[str, str]:
        import datasets

        def pick(option: str, kind: type, fallback: str) -> str:
            chosen = self.option(option)
            if chosen is not None:
                if chosen not in features:
                    raise self._error(f"no column {chosen!r} (columns: {', '.join(features)})")
                return str(chosen)
            typed = [n for n, f in features.items() if isinstance(f, kind)]
            if len(typed) == 1:
                return typed[0]
            if fallback in features and not typed:
                return fallback
            found = ", ".join(typed or list(features))
            raise self._error(f"cannot tell which column is the {fallback} ({found}); say {option}")

        return pick("image_column", datasets.Image, "image"), pick("label_column", datasets.ClassLabel, "label")

    def dataset(self, benchmark: str, native: Sequence[str], display: Sequence[str]) -> HFRowsDataset:
        """Read the label column and stored file names; map labels onto the benchmark's classes."""
        import datasets

        folder = self.split_folder()
        try:
            ds = datasets.load_from_disk(str(folder))
        except (OSError, ValueError, FileNotFoundError) as err:
            raise self._error(f"{folder} cannot be opened by datasets.load_from_disk ({err})") from None
        image_col, label_col = self._columns(ds.features)
        if not isinstance(ds.features[image_col], datasets.Image):
            raise self._error(f"column {image_col!r} is not an Image feature")
        feature = ds.features[label_col]
        raw_labels = ds.data.column(label_col).to_pylist()
        if isinstance(feature, datasets.ClassLabel):
            names: list[str] | None = list(feature.names)
            raw = np.asarray(raw_labels, dtype=np.int64)
        elif all(isinstance(v, str) for v in raw_labels):
            names = sorted(set(raw_labels))  # a text column names the classes itself
            position = {n: i for i, n in enumerate(names)}
            raw = np.asarray([position[v] for v in raw_labels], dtype=np.int64)
        else:
            names = None
            raw = np.asarray(raw_labels, dtype=np.int64)
        lookup, how = map_labels(names, native, display, str(self.option("labels")), where=str(folder))
        targets = targets_from(raw, lookup, names, benchmark, str(folder))
        stored = [
            p for chunk in ds.data.column(image_col).chunks for p in chunk.field("path").to_pylist()
        ]  # file names only: no image bytes are read
        keys = stored if all(stored) and len(set(stored)) == len(stored) else [f"{r:07d}" for r in range(len(ds))]
        ids = [f"{native[t]}/{k}" for k, t in zip(keys, targets, strict=True)]
        order = np.argsort(np.asarray(ids, dtype=object), kind="stable")
        self._how = how
        return HFRowsDataset(
            benchmark,
            folder,
            list(native),
            [ids[i] for i in order],
            targets[order],
            folder=str(folder.resolve()),
            image_column=image_col,
            rows=order.astype(np.int64),
            stamp=self._stamp(folder),
        )

    @staticmethod
    def _stamp(folder: Path) -> str:
        state = json.loads((folder / "state.json").read_text())
        files = sorted(folder.glob("*.arrow"))
        text = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
        return f"{state.get('_fingerprint', '')}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    @property
    def record(self) -> dict[str, Any]:
        """Kind, path, options, the dataset fingerprint and files digest, and how labels matched."""
        try:
            stamp = self._stamp(self.split_folder())
        except (DatasetError, OSError, ValueError):
            stamp = None
        return {**super().record, "stamp": stamp, **getattr(self, "_how", {})}
