"""Fixtures for integration tests: a tiny local HF CLIP and ImageNet-family layouts of the shared photos."""

from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`zeroshift demo --quick` as a user runs it first: the installed command, a fresh cache, no network.

    Returns the output folder and the finished process (shared by the demo and report-in-browser tests).
    """
    exe = Path(sys.executable).with_name("zeroshift")
    assert exe.is_file(), f"the zeroshift command is not installed next to {sys.executable}"
    home = tmp_path_factory.mktemp("demo-user")
    env = {
        **os.environ,
        "ZEROSHIFT_CACHE": str(home / "fresh-cache"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        # any attempt to reach the network fails at once
        **{k: "http://127.0.0.1:9" for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
        "NO_PROXY": "",
        "no_proxy": "",
    }
    env.pop("ZEROSHIFT_STORE", None)
    out = home / "demo-out"
    proc = subprocess.run(
        [str(exe), "demo", "--quick", "--out", str(out), "--no-progress"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc
