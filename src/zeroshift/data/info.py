"""Label data shipped as files in ``zeroshift/data/_info`` (never inline lists), loaded once.

Example:
    >>> len(imagenet_wnids()), imagenet_wnids()[0]
    (1000, 'n01440764')
    >>> clip_classnames()[0]
    'tench'
    >>> len(subset_wnids("imagenet_r"))
    200

"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


def info_text(name: str) -> str:
    """Return the text of ``_info/<name>``."""
    return (resources.files("zeroshift.data") / "_info" / name).read_text(encoding="utf-8")


def info_json(name: str) -> Any:
    """Return the parsed JSON of ``_info/<name>``."""
    return json.loads(info_text(name))


def info_lines(name: str) -> list[str]:
    """Return the non-empty lines of ``_info/<name>``."""
    return [line for line in info_text(name).splitlines() if line.strip()]


@cache
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k WordNet ids in ILSVRC-2012 order (class index = position)."""
    return tuple(info_lines("imagenet_wnids.txt"))


@cache
def wnid_index() -> dict[str, int]:
    """Map a WordNet id to its ImageNet-1k class index."""
    return {w: i for i, w in enumerate(imagenet_wnids())}


@cache
def clip_classnames() -> tuple[str, ...]:
    """CLIP's 1000 ImageNet class names (the OpenAI release, as in CLIP_benchmark), in ILSVRC order."""
    return tuple(info_json("imagenet_classnames_clip.json"))


@cache
def subset_wnids(benchmark: str) -> tuple[str, ...]:
    """The 200 WordNet ids of ``imagenet_a``, ``imagenet_r`` or ``imagenet_o``, in ILSVRC order."""
    return tuple(info_lines(f"{benchmark}_wnids.txt"))


@cache
def sixteen_class() -> dict[str, tuple[int, ...]]:
    """The 16 shape-bias categories (model-vs-human) -> their ImageNet class indices."""
    data = info_json("sixteen_class.json")["categories"]
    return {name: tuple(entry["imagenet_indices"]) for name, entry in data.items()}
