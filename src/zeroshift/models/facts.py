"""What the engine and the metric groups need to know about a model without loading it: its facts.

Facts are read once from the loaded model and cached as JSON by the model's fingerprint (spec identity and weight
digest), so a run whose artefacts are all cached builds no model and imports no backend.

Example:
    >>> facts = ModelFacts.from_dict({"spec": "zoo:x", "identity": {}, "kind": "zero_shot", "backend": "zoo",
    ...     "universe": None, "logit_scale": 100.0, "logit_bias": 0.0, "info": {"architecture": "cnn"},
    ...     "preprocess": {}, "supports_local": False})
    >>> facts.has_text_head, facts.scale, facts.as_dict()["kind"]
    (True, 100.0, 'zero_shot')

"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: how each kind of model turns its encoder output into class scores: zero-shot models through a text head
#: (``logit_scale * cos + logit_bias``), fixed heads through their own logits over a class universe
SCORING = {
    "zero_shot": {"text_head": True, "formula": "logit_scale * cos + logit_bias"},
    "fixed_head": {"text_head": False, "formula": "classifier logits over the universe columns"},
}


@dataclass(frozen=True)
class ModelFacts:
    """The cached facts of a model (see the module docstring).

    Attributes:
        spec: the canonical model spec.
        identity: what identifies weights and preprocessing.
        kind: ``zero_shot`` or ``fixed_head`` (a key of :data:`SCORING`).
        backend: ``open_clip``, ``transformers``, ``timm``, ``zoo``...
        universe: the class universe of a fixed head (None for zero-shot models).
        logit_scale: multiplier of cosines (zero-shot models).
        logit_bias: added after scaling (SigLIP).
        info: the model metadata (ModelInfo as a dict).
        preprocess: geometry and normalisation, as recorded.
        supports_local: whether the model gives patch embeddings in the joint space (GL-MCM).
        embedding_width: the width of the joint embedding (zero-shot models) or of the logits (fixed heads).

    """

    spec: str
    identity: dict[str, Any]
    kind: str
    backend: str
    universe: str | None
    logit_scale: float
    logit_bias: float
    info: dict[str, Any]
    preprocess: dict[str, Any]
    supports_local: bool = False
    embedding_width: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelFacts:
        """Facts from their JSON form (unknown keys kept in ``extra``)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "extra"}
        extra = {k: v for k, v in data.items() if k not in cls.__dataclass_fields__}
        return cls(**known, extra={**data.get("extra", {}), **extra})

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)

    @property
    def has_text_head(self) -> bool:
        """Whether class scores come through a text head (prompts matter)."""
        return bool(SCORING[self.kind]["text_head"])

    @property
    def scale(self) -> float:
        """The logit scale applied to cosines (1 for fixed heads)."""
        return self.logit_scale if self.has_text_head else 1.0

    @property
    def bias(self) -> float:
        """The logit bias (0 for fixed heads)."""
        return self.logit_bias if self.has_text_head else 0.0

    @property
    def formula(self) -> str:
        """How class scores are computed, as recorded."""
        return str(SCORING[self.kind]["formula"])
