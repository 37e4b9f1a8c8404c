"""A condition as its readers see it: metric groups (``GroupInputs``), artefact kinds (``ArtefactScope``) and shifts
(their ``prepare`` context).

Everything is computed on first use through the caches: the outputs (class scores through the model's scoring),
artefacts (in one pass with the condition's features when the groups declared them), related conditions (the
relations of :mod:`zeroshift.engine.relations`) and the shift's per-sample parameters. What related conditions had
to encode is noted for the record's ``counts["related"]``.

Example:
    >>> from zeroshift.engine.runner import Runner
    >>> from zeroshift.specs import RunSpec
    >>> inputs = Runner().inputs(RunSpec.make("zoo:sup-cnn-tiny", "factorworld(n=4)"))
    >>> len(inputs.outputs), inputs.model.kind
    (4, 'fixed_head')

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from zeroshift.core.outputs import ArtefactRows, Outputs, class_logits
from zeroshift.engine.condition import Condition
from zeroshift.engine.produce import EncodeStats, Request
from zeroshift.engine.relations import related_spec
from zeroshift.errors import UsageError
from zeroshift.prompts import load_prompts

if TYPE_CHECKING:
    from zeroshift.engine.runner import Runner


class ConditionInputs:
    """One condition, read lazily through the caches (see the module docstring)."""

    def __init__(
        self,
        runner: Runner,
        condition: Condition,
        prefetch: Mapping[str, Mapping[str, Any]] | None = None,
        relations: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
        owner: ConditionInputs | None = None,
    ) -> None:
        self._runner = runner
        self.condition = condition
        #: image artefacts to produce in the same pass as the features (name -> params)
        self._prefetch = dict(prefetch or {})
        #: the relations the groups declared, with the artefacts each reads
        self._relations = dict(relations or {})
        self._owner = owner
        self._outputs: Outputs | None = None
        self._stats: EncodeStats | None = None
        self._artefacts: dict[Request, Any] = {}
        self._related: dict[tuple[Any, ...], ConditionInputs] = {}
        self._shift_params: list[dict[str, Any]] | None = None
        self._shift_params_ready = False
        self.scores_protocol: dict[str, Any] = {}
        #: encode statistics of related conditions (``counts["related"]``)
        self.related_counts: list[dict[str, Any]] = [] if owner is None else owner.related_counts

    # --- what the condition is --------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        """The model's facts."""
        return self.condition.facts

    @property
    def facts(self) -> Any:
        """The model's facts (the name artefact kinds use)."""
        return self.condition.facts

    @property
    def handle(self) -> Any:
        """The model handle (loads the weights when something must be computed)."""
        return self.condition.handle

    @property
    def benchmark(self) -> Any:
        """The benchmark."""
        return self.condition.benchmark

    @property
    def dataset(self) -> Any:
        """The condition's samples."""
        return self.condition.dataset

    @property
    def label_space(self) -> Any:
        """The label space."""
        return self.condition.label_space

    @property
    def prompts(self) -> Any:
        """The prompt set."""
        return self.condition.prompts

    @property
    def shift(self) -> Any:
        """The shift (None when clean)."""
        return self.condition.shift

    @property
    def seed(self) -> int:
        """The run seed."""
        return self.condition.seed

    @property
    def precision(self) -> str:
        """The precision recorded in image fingerprints."""
        return self.condition.precision

    @property
    def model_fingerprint(self) -> str:
        """The model's fingerprint."""
        return self.condition.model_fingerprint

    def head_fingerprint(self) -> str | None:
        """The text head's fingerprint (None for fixed heads)."""
        return self.condition.head_fingerprint()

    def pixel_fingerprint(self) -> dict[str, Any]:
        """What the condition's pixels depend on."""
        return self.condition.pixel_fingerprint()

    # --- outputs and artefacts ----------------------------------------------------------------------------
    @property
    def outputs(self) -> Outputs:
        """Class scores of the condition (features and declared artefacts produced in one pass)."""
        if self._outputs is None:
            self._outputs = self._score()
        return self._outputs

    @property
    def stats(self) -> EncodeStats:
        """Encode statistics of the condition's features."""
        _ = self.outputs
        assert self._stats is not None
        return self._stats

    def _score(self) -> Outputs:
        cond = self.condition
        # class scores come from the features, or from the artefact the model's kind names (an LMM's answers)
        requests = [Request.of(cond.facts.scores_from)]
        requests += [r for r in (Request.of(name, p) for name, p in self._prefetch.items()) if self._can(r)]
        rows, stats = self._runner.producer.images(self, requests)
        for request, found in rows.items():
            self._artefacts[request] = found
        self._stats = stats
        self._note("features", stats)
        for request in requests[1:]:  # produced in the same pass: nothing more encoded for them
            self._note(request.kind.name, stats, same_pass=True)
        features = rows[requests[0]]
        #: what the scoring artefact records about its rows (empty for features; an LMM's protocol and question)
        self.scores_protocol = dict(features.protocol)
        facts = cond.facts
        space = cond.label_space
        # a label space without classes (retrieval sets) scores nothing: no head is encoded, the logits are (N, 0)
        head = self.head() if facts.has_text_head and len(space.class_names) else None
        index = {sid: i for i, sid in enumerate(cond.dataset.sample_ids)}
        kept = np.asarray([index[sid] for sid in features.sample_ids], dtype=np.int64)
        if len(kept) and len(space.class_names):
            logits, cos = class_logits(features.rows, head, facts.scale, facts.bias, space)
        else:
            logits, cos = torch.empty(len(kept), len(space.class_names)), None
        if cond.benchmark.labelled:
            labels = cond.benchmark.native_to_label(space)[cond.dataset.targets[kept]]
        else:
            labels = np.full(len(kept), -1, dtype=np.int64)
        meta = {k: [v[i] for i in kept] for k, v in cond.dataset.meta.items()}
        return Outputs(
            features.sample_ids,
            np.asarray(labels, dtype=np.int64),
            logits.float(),
            None if cos is None else cos.float(),
            space,
            facts.scale,
            facts.bias,
            meta,
            kept,
        )

    def _can(self, request: Request) -> bool:
        """Whether the model can give an artefact declared for prefetching (the group decides what to do if not)."""
        try:
            if request.kind.check is not None:
                request.kind.check(self, request.kwargs)
        except UsageError:
            return False
        return True

    def artefact(self, kind: str, **params: Any) -> Any:
        """The rows of an image artefact for the condition's samples, as the kind's view presents them."""
        request = Request.of(kind, params)
        if request.kind.keyed_by != "image":
            raise ValueError(f"artefact {kind!r} is keyed by {request.kind.keyed_by}, not by image")
        if self._outputs is None and request not in self._artefacts:
            # asked before the outputs: produce both in one pass, so no image is encoded twice
            self._prefetch[kind] = request.kwargs
            _ = self.outputs
        if request not in self._artefacts:
            found, stats = self._runner.producer.images(self, [request])
            self._artefacts[request] = found[request]
            self._note(kind, stats)
        rows = self._artefacts[request]
        return request.kind.view(rows, self, request.kwargs) if request.kind.view else rows

    def features_of(self, benchmark: str) -> ArtefactRows:
        """Normalised image features of the same model on every sample of another benchmark, through the cache
        (:func:`zeroshift.engine.features.cached_features`; e.g. a training corpus an artefact compares with).
        """
        from zeroshift.engine.features import cached_features

        return cached_features(self._runner, str(self.condition.handle.spec), benchmark)

    def condition_on(self, model: str) -> ConditionInputs:
        """The same condition on another model (the ``companion`` relation with ``model``), through the caches;
        what it encodes is noted in ``counts["related"]``.

        Example:
            >>> from zeroshift.engine.runner import Runner
            >>> from zeroshift.specs import RunSpec
            >>> inputs = Runner().inputs(RunSpec.make("zoo:sup-cnn-tiny", "factorworld(n=4)"))
            >>> str(inputs.condition_on("zoo:sup-cnn-small").condition.spec.model)
            'zoo:sup-cnn-small'

        """
        return self._relate("companion", {"model": model})

    def texts(self, kind: str, keys: list[str], **params: Any) -> Any:
        """Rows of a text artefact for ``keys`` (strings), computing only what its bank lacks."""
        return self._runner.producer.texts(self, Request.of(kind, params), keys)

    def head(self) -> torch.Tensor:
        """Text-head rows of the label space's used columns."""
        space = self.condition.label_space
        names = [space.universe_names[c] for c in space.used_columns]
        return self.texts("heads", names)

    def head_rows(self, names: list[str], prompts: str | None = None) -> torch.Tensor:
        """Text-head rows of ``names`` under the prompt set ``prompts`` (a name or file; default: the run's set)."""
        chosen = load_prompts(prompts) if prompts is not None else self.condition.prompts
        return self.texts("heads", names, prompts=chosen)

    # --- the shift ----------------------------------------------------------------------------------------
    def shift_params(self) -> list[dict[str, Any]] | None:
        """The shift's per-sample parameters (``Shift.prepare``), aligned with the dataset; computed once."""
        if not self._shift_params_ready:
            shift = self.condition.shift
            self._shift_params = shift.prepare(self) if shift is not None else None
            if self._shift_params is not None and len(self._shift_params) != len(self.condition.dataset):
                raise RuntimeError(
                    f"{shift.name}.prepare returned {len(self._shift_params)} rows for "
                    f"{len(self.condition.dataset)} samples"
                )
            needs = shift.needs() if shift is not None else {}
            if needs:
                self._shift_params = self._with_needs(needs, self._shift_params)
            self._shift_params_ready = True
        return self._shift_params

    def _with_needs(
        self, needs: Mapping[str, Mapping[str, Any]], prepared: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]]:
        """The per-sample parameters with the rows of the artefacts the shift reads (``Shift.needs``).

        They are artefacts of the clean images (the same samples without the shift), produced through the cache
        before the shifted pixels are loaded; each sample's row goes under the kind's name.
        """
        ids = self.condition.dataset.sample_ids
        out = [dict(p) for p in prepared] if prepared is not None else [{} for _ in ids]
        clean = self._relate("clean", {})
        for name, params in needs.items():
            request = Request.of(name, params)
            if request.kind.keyed_by != "image":
                raise RuntimeError(f"shift {self.condition.shift.name} needs {name!r}, which is not keyed by image")
            found, stats = self._runner.producer.images(clean, [request])
            clean._note(name, stats)
            rows = found[request]
            position = {sid: j for j, sid in enumerate(rows.sample_ids)}
            lacking = [sid for sid in ids if sid not in position]
            if lacking:
                raise UsageError(
                    f"{self.condition.shift.canonical}: no {name} for {len(lacking)} of {len(ids)} images "
                    f"(first: {lacking[0]})"
                )
            for i, sid in enumerate(ids):
                out[i][name] = rows.rows[position[sid]]
        return out

    def clean_outputs(self) -> Outputs:
        """Outputs of the same benchmark and label space without the shift (for ``Shift.prepare``)."""
        return self._relate("clean", {}).outputs

    # --- related conditions -------------------------------------------------------------------------------
    def related(self, relation: str, **overrides: Any) -> ConditionInputs:
        """A related condition the groups declared (see :mod:`zeroshift.engine.relations`)."""
        if relation not in self._relations:
            raise RuntimeError(f"no metric group of this run declared the relation {relation!r} in its needs")
        return self._relate(relation, overrides)

    def _relate(self, relation: str, overrides: Mapping[str, Any]) -> ConditionInputs:
        spec = related_spec(self.condition, relation, overrides)
        cond = self._runner.resolve(spec, limit=self.condition.limit)
        if cond.key == self.condition.key:
            return self  # the run is its own related condition (a clean in-distribution run)
        if cond.key not in self._related:
            prefetch = self._relations.get(relation, {})
            self._related[cond.key] = ConditionInputs(self._runner, cond, prefetch, owner=self)
        return self._related[cond.key]

    def _note(self, artefact: str, stats: EncodeStats, same_pass: bool = False) -> None:
        if self._owner is None:
            return
        cond = self.condition
        encoded = 0 if same_pass else stats.encoded
        self.related_counts.append(
            {
                "benchmark": cond.spec.benchmark.canonical,
                "shift": cond.spec.shift.canonical if cond.spec.shift else None,
                "label_space": cond.label_space.name,
                "artefact": artefact,
                "fingerprint": stats.fingerprint,
                "total": stats.total,
                "from_cache": stats.total - encoded if same_pass else stats.from_cache,
                "encoded": encoded,
                "skipped": dict(stats.skipped),
            }
        )


__all__ = ["ArtefactRows", "ConditionInputs"]
