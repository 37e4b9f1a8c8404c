"""open_clip backend: ``open_clip:ARCH@TAG`` (hub weights), ``open_clip:ARCH@/path/file`` (local weights, always
offline) and ``random:open_clip/ARCH?seed=N`` (seeded random weights).

Weights load through open_clip's own loader with ``weights_only=True``; a checkpoint that does not fit the
architecture fails with one line instead of silently loading half the weights. Geometry and normalisation
come from the transform open_clip builds for the weights, split before ``Normalize``.

Example:
    >>> from zeroshift.specs import ModelSpec
    >>> OpenCLIPModel.identity(ModelSpec.parse("open_clip:ViT-B-32@openai"))["tag"]
    'openai'

"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from zeroshift.digest import file_digest
from zeroshift.errors import ModelLoadError
from zeroshift.models.base import Preprocess, ZeroShotModel, describe_transform, library_version, split_normalize
from zeroshift.models.metadata import build_info
from zeroshift.registry import suggest
from zeroshift.specs import ModelSpec


@contextlib.contextmanager
def quiet_root_logger(level: int = logging.ERROR) -> Iterator[None]:
    """Silence root-logger messages below ``level`` for the duration of the block."""
    root = logging.getLogger()
    old = root.level
    root.setLevel(max(old, level))
    try:
        yield
    finally:
        root.setLevel(old)


def random_seed(spec: ModelSpec) -> int | None:
    """The ``seed`` option of a ``random:`` spec (None for real weights)."""
    seed = spec.option_dict.get("seed")
    if seed is None:
        return None
    try:
        return int(seed)
    except ValueError:
        raise ModelLoadError(f"{spec}: seed must be an integer, got {seed!r}") from None


class OpenCLIPModel(ZeroShotModel):
    """An open_clip CLIP/SigLIP/CoCa model behind the common protocol."""

    backend = "open_clip"

    def __init__(self, spec: ModelSpec, module: Any, transform: Any, tokenizer: Any, key: str | None) -> None:
        self.spec = spec
        self.module = module.eval()
        self.tokenizer = tokenizer
        geometry, mean, std = split_normalize(transform)
        self.preprocess = Preprocess(geometry, mean, std, describe_transform(geometry))
        self.info = build_info(spec.name, "open_clip", key, self.count_params())

    @classmethod
    def identity(cls, spec: ModelSpec) -> dict[str, Any]:  # noqa: D102
        ident: dict[str, Any] = {"backend": "open_clip", "arch": spec.name}
        seed = random_seed(spec)
        if seed is not None:
            ident.update(seed=seed, open_clip=library_version("open_clip_torch"), torch=library_version("torch"))
        elif spec.ref is not None and spec.ref_is_path:
            if not os.path.isfile(spec.ref):
                raise ModelLoadError(f"{spec}: no weights file at {spec.ref}")
            ident["weights_sha256"] = file_digest(spec.ref)
        else:
            ident["tag"] = spec.ref
        return ident

    @classmethod
    def load(cls, spec: ModelSpec) -> OpenCLIPModel:  # noqa: D102
        import open_clip

        arch = spec.name
        if arch not in open_clip.list_models():
            raise ModelLoadError(f"unknown open_clip architecture {arch!r}" + suggest(arch, open_clip.list_models()))
        seed = random_seed(spec)
        pretrained: str | None
        if seed is not None:
            torch.manual_seed(seed)
            pretrained = None
        elif spec.ref is None:
            raise ModelLoadError(
                f"{spec}: give a pretrained tag or a weights path (open_clip:{arch}@TAG or @/path/to/weights); "
                f"for random weights use random:open_clip/{arch}?seed=0"
            )
        elif spec.ref_is_path:
            if not os.path.isfile(spec.ref):
                raise ModelLoadError(f"{spec}: no weights file at {spec.ref}")
            pretrained = spec.ref
        else:
            tags = [t for a, t in open_clip.list_pretrained() if a == arch]
            if spec.ref not in tags:
                hint = suggest(spec.ref, tags) or (f"; known tags: {', '.join(tags)}" if tags else "; it has no tags")
                raise ModelLoadError(f"open_clip {arch} has no pretrained tag {spec.ref!r}{hint}")
            pretrained = spec.ref
        try:
            with quiet_root_logger():  # open_clip logs a warning on every random init
                module, _, transform = open_clip.create_model_and_transforms(
                    arch, pretrained=pretrained, weights_only=True
                )
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise ModelLoadError(f"{spec}: the weights do not fit {arch}: {first}") from None
        except Exception as err:  # hub errors come in many types
            if pretrained and not spec.ref_is_path:
                raise ModelLoadError(
                    f"{spec}: could not fetch pretrained weights {pretrained!r} ({type(err).__name__}); "
                    "without network, download the checkpoint and pass its path: "
                    f"open_clip:{arch}@/path/to/open_clip_model.safetensors"
                ) from None
            raise ModelLoadError(f"{spec}: could not load {pretrained}: {str(err).splitlines()[0]}") from None
        key = None if seed is not None or pretrained is None or spec.ref_is_path else f"{arch}@{pretrained}"
        model = cls(spec, module, transform, open_clip.get_tokenizer(arch), key)
        if seed is not None:
            model.info.training_data, model.info.source = "none (random init)", "random"
        return model

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.module.encode_image(pixels, normalize=True)

    @property
    def supports_local(self) -> bool:
        """Plain open_clip ViTs (token pooling, a projection, standard attention blocks) expose patch tokens."""
        from open_clip.transformer import ResidualAttentionBlock, VisionTransformer

        visual = getattr(self.module, "visual", None)
        if not isinstance(visual, VisionTransformer) or visual.attn_pool is not None or visual.proj is None:
            return False
        last = visual.transformer.resblocks[-1]
        return (
            isinstance(last, ResidualAttentionBlock)
            and not hasattr(last, "ln_1_kv")
            and getattr(last.attn, "_qkv_same_embed_dim", False)
            and visual.pool_type in ("tok", "avg")
        )

    def encode_image_local(self, pixels: torch.Tensor) -> torch.Tensor | None:  # noqa: D102
        return self.encode_image_and_local(pixels)[1]

    def encode_image_and_local(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Global embedding and patch embeddings in one pass through the vision tower.

        Patch tokens are projected into the joint space as in GL-MCM (Miyai et al. 2023, after MaskCLIP): the last
        block's attention is replaced by its value path for every token (``out_proj(v_proj(ln_1(x)))``, residual,
        then the MLP), followed by ``ln_post`` and ``proj``; the class token goes through the ordinary last block,
        so the global embedding equals :meth:`encode_image`.
        """
        if not self.supports_local:
            return self.encode_image(pixels), None
        import torch.nn.functional as F

        visual = self.module.visual
        blocks = visual.transformer.resblocks
        x = visual._embeds(pixels)
        batch_first = visual.transformer.batch_first
        if not batch_first:
            x = x.transpose(0, 1)
        for block in blocks[:-1]:
            x = block(x)
        last = blocks[-1]
        out = last(x)
        width = x.shape[-1]
        attn = last.attn
        bias = attn.in_proj_bias[2 * width :] if attn.in_proj_bias is not None else None
        v = attn.out_proj(F.linear(last.ln_1(x), attn.in_proj_weight[2 * width :], bias))
        v = x + last.ls_1(v)
        v = v + last.ls_2(last.mlp(last.ln_2(v)))
        if not batch_first:
            out, v = out.transpose(0, 1), v.transpose(0, 1)
        pooled, _ = visual._pool(out)
        pooled = pooled @ visual.proj
        patches = visual.ln_post(v[:, 1:]) @ visual.proj
        return F.normalize(pooled, dim=-1), F.normalize(patches, dim=-1)

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:  # noqa: D102
        tokens = self.tokenizer(list(texts)).to(self.device)
        return self.module.encode_text(tokens, normalize=True)
