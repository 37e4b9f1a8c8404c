"""``zoo:NAME``: the project's own small models, trained on FactorWorld and shipped inside the package.

``zoo:NAME`` loads a shipped model (``zeroshift ls models`` lists them); ``zoo:NAME@/path/NAME.safetensors``
loads weights written by ``zeroshift zoo train NAME`` (the file carries its own config). CLIP-style models are
``zero_shot`` (image and text towers, a learned temperature and, for SigLIP, a bias); supervised classifiers
are ``fixed_head`` models over the ``factorworld`` universe of 16 classes. The metadata of the six factors
(architecture family, parameters, training distribution and size, loss, fine-tuned) comes from the weights'
manifest and becomes the model's :class:`~zeroshift.models.base.ModelInfo`.

Example:
    >>> "clip-cnn-diverse" in ZooModel.names()
    True
    >>> from zeroshift.specs import ModelSpec
    >>> ZooModel.identity(ModelSpec.parse("zoo:clip-cnn-diverse"))["name"]
    'clip-cnn-diverse'

"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from zeroshift.digest import file_digest
from zeroshift.errors import ModelLoadError
from zeroshift.models.base import ModelInfo, Preprocess, ZeroShotModel
from zeroshift.models.dense import dense_record, resolve_layer
from zeroshift.registry import suggest
from zeroshift.specs import ModelSpec

UNIVERSE = "factorworld"


@cache
def _manifest() -> dict[str, Any]:
    from zeroshift.zoo.train import shipped_dir

    path = shipped_dir() / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {"models": {}}


class ZooGeometry:
    """Resize the shorter side to ``size`` (bicubic) and centre-crop, unless the image already is ``size`` square;
    then a float tensor in [0, 1]. Picklable, for loader workers.
    """

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, image: Image.Image) -> torch.Tensor:  # noqa: D102
        from torchvision.transforms import functional as TF

        if image.size != (self.size, self.size):
            image = TF.center_crop(TF.resize(image, self.size, TF.InterpolationMode.BICUBIC), [self.size, self.size])
        return TF.to_tensor(image)


class ZooModel(ZeroShotModel):
    """A zoo model behind the common protocol (see the module docstring)."""

    backend = "zoo"

    @classmethod
    def names(cls) -> list[str]:
        """Names of the models shipped with zeroshift."""
        return list(_manifest()["models"])

    @classmethod
    def _weights(cls, spec: ModelSpec) -> tuple[Path, str | None]:
        """The weights file of a spec and, for shipped models, the sha256 the manifest expects."""
        if spec.ref is not None:
            path = Path(spec.ref)
            if not path.is_file():
                raise ModelLoadError(f"{spec}: no weights file at {path} (write one with `zeroshift zoo train`)")
            return path, None
        entry = _manifest()["models"].get(spec.name)
        if entry is None:
            raise ModelLoadError(
                f"unknown zoo model {spec.name!r}"
                + (suggest(spec.name, cls.names()) or f"; shipped: {', '.join(cls.names())}")
            )
        from zeroshift.zoo.train import shipped_dir

        return shipped_dir() / entry["file"], entry["sha256"]

    @classmethod
    def identity(cls, spec: ModelSpec) -> dict[str, Any]:  # noqa: D102
        path, expected = cls._weights(spec)
        return {"backend": "zoo", "name": spec.name, "weights_sha256": expected or file_digest(path)}

    @classmethod
    def load(cls, spec: ModelSpec) -> ZooModel:  # noqa: D102
        from zeroshift.zoo.nets import build_model
        from zeroshift.zoo.train import read_weights

        path, expected = cls._weights(spec)
        if expected is not None and hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            raise ModelLoadError(f"{spec}: {path} does not match the sha256 in the zoo manifest (reinstall zeroshift)")
        try:
            state, config = read_weights(path)
        except Exception as err:
            raise ModelLoadError(f"{spec}: cannot read {path} as zoo weights ({err})") from None
        if spec.ref is not None and config.get("name") != spec.name:
            raise ModelLoadError(f"{spec}: {path} holds zoo model {config.get('name')!r}, not {spec.name!r}")
        from zeroshift.data.factorworld.world import world

        if config["classes"] != list(world().classes):
            raise ModelLoadError(f"{spec}: trained on other FactorWorld classes than this zeroshift's; retrain it")
        module = build_model(config)
        try:
            module.load_state_dict(state)
        except RuntimeError as err:
            raise ModelLoadError(
                f"{spec}: the weights do not fit the stored config: {str(err).splitlines()[0]}"
            ) from None
        return cls(spec, module.eval(), config)

    def __init__(self, spec: ModelSpec, module: torch.nn.Module, config: dict[str, Any]) -> None:
        from zeroshift.zoo.tokenizer import WordTokenizer

        self.spec = spec
        self.module = module
        self.config = config
        self.kind = "fixed_head" if config["kind"] == "supervised" else "zero_shot"  # type: ignore[misc]
        self.universe = UNIVERSE if self.kind == "fixed_head" else None
        size = int(config["image_size"])
        self.preprocess = Preprocess(
            ZooGeometry(size),
            tuple(config["mean"]),
            tuple(config["std"]),
            {"resize": size, "interpolation": "bicubic", "crop": [size, size], "steps": ["Resize", "CenterCrop"],
             "skip_if_size_matches": True},
        )  # fmt: skip
        info = dict(config["info"])
        info["params"] = self.count_params()
        self.info = ModelInfo(**info)
        self.tokenizer = WordTokenizer(config["vocab"], config["text"]["max_len"]) if self.kind == "zero_shot" else None

    @property
    def logit_scale(self) -> float:  # noqa: D102
        return float(self.module.scale.detach()) if self.kind == "zero_shot" else 1.0

    @property
    def logit_bias(self) -> float:  # noqa: D102
        return float(self.module.bias.detach()) if self.kind == "zero_shot" else 0.0

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if self.kind == "zero_shot":
            return self.module.encode_image(pixels)
        return self.module(pixels)

    def _dense_layers(self) -> tuple[int, str, str]:
        """(number of stages or blocks, which, what is taken) of the image encoder."""
        if self.config["image"]["arch"] == "vit":
            return int(self.config["image"]["depth"]), "blocks", "zoo ViT block output, patch tokens"
        return 3, "stages", "zoo CNN stage output (1/4, 1/8, 1/16 of the input), before pooling"

    @property
    def dense_input_size(self) -> int:  # noqa: D102
        return int(self.config["image_size"])

    def dense_record(self, layer: int = -1) -> dict[str, Any]:  # noqa: D102
        n, what, source = self._dense_layers()
        return dense_record(self, layer, source, n, what)

    def encode_dense(self, pixels: torch.Tensor, layer: int = -1) -> torch.Tensor:
        """The CNN's feature map or the ViT's patch tokens (see :mod:`zeroshift.models.dense`)."""
        n, what, _ = self._dense_layers()
        resolve_layer(layer, n, what)
        return self.module.image.dense(pixels, layer)

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:  # noqa: D102
        if self.tokenizer is None:
            return super().encode_text(texts)
        return self.module.encode_text(self.tokenizer.encode(list(texts)).to(self.device))
