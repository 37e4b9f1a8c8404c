"""ImageNet-C corruption error, mCE and relative mCE (Hendrycks & Dietterich 2019), normalised by AlexNet.

For a model ``f`` with top-1 error ``E_f(c, s)`` on corruption ``c`` at severity ``s`` and clean error ``E_f``:

* corruption error ``CE_c = sum_s E_f(c, s) / sum_s E_AlexNet(c, s)``;
* relative corruption error ``rCE_c = sum_s (E_f(c, s) - E_f) / sum_s (E_AlexNet(c, s) - E_AlexNet)``;
* ``mCE`` and ``relative mCE``: the means of ``CE_c`` and ``rCE_c`` over the 15 common corruptions.

AlexNet's published errors (all 19 corruptions x 5 severities, and its clean error 0.4348) ship in
``metrics/_info/alexnet_imagenet_c.csv`` with their sources. The 4 extra corruptions get a CE of their own but
are not part of mCE, as in the paper. Values are fractions (1.0 = AlexNet's robustness), never percent.

Example:
    >>> alex = alexnet_errors()
    >>> round(corruption_error({s: alex[("fog", s)] for s in range(1, 6)}, "fog"), 6)
    1.0
    >>> corruption_error({1: 0.5, 2: 0.5, 3: 0.5, 4: 0.5, 5: 0.5}, "fog") < 1
    True

"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

from zeroshift.data.imagenet import IMAGENET_C_CORRUPTIONS

#: the 15 corruptions of mCE and the 4 held-out ones
COMMON = IMAGENET_C_CORRUPTIONS[:15]
EXTRA = IMAGENET_C_CORRUPTIONS[15:]
SEVERITIES = (1, 2, 3, 4, 5)


@lru_cache(maxsize=1)
def _table() -> tuple[dict[tuple[str, int], float], float]:
    text = (resources.files("zeroshift.metrics") / "_info" / "alexnet_imagenet_c.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if line and not line.startswith("#"))
    errors: dict[tuple[str, int], float] = {}
    clean = float("nan")
    for row in rows:
        if row["set"] == "clean":
            clean = float(row["alexnet_top1_error"])
        else:
            errors[(row["corruption"], int(row["severity"]))] = float(row["alexnet_top1_error"])
    return errors, clean


def alexnet_errors() -> dict[tuple[str, int], float]:
    """AlexNet's top-1 error per ``(corruption, severity)`` (all 19 corruptions).

    Example:
        >>> alexnet_errors()[("gaussian_noise", 1)]
        0.69528

    """
    return dict(_table()[0])


def alexnet_clean_error() -> float:
    """AlexNet's clean ImageNet top-1 error (0.4348).

    Example:
        >>> alexnet_clean_error()
        0.4348

    """
    return _table()[1]


def _check(errors: Mapping[int, float], corruption: str) -> None:
    if corruption not in COMMON + EXTRA:
        raise ValueError(f"unknown corruption {corruption!r}")
    missing = [s for s in SEVERITIES if s not in errors]
    if missing:
        raise ValueError(f"{corruption}: errors at every severity 1-5 are needed; missing {missing}")


def corruption_error(errors: Mapping[int, float], corruption: str) -> float:
    """``CE_c``: the model's errors at severities 1-5 summed, over AlexNet's summed errors.

    Example:
        >>> round(corruption_error({s: 1.0 for s in range(1, 6)}, "gaussian_noise"), 4)
        1.1281

    """
    _check(errors, corruption)
    alex = _table()[0]
    return sum(errors[s] for s in SEVERITIES) / sum(alex[(corruption, s)] for s in SEVERITIES)


def relative_corruption_error(errors: Mapping[int, float], clean_error: float, corruption: str) -> float:
    """``rCE_c``: the model's error increase over its clean error, over AlexNet's (summed over severities).

    Example:
        >>> alex = alexnet_errors()
        >>> rce = relative_corruption_error({s: alex[("snow", s)] for s in range(1, 6)}, alexnet_clean_error(), "snow")
        >>> round(rce, 6)
        1.0

    """
    _check(errors, corruption)
    alex, alex_clean = _table()
    model = sum(errors[s] - clean_error for s in SEVERITIES)
    return model / sum(alex[(corruption, s)] - alex_clean for s in SEVERITIES)


def mean_corruption_error(ce: Mapping[str, float]) -> float:
    """``mCE``: the mean CE over the 15 common corruptions (every one is needed).

    Example:
        >>> mean_corruption_error({c: 0.5 for c in COMMON})
        0.5

    """
    missing = [c for c in COMMON if c not in ce]
    if missing:
        raise ValueError(f"mCE needs all 15 common corruptions; missing {', '.join(missing)}")
    return sum(ce[c] for c in COMMON) / len(COMMON)


__all__ = [
    "COMMON",
    "EXTRA",
    "SEVERITIES",
    "alexnet_clean_error",
    "alexnet_errors",
    "corruption_error",
    "mean_corruption_error",
    "relative_corruption_error",
]
