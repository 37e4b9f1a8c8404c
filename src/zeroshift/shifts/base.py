"""The Shift protocol: a named, parameterised change of the pixels a model sees.

Shifts act on ``[0, 1]`` float pixels **after** the model's geometry (resize, crop) and **before** its
normalisation. Two kinds exist:

* ``pixel`` shifts (corruptions, typographic text) transform one image at a time inside loader workers,
  seeded per image from the run seed, the shift's canonical spec and the sample id, so a rerun is bit-equal;
* ``attack`` shifts (adversarial attacks) transform a batch in the main process with gradients of the
  whole classifier (pixels -> normalisation -> encoder -> head); their cache key includes the head.

A shift may compute per-sample parameters once in the main process (:meth:`Shift.prepare`: the class name a
typographic attack writes, the target of a targeted attack); the engine hands them to ``apply`` (as
``ShiftContext.params``) or ``attack`` (as ``params``), and metric groups read the same list through
``inputs.shift_params()``. Whatever the shifted pixels depend on beyond the image and its seed (the label
space, the text head) is named by :meth:`Shift.depends_on` and enters the feature cache key. A shift may add
metric groups to the benchmark's defaults (:attr:`Shift.metric_groups`) and records its protocol
(:attr:`Shift.protocol`) in every RunRecord.

Example:
    >>> per_image_seed(0, "corruption(name='fog', severity=3)", "n01440764/x.JPEG") == per_image_seed(
    ...     0, "corruption(name='fog', severity=3)", "n01440764/x.JPEG")
    True

"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from zeroshift.core.lazy import torch
from zeroshift.errors import SpecError


def per_image_seed(run_seed: int, shift: str, sample_id: str) -> int:
    """A 63-bit seed from the run seed, the shift's canonical spec and the sample id."""
    digest = hashlib.sha256(f"{run_seed}|{shift}|{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass
class ShiftContext:
    """What a pixel shift knows about the image it transforms.

    Attributes:
        sample_id: the sample's stable id.
        seed: the per-image seed (see :func:`per_image_seed`).
        target: the sample's native class index (-1 where none).
        class_names: display names of the benchmark's native classes (for typographic attacks).
        params: per-sample parameters prepared in the main process by :meth:`Shift.prepare`.

    """

    sample_id: str
    seed: int
    target: int = -1
    class_names: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


class Shift:
    """Base class of every shift; subclasses set ``name``, ``defaults`` and implement ``apply`` or ``attack``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    kind: ClassVar[str] = "pixel"
    defaults: ClassVar[dict[str, Any]] = {}
    #: metric groups added to the benchmark's defaults for runs under this shift
    metric_groups: ClassVar[tuple[str, ...]] = ()
    #: what the shift changes: ``pixels`` (pixel shifts and attacks: part of the image cache key) or ``text`` (the
    #: texts a metric group encodes, e.g. captions; the images are the clean ones, served from the clean cache)
    acts_on: ClassVar[str] = "pixels"
    #: what kind of condition a run under this shift is (``corruption``, ``typographic``, ``adversarial``...)
    condition_kind: ClassVar[str] = "synthetic"
    #: allowed values of parameters that take one of a list (shown by ``zeroshift ls shifts``)
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {}
    #: the implementation's version: bumped when the same spec starts producing other pixels, so cached artefacts
    #: of the old implementation are never reused (part of the cache key from version 2 on)
    version: ClassVar[int] = 1

    @property
    def cache_key(self) -> str:
        """What keys the shifted pixels in the cache: the canonical spec, and the version once it is not 1."""
        return self.canonical if self.version == 1 else f"{self.canonical}#v{self.version}"

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise SpecError(
                f"{self.name}: unknown parameter {unknown[0]!r} (known: {', '.join(sorted(self.defaults))})"
            )
        self.params: dict[str, Any] = {**self.defaults, **params}
        self.validate()

    def validate(self) -> None:
        """Raise SpecError on parameter values that make no sense."""

    @property
    def canonical(self) -> str:
        """The canonical spec with defaults filled in."""
        from zeroshift.specs import CallSpec

        return CallSpec.make(self.name, **self.params).canonical

    def check_condition(self, benchmark: Any, dataset: Any) -> None:
        """Raise UsageError when the shift cannot act on this benchmark's samples (checked before any work)."""

    def prepare(self, context: Any) -> list[dict[str, Any]] | None:
        """Per-sample parameters computed once in the main process (e.g. the class name to write).

        ``context`` is the condition as the engine gives it: ``benchmark``, ``dataset``, ``label_space``, ``seed``
        and ``clean_outputs()`` (the outputs of the same benchmark without the shift); the list is aligned with
        ``context.dataset``.
        """
        return None

    def label(self) -> str:
        """A readable name of the condition for reports (e.g. ``fog, severity 3``); subclasses say more."""
        shown = ", ".join(f"{k}={v}" for k, v in self.params.items() if v != self.defaults.get(k, object()))
        return self.name + (f" ({shown})" if shown else "")

    def condition(self) -> dict[str, Any]:
        """The structured fields a run under this shift gives its record (see ``RunRecord.condition``)."""
        return {
            "shift": self.name,
            "shift_kind": self.kind,
            "shift_params": dict(self.params),
            "kind": self.condition_kind,
            "corruption": None,
            "label": self.label(),
        }

    def depends_on(self) -> frozenset[str]:
        """What the shifted pixels depend on besides the image and its seed: ``label_space`` and/or ``head``.

        Attacks depend on both (they follow the gradient of the classifier over the label space); each named
        dependency is part of the feature cache key.
        """
        return frozenset({"label_space", "head"}) if self.kind == "attack" else frozenset()

    @property
    def protocol(self) -> dict[str, Any]:
        """The choices behind this shift, recorded in the RunRecord's protocol (subclasses add theirs)."""
        seeding = "per image: sha256(run seed | canonical shift spec | sample id), first 63 bits"
        return {"spec": self.canonical, "kind": self.kind, "seeding": seeding}

    def apply(self, pixels: torch.Tensor, ctx: ShiftContext) -> torch.Tensor:
        """Transform one ``(3, H, W)`` image in [0, 1] (pixel shifts)."""
        raise NotImplementedError

    def attack(
        self,
        classifier: torch.nn.Module,
        pixels: torch.Tensor,
        labels: torch.Tensor,
        seeds: list[int],
        params: list[dict[str, Any]] | None = None,
    ) -> torch.Tensor:
        """Transform a ``(B, 3, H, W)`` batch in [0, 1] against ``classifier`` (attack shifts).

        ``params`` are the batch's rows of :meth:`prepare` (None when it returns None).
        """
        raise NotImplementedError
