"""Artefact kinds: what the engine can produce for a (model, dataset, shift), one registration each.

Importing this package registers the shipped kinds: ``features`` and ``local`` (:mod:`.image`), ``heads``
(:mod:`.text`) and ``min_epsilon`` (:mod:`.min_epsilon`). A plugin registers more with :func:`artefact_kind`.

Example:
    >>> {"features", "heads", "local", "min_epsilon"} <= set(kinds.names())
    True

"""

from __future__ import annotations

import zeroshift.artefacts.captions  # noqa: F401  (caption embeddings, keyed by text)
import zeroshift.artefacts.depth  # noqa: F401  (depth maps of the clean images, for corruption3d)
from zeroshift.artefacts import image, min_epsilon, text  # noqa: F401  (importing a module registers its kinds)
from zeroshift.artefacts.base import ArtefactKind, ArtefactScope, ImageBatch, artefact_kind, kinds

__all__ = ["ArtefactKind", "ArtefactScope", "ImageBatch", "artefact_kind", "kinds"]

from zeroshift.artefacts import (
    answers,  # noqa: E402, F401  (the kind an LMM's class scores come from)
    dense,  # noqa: E402, F401  (registers the dense kind: correspondence)
)
from zeroshift.overlap import artefact as _overlap_artefact  # noqa: E402, F401  (registers overlap_flags)
