"""Captions that describe a FactorWorld image in varied words, and the word vocabulary they can use.

A caption always names the main shape; every other attribute (style, size, colour, pattern, position, rotation,
background, lighting, occlusion, other objects, a written word) is mentioned with probability ``keep``, each
in one of several phrasings from world.yaml, so one image has many captions (drawn anew at every training
step). The vocabulary is the set of words the caption grammar can produce for the *training* distributions,
so words of held-out levels (``sketch``) are unknown to the zoo's text encoders, as they would be to a model
that never saw them.

Example:
    >>> from zeroshift.data.factorworld.sampler import sample_params, split_recipe
    >>> params = sample_params(split_recipe("test"), seed=0, index=0)
    >>> text = caption(params, np.random.default_rng(0))
    >>> "circle" in tokenize(text)
    True
    >>> tokenize('A close-up photo of a "star".')
    ['a', 'close', 'up', 'photo', 'of', 'a', 'star']

"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np

from zeroshift.data.factorworld.world import World, world

_WORD = re.compile(r"[a-z]+")
_ARTICLE = re.compile(r"\ba (?=[aeiou])")


def tokenize(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters only; punctuation and digits are dropped)."""
    return _WORD.findall(text.lower())


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _colour_word(w: World, name: str, rng: np.random.Generator) -> str:
    return _pick(rng, w.captions.get("colour_synonyms", {}).get(name, [name]))


def caption(params: dict[str, Any], rng: np.random.Generator) -> str:
    """One caption of the sample ``params`` (different draws of ``rng`` give different wordings)."""
    w = world()
    c = w.captions
    keep = float(c.get("keep", 0.6))
    f = params["factors"]

    def maybe(p: float = keep) -> bool:
        return bool(rng.random() < p)

    head = ""
    adjectives: list[str] = []
    style = _pick(rng, c["style"][f["style"]]) if maybe() else ""
    if style.endswith(" of"):
        head = style
    elif style:
        adjectives.append(style)
    if maybe():
        adjectives.append(_pick(rng, c["size"][f["size"]]))
    if maybe():
        adjectives.append(_colour_word(w, f["colour"], rng))
    if f.get("pattern") and maybe():
        adjectives.append(_pick(rng, c["pattern_words"][f["pattern"]]))
    elif f.get("texture") == "solid" and maybe(0.3):
        adjectives.append(_pick(rng, c["solid"]))
    noun = " ".join([a for a in adjectives if a] + [params["shape"]])
    phrase = f"{_article(noun)} {noun}"
    if head:
        phrase = f"{_article(head)} {head} {phrase}"
    parts = [_pick(rng, c["prefixes"]), phrase]
    for extra in params["extras"]:
        if maybe():
            desc = " ".join(x for x in (_colour_word(w, extra["colour"], rng) if maybe() else "", extra["shape"]) if x)
            parts.append(f"{_pick(rng, c['objects_joiners'])} {_article(desc)} {desc}")
    for factor in ("position", "rotation", "occlusion", "lighting"):
        if maybe():
            parts.append(_pick(rng, c[factor][f[factor]]))
    if maybe():
        bg = params["bg"]
        text = _pick(rng, c["background"][bg["kind"]])
        if "{photo}" in text:
            text = text.replace("{photo}", _pick(rng, c["photo_words"][bg["photo"]]))
        if "{bg}" in text:
            text = text.replace("{bg}", _colour_word(w, bg["colour"], rng))
        parts.append(text)
    if f.get("word") and maybe(0.8):
        parts.append(_pick(rng, c["word"]).replace("{word}", f["word"]))
    return _ARTICLE.sub("an ", " ".join(p for p in parts if p).strip())


@cache
def vocabulary() -> tuple[str, ...]:
    """Every word a training caption can contain, sorted (held-out levels and OOD shapes excluded)."""
    w = world()
    c = w.captions
    held = {level for levels in w.held_out.values() for level in levels}
    words: set[str] = set(w.classes) | {"a", "an"}
    for name in w.colours:
        words.update(tokenize(" ".join(c.get("colour_synonyms", {}).get(name, [name]))))

    def add(value: Any) -> None:
        if isinstance(value, str):
            words.update(tokenize(value.replace("{word}", "").replace("{bg}", "").replace("{photo}", "")))
        elif isinstance(value, list):
            for v in value:
                add(v)
        elif isinstance(value, dict):
            for key, v in value.items():
                if key not in held:
                    add(v)

    add({k: v for k, v in c.items() if k != "keep"})
    return tuple(sorted(words))
