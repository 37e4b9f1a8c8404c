"""``answers``: an LMM's own class scores per image, the artefact its class scores come from (``SCORING["lmm"]``).

An LMM has no image embedding and no text head: it answers a question about each image. Under the ``likelihood``
protocol a row is the log-likelihood of each class name of the label space as the answer (the image+question
prefix encoded once, every candidate scored over its key-value cache: :meth:`zeroshift.models.lmm.LMMModel.
likelihood`), normalised per token (``mean``, the default) or summed (``sum``). Rows span the label space's
universe: the used columns hold scores, the others ``-inf`` (never a candidate), so the engine maps them onto
classes exactly as it maps a fixed head's logits.

The rows are keyed by image content; the bank's fingerprint holds the LMM's identity (weights digest, dtype),
the pixel fingerprint (shift, seed: shifts act on the pixels the LMM's processor then normalises), the protocol,
the question and answer template, the candidate set (the ordered names, as a digest with the names recorded) and
the normalisation. These settings are the kind's parameters; a model spec's options override them
(``lmm:zoo/llava-fw-lm-base?normalise=sum``), so a run chooses them on the command line.

Example:
    >>> kind = kinds.get("answers")
    >>> kind.keyed_by, sorted(kind.params)
    ('image', ['normalise', 'protocol', 'question'])

"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from zeroshift.artefacts.base import artefact_kind, kinds
from zeroshift.errors import SpecError, UsageError
from zeroshift.params import Param

#: parameters a model spec's options may set (``?normalise=sum``)
SETTINGS = ("protocol", "question", "normalise")


def _question(value: Any) -> str:
    from zeroshift.lmm.templates import named_question

    try:
        named_question("likelihood", str(value))
    except UsageError as err:
        raise SpecError(str(err)) from None
    return str(value)


PARAMS = {
    "protocol": Param("likelihood", "closed-set protocol of the class scores", choices=("likelihood",)),
    "question": Param("default", "named likelihood question of zeroshift/lmm/_info/questions.yaml", check=_question),
    "normalise": Param("mean", "log-likelihood per answer token (mean) or summed (sum)", choices=("mean", "sum")),
}


def settings(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The kind's parameters with the model spec's options over them (checked like parameters).

    Example:
        >>> class Scope:
        ...     class handle:
        ...         from zeroshift.specs import ModelSpec
        ...         spec = ModelSpec.parse("lmm:zoo/x?normalise=sum")
        >>> settings(Scope, {"protocol": "likelihood", "question": "default", "normalise": "mean"})["normalise"]
        'sum'

    """
    options = scope.handle.spec.option_dict
    given = {**params, **{k: options[k] for k in SETTINGS if k in options}}
    return kinds.get("answers").resolve(given)


def candidate_names(scope: Any) -> list[str]:
    """The candidates: the class names of the label space's used columns, in column order."""
    space = scope.label_space
    return [space.universe_names[c] for c in space.used_columns]


def _digest(names: list[str]) -> str:
    return hashlib.sha256("\x1f".join(names).encode()).hexdigest()[:16]


def _template(chosen: Mapping[str, Any]) -> Any:
    from zeroshift.lmm.templates import AnswerTemplate

    return AnswerTemplate.named(chosen["question"])


def _check(scope: Any, params: Mapping[str, Any]) -> None:
    if scope.facts.kind != "lmm":
        raise UsageError(f"{scope.facts.spec} is not an LMM: answers come from lmm: models")
    settings(scope, params)


def _fingerprint(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    chosen = settings(scope, params)
    return {
        **scope.pixel_fingerprint(),
        "precision": scope.precision,
        "what": "lmm answers",
        "protocol": chosen["protocol"],
        "template": _template(chosen).record,
        "candidates": {"rule": "label_space", "digest": _digest(candidate_names(scope))},
        "normalise": chosen["normalise"],
    }


def _compute(batch: Any, params: Mapping[str, Any]) -> Any:
    import torch

    scope = batch.scope
    chosen = settings(scope, params)
    model = scope.handle.load()
    names = candidate_names(scope)
    scores = model.likelihood(batch.pixels, names, _template(chosen)).scores(chosen["normalise"])
    space = scope.label_space
    rows = torch.full((len(scores), len(space.universe_names)), float("-inf"))
    rows[:, list(space.used_columns)] = torch.as_tensor(scores, dtype=torch.float32)
    return rows


def _protocol(scope: Any, params: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    chosen = settings(scope, params)
    names = candidate_names(scope)
    return {
        "artefact": "answers",
        "protocol": chosen["protocol"],
        "template": _template(chosen).record,
        "question_name": chosen["question"],
        "candidates": {"rule": "label_space", "names": names, "n": len(names)},
        "normalise": {"mean": "log-likelihood per answer token", "sum": "summed log-likelihood"}[chosen["normalise"]],
        "scoring": "image+question prefix encoded once, candidates scored over its key-value cache",
        "decoding": None,
        "non_candidates": "-inf",
        "fingerprint": fingerprint,
    }


artefact_kind(
    "answers",
    description="an LMM's class scores (answers to a question about the image)",
    keyed_by="image",
    fingerprint=_fingerprint,
    compute=_compute,
    params=PARAMS,
    check=_check,
    protocol=_protocol,
)

__all__ = ["candidate_names", "kinds", "settings"]
