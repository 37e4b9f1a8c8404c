"""Prompt sets: named template files (``openai``: CLIP's 80 ImageNet templates, ``simple``: "a photo of a {}.")
or a user file, each with a digest that keys text heads and is recorded with every result.

A file is either text (one template per line, ``{}`` or ``{c}`` marks the class name) or JSON: a list of
templates, or a dict of class name -> list of prompts (class-specific prompts such as CuPL).

Example:
    >>> p = load_prompts("simple")
    >>> p.texts("goldfish")
    ['a photo of a goldfish.']
    >>> len(load_prompts("openai").templates)
    80

"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from zeroshift.errors import SpecError
from zeroshift.registry import suggest


@dataclass(frozen=True)
class PromptSet:
    """A named set of prompt templates (or class-specific prompts) with its digest."""

    name: str
    templates: tuple[str, ...] = ()
    per_class: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def digest(self) -> str:
        """sha256 of the prompts' content (not of the name)."""
        payload = json.dumps({"templates": self.templates, "per_class": self.per_class}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def texts(self, classname: str) -> list[str]:
        """The prompts for one class."""
        if self.per_class:
            prompts = dict(self.per_class)
            if classname not in prompts:
                raise SpecError(f"prompt set {self.name!r} has no prompts for class {classname!r}")
            return list(prompts[classname])
        return [t.replace("{c}", "{}").format(classname) for t in self.templates]

    @property
    def record(self) -> dict[str, object]:
        """What is recorded in each RunRecord."""
        return {
            "name": self.name,
            "digest": self.digest,
            "n_templates": len(self.templates),
            "class_specific": bool(self.per_class),
        }


def builtin_prompt_sets() -> list[str]:
    """Names of the prompt sets shipped with zeroshift."""
    folder = resources.files("zeroshift.data") / "_info" / "templates"
    return sorted(p.name.removesuffix(".txt") for p in folder.iterdir() if p.name.endswith(".txt"))


def _check_templates(name: str, templates: list[str]) -> tuple[str, ...]:
    if not templates:
        raise SpecError(f"prompt set {name!r} is empty")
    for t in templates:
        if "{}" not in t and "{c}" not in t:
            raise SpecError(f"prompt template {t!r} in {name!r} has no {{}} where the class name goes")
    return tuple(templates)


def load_prompts(name_or_path: str) -> PromptSet:
    """Load a built-in prompt set by name or a prompt file by path."""
    if name_or_path in builtin_prompt_sets():
        folder = resources.files("zeroshift.data") / "_info" / "templates"
        lines = (folder / f"{name_or_path}.txt").read_text(encoding="utf-8").splitlines()
        return PromptSet(name_or_path, _check_templates(name_or_path, [x for x in lines if x.strip()]))
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise SpecError(
            f"unknown prompt set {name_or_path!r}"
            + (
                suggest(name_or_path, builtin_prompt_sets())
                or f"; built-in sets: {', '.join(builtin_prompt_sets())}, or give a .txt/.json file"
            )
        )
    text = path.read_text(encoding="utf-8")
    name = str(path.resolve())
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as err:
            raise SpecError(f"prompt file {path}: invalid JSON ({err})") from None
        if isinstance(data, dict):
            if not all(isinstance(v, list) and v and all(isinstance(s, str) for s in v) for v in data.values()):
                raise SpecError(f"prompt file {path}: expected a dict of class name -> non-empty list of prompts")
            return PromptSet(name, per_class=tuple(sorted((k, tuple(v)) for k, v in data.items())))
        if isinstance(data, list) and all(isinstance(s, str) for s in data):
            return PromptSet(name, _check_templates(name, data))
        raise SpecError(f"prompt file {path}: expected a list of templates or a dict of class -> prompts")
    return PromptSet(name, _check_templates(name, [x for x in text.splitlines() if x.strip()]))
