"""Models selected from the model catalogue by filters on their metadata (``catalogue:`` entries of a plan).

The catalogue (the populations of CLIP models and ImageNet classifiers as data, with their training data, sizes and
losses) is built elsewhere; a plan names a selection of it, and :func:`resolve_catalogue` turns the selection into
model specs. Until the catalogue is connected here, any ``catalogue:`` entry is refused with one clear line before
any work, so a plan that relies on it fails at once instead of running a smaller population.

Example:
    >>> try:
    ...     resolve_catalogue({"training_data": "LAION-2B"})
    ... except UsageError as err:
    ...     print(str(err).split(";")[0])
    the model catalogue is not installed yet

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

    This is the one place the catalogue is connected: it must raise a UsageError naming the key for an unknown
    filter key or preset, so that the plan fails with one line before any work.
    """
    raise UsageError(NOT_INSTALLED)


def resolve_catalogue(filters: Mapping[str, Any] | None = None, preset: str | None = None) -> list[str]:
    """The model specs of the catalogue entries matching every filter (``{"training_data": "LAION-2B"}``; a list
    value matches any of its values) within ``preset`` (a named population such as the supervised baseline).

    Raises UsageError until the catalogue is installed, and for an unknown filter key or preset.
    """
    return list(_selector()(dict(filters or {}), preset))


__all__ = ["NOT_INSTALLED", "resolve_catalogue"]
