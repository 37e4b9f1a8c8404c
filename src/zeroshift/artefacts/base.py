"""The artefact contract: what the engine can produce for a (model, dataset, shift), as registered kinds.

An **artefact kind** is one registration (:func:`artefact_kind`): a name, the keys its rows are addressed by
(``image``: the content key of each sample; ``text``: a string such as a class name or a caption), the parts of
its cache fingerprint, the function that computes a batch of rows, and how metric groups see the rows. The engine
finds which rows a condition lacks in the cache (a :class:`~zeroshift.core.vectors.VectorBank` per fingerprint),
computes only those -- every image kind of a condition in one pass over its pixels, one encoder forward per
batch shared by the kinds that read the encoder's outputs -- and writes them atomically. Adding a kind never
edits the engine.

Example:
    >>> {"features", "heads", "local"} <= set(kinds.names())
    True
    >>> kinds.get("features").keyed_by, sorted(kinds.get("local").reads)
    ('image', ['local'])

"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from zeroshift.params import Param, resolve_params
from zeroshift.registry import Registry

if TYPE_CHECKING:
    from zeroshift.data.base import Benchmark, Dataset, LabelSpace
    from zeroshift.models.facts import ModelFacts
    from zeroshift.prompts import PromptSet
    from zeroshift.shifts.base import Shift


class ArtefactScope(Protocol):
    """What a kind's fingerprint, check, compute and view may read about the condition it serves."""

    @property
    def model_fingerprint(self) -> str:
        """The model's fingerprint (weights and preprocessing)."""

    @property
    def facts(self) -> ModelFacts:
        """The model's cached facts."""

    @property
    def benchmark(self) -> Benchmark:
        """The benchmark."""

    @property
    def dataset(self) -> Dataset:
        """The condition's samples."""

    @property
    def label_space(self) -> LabelSpace:
        """The label space."""

    @property
    def prompts(self) -> PromptSet:
        """The prompt set."""

    @property
    def shift(self) -> Shift | None:
        """The shift (None when clean)."""

    @property
    def seed(self) -> int:
        """The run seed."""

    @property
    def precision(self) -> str:
        """The encoding precision recorded in fingerprints (``fp32`` on the CPU)."""

    def head_fingerprint(self) -> str | None:
        """The fingerprint of the condition's text head (None for fixed-head models)."""

    def pixel_fingerprint(self) -> dict[str, Any]:
        """What the condition's pixels depend on: shift, seed and (for attacks) the head and label space."""

    def head(self) -> Any:
        """The text head rows of the label space's used columns (zero-shot models)."""

    def features_of(self, benchmark: str) -> Any:
        """Normalised image features of the same model on every sample of another benchmark (``ArtefactRows``)."""

    def condition_on(self, model: str) -> Any:
        """The same condition (samples, shift, label space, prompts, seed) on another model, read through the
        caches: its ``outputs`` and ``model_fingerprint`` (e.g. the CLIP whose logits choose an LMM's candidates).
        """


class ImageBatch(Protocol):
    """What an image kind's ``compute`` receives: one batch of a condition's pixels and what goes with it."""

    #: ``(B, 3, H, W)`` pixels in [0, 1] after the condition's shift, on the encoding device
    pixels: Any
    #: positions of the batch's samples in the condition's dataset
    indices: list[int]
    #: encoder outputs of the shared forward pass (``image``: global embeddings or fixed-head logits,
    #: ``local``: patch embeddings), for the kinds that read them
    outputs: dict[str, Any]
    #: the condition
    scope: ArtefactScope
    #: the loaded model on the encoding device (for kinds that run their own forward pass)
    model: Any

    def labels(self) -> Any:
        """Label indices of the batch in the label space (a tensor on the device)."""

    def seeds(self, tag: str) -> list[int]:
        """Per-image seeds from the run seed, ``tag`` and each sample id."""

    def fingerprint(self, kind: str) -> str:
        """The cache fingerprint of ``kind``'s bank in this pass."""

    def shift_params(self) -> list[dict[str, Any]] | None:
        """The batch's rows of the shift's per-sample parameters."""

    def classifier(self) -> Any:
        """The model's differentiable classifier over the label space (for kinds with ``grad``)."""

    def autocast(self) -> Any:
        """The autocast context of the pass's encoder forward (the run's precision on its device), for kinds that
        run their own forward pass: their rows are then taken in the precision the record states.
        """


@dataclass(frozen=True)
class ArtefactKind:
    """One kind of artefact (see the module docstring).

    Attributes:
        name: registry name; metric groups ask for it by this name.
        description: what the rows hold (part of the fingerprint).
        keyed_by: ``image`` (rows per sample content key) or ``text`` (rows per string).
        fingerprint: ``(scope, params) -> dict`` of what determines the rows' bytes besides the model.
        compute: image kinds: ``(batch, params) -> (B, ...) tensor``; text kinds: ``(encoder, texts, params) -> rows``.
        reads: encoder outputs an image kind takes from the shared forward pass (``image``, ``local``).
        grad: computed outside inference mode (attacks need input gradients).
        params: the kind's parameters with defaults.
        check: ``(scope, params) -> None`` raising UsageError when the model cannot give the artefact.
        view: ``(rows, scope, params) -> object`` how metric groups see the rows (default: the ArtefactRows).
        protocol: ``(scope, params, fingerprint) -> dict`` what the record says about the rows.
        folder: cache folder (default: the name).
        depends: other kinds the computation reads (documentation and dry-run estimates).
        batches: text kinds: ``(keys, scope, params) -> lists of keys`` computed together (default: 64 at a time).
        per_model: whether the rows depend on the evaluated model (default). A kind computed from the images alone
            (e.g. depth maps shared by every model) sets False: its bank's fingerprint then leaves the model out and
            names in ``fingerprint`` whatever of the model the rows do depend on (the input geometry).
        geometry: image kinds taken on other pixels than the model's own geometry: ``(model, params) -> geometry``
            (a picklable ``PIL image -> (3, H, W) tensor``); such kinds are produced in a pass of their own.
        derives: image kinds computed from another image kind's rows instead of pixels: the name of that kind
            (with the derived request's parameters that kind declares, its defaults for the others); ``compute``
            is then ``(rows: ArtefactRows, scope, params) -> (n, ...) tensor`` on the cached rows of the samples
            this kind lacks, with no loader pass and no encoder forward (e.g. a lookup of each image's features
            in an index: an image already encoded is never encoded again).

    """

    name: str
    description: str
    keyed_by: str
    fingerprint: Callable[[Any, Mapping[str, Any]], dict[str, Any]]
    compute: Callable[..., Any]
    reads: frozenset[str] = frozenset()
    grad: bool = False
    params: Mapping[str, Param] = field(default_factory=dict)
    check: Callable[[Any, Mapping[str, Any]], None] | None = None
    view: Callable[[Any, Any, Mapping[str, Any]], Any] | None = None
    protocol: Callable[[Any, Mapping[str, Any], str], dict[str, Any]] | None = None
    folder: str = ""
    depends: tuple[str, ...] = ()
    batches: Callable[[list[str], Any, Mapping[str, Any]], Any] | None = None
    per_model: bool = True
    geometry: Callable[[Any, Mapping[str, Any]], Any] | None = None
    derives: str = ""

    def __post_init__(self) -> None:
        if self.keyed_by not in ("image", "text"):
            raise ValueError(f"artefact {self.name!r}: keyed_by must be 'image' or 'text', got {self.keyed_by!r}")

    @property
    def cache_folder(self) -> str:
        """The folder of the cache holding this kind's banks."""
        return self.folder or self.name

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The kind's parameters with defaults, every given value checked."""
        return resolve_params(f"artefact {self.name}", self.params, given)

    def bank_fingerprint(self, scope: Any, params: Mapping[str, Any]) -> str:
        """The fingerprint naming this kind's bank for a condition: its ``fingerprint`` and the model's (left out
        when ``per_model`` is False: rows shared by every model).
        """
        from zeroshift.specs import fingerprint

        model = {"model": scope.model_fingerprint} if self.per_model else {}
        return fingerprint({**model, **self.fingerprint(scope, params)})


#: every artefact kind, by name
kinds: Registry[ArtefactKind] = Registry("artefact kind")


def artefact_kind(name: str, **declaration: Any) -> ArtefactKind:
    """Declare and register an artefact kind (keyword arguments: the fields of :class:`ArtefactKind`).

    Example:
        >>> import tempfile
        >>> kind = ArtefactKind("demo_mean", "mean pixel", "image", lambda s, p: {"shift": None},
        ...                     lambda batch, p: batch.pixels.mean(dim=(2, 3)))
        >>> kind.cache_folder
        'demo_mean'

    """
    kind = ArtefactKind(name, **declaration)
    kinds.register(name, kind)
    return kind
