"""Models selected from the model catalogue by filters on their metadata (``catalogue:`` entries of a plan).

The catalogue (the populations of CLIP models and ImageNet classifiers as data, with their training data, sizes and
losses) lives in :mod:`zeroshift.catalogue`; a plan names a selection of it, and :func:`resolve_catalogue` turns the
selection into model specs through ``zeroshift.catalogue.select_specs(filters, preset)``, imported when a plan first
asks (an unknown filter key or preset is its one-line UsageError). Where that module is not installed, any
``catalogue:`` entry is refused with one clear line before any work, so a plan that relies on it fails at once
instead of running a smaller population.

Example:
    >>> NOT_INSTALLED.split(";")[0]
    'the model catalogue is not installed yet'

"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zeroshift.errors import UsageError

#: the message of a plan that selects from the catalogue before the catalogue exists
NOT_INSTALLED = (
    "the model catalogue is not installed yet; name the models explicitly in the plan's models: list "
    "(e.g. open_clip:ViT-B-32@laion2b_s34b_b79k, timm:resnet50.a1_in1k, zoo:*)"
)


def _selector() -> Callable[[Mapping[str, Any], str | None], list[str]]:
    """The catalogue's selection function ``(filters, preset) -> model specs``.

    This is the one place the catalogue is connected (imported lazily: a plan without ``catalogue:`` entries never
    loads it); ``select_specs`` raises a UsageError naming the key for an unknown filter key or preset, so that the
    plan fails with one line before any work. A missing module (or one without ``select_specs``) is the one-line
    "not installed" refusal; an import error inside the catalogue itself is not hidden.
    """
    try:
        from zeroshift.catalogue import select_specs
    except ModuleNotFoundError as err:
        if err.name not in ("zeroshift.catalogue", "zeroshift"):
            raise
        raise UsageError(NOT_INSTALLED) from None
    except ImportError as err:
        if "select_specs" not in str(err):
            raise
        raise UsageError(NOT_INSTALLED) from None
    return select_specs


def resolve_catalogue(filters: Mapping[str, Any] | None = None, preset: str | None = None) -> list[str]:
    """The model specs of the catalogue entries matching every filter (``{"training_data": "LAION-2B"}``; a list
    value matches any of its values) within ``preset`` (a named population such as the supervised baseline).

    Raises UsageError when the catalogue is not installed, and for an unknown filter key or preset.
    """
    specs = _selector()(dict(filters or {}), preset)
    if isinstance(specs, str) or not all(isinstance(s, str) for s in specs):
        raise TypeError(f"zeroshift.catalogue.select_specs must return a list of model specs, got {specs!r}")
    return list(specs)


__all__ = ["NOT_INSTALLED", "resolve_catalogue"]
