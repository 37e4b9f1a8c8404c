"""Model backends behind one protocol, keyed by spec scheme; :func:`resolve_model` gives a lazy handle.

Example:
    >>> {"hf", "lmm", "open_clip", "random", "timm", "zoo"} <= set(adapters.names())
    True
    >>> handle = resolve_model("random:open_clip/ViT-B-32?seed=0")
    >>> len(handle.fingerprint)
    24

"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zeroshift.models.base import ModelInfo, Preprocess, ZeroShotModel
from zeroshift.registry import Registry
from zeroshift.specs import ModelSpec, fingerprint

adapters: Registry[Any] = Registry("model scheme")
for _scheme, _target in {
    "open_clip": "zeroshift.models.open_clip:OpenCLIPModel",
    "hf": "zeroshift.models.hf:HFModel",
    "timm": "zeroshift.models.timm:TimmModel",
    "random": "zeroshift.models.seeded:RandomModel",
    "zoo": "zeroshift.models.zoo:ZooModel",
    "lmm": "zeroshift.models.lmm:LMMModel",
}.items():
    adapters.register_lazy(_scheme, _target)


@dataclass
class ModelHandle:
    """A model spec with its fingerprint, loaded only when something must be encoded.

    Attributes:
        spec: the parsed spec.
        identity: what identifies weights and preprocessing (from the adapter, without loading).
        fingerprint: hash of the identity; keys every cached artefact of this model.

    """

    spec: ModelSpec
    identity: dict[str, Any]
    fingerprint: str
    _model: ZeroShotModel | None = field(default=None, repr=False)

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory."""
        return self._model is not None

    def load(self) -> ZeroShotModel:
        """Load the model once (on the CPU) and return it."""
        if self._model is None:
            self._model = adapters.get(self.spec.scheme).load(self.spec)
        return self._model


def resolve_model(spec: str | ModelSpec) -> ModelHandle:
    """Parse a model spec and fingerprint it without loading weights."""
    parsed = ModelSpec.parse(spec)
    identity = adapters.get(parsed.scheme).identity(parsed)
    return ModelHandle(parsed, identity, fingerprint({"model": identity}))


__all__ = ["ModelHandle", "ModelInfo", "Preprocess", "ZeroShotModel", "adapters", "resolve_model"]
