"""Spec strings: one parser and one canonical form for every model, benchmark, shift and run.

Two kinds of spec string exist:

* **call specs** for benchmarks, shifts and metrics: ``name`` or ``name(key=value, ...)`` with Python
  literal values, e.g. ``corruption(name='fog', severity=3)``;
* **model specs**, scheme-prefixed: ``open_clip:ViT-B-32@laion2b_s34b_b79k``, ``open_clip:ViT-B-32@/w/b32.pt``,
  ``hf:openai/clip-vit-base-patch32``, ``timm:resnet50.a1_in1k``, ``zoo:clip-vit-diverse``,
  ``random:open_clip/ViT-B-32?seed=0``.

The canonical string (sorted keys, ``repr`` values, absolute paths) is the cache key, the results key and the
report label; :func:`fingerprint` hashes canonical JSON together with :data:`CACHE_VERSION`.

Example:
    >>> CallSpec.parse("corruption( severity=3, name='fog')").canonical
    "corruption(name='fog', severity=3)"
    >>> ModelSpec.parse("random:open_clip/ViT-B-32?seed=0").canonical
    'random:open_clip/ViT-B-32?seed=0'

"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from zeroshift.errors import SpecError

#: Bumped whenever the bytes of a cached artefact would change for the same spec.
CACHE_VERSION = "1"

_SCALARS = (str, int, float, bool, type(None))


def _check_value(value: Any, where: str) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple):
        return tuple(_check_value(v, where) for v in value)
    raise SpecError(f"{where}: values must be numbers, strings, booleans, None or lists of them, got {value!r}")


def canonical_value(value: Any) -> str:
    """Return the canonical text of one spec value (``repr``; lists become tuples).

    Example:
        >>> canonical_value([1, 2])
        '(1, 2)'

    """
    if isinstance(value, list | tuple):
        value = tuple(value)
        inner = ", ".join(canonical_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


@dataclass(frozen=True)
class CallSpec:
    """A ``name(key=value, ...)`` spec for a benchmark, shift or metric.

    Example:
        >>> spec = CallSpec.parse("imagenet_r(label_space='full')")
        >>> spec.name, spec.kwargs
        ('imagenet_r', {'label_space': 'full'})

    """

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        """The parameters as a dict."""
        return dict(self.params)

    @property
    def canonical(self) -> str:
        """The canonical string: sorted keys, ``repr`` values; bare name when there are no parameters."""
        if not self.params:
            return self.name
        return f"{self.name}(" + ", ".join(f"{k}={canonical_value(v)}" for k, v in self.params) + ")"

    def __str__(self) -> str:
        return self.canonical

    @classmethod
    def make(cls, spec_name: str, /, **kwargs: Any) -> CallSpec:
        """Build a spec from a name and keyword arguments."""
        where = f"{spec_name}(...)"
        return cls(spec_name, tuple(sorted((k, _check_value(v, where)) for k, v in kwargs.items())))

    @classmethod
    def parse(cls, text: str | CallSpec) -> CallSpec:
        """Parse ``name`` or ``name(key=value, ...)``; values are Python literals."""
        if isinstance(text, CallSpec):
            return text
        text = text.strip()
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError:
            raise SpecError(f"cannot parse spec {text!r}: expected name or name(key=value, ...)") from None
        if isinstance(node, ast.Name):
            return cls(node.id)
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            raise SpecError(f"cannot parse spec {text!r}: expected name or name(key=value, ...)")
        if node.args:
            raise SpecError(f"spec {text!r}: give every value with its name, e.g. {node.func.id}(severity=3)")
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise SpecError(f"spec {text!r}: **kwargs are not allowed")
            if kw.arg in kwargs:
                raise SpecError(f"spec {text!r}: {kw.arg!r} is given twice")
            try:
                kwargs[kw.arg] = ast.literal_eval(kw.value)
            except ValueError:
                raise SpecError(
                    f"spec {text!r}: the value of {kw.arg!r} must be a literal (quote strings: {kw.arg}='...')"
                ) from None
        return cls.make(node.func.id, **kwargs)

    def with_params(self, **kwargs: Any) -> CallSpec:
        """Return a copy with some parameters replaced or added."""
        return CallSpec.make(self.name, **{**self.kwargs, **kwargs})


@dataclass(frozen=True)
class ModelSpec:
    """A scheme-prefixed model spec: ``scheme:body[@ref][?key=value&...]``.

    ``ref`` is a pretrained tag or a local weights path (made absolute in the canonical form).

    Example:
        >>> s = ModelSpec.parse("open_clip:ViT-B-32@laion2b_s34b_b79k")
        >>> s.scheme, s.name, s.ref
        ('open_clip', 'ViT-B-32', 'laion2b_s34b_b79k')

    """

    scheme: str
    name: str
    ref: str | None = None
    options: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def option_dict(self) -> dict[str, str]:
        """The ``?key=value`` options as a dict."""
        return dict(self.options)

    @property
    def canonical(self) -> str:
        """The canonical spec string."""
        text = f"{self.scheme}:{self.name}"
        if self.ref is not None:
            text += f"@{self.ref}"
        if self.options:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.options)
        return text

    def __str__(self) -> str:
        return self.canonical

    @property
    def ref_is_path(self) -> bool:
        """Whether ``ref`` names a local file or folder rather than a hub tag."""
        return self.ref is not None and (os.sep in self.ref or self.ref.startswith(".") or os.path.exists(self.ref))

    @classmethod
    def parse(cls, text: str | ModelSpec) -> ModelSpec:
        """Parse a model spec string."""
        if isinstance(text, ModelSpec):
            return text
        text = text.strip()
        scheme, sep, rest = text.partition(":")
        if not sep or not scheme or not rest:
            raise SpecError(
                f"model spec {text!r} needs a scheme, e.g. open_clip:ViT-B-32@laion2b_s34b_b79k, "
                "hf:openai/clip-vit-base-patch32, timm:resnet50.a1_in1k, zoo:NAME or random:open_clip/ViT-B-32?seed=0"
            )
        rest, _, query = rest.partition("?")
        options = tuple(sorted(parse_qsl(query, keep_blank_values=True, strict_parsing=False))) if query else ()
        name, at, ref = rest.partition("@")
        if at and not ref:
            raise SpecError(f"model spec {text!r}: nothing after '@' (give a pretrained tag or a weights path)")
        ref = ref or None
        if ref is not None and (os.sep in ref or ref.startswith(".") or ref.startswith("~")):
            ref = os.path.abspath(os.path.expanduser(ref))
        if name.startswith((".", "/", "~")) and scheme in ("hf", "random"):
            pass  # local folders are normalised by the adapter, which knows which part is a path
        return cls(scheme, name, ref, options)


def canonical_json(obj: Any) -> str:
    """Serialise ``obj`` as canonical JSON (sorted keys, no spaces), the input of every fingerprint.

    Example:
        >>> canonical_json({"b": 1, "a": [1, 2]})
        '{"a":[1,2],"b":1}'

    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(obj: Any, length: int = 24) -> str:
    """Return ``sha256(canonical JSON + CACHE_VERSION)`` as hex, truncated to ``length`` characters.

    Example:
        >>> fingerprint({"model": "zoo:x"}) == fingerprint({"model": "zoo:x"})
        True

    """
    digest = hashlib.sha256((canonical_json(obj) + "|" + CACHE_VERSION).encode()).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class RunSpec:
    """Everything that identifies one evaluation: model x benchmark x shift x prompts x label space.

    ``label_space`` and ``prompts`` of ``None`` mean the benchmark's default and ``'openai'``; the runner
    resolves them and records the resolved values.

    Example:
        >>> RunSpec.make("zoo:clip-vit-diverse", "factorworld", prompts="simple").canonical["benchmark"]
        'factorworld'

    """

    model: ModelSpec
    benchmark: CallSpec
    shift: CallSpec | None = None
    prompts: str = "openai"
    label_space: str | None = None
    seed: int = 0

    @classmethod
    def make(
        cls,
        model: str | ModelSpec,
        benchmark: str | CallSpec,
        shift: str | CallSpec | None = None,
        prompts: str = "openai",
        label_space: str | None = None,
        seed: int = 0,
    ) -> RunSpec:
        """Parse every part and build the spec."""
        shift_spec = None if shift in (None, "", "none", "clean") else CallSpec.parse(shift)  # type: ignore[arg-type]
        return cls(ModelSpec.parse(model), CallSpec.parse(benchmark), shift_spec, prompts, label_space, seed)

    @property
    def canonical(self) -> dict[str, Any]:
        """The canonical dict of this run (the results key)."""
        return {
            "model": self.model.canonical,
            "benchmark": self.benchmark.canonical,
            "shift": self.shift.canonical if self.shift else None,
            "prompts": self.prompts,
            "label_space": self.label_space,
            "seed": self.seed,
        }
