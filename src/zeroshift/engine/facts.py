"""Model facts, cached by the model's fingerprint: a run whose artefacts are all cached loads no model.

Example:
    >>> import tempfile
    >>> from zeroshift.models import resolve_model
    >>> facts = FactsCache(tempfile.mkdtemp()).of(resolve_model("zoo:sup-cnn-tiny"))
    >>> facts.kind, facts.universe
    ('fixed_head', 'factorworld')

"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from zeroshift.core.io import atomic_write_bytes
from zeroshift.models import ModelHandle
from zeroshift.models.facts import ModelFacts


def embedding_width(model: Any) -> int | None:
    """The width of a model's output rows: its joint embedding, or its logits over the universe."""
    import torch

    with torch.inference_mode():
        if model.kind == "zero_shot":
            return int(model.encode_text(["a photo"]).shape[-1])
        size = model.preprocess.config.get("crop") or model.preprocess.config.get("size") or 224
        side = size[0] if isinstance(size, list | tuple) else int(size)
        # the model may already sit on the encoding device (a handle is shared by every condition of a run)
        return int(model.encode_image(torch.zeros(1, 3, side, side, device=model.device)).shape[-1])


class FactsCache:
    """``models/<fingerprint>.json`` under the cache root (memoised per process)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.folder = Path(root) / "models"
        self._known: dict[str, ModelFacts] = {}

    def cached(self, handle: ModelHandle) -> ModelFacts | None:
        """The facts of a model if they are cached (never loads it)."""
        if handle.fingerprint in self._known:
            return self._known[handle.fingerprint]
        try:
            facts = ModelFacts.from_dict(json.loads((self.folder / f"{handle.fingerprint}.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None
        self._known[handle.fingerprint] = facts
        return facts

    def of(self, handle: ModelHandle) -> ModelFacts:
        """The facts of a model: from the cache, else read off the loaded model and cached."""
        if handle.fingerprint in self._known:
            return self._known[handle.fingerprint]
        path = self.folder / f"{handle.fingerprint}.json"
        try:
            facts = ModelFacts.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            model = handle.load()
            facts = ModelFacts(
                spec=str(handle.spec),
                identity=handle.identity,
                kind=model.kind,
                backend=model.backend,
                universe=model.universe,
                logit_scale=model.logit_scale,
                logit_bias=model.logit_bias,
                info=model.info.as_dict(),
                preprocess=model.preprocess.record,
                supports_local=model.kind == "zero_shot" and model.supports_local,
                embedding_width=embedding_width(model),
            )
            atomic_write_bytes(path, json.dumps(facts.as_dict(), default=str).encode())
        self._known[handle.fingerprint] = facts
        return facts
