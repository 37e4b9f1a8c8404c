"""Tiny open_clip architectures for fast tests: real open_clip code, random weights, a few thousand parameters.

``register()`` adds the JSON configs of ``tests/data/open_clip`` to open_clip's model registry (in this process),
so ``random:open_clip/ZS-Test-Tiny-ViT?seed=0`` loads through the ordinary adapter.
"""

from __future__ import annotations

from pathlib import Path

CONFIGS = Path(__file__).resolve().parent / "data" / "open_clip"
#: a plain ViT (patch tokens: GL-MCM works) and a ModifiedResNet (attention pooling: no patch tokens)
TINY_VIT = "random:open_clip/ZS-Test-Tiny-ViT?seed=0"
TINY_RN = "random:open_clip/ZS-Test-Tiny-RN?seed=0"
#: a timm ConvNeXt trunk (timm's ``test_convnext``) with a linear projection, as open_clip's convnext_* models
TINY_CONVNEXT = "random:open_clip/ZS-Test-Tiny-ConvNeXt?seed=0"


def register() -> None:
    """Make the tiny architectures known to open_clip."""
    import open_clip

    if "ZS-Test-Tiny-ConvNeXt" not in open_clip.list_models():
        open_clip.add_model_config(CONFIGS)
