"""Pairing a shifted condition with the clean one, sample by sample, for paired differences.

Attack and typographic metrics compare each image with itself: the accuracy drop is the mean over samples of
``clean correct - shifted correct``, so its bootstrap interval reflects the paired design.

Example:
    >>> import numpy as np
    >>> pair_rows(["a", "b", "c"], ["c", "a"])
    (array([0, 2]), array([1, 0]))

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zeroshift.core.outputs import Outputs


def pair_rows(shifted_ids: list[str], clean_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the samples present in both conditions: (rows in shifted, rows in clean)."""
    position = {sid: i for i, sid in enumerate(clean_ids)}
    pairs = [(i, position[sid]) for i, sid in enumerate(shifted_ids) if sid in position]
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    a, b = zip(*pairs, strict=True)
    return np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)


@dataclass
class Paired:
    """Per-sample predictions of a shifted condition and of the same samples clean.

    Attributes:
        rows: rows of the shifted outputs that have a clean counterpart (and a label).
        labels: their labels.
        pred: the shifted prediction (argmax) of each.
        clean_pred: the clean prediction of each.

    """

    rows: np.ndarray
    labels: np.ndarray
    pred: np.ndarray
    clean_pred: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        """Correct under the shift."""
        return self.pred == self.labels

    @property
    def clean_correct(self) -> np.ndarray:
        """Correct on the clean image."""
        return self.clean_pred == self.labels


def paired_with_clean(outputs: Outputs, inputs: Any) -> Paired:
    """Pair ``outputs`` (a shifted run) with the clean outputs of the same model, benchmark and label space.

    The clean outputs are the group's declared ``clean`` relation (through the caches: encoded once if they are not
    there yet).

    Example:
        >>> paired = paired_with_clean(outputs, inputs)  # doctest: +SKIP
        >>> float((paired.clean_correct & ~paired.correct).mean())  # doctest: +SKIP
        0.25

    """
    clean = inputs.related("clean").outputs
    rows, clean_rows = pair_rows(outputs.sample_ids, clean.sample_ids)
    labelled = outputs.labels[rows] >= 0
    rows, clean_rows = rows[labelled], clean_rows[labelled]
    pred = outputs.logits.argmax(dim=1).cpu().numpy()[rows] if len(rows) else np.zeros(0, dtype=np.int64)
    clean_pred = clean.logits.argmax(dim=1).cpu().numpy()[clean_rows] if len(rows) else np.zeros(0, dtype=np.int64)
    return Paired(rows, outputs.labels[rows], pred, clean_pred)
