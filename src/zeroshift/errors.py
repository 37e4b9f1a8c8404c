"""Errors that reach the user as one clear line.

Every exception raised for a user mistake (a bad spec, a missing dataset, an unknown model) derives from
:class:`UsageError`; the CLI prints its message on one line and exits with code 2. Anything else is a bug
and keeps its traceback.

Example:
    >>> try:
    ...     raise DatasetError("imagenet_r: no folder at /data/imagenet-r")
    ... except UsageError as err:
    ...     print(err)
    imagenet_r: no folder at /data/imagenet-r

"""

from __future__ import annotations


class ZeroshiftError(Exception):
    """Base class of every error zeroshift raises on purpose."""


class UsageError(ZeroshiftError):
    """A user mistake: the CLI prints the message on one line and exits with code 2."""

    exit_code = 2


class SpecError(UsageError):
    """A spec string that cannot be parsed or names something unknown."""


class DatasetError(UsageError):
    """A dataset folder that is missing or does not have the published layout."""


class ModelLoadError(UsageError):
    """A model that cannot be loaded: unknown architecture, missing weights, mismatched checkpoint."""


class BadImageError(ZeroshiftError):
    """An image that cannot be decoded; carries the reason used in skip counts."""

    def __init__(self, path: str, reason: str, detail: str = "") -> None:
        self.path = path
        self.reason = reason
        self.detail = detail
        super().__init__(f"{path}: {reason}" + (f" ({detail})" if detail else ""))
