"""An LMM's answers as two artefact kinds: ``lmm_rows`` (what the model computed: log-likelihoods or generated
token ids) and ``answers`` (its class scores, ``SCORING["lmm"]``), derived from the first without the model.

An LMM has no image embedding and no text head: it answers a question about each image, by one of three closed-set
protocols (:mod:`zeroshift.models.lmm`):

* ``likelihood`` (default, deterministic): the log-likelihood of each candidate class name as the answer, the
  image+question prefix encoded once and the candidates scored over its key-value cache; candidates are the label
  space (``label_space``), each image's top-k of a named CLIP (``clip_topk(k=5, model='hf:...')``) or a fixed list
  (``classes(names=('cat', 'dog'))``). Scores are normalised per token (``mean``) or summed (``sum``).
* ``choice`` (ImageNet-D): a two-way question with the true class and the CLIP's strongest wrong class (its
  top-1 when wrong, else its top-2; the CLIP is ``clip``, default the LMM's companion), greedy decoding, the answer
  matched to both names and their synonyms: ``TRUE``, ``FALSE``, ``DOUBLE`` (both named), ``TODO`` (neither).
* ``generate``: a free greedy answer, matched to the label space's names and synonyms (one class, none, several).

``lmm_rows`` hold per image (float64; cached per model, image, shift, protocol, question, candidates and decoding,
like image features): ``likelihood`` the candidates, the summed log-probability and the token count of each
(``3K`` columns); ``choice`` the true class, the other option, whether the true class was asked first, the number
of generated tokens and the token ids (padded with -1); ``generate`` the number of tokens and the ids. Likelihood
candidates are universe columns under ``label_space`` and label indices under the other rules.

``answers`` rows (derived: normalisation, answer matching and synonyms change only them, so a new scoring or metric
of a cached run decodes nothing) hold the class scores over the label space's universe (``-inf``: never a
candidate), then two columns: the answer's code and its matched label (``choice``: 0 TRUE, 1 FALSE, 2 DOUBLE,
3 TODO, and the other option's label; ``generate``: 0 one class, 1 none, 2 several, and the matched label or -1;
``likelihood``: NaN). Class scores of a decided answer are 0 (log 1) for the named class and ``-inf`` elsewhere;
an undecided one is uniform over the options (choice) or the label space (generate): a tie the accuracy group breaks
by the lowest class index, while the ``lmm`` group's ``lmm_top1`` follows the published rules.

Every setting is a parameter of both kinds; a model spec's options override them
(``lmm:zoo/llava-fw-lm-base?protocol=choice&max_new_tokens=16``), so a run chooses them on the command line.

Example:
    >>> kind = kinds.get("answers")
    >>> kind.keyed_by, kind.derives, sorted(kinds.get("lmm_rows").params)[:3]
    ('image', 'lmm_rows', ['candidates', 'clip', 'max_new_tokens'])

"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zeroshift.artefacts.base import artefact_kind, kinds
from zeroshift.errors import SpecError, UsageError
from zeroshift.params import Param

PROTOCOLS = ("likelihood", "choice", "generate")
#: the named question each protocol uses by default (``_info/questions.yaml``)
DEFAULT_QUESTION = {"likelihood": "default", "choice": "imagenet_d", "generate": "default"}
CHOICE_CODES = ("TRUE", "FALSE", "DOUBLE", "TODO")
FREE_CODES = ("one", "none", "several")
#: spec options the adapter reads (``?dtype=``...), besides the settings below
MODEL_OPTIONS = ("dtype", "revision", "trust_remote_code", "auto")


def _count(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SpecError(f"must be a positive integer, got {value!r}") from None
    if number < 1 or isinstance(value, bool):
        raise SpecError(f"must be a positive integer, got {value!r}")
    return number


def _candidates(value: Any) -> str:
    from zeroshift.lmm.candidates import CandidateSpec

    return CandidateSpec.parse(str(value)).canonical


def _optional(value: Any) -> str | None:
    return None if value in (None, "", "none") else str(value)


RAW_PARAMS = {
    "protocol": Param("likelihood", "closed-set protocol of the class scores", choices=PROTOCOLS),
    "question": Param("default", "a named question of zeroshift/lmm/_info/questions.yaml, or the text of one"),
    "candidates": Param(
        "label_space",
        "likelihood candidates: label_space, clip_topk(k=5, model='...') or classes(names=(...))",
        check=_candidates,
    ),  # fmt: skip
    "clip": Param(
        None, "the CLIP whose strongest wrong class is choice's second option (default: the companion)", check=_optional
    ),  # fmt: skip
    "order": Param(
        "gt_first", "choice: true class first (as published) or shuffled per image", choices=("gt_first", "shuffled")
    ),  # fmt: skip
    "max_new_tokens": Param(64, "choice and generate: answer length limit (greedy decoding)", check=_count),
}
PARAMS = {
    **RAW_PARAMS,
    "normalise": Param("mean", "log-likelihood per answer token (mean) or summed (sum)", choices=("mean", "sum")),
    "synonyms": Param("none", "answer matching: none, imagenet_d or a YAML/JSON file of synonyms"),
    "nested": Param(
        "published",
        "choice: nested names decided by the synonyms file's pairs, or by any containment",
        choices=("published", "auto"),
    ),  # fmt: skip
}
#: parameters a model spec's options may set (``?normalise=sum``)
SETTINGS = tuple(PARAMS)


def settings(scope: Any, params: Mapping[str, Any], kind: str = "answers") -> dict[str, Any]:
    """The kind's parameters with the model spec's options over them, checked like parameters and against the
    protocol (the question's slots, the candidates' rule).

    Example:
        >>> class Scope:
        ...     class handle:
        ...         from zeroshift.specs import ModelSpec
        ...         spec = ModelSpec.parse("lmm:zoo/x?normalise=sum")
        >>> settings(Scope, {"protocol": "likelihood", "question": "default", "normalise": "mean"})["normalise"]
        'sum'

    """
    options = scope.handle.spec.option_dict
    declared = kinds.get(kind).params
    given = {**{k: v for k, v in params.items() if k in declared}, **{k: options[k] for k in declared if k in options}}
    chosen = kinds.get(kind).resolve(given)
    question_text(chosen)
    if chosen["protocol"] != "likelihood" and chosen["candidates"] != "label_space":
        raise SpecError(
            f"candidates={chosen['candidates']} applies to the likelihood protocol; {chosen['protocol']} chooses "
            "its own (choice: the true class and the CLIP's strongest wrong class; generate: the label space)"
        )
    return chosen


def question_text(chosen: Mapping[str, Any]) -> Any:
    """The question of the chosen protocol: an ``AnswerTemplate`` (likelihood) or the question text, from a name of
    ``_info/questions.yaml`` or a literal question (a template without its slot fails with one line).

    Example:
        >>> question_text({"protocol": "choice", "question": "default"})[:12]
        'What is the '
        >>> question_text({"protocol": "likelihood", "question": "Which animal is it?"})
        Traceback (most recent call last):
        ...
        zeroshift.errors.SpecError: answer template 'Which animal is it?' has no {answer} slot (e.g. ...)

    """
    from zeroshift.lmm.templates import AnswerTemplate, named_question

    protocol, value = chosen["protocol"], str(chosen["question"])
    name = DEFAULT_QUESTION[protocol] if value == "default" else value
    literal = " " in value or "{" in value
    try:
        if protocol == "likelihood":
            return AnswerTemplate.parse(value) if literal else AnswerTemplate.named(name)
        text = value if literal else named_question(protocol, name)["question"]
    except UsageError as err:
        raise SpecError(str(err)) from None
    if protocol == "choice" and ("{first}" not in text or "{second}" not in text):
        raise SpecError(f"choice question {text!r} needs the {{first}} and {{second}} slots")
    return text


def _record_question(chosen: Mapping[str, Any]) -> Any:
    question = question_text(chosen)
    return question.record if chosen["protocol"] == "likelihood" else question


def candidate_names(scope: Any) -> list[str]:
    """The label-space candidates: the class names of the label space's used columns, in column order."""
    space = scope.label_space
    return [space.universe_names[c] for c in space.used_columns]


def _digest(names: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(names).encode()).hexdigest()[:16]


def _clip_spec(scope: Any, chosen: Mapping[str, Any]) -> str | None:
    """The CLIP that chooses candidates (clip_topk's model) or choice's second option (``clip``, the companion)."""
    from zeroshift.lmm.candidates import CandidateSpec

    if chosen["protocol"] == "choice":
        clip = chosen["clip"] or scope.facts.companion
        if not clip:
            raise UsageError(
                f"{scope.handle.spec} names no companion CLIP for choice's second option; give one with ?clip=SPEC"
            )
        return str(clip)
    spec = CandidateSpec.parse(chosen["candidates"])
    return spec.model if spec.kind == "clip_topk" else None


def _check(scope: Any, params: Mapping[str, Any], kind: str = "answers") -> None:
    if scope.facts.kind != "lmm":
        raise UsageError(f"{scope.facts.spec} is not an LMM: answers come from lmm: models")
    options = scope.handle.spec.option_dict
    unknown = sorted(set(options) - set(SETTINGS) - set(MODEL_OPTIONS))
    if unknown:
        from zeroshift.registry import suggest

        raise UsageError(
            f"{scope.handle.spec}: unknown option {unknown[0]!r}{suggest(unknown[0], [*SETTINGS, *MODEL_OPTIONS])} "
            f"(known: {', '.join([*SETTINGS, *MODEL_OPTIONS])})"
        )
    chosen = settings(scope, params, kind)
    from zeroshift.lmm.candidates import CandidateSpec

    spec = CandidateSpec.parse(chosen["candidates"])
    if spec.kind == "classes":
        spec.select(1, list(scope.label_space.class_names))  # unknown names: one line, before any work
    if spec.kind == "clip_topk" and spec.k is not None and spec.k > len(scope.label_space.class_names):
        raise UsageError(f"{spec.canonical}: k={spec.k} exceeds the {len(scope.label_space.class_names)} classes")
    if chosen["protocol"] == "choice" and not scope.benchmark.labelled:
        raise UsageError(f"the choice protocol asks about each image's true class; {scope.benchmark.name} has none")
    if kind == "answers":
        _synonyms(scope, chosen)
    _clip_spec(scope, chosen)


def _raw_fingerprint(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    from zeroshift.lmm.keys import bank_key

    chosen = settings(scope, params, "lmm_rows")
    protocol = chosen["protocol"]
    clip = _clip_spec(scope, chosen)
    candidates: dict[str, Any] | None = None
    if protocol == "likelihood":
        rule = chosen["candidates"]
        names = candidate_names(scope) if rule == "label_space" else list(scope.label_space.class_names)
        candidates = {"rule": rule, "names": _digest(names)}
    elif protocol == "choice":
        candidates = {"rule": "true class and the CLIP's strongest wrong class",
                      "names": _digest(scope.label_space.class_names)}  # fmt: skip
    if clip is not None and candidates is not None:
        candidates["clip"] = scope.condition_on(clip).model_fingerprint
    decoding = None
    if protocol != "likelihood":
        decoding = {"greedy": True, "num_beams": 1, "max_new_tokens": chosen["max_new_tokens"]}
        if protocol == "choice":
            decoding["order"] = chosen["order"]
    key = bank_key(scope.model_fingerprint, protocol, prompt=repr(_record_question(chosen)),
                   candidates=repr(sorted(candidates.items())) if candidates else None, decoding=decoding)  # fmt: skip
    return {**scope.pixel_fingerprint(), "precision": scope.precision, "what": "lmm rows", "bank": key}


# --- the CLIP's logits on the condition's images, memoised per outputs object ------------------------------------
_INDEX: dict[int, tuple[Any, dict[str, int]]] = {}


def _clip_logits(scope: Any, clip: str, sample_ids: Sequence[str]) -> np.ndarray:
    """The CLIP's class scores on ``sample_ids`` (the same condition on the CLIP, through the caches)."""
    outputs = scope.condition_on(clip).outputs
    entry = _INDEX.get(id(outputs))
    if entry is None or entry[0]() is not outputs:
        entry = (weakref.ref(outputs), {sid: i for i, sid in enumerate(outputs.sample_ids)})
        _INDEX[id(outputs)] = entry
        weakref.finalize(outputs, _INDEX.pop, id(outputs), None)
    where = entry[1]
    lacking = [sid for sid in sample_ids if sid not in where]
    if lacking:
        raise UsageError(f"{clip} has no logits for {len(lacking)} image(s) (first: {lacking[0]}); cannot choose")
    return outputs.logits.numpy()[[where[sid] for sid in sample_ids]]


def _pad(ids: Sequence[Sequence[int]], width: int) -> np.ndarray:
    out = np.full((len(ids), width + 1), -1.0)
    for i, row in enumerate(ids):
        out[i, 0] = len(row)
        out[i, 1 : 1 + len(row)] = row[:width]
    return out


def _raw_compute(batch: Any, params: Mapping[str, Any]) -> Any:
    import torch

    from zeroshift.lmm.candidates import CandidateSpec, strongest_wrong

    scope = batch.scope
    chosen = settings(scope, params, "lmm_rows")
    model = batch.model
    space = scope.label_space
    protocol = chosen["protocol"]
    ids = [scope.dataset.sample_ids[i] for i in batch.indices]
    n = len(ids)
    if protocol == "likelihood":
        spec = CandidateSpec.parse(chosen["candidates"])
        if spec.kind == "label_space":
            columns = np.tile(np.asarray(space.used_columns, dtype=np.int64), (n, 1))
            names: Any = candidate_names(scope)
        else:
            logits = _clip_logits(scope, spec.model, ids) if spec.kind == "clip_topk" else None
            columns = spec.select(n, list(space.class_names), logits)
            names = [[space.class_names[c] for c in row] for row in columns]
        result = model.likelihood(batch.pixels, names, question_text(chosen))
        rows = np.concatenate([columns, result.logprob_sum, result.n_tokens], axis=1)
    elif protocol == "choice":
        labels = batch.labels().cpu().numpy()
        other = strongest_wrong(_clip_logits(scope, _clip_spec(scope, chosen), ids), labels)
        if chosen["order"] == "shuffled":
            gt_first = np.asarray([s % 2 == 0 for s in batch.seeds("choice-order")])
        else:
            gt_first = np.ones(n, dtype=bool)
        first = [space.class_names[a if f else b] for a, b, f in zip(labels, other, gt_first, strict=True)]
        second = [space.class_names[b if f else a] for a, b, f in zip(labels, other, gt_first, strict=True)]
        answers = model.choice(batch.pixels, first, second, question_text(chosen),
                               max_new_tokens=chosen["max_new_tokens"])  # fmt: skip
        head = np.stack([labels, other, gt_first], axis=1).astype(np.float64)
        rows = np.concatenate([head, _pad(answers.token_ids, chosen["max_new_tokens"])], axis=1)
    else:
        answers = model.generate(batch.pixels, question_text(chosen), max_new_tokens=chosen["max_new_tokens"])
        rows = _pad(answers.token_ids, chosen["max_new_tokens"])
    return torch.as_tensor(rows, dtype=torch.float64)


def _raw_protocol(scope: Any, params: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    chosen = settings(scope, params, "lmm_rows")
    return {"artefact": "lmm_rows", "protocol": chosen["protocol"], "fingerprint": fingerprint}


# --- answers: class scores derived from the rows -------------------------------------------------------------------


def _synonyms(scope: Any, chosen: Mapping[str, Any]) -> Any:
    from zeroshift.lmm.matching import Synonyms

    value = str(chosen["synonyms"])
    if value == "none":
        return Synonyms()
    if value == "imagenet_d":
        from zeroshift.data.imagenet_d import imagenet_d_synonyms

        return imagenet_d_synonyms()
    return Synonyms.from_file(value)


def _file_digest(value: str) -> str | None:
    if value in ("none", "imagenet_d"):
        return None
    try:
        with open(value, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()[:16]
    except OSError:
        return None


def _fingerprint(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    chosen = settings(scope, params)
    out: dict[str, Any] = {"what": "lmm answers", "rows": _raw_fingerprint(scope, params),
                           "space": scope.label_space.fingerprint_data}  # fmt: skip
    if chosen["protocol"] == "likelihood":
        out["normalise"] = chosen["normalise"]
    else:
        out.update(synonyms=chosen["synonyms"], synonyms_digest=_file_digest(str(chosen["synonyms"])))
        if chosen["protocol"] == "choice":
            out["nested"] = chosen["nested"]
    return out


_DECODERS: dict[str, Any] = {}


def _decode(scope: Any, token_ids: list[list[int]]) -> list[str]:
    """Answer texts of generated token ids, with the model's tokenizer (the weights are not loaded for this)."""
    handle = scope.handle
    if handle.loaded:
        return [handle.load().decode(ids) for ids in token_ids]
    key = handle.fingerprint
    if key not in _DECODERS:
        from zeroshift.models.lmm import LMMModel

        _DECODERS[key] = LMMModel.load_tokenizer(handle.spec)
    tokenizer = _DECODERS[key]
    return [tokenizer.decode(list(ids), skip_special_tokens=True).strip() for ids in token_ids]


def _answer_texts(rows: Any, scope: Any, protocol: str) -> list[str]:
    """The decoded answers of ``lmm_rows`` rows (choice, generate)."""
    data = np.asarray(rows, dtype=np.float64)
    start = 4 if protocol == "choice" else 1
    ids = [[int(t) for t in row[start : start + int(row[start - 1])]] for row in data]
    return _decode(scope, ids)


def _compute(rows: Any, scope: Any, params: Mapping[str, Any]) -> Any:
    import torch

    from zeroshift.lmm.matching import match_choice, match_free

    chosen = settings(scope, params)
    space = scope.label_space
    data = np.asarray(rows.rows, dtype=np.float64)
    n, width = len(data), len(space.universe_names)
    out = np.full((n, width + 2), -np.inf)
    out[:, width:] = np.nan
    protocol = chosen["protocol"]

    def put(i: int, label: int, value: float) -> None:
        out[i, list(space.columns[label])] = value

    if protocol == "likelihood":
        k = data.shape[1] // 3
        cands, sums, counts = data[:, :k].astype(np.int64), data[:, k : 2 * k], data[:, 2 * k :]
        scores = sums / counts if chosen["normalise"] == "mean" else sums
        if chosen["candidates"] == "label_space":  # candidates are universe columns
            out[np.arange(n)[:, None], cands] = scores
        else:  # candidates are label indices: every column of the class
            for i in range(n):
                for c, value in zip(cands[i], scores[i], strict=True):
                    put(i, int(c), float(value))
    elif protocol == "choice":
        synonyms = _synonyms(scope, chosen)
        for i, answer in enumerate(_answer_texts(data, scope, "choice")):
            gt, other = int(data[i, 0]), int(data[i, 1])
            code = match_choice(answer, space.class_names[gt], space.class_names[other], synonyms, chosen["nested"])
            named = {"TRUE": gt, "FALSE": other}.get(code)
            for label in (gt, other):
                put(i, label, 0.0 if named == label else (np.log(0.5) if named is None else -np.inf))
            out[i, width:] = (CHOICE_CODES.index(code), other)
    else:
        synonyms = _synonyms(scope, chosen)
        names = list(space.class_names)
        used = list(space.used_columns)
        for i, answer in enumerate(_answer_texts(data, scope, "generate")):
            label, status = match_free(answer, names, synonyms)
            if label >= 0:
                put(i, label, 0.0)
            else:
                out[i, used] = -np.log(len(names))
            out[i, width:] = (FREE_CODES.index(status), label)
    return torch.as_tensor(out, dtype=torch.float32)


def _protocol(scope: Any, params: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    chosen = settings(scope, params)
    protocol = chosen["protocol"]
    out: dict[str, Any] = {
        "artefact": "answers",
        "protocol": protocol,
        "question_name": chosen["question"] if " " not in str(chosen["question"]) else None,
        "non_candidates": "-inf",
        "fingerprint": fingerprint,
        "rows": "lmm_rows (cached per model, image, shift, protocol, question, candidates and decoding)",
    }
    decoding = {"greedy": True, "num_beams": 1, "do_sample": False, "max_new_tokens": chosen["max_new_tokens"]}
    clip = _clip_spec(scope, chosen)
    if protocol == "likelihood":
        from zeroshift.lmm.candidates import CandidateSpec

        rule = CandidateSpec.parse(chosen["candidates"])
        names = candidate_names(scope) if rule.kind == "label_space" else list(rule.names)
        out.update(
            template=question_text(chosen).record,
            candidates={"rule": rule.kind, **rule.record, "n": rule.k or len(names),
                        "names": names if rule.kind != "clip_topk" else None,
                        "clip": clip, "clip_fingerprint": scope.condition_on(clip).model_fingerprint if clip else None},
            normalise={"mean": "log-likelihood per answer token", "sum": "summed log-likelihood"}[chosen["normalise"]],
            scoring="image+question prefix encoded once, candidates scored over its key-value cache",
            decoding=None,
        )  # fmt: skip
        return out
    synonyms = _synonyms(scope, chosen)
    out.update(question=question_text(chosen), decoding=decoding, synonyms={"name": chosen["synonyms"],
               **synonyms.record}, matching="lower-case substring of the class name or a synonym")  # fmt: skip
    if protocol == "choice":
        out.update(
            candidates={"rule": "the true class and the CLIP's strongest wrong class (its top-1 if wrong, else top-2)",
                        "clip": clip, "clip_fingerprint": scope.condition_on(clip).model_fingerprint},
            order={"gt_first": "true class first (as published)",
                   "shuffled": "per image, from the run seed and the sample id"}[chosen["order"]],
            nested=chosen["nested"],
            labels="TRUE: the true class only; FALSE: the other only; DOUBLE: both; TODO: neither",
            two_way="the true class is always one of the two options: class-score metrics (top-k) are two-way",
            undecided_scores="DOUBLE and TODO: log 1/2 for both options (the accuracy group breaks the tie by the "
            "lowest class index; the lmm group leaves them out of its accuracy, as published)",
        )  # fmt: skip
    else:
        out.update(
            candidates={"rule": "label_space", "n": len(scope.label_space.class_names)},
            undecided_scores="no class or several named: uniform over the label space (counted wrong by the lmm group)",
        )  # fmt: skip
    return out


artefact_kind(
    "lmm_rows",
    description="an LMM's raw answers (candidate log-likelihoods, or generated token ids)",
    keyed_by="image",
    fingerprint=_raw_fingerprint,
    compute=_raw_compute,
    params=RAW_PARAMS,
    check=lambda scope, params: _check(scope, params, "lmm_rows"),
    protocol=_raw_protocol,
)

artefact_kind(
    "answers",
    description="an LMM's class scores (answers to a question about the image)",
    keyed_by="image",
    fingerprint=_fingerprint,
    compute=_compute,
    params=PARAMS,
    check=_check,
    protocol=_protocol,
    derives="lmm_rows",
)

__all__ = ["CHOICE_CODES", "FREE_CODES", "candidate_names", "kinds", "question_text", "settings"]
