"""Depth maps for the 3D corruptions: a monocular model, a folder of maps, or FactorWorld's exact depth.

A depth source is named by a string: ``factorworld``, ``folder(path='/maps', kind='inverse')``, or a depth model
``dpt:Intel/dpt-hybrid-midas``, ``dpt:/local/folder``, ``depth_anything:/local/folder`` (``?revision=...``,
``?trust_remote_code=true`` as for ``hf:`` models). :func:`parse_depth_source` builds it without loading
anything; unknown kinds get a suggestion.

Example:
    >>> parse_depth_source("dpt:Intel/dpt-hybrid-midas").canonical
    'dpt:Intel/dpt-hybrid-midas'
    >>> parse_depth_source("folder(path='/maps')").canonical
    "folder(kind='inverse', path='/maps', scale=1.0)"
    >>> parse_depth_source("fatcorworld")
    Traceback (most recent call last):
    ...
    zeroshift.errors.SpecError: unknown depth source 'fatcorworld'; did you mean 'factorworld'?

"""

from __future__ import annotations

import re

from zeroshift.depth.base import DepthSource
from zeroshift.errors import SpecError
from zeroshift.registry import Registry
from zeroshift.specs import CallSpec

depth_sources: Registry[type[DepthSource]] = Registry("depth source")
for _name, _target in {
    "factorworld": "zeroshift.depth.factorworld:FactorWorldDepth",
    "folder": "zeroshift.depth.folder:FolderDepth",
    "dpt": "zeroshift.depth.model:ModelDepth",
    "depth_anything": "zeroshift.depth.model:ModelDepth",
}.items():
    depth_sources.register_lazy(_name, _target)

_MODEL_SPEC = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.+)$")


def parse_depth_source(text: str) -> DepthSource:
    """Build the depth source a string names (see the module docstring); nothing is loaded."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError("depth: give a depth source: 'factorworld', \"folder(path='...')\" or a model 'dpt:...'")
    text = text.strip()
    match = _MODEL_SPEC.match(text)
    if match and "(" not in match.group(1):
        scheme, rest = match.groups()
        cls = depth_sources.get(scheme)
        if not getattr(cls, "needs_pixels", False):
            raise SpecError(f"depth source {scheme!r} takes no ':' spec; write {scheme} or {scheme}(...)")
        return cls.from_spec(scheme, rest)
    call = CallSpec.parse(text)
    cls = depth_sources.get(call.name)
    if cls.needs_pixels:
        raise SpecError(f"depth source {call.name!r} names a model: write {call.name}:HUB_ID or {call.name}:/folder")
    return cls(**call.kwargs)


__all__ = ["DepthSource", "depth_sources", "parse_depth_source"]
