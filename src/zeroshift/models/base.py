"""The one protocol every model backend implements, with its preprocessing split in two.

A model's preprocessing is split into **geometry** (decode -> resize -> crop -> float tensor in [0, 1]) and
**normalisation** (mean/std), so that corruptions, typographic text and adversarial perturbations act on
pixels between the two, exactly as DESIGN prescribes. Two kinds of model exist:

* ``zero_shot``: ``encode_image`` returns L2-normalised embeddings and ``encode_text`` builds class heads;
  logits are ``logit_scale * cos + logit_bias``.
* ``fixed_head``: an ordinary classifier (timm, the zoo's supervised models); ``encode_image`` returns its
  logits over a fixed class universe (``imagenet1k`` for timm), mapped through the same label spaces.

Example:
    >>> import torch
    >>> pre = Preprocess(geometry=None, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), config={})
    >>> pre.normalize(torch.ones(1, 3, 2, 2)).flatten().tolist()[:2]
    [1.0, 1.0]

"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch
from PIL import Image

from zeroshift.specs import ModelSpec


@dataclass
class Preprocess:
    """Geometry (PIL image -> [0,1] CHW float tensor) and normalisation, kept apart.

    Attributes:
        geometry: a picklable callable run in loader workers.
        mean: per-channel mean of the normalisation.
        std: per-channel std of the normalisation.
        config: what is recorded: image size, resize mode, interpolation, crop.

    """

    geometry: Callable[[Image.Image], torch.Tensor] | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    config: dict[str, Any]

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """Normalise a ``(B, 3, H, W)`` batch of [0,1] pixels (differentiable)."""
        mean = torch.as_tensor(self.mean, dtype=pixels.dtype, device=pixels.device).view(1, -1, 1, 1)
        std = torch.as_tensor(self.std, dtype=pixels.dtype, device=pixels.device).view(1, -1, 1, 1)
        return (pixels - mean) / std

    @property
    def record(self) -> dict[str, Any]:
        """The preprocessing as recorded in fingerprints and RunRecords."""
        return {**self.config, "mean": list(self.mean), "std": list(self.std)}


@dataclass
class ModelInfo:
    """Model metadata for the six-factor analyses.

    Attributes:
        architecture: the architecture name (``ViT-B-32``, ``resnet50``).
        family: the architecture family (``ViT``, ``ResNet``, ``ConvNeXt``, ``CNN``...).
        params: parameter count (counted on the loaded model).
        training_data: name of the training distribution (``LAION-2B``, ``ImageNet-1k``...).
        data_size: number of training samples (image-text pairs or labelled images).
        loss: ``contrastive`` (CLIP softmax), ``sigmoid`` (SigLIP) or ``supervised``.
        fine_tuned: whether the model was fine-tuned after pretraining.
        source: where the training metadata came from (``data file``, ``user``, ``zoo``, ``unknown``).

    """

    architecture: str
    family: str = "unknown"
    params: int | None = None
    training_data: str | None = None
    data_size: int | None = None
    loss: str | None = None
    fine_tuned: bool | None = None
    source: str = "unknown"
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (for records)."""
        return asdict(self)


class ZeroShotModel(ABC):
    """A loaded model behind the common protocol (see the module docstring).

    Backends subclass this and register their class under their scheme in
    :data:`zeroshift.models.adapters`. ``identity`` must be cheap: it feeds the cache fingerprint without loading
    weights, so a fully cached run never loads the model.
    """

    #: ``zero_shot`` or ``fixed_head``
    kind: ClassVar[str] = "zero_shot"
    #: the backend name recorded in results (``open_clip``, ``transformers``, ``timm``, ``zoo``)
    backend: ClassVar[str] = ""

    spec: ModelSpec
    preprocess: Preprocess
    info: ModelInfo
    module: torch.nn.Module
    #: the class universe of a fixed head (``imagenet1k`` for timm); None for zero-shot models
    universe: str | None = None

    @classmethod
    @abstractmethod
    def identity(cls, spec: ModelSpec) -> dict[str, Any]:
        """What identifies the weights and preprocessing of ``spec`` (cheap: no weights are loaded)."""

    @classmethod
    def differentiable(cls, spec: ModelSpec) -> bool:
        """Whether the model gives gradients w.r.t. its input pixels (adversarial attacks need them); cheap."""
        return True

    @classmethod
    @abstractmethod
    def load(cls, spec: ModelSpec) -> ZeroShotModel:
        """Load the model on the CPU, in eval mode; raise ModelLoadError with one clear line on failure."""

    @property
    def logit_scale(self) -> float:
        """Multiplier of cosine similarities: ``exp`` of the module's learned ``logit_scale`` (CLIP, SigLIP), else 1."""
        scale = getattr(self.module, "logit_scale", None)
        return float(scale.detach().exp()) if isinstance(scale, torch.Tensor) else 1.0

    @property
    def logit_bias(self) -> float:
        """Additive logit bias: the module's learned ``logit_bias`` (SigLIP), else 0 (CLIP)."""
        bias = getattr(self.module, "logit_bias", None)
        return float(bias.detach()) if isinstance(bias, torch.Tensor) else 0.0

    @abstractmethod
    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """Encode a normalised ``(B, 3, H, W)`` batch: unit embeddings (zero-shot) or logits (fixed head)."""

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Encode texts into unit embeddings (zero-shot models only)."""
        raise NotImplementedError(f"{self.spec} is a fixed-head classifier and has no text encoder")

    def encode_image_local(self, pixels: torch.Tensor) -> torch.Tensor | None:
        """Unit patch embeddings ``(B, P, D)`` in the joint space, where the model exposes them (GL-MCM)."""
        return None

    @property
    def supports_local(self) -> bool:
        """Whether :meth:`encode_image_local` gives patch embeddings for this model (not only for its class)."""
        return type(self).encode_image_local is not ZeroShotModel.encode_image_local

    def encode_image_and_local(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Global and patch embeddings of one batch; backends override it to share one forward pass."""
        return self.encode_image(pixels), self.encode_image_local(pixels)

    @property
    def device(self) -> torch.device:
        """The device the weights are on."""
        return next(self.module.parameters()).device

    def to(self, device: str | torch.device) -> ZeroShotModel:
        """Move the weights to ``device``."""
        self.module.to(device)
        return self

    def count_params(self) -> int:
        """Number of parameters of the whole model."""
        return sum(p.numel() for p in self.module.parameters())


def library_version(distribution: str) -> str:
    """The installed version of a library, read from its metadata without importing it (``+local`` dropped).

    Identities of seeded random models name the library versions; reading them this way keeps a fully cached run
    from importing a model backend.

    Example:
        >>> library_version("numpy").count(".") >= 1
        True

    """
    from importlib.metadata import version

    return version(distribution).split("+")[0]


def split_normalize(
    transform: Any,
) -> tuple[Callable[[Image.Image], torch.Tensor], tuple[float, ...], tuple[float, ...]]:
    """Split a torchvision ``Compose`` ending in ``Normalize`` into (geometry, mean, std).

    Example:
        >>> from torchvision import transforms as T
        >>> geo, mean, std = split_normalize(T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.25,))]))
        >>> mean, std
        ((0.5,), (0.25,))

    """
    from torchvision import transforms as T

    steps = list(transform.transforms)
    norm = steps[-1]
    if not isinstance(norm, T.Normalize):
        raise ValueError(f"expected the transform to end with Normalize, got {type(norm).__name__}")
    return T.Compose(steps[:-1]), tuple(float(m) for m in norm.mean), tuple(float(s) for s in norm.std)


def describe_transform(geometry: Any) -> dict[str, Any]:
    """Record resize/crop/interpolation of a torchvision geometry transform."""
    from torchvision import transforms as T

    config: dict[str, Any] = {"steps": [type(t).__name__ for t in getattr(geometry, "transforms", [geometry])]}
    for t in getattr(geometry, "transforms", []):
        if isinstance(t, T.Resize):
            config["resize"] = t.size if isinstance(t.size, int) else list(t.size)
            config["interpolation"] = str(t.interpolation.value)
        elif isinstance(t, T.CenterCrop):
            config["crop"] = list(t.size)
    return config
