"""timm backend: ImageNet classifiers as fixed-head models, the comparison population of the literature.

``timm:NAME`` loads hub weights (``resnet50.a1_in1k``), ``timm:NAME@/path/weights.safetensors`` loads local
weights offline, ``random:timm/NAME?seed=N`` builds random weights. The model's 1000 logits are mapped through
the same label spaces as a zero-shot head over ImageNet classes.

Example:
    >>> from zeroshift.specs import ModelSpec
    >>> TimmModel.identity(ModelSpec.parse("timm:resnet50.a1_in1k"))["name"]
    'resnet50.a1_in1k'

"""

from __future__ import annotations

import os
from typing import Any

import torch

from zeroshift.digest import file_digest
from zeroshift.errors import ModelLoadError
from zeroshift.models.base import Preprocess, ZeroShotModel, describe_transform, library_version, split_normalize
from zeroshift.models.metadata import build_info
from zeroshift.models.open_clip import random_seed
from zeroshift.registry import suggest
from zeroshift.specs import ModelSpec


class TimmModel(ZeroShotModel):
    """A timm ImageNet-1k classifier as a fixed-head model."""

    kind = "fixed_head"
    backend = "timm"
    universe = "imagenet1k"

    def __init__(self, spec: ModelSpec, module: Any) -> None:
        import timm.data

        self.spec = spec
        self.module = module.eval()
        config = timm.data.resolve_data_config({}, model=module)
        geometry, mean, std = split_normalize(timm.data.create_transform(**config))
        self.preprocess = Preprocess(
            geometry, mean, std, {**describe_transform(geometry), "crop_pct": config.get("crop_pct")}
        )
        arch = spec.name.split(".")[0]
        key = None if random_seed(spec) is not None else spec.name
        self.info = build_info(arch, "timm", key, self.count_params())

    @classmethod
    def identity(cls, spec: ModelSpec) -> dict[str, Any]:  # noqa: D102
        ident: dict[str, Any] = {"backend": "timm", "name": spec.name}
        seed = random_seed(spec)
        if seed is not None:
            ident.update(seed=seed, timm=library_version("timm"), torch=library_version("torch"))
        elif spec.ref is not None:
            if not os.path.isfile(spec.ref):
                raise ModelLoadError(f"{spec}: no weights file at {spec.ref}")
            ident["weights_sha256"] = file_digest(spec.ref)
        return ident

    @classmethod
    def load(cls, spec: ModelSpec) -> TimmModel:  # noqa: D102
        import timm

        arch = spec.name.split(".")[0]
        if not timm.is_model(arch):
            raise ModelLoadError(f"unknown timm model {spec.name!r}" + suggest(arch, timm.list_models()))
        seed = random_seed(spec)
        try:
            if seed is not None:
                torch.manual_seed(seed)
                module = timm.create_model(spec.name, pretrained=False)
            elif spec.ref is not None:
                if not os.path.isfile(spec.ref):
                    raise ModelLoadError(f"{spec}: no weights file at {spec.ref}")
                module = timm.create_model(spec.name, pretrained=True, pretrained_cfg_overlay={"file": spec.ref})
            else:
                module = timm.create_model(spec.name, pretrained=True)
        except ModelLoadError:
            raise
        except RuntimeError as err:
            raise ModelLoadError(f"{spec}: the weights do not fit {spec.name}: {str(err).splitlines()[0]}") from None
        except Exception as err:  # hub errors come in many types
            raise ModelLoadError(
                f"{spec}: could not fetch pretrained weights ({type(err).__name__}); without network, download them "
                f"and pass their path: timm:{spec.name}@/path/to/model.safetensors"
            ) from None
        if getattr(module, "num_classes", 1000) != 1000:
            raise ModelLoadError(
                f"{spec}: has {module.num_classes} outputs; zeroshift maps timm models over 1000 ImageNet classes"
            )
        model = cls(spec, module)
        if seed is not None:
            model.info.training_data, model.info.source = "none (random init)", "random"
        return model

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.module(pixels)
