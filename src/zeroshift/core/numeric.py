"""The one ``finite`` helper: scalars for JSON and reports, rows of logits for metrics.

Example:
    >>> finite(float("nan")) is None, finite(0.5)
    (True, 0.5)

"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from zeroshift.core.lazy import torch


def finite(x: float | None) -> float | None:
    """``x`` as a float, or None when it is missing or not finite (NaN, inf)."""
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def finite_rows(logits: Any) -> np.ndarray:
    """Rows whose softmax is defined: no NaN, no +inf, at least one finite value (-inf means probability 0).

    Example:
        >>> import torch
        >>> finite_rows(torch.tensor([[1.0, 2.0], [float("nan"), 0.0], [float("-inf"), 0.0], [float("inf"), 0.0]]))
        array([ True, False,  True, False])

    """
    z = logits.detach().float()
    if z.ndim != 2 or z.shape[0] == 0:
        return np.zeros(z.shape[0] if z.ndim else 0, dtype=bool)
    ok = ~(torch.isnan(z).any(dim=1) | torch.isposinf(z).any(dim=1)) & torch.isfinite(z).any(dim=1)
    return ok.cpu().numpy()
