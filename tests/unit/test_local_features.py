"""Patch embeddings in the joint space (GL-MCM) from open_clip ViTs, checked against an independent computation."""

from __future__ import annotations

import pytest
import torch

from tests import tiny_open_clip
from zeroshift.models import resolve_model


@pytest.fixture(scope="module")
def vit():
    tiny_open_clip.register()
    return resolve_model(tiny_open_clip.TINY_VIT).load()


def test_global_embedding_is_unchanged_and_patches_are_unit_vectors(vit) -> None:
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        alone = vit.encode_image(x)
        both, patches = vit.encode_image_and_local(x)
    assert vit.supports_local
    torch.testing.assert_close(both, alone, rtol=0, atol=1e-6)
    assert patches.shape == (3, 16, 64)  # 64 px / 16 px patches = 4 x 4 tokens, 64-d joint space
    torch.testing.assert_close(patches.norm(dim=-1), torch.ones(3, 16))
    torch.testing.assert_close(vit.encode_image_local(x), patches)


def test_patches_equal_the_last_block_with_self_attention_only(vit) -> None:
    """The value path is what the last block computes when every token may attend only to itself."""
    visual = vit.module.visual
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        tokens = visual._embeds(x)
        for block in visual.transformer.resblocks[:-1]:
            tokens = block(tokens)
        n = tokens.shape[1]
        only_self = torch.full((n, n), float("-inf")).fill_diagonal_(0.0)
        out = visual.transformer.resblocks[-1](tokens, attn_mask=only_self)
        expected = torch.nn.functional.normalize(visual.ln_post(out[:, 1:]) @ visual.proj, dim=-1)
        _, patches = vit.encode_image_and_local(x)
    torch.testing.assert_close(patches, expected, rtol=1e-5, atol=1e-5)


def test_models_without_patch_tokens_say_so() -> None:
    tiny_open_clip.register()
    rn = resolve_model(tiny_open_clip.TINY_RN).load()
    assert not rn.supports_local
    with torch.inference_mode():
        feats, patches = rn.encode_image_and_local(torch.rand(1, 3, 64, 64))
    assert patches is None and feats.shape == (1, 64)
