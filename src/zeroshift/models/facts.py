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

#: how each kind of model turns its output into class scores: zero-shot models through a text head
#: (``logit_scale * cos + logit_bias``), fixed heads through their own logits over a class universe, LMMs
#: (no image embedding, no text head) through their own answers. ``scores_from`` names the image artefact kind
#: whose rows are the class scores (``features`` unless said); ``encoder`` says whether the model has an image
#: encoder whose outputs other artefacts read (features, patch embeddings, text heads, attacks)
SCORING: dict[str, dict[str, Any]] = {
    "zero_shot": {"text_head": True, "formula": "logit_scale * cos + logit_bias"},
    "fixed_head": {"text_head": False, "formula": "classifier logits over the universe columns"},
    "lmm": {
        "text_head": False,
        "formula": "the model's own score of each class name (answers artefact: protocol and normalisation recorded)",
        "scores_from": "answers",
        "encoder": False,
    },
}


@dataclass(frozen=True)
class ModelFacts:
    """The cached facts of a model (see the module docstring).

    Attributes:
        spec: the canonical model spec.
        identity: what identifies weights and preprocessing.
        kind: ``zero_shot``, ``fixed_head`` or ``lmm`` (a key of :data:`SCORING`).
        backend: ``open_clip``, ``transformers``, ``timm``, ``zoo``...
        universe: the class universe of a fixed head (None for zero-shot models).
        logit_scale: multiplier of cosines (zero-shot models).
        logit_bias: added after scaling (SigLIP).
        info: the model metadata (ModelInfo as a dict).
        preprocess: geometry and normalisation, as recorded.
        supports_local: whether the model gives patch embeddings in the joint space (GL-MCM).
        embedding_width: the width of the joint embedding (zero-shot models) or of the logits (fixed heads).
        dense: what the model's dense features are (source, number of blocks or stages, input side; see
            :meth:`~zeroshift.models.base.ZeroShotModel.dense_facts`), None when it has none.

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
    dense: dict[str, Any] | None = None
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
    def scores_from(self) -> str:
        """The image artefact kind whose rows are the model's class scores (``features`` unless SCORING says).

        Example:
            >>> ModelFacts("lmm:x", {}, "lmm", "transformers", None, 1.0, 0.0, {}, {}).scores_from
            'answers'

        """
        return str(SCORING[self.kind].get("scores_from", "features"))

    @property
    def has_encoder(self) -> bool:
        """Whether the model has an image encoder other artefacts can read (False for LMMs)."""
        return bool(SCORING[self.kind].get("encoder", True))

    @property
    def companion(self) -> str | None:
        """The spec of the model this one is compared with by default (``info.extra.companion``: an LMM's CLIP).

        Example:
            >>> ModelFacts("x", {}, "lmm", "t", None, 1.0, 0.0, {"extra": {"companion": "hf:y"}}, {}).companion
            'hf:y'

        """
        return (self.info.get("extra") or {}).get("companion")

    @property
    def formula(self) -> str:
        """How class scores are computed, as recorded."""
        return str(SCORING[self.kind]["formula"])
