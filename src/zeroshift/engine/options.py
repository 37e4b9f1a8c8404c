"""How runs execute (never what they measure: that is the RunSpec): options, device and precision.

Example:
    >>> opts = RunOptions(batch_size=32, limit=10)
    >>> opts.batch_size, opts.on_bad_image
    (32, 'skip')

"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP


@dataclass
class RunOptions:
    """How runs execute (never what they measure: that is the RunSpec).

    Attributes:
        data_root: folder holding the datasets in their published layouts.
        store: results store path or SQLAlchemy URL; None keeps records in memory only.
        cache_dir: artefact cache (default ``$ZEROSHIFT_CACHE`` or the platform cache dir).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``auto`` (autocast on GPU, fp32 on CPU), ``fp32``, ``bf16`` or ``fp16``.
        attack_precision: the precision attacks are optimised and scored in (``fp32``; ``bf16``/``fp16`` autocast on
            request): an attack run is scored with the function that was attacked.
        batch_size: images per forward pass.
        workers: loader worker processes (None: half the cores).
        limit: evaluate a seeded random subset of this many samples.
        save_samples: store per-sample outputs with the record.
        on_bad_image: ``skip`` (count and go on) or ``fail`` (stop at the first bad image).
        bootstrap: bootstrap resamples for confidence intervals (0 disables them).
        model_meta: user-supplied model metadata (``training_data=...``).
        progress: draw progress bars.
        chunk_rows: features written per cache chunk (a killed run loses at most one chunk).
        chunk_seconds: or after this many seconds, whichever comes first.
        skip_existing: return the stored record of a condition already evaluated with the same weights, data
            and protocol instead of evaluating it again (a suite killed midway resumes where it stopped).

    """

    data_root: str | Path | None = None
    store: str | None = None
    cache_dir: str | Path | None = None
    device: str = "auto"
    precision: str = "auto"
    attack_precision: str = "fp32"
    batch_size: int = 64
    workers: int | None = None
    limit: int | None = None
    save_samples: bool = False
    on_bad_image: str = "skip"
    bootstrap: int = DEFAULT_BOOTSTRAP["n_boot"]
    model_meta: dict[str, str] = field(default_factory=dict)
    progress: bool = False
    chunk_rows: int = 1024
    chunk_seconds: float = 30.0
    skip_existing: bool = False

    def __post_init__(self) -> None:
        if self.on_bad_image not in ("skip", "fail"):
            raise UsageError(f"--on-bad-image must be 'skip' or 'fail', got {self.on_bad_image!r}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.workers is not None and self.workers < 0:
            raise UsageError(f"--workers must be 0 or more, got {self.workers}")
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"--limit must be at least 1, got {self.limit}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise UsageError(f"--precision must be auto, fp32, bf16 or fp16, got {self.precision!r}")
        if self.attack_precision not in ("fp32", "bf16", "fp16"):
            raise UsageError(f"--attack-precision must be fp32, bf16 or fp16, got {self.attack_precision!r}")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; anything else is checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"--device: unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return device


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for a precision setting (None: run in fp32)."""
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[effective_precision(precision, device.type)]


def autocast(precision: str, device: torch.device) -> torch.autocast:
    """The autocast context images are encoded under: the precision's dtype on the device, disabled for fp32.

    Every forward pass of an encoding pass runs under it (the shared encoder forward, attacks, and the kinds that
    run their own forward, such as dense features), so the precision a record states is the one that ran.

    Example:
        >>> with autocast("bf16", torch.device("cpu")):
        ...     torch.get_autocast_dtype("cpu"), torch.is_autocast_enabled("cpu")
        (torch.bfloat16, True)
        >>> with autocast("auto", torch.device("cpu")):
        ...     torch.is_autocast_enabled("cpu")
        False

    """
    dtype = autocast_dtype(precision, device)
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def effective_precision(precision: str, device_type: str) -> str:
    """What a precision setting means on a device: ``auto`` is bf16 on GPU and fp32 on CPU.

    Example:
        >>> effective_precision("auto", "cpu"), effective_precision("auto", "cuda"), effective_precision("bf16", "cpu")
        ('fp32', 'bf16', 'bf16')

    """
    if precision == "auto":
        return "bf16" if device_type == "cuda" else "fp32"
    return precision
