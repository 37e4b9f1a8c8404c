"""Text-side shifts: seeded perturbations of captions (typos, dropped words, shuffled words).

Where pixel shifts change what the image encoder sees, these change what the text encoder reads, so retrieval
(and the modality gap) can be measured with perturbed captions. Each is a pure function of the text, its
parameters and a ``numpy`` generator, and a :class:`TextShift` seeds one generator per caption from the run
seed, the shift's canonical spec and the caption's id (:func:`~zeroshift.shifts.base.per_image_seed`), so a
rerun is bit-equal and a caption's perturbation does not depend on which other captions are in the run.

* ``typos(rate, ops)``: a ``rate`` fraction of the ASCII letters (rounded half up) each gets one typing error:
  ``swap`` with the next character, ``drop``, ``insert`` a keyboard neighbour after it, or ``replace`` it by a
  keyboard neighbour (US QWERTY, ``_info/keyboard.yaml``); case is kept. The character-level perturbations of
  Qiu et al. 2022 (*Are multimodal models robust to image and text perturbations?*), which apply nlpaug's
  augmenters to a fraction of the *words*; here the rate counts letters, exactly.
* ``drop_words(rate)``: a ``rate`` fraction of the words (rounded half up, at least one word kept) removed.
* ``shuffle_words()``: the words in a uniformly random order (ARO's ``shuffle_all_words``, Yuksekgonul et al.
  2023; the identity order may be drawn, as there).

Words are whitespace-separated tokens (punctuation stays attached) and are rejoined with single spaces.

Example:
    >>> shift = Typos(rate=0.1)
    >>> shift.canonical
    "typos(ops=('swap', 'drop', 'insert', 'replace'), rate=0.1)"
    >>> a = shift.apply_captions(["a photo of a small red circle"], ["img1.jpg#0"], run_seed=0)
    >>> a == shift.apply_captions(["a photo of a small red circle"], ["img1.jpg#0"], run_seed=0)
    True
    >>> sorted(shuffle_words("one two three", np.random.default_rng(1)).split())
    ['one', 'three', 'two']

"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any, ClassVar

import numpy as np
import torch
import yaml

from zeroshift.errors import SpecError, UsageError
from zeroshift.shifts.base import Shift, ShiftContext, per_image_seed

#: the typing errors :func:`typos` can make
TYPO_OPS = ("swap", "drop", "insert", "replace")


@cache
def keyboard_neighbours() -> dict[str, str]:
    """Each lower-case letter's neighbouring keys (``_info/keyboard.yaml``).

    Example:
        >>> keyboard_neighbours()["q"]
        'aw'

    """
    text = (resources.files("zeroshift.shifts") / "_info" / "keyboard.yaml").read_text(encoding="utf-8")
    return {str(k): str(v) for k, v in yaml.safe_load(text)["neighbours"].items()}


def count_for_rate(rate: float, n: int) -> int:
    """How many of ``n`` items a rate perturbs: ``rate * n`` rounded half up.

    Example:
        >>> count_for_rate(0.05, 30), count_for_rate(0.05, 10), count_for_rate(0.25, 10)
        (2, 1, 3)

    """
    return min(n, int(np.floor(rate * n + 0.5)))


def _neighbour(ch: str, rng: np.random.Generator) -> str:
    options = keyboard_neighbours()[ch.lower()]
    pick = options[int(rng.integers(len(options)))]
    return pick.upper() if ch.isupper() else pick


def typos(text: str, rate: float, rng: np.random.Generator, ops: Sequence[str] = TYPO_OPS) -> str:
    """Typing errors at a ``rate`` fraction of the ASCII letters of ``text`` (one error per chosen letter).

    Positions are drawn without replacement, each gets an error drawn uniformly from ``ops``; errors are
    applied right to left, so each acts at its letter's place (a swap there may meet an error made to its
    right). ``replace`` always changes the letter and ``drop``/``insert`` change the length by one, so with a
    single op the number of changes is exact; a ``swap`` of two equal letters changes nothing.

    Example:
        >>> typos("hello world", 0.2, np.random.default_rng(0), ops=("replace",))  # 2 of the 10 letters
        'hello wkeld'

    """
    chars = list(text)
    letters = [i for i, ch in enumerate(chars) if ch.isascii() and ch.isalpha()]
    count = count_for_rate(rate, len(letters))
    if count == 0:
        return text
    positions = np.sort(rng.choice(np.asarray(letters), size=count, replace=False))
    kinds = rng.integers(len(ops), size=count)
    for i, kind in zip(positions[::-1].tolist(), kinds[::-1].tolist(), strict=True):
        op = ops[kind]
        if op == "replace":
            chars[i] = _neighbour(chars[i], rng)
        elif op == "drop":
            del chars[i]
        elif op == "insert":
            chars.insert(i + 1, _neighbour(chars[i], rng))
        elif i + 1 < len(chars):  # swap with the next character (with the previous one at the very end)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif i > 0:
            chars[i - 1], chars[i] = chars[i], chars[i - 1]
    return "".join(chars)


def drop_words(text: str, rate: float, rng: np.random.Generator) -> str:
    """``text`` without a ``rate`` fraction of its words (rounded half up; one word is always kept).

    Example:
        >>> drop_words("a big red circle on grass", 0.4, np.random.default_rng(0))  # round(2.4) = 2 words
        'a big red grass'

    """
    words = text.split()
    count = min(count_for_rate(rate, len(words)), max(0, len(words) - 1))
    if count == 0:
        return " ".join(words)
    dropped = set(rng.choice(len(words), size=count, replace=False).tolist())
    return " ".join(w for i, w in enumerate(words) if i not in dropped)


def shuffle_words(text: str, rng: np.random.Generator) -> str:
    """The words of ``text`` in a uniformly random order.

    Example:
        >>> shuffle_words("a red circle", np.random.default_rng(0))
        'circle a red'

    """
    words = text.split()
    return " ".join(words[i] for i in rng.permutation(len(words)).tolist())


class TextShift(Shift):
    """Base of the text shifts: ``kind = "text"``, captions in, captions out, one seed per caption.

    Subclasses set ``name``, ``defaults`` and implement :meth:`perturb`. It acts on text (``acts_on``): the images
    stay clean (their cache key ignores the shift) and the groups that encode captions pass them through
    :meth:`apply_captions` first (see :mod:`zeroshift.metrics.bridging`).
    """

    kind: ClassVar[str] = "text"
    acts_on: ClassVar[str] = "text"
    condition_kind: ClassVar[str] = "text"

    def check_condition(self, benchmark: Any, dataset: Any) -> None:
        """Only a captioned set (``has_captions``, e.g. a retrieval set) has texts to perturb."""
        if not getattr(benchmark, "has_captions", False):
            raise UsageError(
                f"{self.name} is a text shift: it perturbs captions, and {benchmark.name} has none "
                "(use it on a retrieval set, e.g. -b factorworld_retrieval)"
            )

    def perturb(self, text: str, rng: np.random.Generator) -> str:
        """Perturb one caption with ``rng`` (subclasses)."""
        raise NotImplementedError

    def apply_text(self, text: str, seed: int) -> str:
        """The perturbed ``text``, from a generator seeded with ``seed`` (a per-caption seed)."""
        return self.perturb(text, np.random.default_rng(seed))

    def caption_seed(self, run_seed: int, caption_id: str) -> int:
        """The seed of one caption: sha256(run seed | canonical spec | caption id), first 63 bits."""
        return per_image_seed(run_seed, self.canonical, caption_id)

    def apply_captions(self, texts: Sequence[str], caption_ids: Sequence[str], run_seed: int) -> list[str]:
        """Perturb every caption, each seeded from its own id (``CaptionTable.caption_ids``)."""
        if len(texts) != len(caption_ids):
            raise ValueError(f"{len(texts)} captions but {len(caption_ids)} caption ids")
        return [self.apply_text(t, self.caption_seed(run_seed, c)) for t, c in zip(texts, caption_ids, strict=True)]

    @property
    def protocol(self) -> dict[str, Any]:
        """The spec, the kind and the per-caption seeding."""
        return {
            "spec": self.canonical,
            "kind": self.kind,
            "seeding": "per caption: sha256(run seed | canonical shift spec | caption id), first 63 bits; "
            "numpy default_rng",
            "words": "whitespace-separated tokens, punctuation attached, rejoined with single spaces",
        }

    def apply(self, pixels: torch.Tensor, ctx: ShiftContext) -> torch.Tensor:
        """Text shifts change captions, not pixels."""
        raise UsageError(f"{self.name} is a text shift: it perturbs captions of a retrieval set, not images")


def _check_rate(name: str, rate: Any) -> None:
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise SpecError(f"{name}: rate must be a number from 0 to 1, got {rate!r}")


class Typos(TextShift):
    """``typos(rate=0.05, ops=('swap','drop','insert','replace'))``: typing errors in a fraction of the letters."""

    name = "typos"
    description = "typing errors (swap, drop, insert or replace by a keyboard neighbour) in a fraction of letters"
    defaults: ClassVar[dict[str, Any]] = {"rate": 0.05, "ops": TYPO_OPS}

    def validate(self) -> None:  # noqa: D102
        _check_rate(self.name, self.params["rate"])
        ops = self.params["ops"]
        if isinstance(ops, str):
            ops = (ops,)
        if not isinstance(ops, tuple | list) or not ops or any(op not in TYPO_OPS for op in ops):
            raise SpecError(f"typos: ops must be a non-empty tuple of {', '.join(TYPO_OPS)}, got {ops!r}")
        self.params["ops"] = tuple(ops)

    def perturb(self, text: str, rng: np.random.Generator) -> str:  # noqa: D102
        return typos(text, float(self.params["rate"]), rng, self.params["ops"])

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        return {
            **super().protocol,
            "rate": "fraction of the ASCII letters given one error each, rounded half up, drawn without replacement",
            "keyboard": "US QWERTY neighbours (zeroshift/shifts/_info/keyboard.yaml)",
        }


class DropWords(TextShift):
    """``drop_words(rate=0.2)``: a fraction of the words removed (one always kept)."""

    name = "drop_words"
    description = "a fraction of each caption's words removed"
    defaults: ClassVar[dict[str, Any]] = {"rate": 0.2}

    def validate(self) -> None:  # noqa: D102
        _check_rate(self.name, self.params["rate"])

    def perturb(self, text: str, rng: np.random.Generator) -> str:  # noqa: D102
        return drop_words(text, float(self.params["rate"]), rng)

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        return {**super().protocol, "rate": "fraction of the words removed, rounded half up, at least one word kept"}


class ShuffleWords(TextShift):
    """``shuffle_words()``: the words of each caption in a random order."""

    name = "shuffle_words"
    description = "each caption's words in a random order"

    def perturb(self, text: str, rng: np.random.Generator) -> str:  # noqa: D102
        return shuffle_words(text, rng)

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        return {**super().protocol, "order": "uniform random permutation (the identity may be drawn, as in ARO)"}


__all__ = [
    "TYPO_OPS",
    "DropWords",
    "ShuffleWords",
    "TextShift",
    "Typos",
    "count_for_rate",
    "drop_words",
    "keyboard_neighbours",
    "shuffle_words",
    "typos",
]
