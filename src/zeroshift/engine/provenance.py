"""Provenance of a run: versions, git hash and device, recorded in every RunRecord.

Example:
    >>> "torch" in versions()
    True

"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

PACKAGES = ("zeroshift", "torch", "torchvision", "numpy", "open-clip-torch", "transformers", "timm", "pillow")


@functools.cache
def versions() -> dict[str, str | None]:
    """Installed versions of zeroshift and the libraries that change numbers."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


@functools.cache
def git_hash() -> str | None:
    """The commit of the zeroshift source tree, where it is a git checkout (None for an installed wheel)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(here), "status", "--porcelain", "--", str(here)], capture_output=True, text=True, timeout=5
    ).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def device_name(device: torch.device) -> str:
    """A readable name of the device (GPU model or CPU)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(device: torch.device) -> dict[str, Any]:
    """Versions, git hash, platform and device."""
    return {"versions": versions(), "git": git_hash(), "platform": platform.platform(), "device": device_name(device)}
