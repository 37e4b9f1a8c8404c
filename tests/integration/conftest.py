"""Fixtures for integration tests: a tiny local HF CLIP and ImageNet-family layouts of the shared photos."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import build_wnid_layout, make_tiny_hf_model, require_shared
from zeroshift.data.info import subset_wnids


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> str:
    """Spec of a tiny random CLIPModel saved to a local folder (loads offline through the real HF code)."""
    return "hf:" + str(make_tiny_hf_model(tmp_path_factory.mktemp("models") / "tiny-clip", "clip"))


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """A data root with ImageNet-R (200 classes) and ImageNet val (all 1000 classes) of the shared photos."""
    require_shared("imagenet-samples")
    root = tmp_path_factory.mktemp("data")
    build_wnid_layout(root / "imagenet-r", set(subset_wnids("imagenet_r")))
    build_wnid_layout(root / "imagenet" / "val")
    return root
