"""``random:BACKEND/NAME?seed=N``: seeded random weights for any backend, for tests and plumbing.

The spec is rewritten into the backend's own spec with the ``seed`` option, so the backend's real loading code
runs; the canonical ``random:`` string stays the cache and results key.

Example:
    >>> from zeroshift.specs import ModelSpec
    >>> backend_spec(ModelSpec.parse("random:open_clip/ViT-B-32?seed=3")).canonical
    'open_clip:ViT-B-32?seed=3'

"""

from __future__ import annotations

from typing import Any

from zeroshift.errors import ModelLoadError
from zeroshift.specs import ModelSpec

BACKENDS = ("open_clip", "hf", "timm")


def backend_spec(spec: ModelSpec) -> ModelSpec:
    """Turn ``random:open_clip/ViT-B-32?seed=0`` into ``open_clip:ViT-B-32?seed=0``."""
    backend, _, name = spec.name.partition("/")
    if backend not in BACKENDS or not name:
        raise ModelLoadError(
            f"{spec}: expected random:BACKEND/NAME?seed=N with BACKEND one of {', '.join(BACKENDS)}, "
            "e.g. random:open_clip/ViT-B-32?seed=0"
        )
    options = dict(spec.options)
    options.setdefault("seed", "0")
    return ModelSpec(backend, name, spec.ref, tuple(sorted(options.items())))


class RandomModel:
    """Dispatches ``random:`` specs to the backend adapter with a seed."""

    @staticmethod
    def _adapter(spec: ModelSpec) -> Any:
        from zeroshift.models import adapters

        return adapters.get(backend_spec(spec).scheme)

    @classmethod
    def identity(cls, spec: ModelSpec) -> dict[str, Any]:
        """The backend's identity of the seeded spec."""
        return {"random": True, **cls._adapter(spec).identity(backend_spec(spec))}

    @classmethod
    def differentiable(cls, spec: ModelSpec) -> bool:
        """Whether the backend gives input gradients."""
        adapter = cls._adapter(spec)
        probe = getattr(adapter, "differentiable", None)
        return True if probe is None else bool(probe(backend_spec(spec)))

    @classmethod
    def load(cls, spec: ModelSpec) -> Any:
        """Load through the backend with random weights; the model keeps the ``random:`` spec."""
        model = cls._adapter(spec).load(backend_spec(spec))
        model.spec = spec
        return model
