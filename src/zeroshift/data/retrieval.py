"""Image-text retrieval sets: images with several captions each, read from the layouts people already have.

A retrieval benchmark is unlabelled (``labelled = False``): its samples are images, and the captions of image ``i``
are ``Dataset.meta["captions"][i]`` (a list of strings, in the order of the annotation file). Its metric groups
are ``retrieval`` and ``modality_gap`` (see :mod:`zeroshift.metrics.retrieval`); :func:`caption_table` flattens the
captions into the arrays those functions take.

The label space is ``none``: no class is scored, so it has no classes and a universe of its own (``none``). It is
the least surprising choice: a classification group run on a retrieval set by mistake sees zero classes and
fails on that instead of quietly scoring ImageNet classes, and a fixed-head classifier is refused by the usual
universe check (its universe is never ``none``). OOD sets borrow their in-distribution set's space because they
are scored against its classes; a retrieval set is scored against its own captions, which are no label space.

Layouts under ``--data-root`` (the Karpathy split JSON wins when both annotation files are present; the file used
is recorded in :attr:`RetrievalBenchmark.record`):

* ``mscoco_retrieval`` (MSCOCO 5k Karpathy test split, 25,010 captions): ``mscoco/dataset_coco.json`` (Karpathy;
  ``images[].split/filepath/filename/sentences[].raw``) with ``mscoco/val2014/COCO_val2014_*.jpg``, or the layout
  CLIP_benchmark's ``mscoco_captions`` reads: ``mscoco/coco_test_karpathy.json`` (COCO captions format:
  ``images[].id/file_name``, ``annotations[].image_id/caption``) with ``mscoco/val2014/<file_name>``;
* ``flickr30k_retrieval`` (Flickr30K 1k Karpathy test split, 5,000 captions): ``flickr30k/dataset_flickr30k.json``
  with ``flickr30k/flickr30k-images/*.jpg``, or CLIP_benchmark's ``flickr30k`` layout:
  ``flickr30k/flickr30k_test_karpathy.txt`` (a header line, then ``<name>.jpg,<caption>`` lines) with
  ``flickr30k/<name>.jpg``;
* ``captions_folder(path=...)``: any folder of images with ``captions.csv`` (columns ``image``, ``caption``) or
  ``captions.jsonl`` (keys ``image``, ``caption``); several rows per image; ``image`` is relative to the folder.

Example:
    >>> bench = CaptionsFolder(None, path="/tmp/my-captioned-photos")
    >>> bench.canonical
    "captions_folder(captions=None, path='/tmp/my-captioned-photos')"
    >>> bench.labelled, bench.metric_groups, bench.label_space().class_names
    (False, ('retrieval', 'modality_gap'), ())
    >>> from zeroshift.errors import DatasetError
    >>> try:
    ...     FlickrRetrieval("/nonexistent").dataset()
    ... except DatasetError as err:
    ...     print(str(err).split(" Expected")[0])
    flickr30k_retrieval: no dataset folder at /nonexistent/flickr30k.

"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from zeroshift.data.base import IMAGE_EXTENSIONS, Benchmark, Dataset, LabelSpace
from zeroshift.errors import SpecError

#: the label space of every retrieval set: no classes (see the module docstring)
NO_LABELS = LabelSpace("none", (), "none", (), (), "max")

#: (image path relative to the dataset root, its captions in file order)
Entry = tuple[str, list[str]]


class AnnotationProblem(Exception):
    """A malformed annotation file: ``problem`` is one line, ``path`` the file; benchmarks turn it into DatasetError."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{problem} in {path}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class CaptionTable:
    """The captions of a retrieval dataset flattened in image order, as the retrieval metrics take them.

    Attributes:
        texts: every caption, image by image, each image's captions in file order.
        text_to_image: for each caption, the index of its image in the dataset.
        caption_ids: a stable id per caption, ``<sample id>#<position among the image's captions>`` (the key
            of per-caption seeds for text shifts and of per-caption rows).

    """

    texts: list[str]
    text_to_image: np.ndarray
    caption_ids: list[str]


def caption_table(dataset: Dataset) -> CaptionTable:
    """Flatten ``dataset.meta["captions"]`` (one list per image) into a :class:`CaptionTable`.

    Example:
        >>> data = captions_dataset("toy", Path("/x"), [("a.jpg", ["a cat", "a pet"]), ("b.jpg", ["a dog"])])
        >>> table = caption_table(data)
        >>> table.texts, table.text_to_image.tolist(), table.caption_ids[1]
        (['a cat', 'a pet', 'a dog'], [0, 0, 1], 'a.jpg#1')

    """
    captions = dataset.meta.get("captions")
    if captions is None or len(captions) != len(dataset):
        raise ValueError(f"{dataset.name}: meta['captions'] must hold one list of captions per image")
    texts = [text for per_image in captions for text in per_image]
    counts = [len(per_image) for per_image in captions]
    text_to_image = np.repeat(np.arange(len(dataset), dtype=np.int64), counts)
    ids = [f"{sid}#{j}" for sid, n in zip(dataset.sample_ids, counts, strict=True) for j in range(n)]
    return CaptionTable(texts, text_to_image, ids)


def captions_dataset(name: str, root: Path, entries: Sequence[Entry]) -> Dataset:
    """A Dataset of images (paths relative to ``root``) with their captions in ``meta["captions"]``."""
    sample_ids = [image for image, _ in entries]
    meta: dict[str, list[Any]] = {"captions": [list(captions) for _, captions in entries]}
    return Dataset(name, root, [], sample_ids, np.full(len(entries), -1, dtype=np.int64), meta)


def group_captions(pairs: Sequence[tuple[str, str]]) -> list[Entry]:
    """Group ``(image, caption)`` rows by image: images in order of first appearance, captions in row order.

    Example:
        >>> group_captions([("b.jpg", "x"), ("a.jpg", "y"), ("b.jpg", "z")])
        [('b.jpg', ['x', 'z']), ('a.jpg', ['y'])]

    """
    grouped: dict[str, list[str]] = {}
    for image, caption in pairs:
        grouped.setdefault(image, []).append(caption)
    return list(grouped.items())


# --- annotation readers (pure: a file in, entries out, AnnotationProblem on anything malformed) -------------------


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AnnotationProblem(path, f"not valid JSON ({str(err).splitlines()[0]})") from None


def _text(value: Any, path: Path, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AnnotationProblem(path, f"{where} must be a non-empty string, got {value!r}")
    return value


def read_karpathy_json(path: Path, split: str, image_folder: str | None = None) -> list[Entry]:
    """Images of one split of a Karpathy caption JSON (``dataset_coco.json``, ``dataset_flickr30k.json``).

    Fields read: ``images[].split``, ``images[].filename``, ``images[].filepath`` (COCO's ``val2014``; used when
    ``image_folder`` is None) and ``images[].sentences[].raw`` (whitespace stripped). Images keep file order.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "dataset_coco.json"
        >>> _ = p.write_text(json.dumps({"images": [{"split": "test", "filepath": "val2014", "filename": "1.jpg",
        ...     "sentences": [{"raw": "A cat. "}, {"raw": "A pet."}]}, {"split": "train", "filepath": "train2014",
        ...     "filename": "2.jpg", "sentences": [{"raw": "A dog."}]}]}))
        >>> read_karpathy_json(p, "test")
        [('val2014/1.jpg', ['A cat.', 'A pet.'])]

    """
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise AnnotationProblem(path, "no 'images' list (expected Karpathy's {'images': [...], 'dataset': ...})")
    entries: list[Entry] = []
    for n, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "split" not in image:
            raise AnnotationProblem(path, f"images[{n}] has no 'split' field")
        if image["split"] != split:
            continue
        filename = _text(image.get("filename"), path, f"images[{n}].filename")
        folder = (
            image_folder if image_folder is not None else _text(image.get("filepath"), path, f"images[{n}].filepath")
        )
        sentences = image.get("sentences")
        if not isinstance(sentences, list) or not sentences:
            raise AnnotationProblem(path, f"images[{n}] ({filename}) has no 'sentences'")
        captions = []
        for j, sentence in enumerate(sentences):
            raw = sentence.get("raw") if isinstance(sentence, dict) else None
            captions.append(_text(raw, path, f"images[{n}].sentences[{j}].raw").strip())
        entries.append(((Path(folder) / filename).as_posix() if folder else filename, captions))
    if not entries:
        splits = sorted({str(i.get("split")) for i in data["images"] if isinstance(i, dict)})
        raise AnnotationProblem(path, f"no image of split {split!r} (splits present: {', '.join(splits) or 'none'})")
    return entries


def read_coco_captions_json(path: Path, image_folder: str) -> list[Entry]:
    """Images of a COCO-captions-format JSON, as CLIP_benchmark's ``mscoco_captions`` reads it.

    CLIP_benchmark builds torchvision's ``CocoCaptions`` on it: images sorted by ``id``, each with the
    ``caption`` of every annotation whose ``image_id`` is its id, in file order. An image without any caption is
    an error here (CLIP_benchmark would count it as a miss, 0/0 positives).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "coco_test_karpathy.json"
        >>> _ = p.write_text(json.dumps({"images": [{"id": 9, "file_name": "b.jpg"}, {"id": 3, "file_name": "a.jpg"}],
        ...     "annotations": [{"id": 1, "image_id": 9, "caption": "x"}, {"id": 2, "image_id": 3, "caption": "y"},
        ...                     {"id": 5, "image_id": 9, "caption": "z"}]}))
        >>> read_coco_captions_json(p, "val2014")
        [('val2014/a.jpg', ['y']), ('val2014/b.jpg', ['x', 'z'])]

    """
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise AnnotationProblem(path, "no 'images' list (expected COCO captions format: images, annotations)")
    if not isinstance(data.get("annotations"), list):
        raise AnnotationProblem(path, "no 'annotations' list (expected COCO captions format: images, annotations)")
    files: dict[Any, str] = {}
    for n, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image:
            raise AnnotationProblem(path, f"images[{n}] has no 'id'")
        files[image["id"]] = _text(image.get("file_name"), path, f"images[{n}].file_name")
    captions: dict[Any, list[str]] = {}
    for n, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or ann.get("image_id") not in files:
            raise AnnotationProblem(path, f"annotations[{n}] names no listed image (image_id)")
        captions.setdefault(ann["image_id"], []).append(_text(ann.get("caption"), path, f"annotations[{n}].caption"))
    try:
        ids = sorted(files)
    except TypeError:
        raise AnnotationProblem(path, "image ids of mixed types (they must all be integers)") from None
    if not ids:
        raise AnnotationProblem(path, "an empty 'images' list")
    for i in ids:
        if i not in captions:
            raise AnnotationProblem(path, f"image {files[i]} has no caption")
    return [((Path(image_folder) / files[i]).as_posix(), captions[i]) for i in ids]


def read_flickr_txt(path: Path) -> list[Entry]:
    r"""Images of CLIP_benchmark's Flickr annotation file (``flickr30k_test_karpathy.txt``).

    As CLIP_benchmark's ``Flickr`` dataset reads it: a header line, then one ``<name>.jpg,<caption>`` line per
    caption (lines stripped, blank lines skipped), split at the ``.jpg,`` (here at its first occurrence;
    CLIP_benchmark fails on a caption that contains ``.jpg,`` again); images in order of first appearance.
    Unlike CLIP_benchmark, a first line that is a caption line is an error rather than silently dropped.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "flickr30k_test_karpathy.txt"
        >>> _ = p.write_text("image,caption\n1.jpg,A dog, running.\n2.jpg,A cat.\n1.jpg,A pet.\n")
        >>> read_flickr_txt(p)
        [('1.jpg', ['A dog, running.', 'A pet.']), ('2.jpg', ['A cat.'])]

    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise AnnotationProblem(path, "not UTF-8 text") from None
    if not lines or ".jpg," in lines[0]:
        raise AnnotationProblem(path, "no header line (expected 'image,caption' first, then '<name>.jpg,<caption>')")
    pairs = []
    for n, line in enumerate(lines[1:], start=2):
        line = line.strip()
        if not line:
            continue
        image, sep, caption = line.partition(".jpg,")
        if not sep or not image or not caption:
            raise AnnotationProblem(path, f"line {n} is not '<name>.jpg,<caption>': {line[:60]!r}")
        pairs.append((image + ".jpg", caption))
    if not pairs:
        raise AnnotationProblem(path, "no caption lines")
    return group_captions(pairs)


def read_captions_table(path: Path) -> list[Entry]:
    r"""Images of a captions CSV (columns ``image``, ``caption``) or JSONL (keys ``image``, ``caption``).

    ``image`` is a path relative to the folder of images; several rows may name the same image. Images keep
    the order of their first row, captions their row order.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "captions.jsonl"
        >>> _ = p.write_text('{"image": "a.png", "caption": "red"}\n{"image": "a.png", "caption": "a red one"}\n')
        >>> read_captions_table(p)
        [('a.png', ['red', 'a red one'])]

    """
    pairs: list[tuple[str, str]] = []
    try:
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                fields = reader.fieldnames or []
                if "image" not in fields or "caption" not in fields:
                    raise AnnotationProblem(path, f"columns {fields} (expected a header with 'image' and 'caption')")
                for n, row in enumerate(reader, start=2):
                    pairs.append(
                        (_row_image(row.get("image"), path, n), _text(row.get("caption"), path, f"line {n} caption"))
                    )
        else:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    raise AnnotationProblem(path, f"line {n} is not a JSON object") from None
                if not isinstance(row, dict):
                    raise AnnotationProblem(path, f"line {n} is not a JSON object with 'image' and 'caption'")
                pairs.append(
                    (_row_image(row.get("image"), path, n), _text(row.get("caption"), path, f"line {n} caption"))
                )
    except UnicodeDecodeError:
        raise AnnotationProblem(path, "not UTF-8 text") from None
    if not pairs:
        raise AnnotationProblem(path, "no caption rows")
    return group_captions(pairs)


def _row_image(value: Any, path: Path, line: int) -> str:
    image = _text(value, path, f"line {line} image").strip().replace("\\", "/")
    rel = Path(image)
    if rel.is_absolute() or ".." in rel.parts:
        raise AnnotationProblem(path, f"line {line}: image {image!r} must be a path inside the folder (relative)")
    return rel.as_posix()


# --- benchmarks -----------------------------------------------------------------------------------------------


class RetrievalBenchmark(Benchmark):
    """Base of the retrieval sets: unlabelled images with captions, label space ``none``."""

    labelled = False
    metric_groups = ("retrieval", "modality_gap")
    label_spaces = ("none",)
    #: the dataset's ``meta["captions"]`` holds each image's captions (what retrieval and text shifts read)
    has_captions: ClassVar[bool] = True
    #: the kind of condition its records are (not ``ood``, which unlabelled sets are by default)
    kind = "retrieval"

    def label_space(self, name: str | None = None) -> LabelSpace:
        """The empty label space ``none`` (no class is scored; see the module docstring)."""
        self.resolve_label_space(name)
        return NO_LABELS

    def check_images(self, root: Path, entries: Sequence[Entry], annotations: Path) -> None:
        """Every image an annotation file lists must exist (checked up front, not hours into a run)."""
        absent = [image for image, _ in entries if not (root / image).is_file()]
        if absent:
            raise self.missing(
                root,
                f"{len(absent)} of the {len(entries)} images listed in {annotations.name} are missing "
                f"(first: {absent[0]})",
            )


class KarpathyRetrieval(RetrievalBenchmark):
    """A Karpathy-split caption set in the Karpathy layout or in CLIP_benchmark's (see the module docstring)."""

    defaults: ClassVar[dict[str, Any]] = {"split": "test"}
    #: candidate folders under the data root, first existing wins (the first is shown in errors)
    roots: ClassVar[tuple[str, ...]] = ()
    #: Karpathy's caption JSON in the dataset folder
    karpathy_file: ClassVar[str] = ""
    #: CLIP_benchmark's annotation file in the dataset folder (``{split}`` is filled in)
    clip_benchmark_file: ClassVar[str] = ""

    def validate_params(self) -> None:  # noqa: D102
        if self.params["split"] not in ("test", "val"):
            raise SpecError(
                f"{self.name}: split must be 'test' or 'val' (Karpathy splits), got {self.params['split']!r}"
            )

    def root(self) -> Path:
        """The dataset folder under the data root (first candidate that exists)."""
        if self.data_root is None:
            raise SpecError(f"{self.name}: no data root given (use --data-root DIR)")
        for rel in self.roots:
            if (self.data_root / rel).is_dir():
                return self.data_root / rel
        return self.data_root / self.roots[0]

    def annotation_file(self) -> Path | None:
        """The annotation file this benchmark reads: Karpathy's JSON if present, else CLIP_benchmark's, else None."""
        root = self.root()
        for name in (self.karpathy_file, self.clip_benchmark_file.format(split=self.params["split"])):
            if (root / name).is_file():
                return root / name
        return None

    @property
    def record(self) -> dict[str, Any]:
        """The annotation file read and the caption convention, recorded with every run."""
        found = self.annotation_file() if self.data_root is not None else None
        return {
            "annotations": found.name if found else None,
            "split": f"Karpathy {self.params['split']}",
            "captions": "every caption of each image, in file order",
        }

    def dataset(self) -> Dataset:
        """The images of the split with their captions; one-line DatasetError naming the layout otherwise."""
        root = self.root()
        if not root.is_dir():
            raise self.missing(root)
        found = self.annotation_file()
        if found is None:
            wanted = f"{self.karpathy_file} or {self.clip_benchmark_file.format(split=self.params['split'])}"
            raise self.missing(root, f"no caption annotations ({wanted})")
        try:
            entries = self.read(root, found)
        except AnnotationProblem as err:
            raise self.missing(err.path, f"malformed annotations: {err.problem}") from None
        self.check_images(root, entries, found)
        return captions_dataset(self.name, root, entries)

    def read(self, root: Path, annotations: Path) -> list[Entry]:
        """Read ``annotations`` (one of the two files) into entries relative to ``root``."""
        raise NotImplementedError


class MSCOCORetrieval(KarpathyRetrieval):
    """MSCOCO 5k Karpathy test split (5,000 val2014 images, 25,010 captions), as CLIP_benchmark evaluates it."""

    name = "mscoco_retrieval"
    display_name = "MSCOCO 5k retrieval"
    description = "MSCOCO 5k Karpathy test split, image-text retrieval (5k images, 25k captions)"
    roots = ("mscoco", "coco")
    karpathy_file = "dataset_coco.json"
    clip_benchmark_file = "coco_{split}_karpathy.json"
    layout = (
        "mscoco/dataset_coco.json + mscoco/val2014/COCO_val2014_*.jpg (Karpathy split), or CLIP_benchmark's "
        "mscoco/coco_test_karpathy.json + mscoco/val2014/<file_name>"
    )
    published_at = (
        "https://cs.stanford.edu/people/karpathy/deepimagesent/caption_datasets.zip (dataset_coco.json), "
        "http://images.cocodataset.org/zips/val2014.zip (images), "
        "https://github.com/mehdidc/retrieval_annotations/releases/tag/1.0.0 (coco_test_karpathy.json)"
    )

    def read(self, root: Path, annotations: Path) -> list[Entry]:  # noqa: D102
        if annotations.name == self.karpathy_file:
            return read_karpathy_json(annotations, self.params["split"])
        # CLIP_benchmark reads both its val and test split from the val2014 images
        return read_coco_captions_json(annotations, "val2014")


class FlickrRetrieval(KarpathyRetrieval):
    """Flickr30K 1k Karpathy test split (1,000 images, 5,000 captions), as CLIP_benchmark evaluates it."""

    name = "flickr30k_retrieval"
    display_name = "Flickr30K 1k retrieval"
    description = "Flickr30K 1k Karpathy test split, image-text retrieval (1k images, 5k captions)"
    roots = ("flickr30k",)
    karpathy_file = "dataset_flickr30k.json"
    clip_benchmark_file = "flickr30k_{split}_karpathy.txt"
    #: where the images of the Karpathy layout may sit inside the dataset folder (the first holding them wins)
    image_folders: ClassVar[tuple[str, ...]] = ("flickr30k-images", "flickr30k_images", "")
    layout = (
        "flickr30k/dataset_flickr30k.json + flickr30k/flickr30k-images/*.jpg (Karpathy split), or CLIP_benchmark's "
        "flickr30k/flickr30k_test_karpathy.txt + flickr30k/*.jpg"
    )
    published_at = (
        "https://shannon.cs.illinois.edu/DenotationGraph/ (images; or kaggle hsankesara/flickr-image-dataset), "
        "https://cs.stanford.edu/people/karpathy/deepimagesent/caption_datasets.zip (dataset_flickr30k.json), "
        "https://github.com/mehdidc/retrieval_annotations/releases/tag/1.0.0 (flickr30k_test_karpathy.txt)"
    )

    def read(self, root: Path, annotations: Path) -> list[Entry]:  # noqa: D102
        if annotations.name != self.karpathy_file:
            return read_flickr_txt(annotations)
        entries = read_karpathy_json(annotations, self.params["split"], image_folder="")
        first = entries[0][0]
        folder = next((f for f in self.image_folders if (root / f / first).is_file()), self.image_folders[0])
        return [((Path(folder) / image).as_posix() if folder else image, captions) for image, captions in entries]


class CaptionsFolder(RetrievalBenchmark):
    """Any folder of images with a captions CSV or JSONL: ``captions_folder(path='/x')``."""

    name = "captions_folder"
    display_name = "captions folder"
    description = "any folder of images with captions.csv / captions.jsonl (image, caption; path=...)"
    defaults: ClassVar[dict[str, Any]] = {"path": None, "captions": None}
    layout = (
        "a folder of images with captions.csv (columns image, caption) or captions.jsonl (keys image, caption), "
        "image paths relative to the folder, several rows per image allowed (give path='...')"
    )
    #: the caption files looked for in the folder when ``captions`` is not given
    caption_files: ClassVar[tuple[str, ...]] = ("captions.csv", "captions.jsonl")

    def validate_params(self) -> None:  # noqa: D102
        path, captions = self.params["path"], self.params["captions"]
        if not isinstance(path, str) or not path:
            raise SpecError("captions_folder needs a folder: captions_folder(path='/path/to/images')")
        # absolute, so the canonical spec (the results key) names the same folder from any working directory
        self.params["path"] = os.path.abspath(os.path.expanduser(path))
        if captions is not None:
            if not isinstance(captions, str) or Path(captions).suffix.lower() not in (".csv", ".jsonl"):
                raise SpecError(f"captions_folder: captions must name a .csv or .jsonl file, got {captions!r}")
            self.params["captions"] = os.path.abspath(os.path.join(self.params["path"], os.path.expanduser(captions)))

    def root(self) -> Path:
        """The folder of images."""
        return Path(self.params["path"])

    def captions_file(self) -> Path:
        """The caption file: the ``captions`` parameter, else the one of :attr:`caption_files` in the folder."""
        if self.params["captions"] is not None:
            return Path(self.params["captions"])
        root = self.root()
        present = [root / name for name in self.caption_files if (root / name).is_file()]
        if len(present) > 1:
            raise self.missing(root, "both captions.csv and captions.jsonl (choose one with captions='...')")
        if not present:
            raise self.missing(root, "no captions.csv or captions.jsonl")
        return present[0]

    def dataset(self) -> Dataset:
        """The images named by the caption file (other images in the folder are ignored), with their captions."""
        root = self.root()
        if not root.is_dir():
            raise self.missing(root)
        table = self.captions_file()
        if not table.is_file():
            raise self.missing(table, "no caption file")
        try:
            entries = read_captions_table(table)
        except AnnotationProblem as err:
            raise self.missing(err.path, f"malformed captions: {err.problem}") from None
        not_images = [image for image, _ in entries if Path(image).suffix.lower() not in IMAGE_EXTENSIONS]
        if not_images:
            raise self.missing(table, f"{not_images[0]!r} is not an image file name ({', '.join(IMAGE_EXTENSIONS)})")
        self.check_images(root, entries, table)
        return captions_dataset(self.name, root, entries)


__all__ = [
    "NO_LABELS",
    "AnnotationProblem",
    "CaptionTable",
    "CaptionsFolder",
    "FlickrRetrieval",
    "MSCOCORetrieval",
    "RetrievalBenchmark",
    "caption_table",
    "captions_dataset",
    "group_captions",
    "read_captions_table",
    "read_coco_captions_json",
    "read_flickr_txt",
    "read_karpathy_json",
]
