"""The data-source protocol: where a benchmark's images come from when they are not in its folder layout.

A :class:`DataSource` reads one published container format (CLIP_benchmark's webdataset shards, a Hugging Face
``datasets`` folder) and lists it as a :class:`~zeroshift.data.base.Dataset` of the benchmark's *native* classes,
so every label space, metric and report works unchanged. Options are declared with their defaults in
:attr:`DataSource.options` (a sources-file entry may set only those), and :attr:`DataSource.record` is what a run
records about the source next to its results.

Example:
    >>> class Toy(DataSource):
    ...     kind = "toy"
    ...     options = {"split": "test"}
    >>> Toy("/data/x", where="imagenet_r", split="val").option("split")
    'val'
    >>> Toy("/data/x", where="imagenet_r", colour="red")
    Traceback (most recent call last):
    ...
    zeroshift.errors.SpecError: imagenet_r: unknown option 'colour' for a toy source (known: split)

"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from zeroshift.data.base import Dataset
from zeroshift.errors import SpecError
from zeroshift.registry import suggest


class DataSource:
    """A container of a benchmark's images: checked, listed as a Dataset, recorded with each run."""

    #: the name used in sources files (``kind: wds``)
    kind: ClassVar[str] = ""
    #: options a sources-file entry may set, with their defaults
    options: ClassVar[dict[str, Any]] = {}
    #: the expected layout, for error messages
    layout: ClassVar[str] = ""

    def __init__(self, path: str | Path, where: str, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            hint = suggest(unknown[0], list(self.options))
            raise SpecError(f"{where}: unknown option {unknown[0]!r} for a {self.kind} source{hint} (known: {known})")
        self.path = Path(path)
        self.where = where
        self.values: dict[str, Any] = {**self.options, **options}

    def option(self, name: str) -> Any:
        """The value of one option (its default unless the entry set it)."""
        return self.values[name]

    def dataset(self, benchmark: str, native: Sequence[str], display: Sequence[str]) -> Dataset:
        """List the samples with targets indexing ``native``; raises DatasetError naming the layout."""
        raise NotImplementedError

    @property
    def record(self) -> dict[str, Any]:
        """What identifies the source in a run's protocol (kind, path, options and a cheap digest of its files)."""
        return {"kind": self.kind, "path": str(self.path), **self.values}
