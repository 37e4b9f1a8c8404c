"""Matching free-text LMM answers to class names and their synonyms (ImageNet-D's ``compute_accuracy.py`` rule).

A class is *mentioned* when its lower-cased name, or one of its synonyms, is a substring of the lower-cased
answer. A two-way ``choice`` answer is labelled:

* ``TRUE``: it mentions the true class only; ``FALSE``: the other option only;
* ``DOUBLE``: both; ``TODO``: neither (both excluded from accuracy, counted apart);
* nested names (``pen`` inside ``can opener``): when both are mentioned the longer name decides, since naming
  it also names the shorter one. ``nested="published"`` applies this to the pairs the ImageNet-D code lists
  (the synonyms file's ``nested``), ``"auto"`` to every pair where one name holds the other.

A free answer (``generate``) predicts the one class it mentions once mentions nested inside a longer mention
are dropped; none or several are counted apart and are wrong.

Example:
    >>> syn = Synonyms({"tv": ("television",)}, (("pen", "can opener"),))
    >>> match_choice("It is a television.", "tv", "radio", syn)
    'TRUE'
    >>> match_choice("A can opener.", "pen", "can opener", syn)
    'FALSE'
    >>> match_choice("a tv or a radio", "tv", "radio", syn), match_choice("a dog", "tv", "radio", syn)
    ('DOUBLE', 'TODO')
    >>> match_free("I see a can opener", ["pen", "can opener", "cup"], syn)
    (1, 'one')

"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zeroshift.errors import UsageError

CHOICE_LABELS = ("TRUE", "FALSE", "DOUBLE", "TODO")
NESTED_RULES = ("published", "auto")
FREE_STATUS = ("one", "none", "several")


@dataclass(frozen=True)
class Synonyms:
    """Synonyms per class name and the nested name pairs ``(shorter, longer)`` a protocol lists.

    Attributes:
        table: lower-case class name -> further lower-case strings that also mention it.
        nested: pairs where the first name is a substring of the second (the longer name decides).
        source: where the table comes from (recorded).

    """

    table: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    nested: tuple[tuple[str, str], ...] = ()
    source: str = "none"

    @classmethod
    def from_file(cls, path: str | Path) -> Synonyms:
        """Read a YAML or JSON file with ``synonyms: {name: [..]}`` and optional ``nested: [[short, long]]``."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as err:
            raise UsageError(f"cannot read synonyms file {path}: {err}") from None
        if not isinstance(data, dict) or not isinstance(data.get("synonyms", {}), dict):
            raise UsageError(f"synonyms file {path}: expected a mapping with 'synonyms: {{class name: [words]}}'")
        table = {str(k).lower(): tuple(str(s).lower() for s in v) for k, v in (data.get("synonyms") or {}).items()}
        nested = tuple((str(a).lower(), str(b).lower()) for a, b in (data.get("nested") or []))
        return cls(table, nested, str(data.get("source", path.name)))

    def terms(self, name: str) -> tuple[str, ...]:
        """The strings that mention class ``name``: its lower-cased name, then its synonyms."""
        key = name.lower()
        return (key, *self.table.get(key, ()))

    @property
    def record(self) -> dict[str, Any]:
        """What the protocol records about the synonyms."""
        return {"source": self.source, "n_classes_with_synonyms": len(self.table), "nested_pairs": len(self.nested)}


def mentions(answer: str, name: str, synonyms: Synonyms) -> bool:
    """Whether ``answer`` mentions class ``name`` (lower-case substring of the name or a synonym).

    Example:
        >>> mentions("A Bicycle Wheel", "wheel", Synonyms())
        True

    """
    text = answer.lower()
    return any(term in text for term in synonyms.terms(name))


def _is_nested(short: str, long: str, synonyms: Synonyms, rule: str) -> bool:
    """Whether ``short`` is listed (``published``) or found (``auto``) inside ``long``."""
    if rule == "published":
        return (short.lower(), long.lower()) in synonyms.nested
    return any(a in b and a != b for a in synonyms.terms(short) for b in synonyms.terms(long))


def match_choice(answer: str, gt: str, other: str, synonyms: Synonyms, nested: str = "published") -> str:
    """Label a two-way answer ``TRUE``, ``FALSE``, ``DOUBLE`` or ``TODO`` (see the module docstring)."""
    if nested not in NESTED_RULES:
        raise UsageError(f"unknown nested-name rule {nested!r}; choose one of: {', '.join(NESTED_RULES)}")
    hit_gt, hit_other = mentions(answer, gt, synonyms), mentions(answer, other, synonyms)
    if hit_gt and hit_other:
        if _is_nested(gt, other, synonyms, nested):
            return "FALSE"
        if _is_nested(other, gt, synonyms, nested):
            return "TRUE"
        return "DOUBLE"
    if hit_gt:
        return "TRUE"
    return "FALSE" if hit_other else "TODO"


def match_free(answer: str, class_names: Sequence[str], synonyms: Synonyms) -> tuple[int, str]:
    """``(class index or -1, status)`` of a free answer; status is ``one``, ``none`` or ``several``."""
    hits = [i for i, name in enumerate(class_names) if mentions(answer, name, synonyms)]
    text = answer.lower()
    found = {i: [t for t in synonyms.terms(class_names[i]) if t in text] for i in hits}
    # a mention inside a longer mention of another class ("pen" in "can opener") is not a mention of its own
    kept = [
        i
        for i in hits
        if not any(all(any(t in u and t != u for u in found[j]) for t in found[i]) for j in hits if j != i)
    ]
    if len(kept) == 1:
        return kept[0], "one"
    return -1, "none" if not kept else "several"


def choice_counts(labels: Sequence[str]) -> dict[str, Any]:
    """Counts of each label and ``accuracy = TRUE / (TRUE + FALSE)`` (NaN when both are 0), as published.

    Example:
        >>> choice_counts(["TRUE", "TRUE", "FALSE", "TODO", "DOUBLE"])["accuracy"]
        0.6666666666666666

    """
    counts = {label: 0 for label in CHOICE_LABELS}
    for label in labels:
        if label not in counts:
            raise ValueError(f"unknown choice label {label!r}")
        counts[label] += 1
    decided = counts["TRUE"] + counts["FALSE"]
    return {**counts, "decided": decided, "accuracy": counts["TRUE"] / decided if decided else float("nan")}
