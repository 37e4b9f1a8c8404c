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
from zeroshift.models.base import Preprocess, ZeroShotModel, describe_transform, split_normalize
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
        import open_clip

        ident: dict[str, Any] = {"backend": "open_clip", "arch": spec.name}
        seed = random_seed(spec)
        if seed is not None:
            ident.update(seed=seed, open_clip=open_clip.__version__, torch=torch.__version__.split("+")[0])
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

    @property
    def logit_scale(self) -> float:  # noqa: D102
        return float(self.module.logit_scale.detach().exp())

    @property
    def logit_bias(self) -> float:  # noqa: D102
        bias = getattr(self.module, "logit_bias", None)
        return float(bias.detach()) if bias is not None else 0.0

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.module.encode_image(pixels, normalize=True)

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:  # noqa: D102
        tokens = self.tokenizer(list(texts)).to(self.device)
        return self.module.encode_text(tokens, normalize=True)
