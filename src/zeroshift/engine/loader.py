"""The pixel pipeline of one run: decode -> geometry -> pixel shift, in DataLoader worker processes.

Bad images never stop a run: the worker returns the reason, the collate function drops the sample and the
encoder records it (``--on-bad-image fail`` turns the first one into an error instead).

Example:
    >>> import torch
    >>> batch = collate([(0, torch.zeros(3, 2, 2), None, ""), (1, None, "truncated", "x.jpg: truncated")])
    >>> batch.positions, batch.pixels.shape, batch.failures
    ([0], torch.Size([1, 3, 2, 2]), [(1, 'truncated', 'x.jpg: truncated')])

"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from zeroshift.data.base import Dataset
from zeroshift.errors import BadImageError
from zeroshift.shifts.base import Shift, ShiftContext, per_image_seed


@dataclass
class Batch:
    """A collated batch: positions into the request, pixels, failures and conversion notes."""

    positions: list[int]
    pixels: torch.Tensor | None
    failures: list[tuple[int, str, str]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)


class ShiftedPixels:
    """The shifted pixels of the most recent in-process conditions, shared by every model that sees them through the
    same geometry.

    A pixel shift is a pure function of the image after geometry, its per-image seed and the shift's spec (no
    per-sample parameters, no artefact read), so models of one geometry see the same bits. Run condition by
    condition (``plan_items(order="benchmark")``, as the demo runs), the next model's pass finds each image here
    instead of decoding and corrupting it again: the demo's ten zoo models on 57 ImageNet-C conditions computed
    each corruption ten times (``benchmarks/shared_shift_pixels.py``). Only passes in this process use it (loader
    workers cannot share it), and only the last ``conditions`` conditions are kept.

    Example:
        >>> memo = ShiftedPixels(conditions=1)
        >>> memo.table(("a",))[0] = (torch.zeros(1), "")
        >>> len(memo.table(("b",))), ("a",) in memo._tables
        (0, False)

    """

    def __init__(self, conditions: int = 1) -> None:
        self.conditions = conditions
        self._tables: OrderedDict[tuple[Any, ...], dict[int, tuple[torch.Tensor, str]]] = OrderedDict()

    def table(self, key: tuple[Any, ...]) -> dict[int, tuple[torch.Tensor, str]]:
        """The (pixels, conversion note) of each dataset index computed so far under ``key``."""
        if key in self._tables:
            self._tables.move_to_end(key)
        else:
            self._tables[key] = {}
            while len(self._tables) > self.conditions:
                self._tables.popitem(last=False)
        return self._tables[key]

    def clear(self) -> None:
        """Forget every condition (a fresh start for a benchmark or a test)."""
        self._tables.clear()

    @staticmethod
    def key(geometry: Any, shift: Shift, run_seed: int, dataset: Dataset, benchmark: str) -> tuple[Any, ...] | None:
        """What the shifted pixels depend on, or None when they cannot be shared (per-sample parameters or read
        artefacts, a geometry that does not pickle).
        """
        if shift.kind != "pixel" or shift.needs():
            return None
        try:
            geometry_digest = hashlib.sha256(pickle.dumps(geometry)).hexdigest()
        except Exception:  # noqa: BLE001 - an unpicklable geometry is simply not shared
            return None
        return (geometry_digest, shift.cache_key, run_seed, benchmark, str(getattr(dataset, "root", "")))


#: the process's shared shifted pixels (see :class:`ShiftedPixels`)
SHIFTED_PIXELS = ShiftedPixels()


class PixelDataset(torch.utils.data.Dataset):
    """Items ``(position, pixels | None, failure reason | None, note)`` for the requested samples.

    With ``memo`` (a table of :class:`ShiftedPixels`; in-process loading only), shifted pixels are looked up by
    dataset index before decoding and stored after shifting.
    """

    def __init__(
        self,
        dataset: Dataset,
        indices: Sequence[int],
        geometry: Any,
        shift: Shift | None = None,
        run_seed: int = 0,
        class_names: Sequence[str] = (),
        shift_params: Sequence[dict] | None = None,
        memo: dict[int, tuple[torch.Tensor, str]] | None = None,
    ) -> None:
        self.dataset = dataset
        self.memo = memo
        self.indices = list(indices)
        self.geometry = geometry
        self.shift = shift if shift is not None and shift.kind == "pixel" else None
        self.shift_name = shift.canonical if shift is not None else ""
        self.run_seed = run_seed
        self.class_names = tuple(class_names)
        self.shift_params = shift_params

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[int, torch.Tensor | None, str | None, str]:
        i = self.indices[position]
        if self.memo is not None and i in self.memo:
            pixels, note = self.memo[i]
            return position, pixels, None, note
        try:
            image, note = self.dataset.load(i)
        except BadImageError as err:
            return position, None, err.reason, str(err)
        pixels = self.geometry(image)
        if self.shift is not None:
            sid = self.dataset.sample_ids[i]
            ctx = ShiftContext(
                sample_id=sid,
                seed=per_image_seed(self.run_seed, self.shift_name, sid),
                target=int(self.dataset.targets[i]),
                class_names=self.class_names,
                params=self.shift_params[i] if self.shift_params is not None else {},
            )
            pixels = self.shift.apply(pixels, ctx).clamp_(0.0, 1.0)
            if self.memo is not None:
                self.memo[i] = (pixels, note)
        return position, pixels, None, note


def collate(items: list[tuple[int, torch.Tensor | None, str | None, str]]) -> Batch:
    """Stack the good samples; keep failures and conversion notes aside."""
    good = [(p, x) for p, x, reason, _ in items if reason is None]
    failures = [(p, reason, msg) for p, x, reason, msg in items if reason is not None]
    notes = [(p, note) for p, x, reason, note in items if reason is None and note]
    pixels = torch.stack([x for _, x in good]) if good else None
    return Batch([p for p, _ in good], pixels, failures, notes)


def default_workers() -> int:
    """Loader workers: half the cores (at least 1, at most 8), leaving the rest to the encoder."""
    return max(1, min(8, (os.cpu_count() or 2) // 2))


def make_loader(
    pixels: PixelDataset, batch_size: int, workers: int, pin_memory: bool = False
) -> torch.utils.data.DataLoader:
    """A DataLoader over ``pixels`` keeping request order."""
    return torch.utils.data.DataLoader(
        pixels,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
    )
