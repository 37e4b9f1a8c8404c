"""Content-addressed artefacts: vector banks (image features, text-head rows) written atomically.

A :class:`VectorBank` is a folder of chunk files named by a fingerprint of everything that determines their
bytes (model weights and preprocessing, shift, prompt set...). Each chunk is a safetensors file of rows plus
a JSON sidecar naming the producer, the row keys, the keys that failed (bad images, with reasons) and the
sha256 of the tensor file. Both are written to a temporary name and renamed, the sidecar last, so a crash
never leaves a chunk that is later trusted, and a chunk whose bytes do not match its sidecar is discarded.
Rows are looked up by content key, so ``--limit 100`` followed by a full run re-encodes nothing, and a run
killed midway resumes from its last completed chunk.

Example:
    >>> import tempfile, torch
    >>> bank = VectorBank(Path(tempfile.mkdtemp()) / "bank", producer={"what": "demo"})
    >>> bank.put(["a", "b"], torch.eye(2), failures={"c": "truncated"})
    >>> bank.missing(["a", "b", "c", "d"])
    ['d']
    >>> bank.get(["b", "a"]).tolist()
    [[0.0, 1.0], [1.0, 0.0]]

"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from zeroshift.core.io import atomic_write_bytes
from zeroshift.paths import cache_dir


class VectorBank:
    """Rows of float vectors keyed by strings, stored as verified chunks in one folder (see module doc)."""

    def __init__(self, folder: Path, producer: dict[str, Any]) -> None:
        self.folder = folder
        self.producer = producer
        self._rows: dict[str, tuple[str, int]] = {}
        self._failures: dict[str, str] = {}
        self._chunks: dict[str, torch.Tensor] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        """Index chunks written since the last look (by this or another process)."""
        if not self.folder.is_dir():
            return
        for sidecar in sorted(self.folder.glob("chunk-*.json")):
            name = sidecar.stem
            if name in self._seen:
                continue
            self._seen.add(name)
            try:
                meta = json.loads(sidecar.read_text())
                data = (self.folder / f"{name}.safetensors").read_bytes()
            except (OSError, ValueError):
                continue  # a chunk being replaced or removed: ignore it
            if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                self._discard(name)
                continue
            tensor = load_safetensors(data)["rows"]
            if tensor.shape[0] != len(meta["keys"]):
                self._discard(name)
                continue
            self._chunks[name] = tensor
            for row, key in enumerate(meta["keys"]):
                self._rows[key] = (name, row)
            self._failures.update(meta.get("failures", {}))

    def _discard(self, name: str) -> None:
        for suffix in (".json", ".safetensors"):
            with contextlib.suppress(OSError):
                (self.folder / f"{name}{suffix}").unlink()

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def failures(self) -> dict[str, str]:
        """Keys that could not be encoded, with the reason (e.g. ``truncated``)."""
        return dict(self._failures)

    def has(self, key: str) -> bool:
        """Whether ``key`` has a row or a recorded failure."""
        return key in self._rows or key in self._failures

    def missing(self, keys: Sequence[str]) -> list[str]:
        """The keys with neither a row nor a recorded failure, in order."""
        return [k for k in keys if k not in self._rows and k not in self._failures]

    def get(self, keys: Sequence[str]) -> torch.Tensor:
        """Stack the rows of ``keys`` (every key must have a row)."""
        if not keys:
            return torch.empty(0)
        rows = [self._chunks[c][r] for c, r in (self._rows[k] for k in keys)]
        return torch.stack(rows)

    def put(self, keys: Sequence[str], rows: torch.Tensor, failures: dict[str, str] | None = None) -> None:
        """Write one chunk of rows (and failed keys) atomically, then index it."""
        keys = list(keys)
        rows = rows.detach().to("cpu").contiguous()
        if rows.shape[0] != len(keys):
            raise ValueError("one row per key is needed")
        if not keys and not failures:
            return
        name = "chunk-" + hashlib.sha256("\n".join(keys + sorted(failures or {})).encode()).hexdigest()[:20]
        data = save_safetensors({"rows": rows if keys else torch.empty((0,) + tuple(rows.shape[1:]))})
        meta = {
            "producer": self.producer,
            "keys": keys,
            "failures": failures or {},
            "sha256": hashlib.sha256(data).hexdigest(),
            "shape": list(rows.shape),
            "dtype": str(rows.dtype),
            "written_at": time.time(),
        }
        with self._lock:
            atomic_write_bytes(self.folder / f"{name}.safetensors", data)
            atomic_write_bytes(self.folder / f"{name}.json", json.dumps(meta).encode())
            self._seen.add(name)
            self._chunks[name] = rows
            for row, key in enumerate(keys):
                self._rows[key] = (name, row)
            self._failures.update(failures or {})


def missing_keys(folder: Path, keys: Sequence[str]) -> list[str]:
    """The ``keys`` a bank folder has neither a row nor a recorded failure for, from its sidecars alone (read-only:
    no tensor is read or verified, so this is what a bank would report before verifying its chunks).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp()) / "bank"
        >>> VectorBank(folder, {}).put(["a"], torch.zeros(1, 2), failures={"b": "truncated"})
        >>> missing_keys(folder, ["a", "b", "c"])
        ['c']

    """
    present: set[str] = set()
    if folder.is_dir():
        for sidecar in folder.glob("chunk-*.json"):
            try:
                meta = json.loads(sidecar.read_text())
            except (OSError, ValueError):
                continue
            present.update(meta.get("keys", []))
            present.update(meta.get("failures", {}))
    return [k for k in keys if k not in present]


class Cache:
    """The artefact cache: one folder per artefact kind, one :class:`VectorBank` per fingerprint.

    Which kinds exist is the artefact registry's business (:mod:`zeroshift.artefacts`); the cache only stores them
    (``models/`` holds the cached model facts).

    Example:
        >>> import tempfile
        >>> cache = Cache(tempfile.mkdtemp())
        >>> cache.bank("features", "abc", {"model": "x"}).folder.name
        'abc'

    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir()

    def bank(self, kind: str, fp: str, producer: dict[str, Any]) -> VectorBank:
        """The bank of artefact ``kind`` for fingerprint ``fp``."""
        return VectorBank(self.root / kind / fp, {"kind": kind, "fingerprint": fp, **producer})

    def kinds(self) -> list[str]:
        """The artefact kinds that have banks on disk."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and p.name != "models")

    def info(self) -> dict[str, dict[str, int]]:
        """Per kind on disk: number of banks, chunk files and bytes."""
        out: dict[str, dict[str, int]] = {}
        for kind in self.kinds():
            folder = self.root / kind
            banks = [p for p in folder.iterdir() if p.is_dir()]
            files = [f for b in banks for f in b.iterdir() if f.is_file()]
            out[kind] = {
                "banks": len(banks),
                "chunks": sum(1 for f in files if f.suffix == ".json"),
                "bytes": sum(f.stat().st_size for f in files),
            }
        return out

    def clear(self, kind: str | None = None) -> int:
        """Remove every bank (or those of one kind); returns the number of banks removed."""
        kinds = [kind] if kind else self.kinds()
        removed = 0
        for k in kinds:
            folder = self.root / k
            if folder.is_dir():
                for bank in [p for p in folder.iterdir() if p.is_dir()]:
                    shutil.rmtree(bank)
                    removed += 1
        return removed
