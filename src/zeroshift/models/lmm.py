"""``lmm:``: large multimodal models of the LLaVA family through transformers, as closed-set classifiers.

Specs: ``lmm:llava-hf/llava-1.5-7b-hf`` (hub id, or the local HF cache offline), ``lmm:/models/llava-1.5-7b-hf``
(a local folder, loaded with ``local_files_only``), ``lmm:zoo/NAME`` (the zoo's FactorWorld LLaVAs, shipped as
transformers folders and loaded by exactly the same code). Options: ``?dtype=float32|bfloat16|float16|auto``
(float32 by default), ``?revision=...``, ``?trust_remote_code=true`` (never without it) and ``?auto=true``
(another image-text-to-text model type through ``AutoModelForImageTextToText``; scoring assumes a LLaVA-like
forward). A folder whose config is not an LMM fails with one line.

An LMM has ``kind = "lmm"``: no image embedding and no text head; it scores classes itself, by three protocols:

* :meth:`LMMModel.likelihood`: the log-likelihood of each candidate class name as the answer to a question
  (:class:`~zeroshift.lmm.templates.AnswerTemplate`), the image+question prefix encoded once per image and the
  candidates scored in batches over its key-value cache;
* :meth:`LMMModel.choice`: ImageNet-D's two-way question (true class and a failure category), greedy decoding;
* :meth:`LMMModel.generate`: a free answer, greedy decoding.

Images are PIL images or ``[0, 1]`` pixel tensors after :attr:`preprocess` geometry (and any shift); the
model's processor normalises them. Metadata records the vision tower (which CLIP, from
``_info/lmm_towers.csv`` for known checkpoints or the zoo manifest) and the language model.

Example:
    >>> from zeroshift.specs import ModelSpec
    >>> LMMModel.identity(ModelSpec.parse("lmm:llava-hf/llava-1.5-7b-hf"))["repo"]
    'llava-hf/llava-1.5-7b-hf'

"""

from __future__ import annotations

import csv
import io
import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from zeroshift.errors import ModelLoadError, UsageError
from zeroshift.lmm.scoring import CandidateScores, score_from_scratch, score_with_prefix_cache
from zeroshift.lmm.templates import AnswerTemplate, generation_prompt, named_question, split_prompt
from zeroshift.lmm.tokens import continuation_ids
from zeroshift.models.base import ModelInfo, Preprocess, ZeroShotModel
from zeroshift.models.hf import load_config
from zeroshift.specs import ModelSpec

#: LLaVA-family model types and the transformers class that loads each, with how images are laid out:
#: ``fixed`` (resized and cropped to one square, LLaVA-1.5) or ``native`` (tiled at its own size, LLaVA-NeXT)
LOADERS: dict[str, tuple[str, str]] = {
    "llava": ("LlavaForConditionalGeneration", "fixed"),
    "llava_next": ("LlavaNextForConditionalGeneration", "native"),
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "auto": "auto"}
ZOO_PREFIX = "zoo/"
CHOICE_ORDERS = ("gt_first", "shuffled")


def _truthy(value: str | None) -> bool:
    return (value or "false").lower() in ("1", "true", "yes")


def _is_local(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or os.path.isdir(name)


@cache
def _tower_rows() -> tuple[tuple[re.Pattern[str], dict[str, str]], ...]:
    text = (resources.files("zeroshift.models") / "_info" / "lmm_towers.csv").read_text(encoding="utf-8")
    return tuple((re.compile(r["pattern"]), r) for r in csv.DictReader(io.StringIO(text)))


def known_components(repo: str) -> dict[str, str]:
    """The vision tower and language model of a known hub LLaVA (empty when the data file has no row).

    Example:
        >>> known_components("llava-hf/llava-1.5-7b-hf")["vision_tower"]
        'openai/clip-vit-large-patch14-336'

    """
    for pattern, row in _tower_rows():
        if pattern.fullmatch(repo):
            return {k: row[k] for k in ("vision_tower", "clip_spec", "language_model", "source")}
    return {}


class NativeGeometry:
    """Picklable geometry of tiling LMMs: the image at its own size as a ``[0, 1]`` tensor (the processor tiles)."""

    def __call__(self, image: Image.Image) -> torch.Tensor:  # noqa: D102
        from torchvision.transforms import functional as TF

        return TF.to_tensor(image)


@dataclass
class ChoiceAnswers:
    """Answers of the two-way question, with the options in the order they were asked, the questions, the
    protocol and the generated token ids (what a cache stores; decoding them gives the answers).
    """

    answers: list[str]
    first: list[str]
    second: list[str]
    questions: list[str]
    protocol: dict[str, Any]
    token_ids: list[list[int]]


@dataclass
class FreeAnswers:
    """Free answers to one question, their generated token ids (what a cache stores), and the protocol."""

    answers: list[str]
    protocol: dict[str, Any]
    token_ids: list[list[int]]


class LMMModel(ZeroShotModel):
    """A LLaVA-family model behind zeroshift's model protocol (see the module docstring)."""

    kind = "lmm"  # type: ignore[assignment]
    backend = "transformers"

    # --- specs, identity, loading ---------------------------------------------------------------------

    @classmethod
    def source(cls, spec: ModelSpec) -> tuple[str, bool, dict[str, Any] | None]:
        """``(path or repo, local, zoo manifest entry)`` of a spec (cheap)."""
        if spec.name.startswith(ZOO_PREFIX):
            from zeroshift.zoo.hf_zoo import zoo_folder

            folder, entry = zoo_folder(spec.name[len(ZOO_PREFIX) :], "lmm")
            return str(folder), True, entry
        if _is_local(spec.name):
            path = os.path.abspath(os.path.expanduser(spec.name))
            if not os.path.isdir(path):
                raise ModelLoadError(f"{spec}: no model folder at {path}")
            return path, True, None
        return spec.name, False, None

    @classmethod
    def _dtype(cls, spec: ModelSpec) -> str:
        dtype = spec.option_dict.get("dtype", "float32")
        if dtype not in DTYPES:
            raise ModelLoadError(f"{spec}: unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")
        return dtype

    @classmethod
    def identity(cls, spec: ModelSpec) -> dict[str, Any]:  # noqa: D102
        from zeroshift.digest import folder_digest

        source, local, entry = cls.source(spec)
        ident: dict[str, Any] = {"backend": "transformers-lmm", "dtype": cls._dtype(spec)}
        if entry is not None:
            from zeroshift.zoo.hf_zoo import folder_sha256

            ident.update(zoo=spec.name[len(ZOO_PREFIX) :], folder_sha256=folder_sha256(entry))
        elif local:
            ident["folder_sha256"] = folder_digest(source)
        else:
            ident.update(repo=spec.name, revision=spec.option_dict.get("revision", "main"))
        if _truthy(spec.option_dict.get("auto")):
            ident["loader"] = "auto"
        return ident

    @classmethod
    def differentiable(cls, spec: ModelSpec) -> bool:  # noqa: D102
        return False

    @classmethod
    def load(cls, spec: ModelSpec) -> LMMModel:  # noqa: D102
        import transformers

        options = spec.option_dict
        source, local, entry = cls.source(spec)
        if entry is not None:
            from zeroshift.zoo.hf_zoo import verify_folder

            verify_folder(Path(source), entry)
        kwargs: dict[str, Any] = {
            "local_files_only": local,
            "trust_remote_code": _truthy(options.get("trust_remote_code")),
        }
        if "revision" in options:
            kwargs["revision"] = options["revision"]
        config = load_config(spec, source, kwargs)
        model_type = config.model_type
        auto = _truthy(options.get("auto"))
        if model_type in LOADERS:
            class_name, layout = LOADERS[model_type]
            model_cls = getattr(transformers, class_name)
        elif auto and model_type in transformers.models.auto.modeling_auto.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
            model_cls, layout = transformers.AutoModelForImageTextToText, "native"
        else:
            hint = " (a CLIP model: use hf:)" if model_type in ("clip", "siglip", "siglip2") else ""
            raise ModelLoadError(
                f"{spec}: {source} is not an LMM of the LLaVA family: model type {model_type!r}{hint}; supported: "
                f"{', '.join(LOADERS)} (other image-text-to-text types with ?auto=true)"
            )
        dtype = DTYPES[cls._dtype(spec)]
        quiet = transformers.utils.logging.is_progress_bar_enabled()
        transformers.utils.logging.disable_progress_bar()
        try:
            module = model_cls.from_pretrained(source, dtype=dtype, **kwargs)
            processor = transformers.AutoProcessor.from_pretrained(source, **kwargs)
        except (OSError, ValueError, RuntimeError) as err:
            raise ModelLoadError(f"{spec}: could not load weights or processor: {str(err).splitlines()[0]}") from None
        finally:
            if quiet:
                transformers.utils.logging.enable_progress_bar()
        return cls(spec, module, processor, layout, entry)

    @classmethod
    def load_tokenizer(cls, spec: ModelSpec) -> Any:
        """The tokenizer of the model's processor alone, without the weights (decoding cached answers).

        Example:
            >>> LMMModel.load_tokenizer(ModelSpec.parse("lmm:/models/llava-1.5-7b-hf")).decode([1])  # doctest: +SKIP
            '<s>'

        """
        import transformers

        source, local, _ = cls.source(spec)
        kwargs: dict[str, Any] = {"local_files_only": local,
                                  "trust_remote_code": _truthy(spec.option_dict.get("trust_remote_code"))}  # fmt: skip
        if "revision" in spec.option_dict:
            kwargs["revision"] = spec.option_dict["revision"]
        try:
            return transformers.AutoProcessor.from_pretrained(source, **kwargs).tokenizer
        except (OSError, ValueError) as err:
            raise ModelLoadError(f"{spec}: could not load the tokenizer: {str(err).splitlines()[0]}") from None

    def __init__(
        self,
        spec: ModelSpec,
        module: Any,
        processor: Any,
        layout: str = "fixed",
        zoo_entry: dict[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.module = module.eval()
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.layout = layout
        image_processor = processor.image_processor
        mean = tuple(float(m) for m in image_processor.image_mean)
        std = tuple(float(s) for s in image_processor.image_std)
        if layout == "fixed":
            from zeroshift.models.hf import HFGeometry

            geometry: Any = HFGeometry(image_processor)
            size, crop = getattr(image_processor, "size", None), getattr(image_processor, "crop_size", None)
            config = {"steps": [type(image_processor).__name__], "resize": dict(size) if size else None,
                      "crop": dict(crop) if crop else None, "layout": "fixed"}  # fmt: skip
        else:
            geometry, config = NativeGeometry(), {"steps": ["ToTensor"], "layout": "native (tiled by the processor)"}
        self.preprocess = Preprocess(geometry, mean, std, config)
        self.info = self._describe(zoo_entry)

    def _describe(self, zoo_entry: dict[str, Any] | None) -> ModelInfo:
        """Metadata: the vision tower (which CLIP) and the language model, from the config and the data files."""
        config = self.module.config
        vision, text = config.vision_config, config.text_config
        tower = {
            "model_type": vision.model_type,
            "hidden_size": vision.hidden_size,
            "layers": vision.num_hidden_layers,
            "patch_size": getattr(vision, "patch_size", None),
            "image_size": getattr(vision, "image_size", None),
            "feature_layer": getattr(config, "vision_feature_layer", None),
            "feature_select": getattr(config, "vision_feature_select_strategy", None),
        }
        language = {
            "model_type": text.model_type,
            "hidden_size": text.hidden_size,
            "layers": text.num_hidden_layers,
            "vocab_size": text.vocab_size,
        }
        info: dict[str, Any] = {}
        if zoo_entry is not None:
            info = dict(zoo_entry["info"])
            tower["name"], tower["clip_spec"] = info.pop("vision_tower"), info.pop("clip_spec")
            language["name"] = info.pop("language_model")
        elif not _is_local(self.spec.name):
            known = known_components(self.spec.name)
            if known:
                tower.update(name=known["vision_tower"], clip_spec=known["clip_spec"], source=known["source"])
                language.update(name=known["language_model"], source=known["source"])
        arch = (
            f"{config.model_type}:{vision.model_type}-h{vision.hidden_size}-l{vision.num_hidden_layers}"
            f"+{text.model_type}-h{text.hidden_size}-l{text.num_hidden_layers}"
        )
        extra = {**info.pop("extra", {}), "vision_tower": tower, "language_model": language, "layout": self.layout}
        if tower.get("clip_spec"):
            extra["companion"] = tower["clip_spec"]  # its own CLIP: the ``companion`` related condition
        return ModelInfo(
            architecture=info.pop("architecture", arch),
            family="LMM",
            params=self.count_params(),
            training_data=info.pop("training_data", None),
            data_size=info.pop("data_size", None),
            loss=info.pop("loss", "next-token"),
            fine_tuned=info.pop("fine_tuned", None),
            source="zoo" if zoo_entry is not None else ("data file" if "name" in tower else "unknown"),
            extra=extra,
        )

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:  # noqa: D102
        raise NotImplementedError(f"{self.spec} is an LMM: it scores classes with likelihood, choice or generate")

    # --- inputs ------------------------------------------------------------------------------------------

    def _inputs(self, images: Sequence[Any] | torch.Tensor, texts: Sequence[str]) -> list[dict[str, torch.Tensor]]:
        """The processor's tensors for each (image, text): PIL images, or ``[0, 1]`` tensors after geometry."""
        if isinstance(images, torch.Tensor) and images.ndim == 3:
            images = images.unsqueeze(0)
        if len(images) != len(texts):
            raise ValueError("one text per image is needed")
        out = []
        for image, text in zip(images, texts, strict=True):
            kwargs: dict[str, Any] = {}
            if isinstance(image, torch.Tensor):
                kwargs["do_rescale"] = False  # pixels are already in [0, 1]
            batch = self.processor(images=[image], text=[text], return_tensors="pt", **kwargs)
            out.append({k: v.to(self.device) for k, v in batch.items() if isinstance(v, torch.Tensor)})
        dtype = next(self.module.parameters()).dtype
        for item in out:
            if "pixel_values" in item and item["pixel_values"].is_floating_point():
                item["pixel_values"] = item["pixel_values"].to(dtype)
        return out

    @staticmethod
    def _groups(items: Sequence[dict[str, torch.Tensor]]) -> list[tuple[list[int], dict[str, torch.Tensor]]]:
        """Items whose tensors have the same shapes, stacked along the batch (no padding, so no padding effects)."""
        by_shape: dict[tuple[Any, ...], list[int]] = {}
        for i, item in enumerate(items):
            by_shape.setdefault(tuple((k, tuple(v.shape)) for k, v in sorted(item.items())), []).append(i)
        return [(idx, {k: torch.cat([items[i][k] for i in idx]) for k in items[idx[0]]}) for idx in by_shape.values()]

    # --- protocols ---------------------------------------------------------------------------------------

    @torch.no_grad()
    def likelihood(
        self,
        images: Sequence[Any] | torch.Tensor,
        candidates: Sequence[str] | Sequence[Sequence[str]],
        template: AnswerTemplate | str | None = None,
        rows_per_batch: int = 64,
        use_cache: bool = True,
    ) -> CandidateScores:
        """Log-likelihoods of candidate class names as the answer, ``(n_images, n_candidates)``.

        Args:
            images: PIL images or ``[0, 1]`` pixel tensors.
            candidates: class names shared by every image, or one list (of equal length) per image.
            template: an :class:`AnswerTemplate`, a one-string template with ``{answer}``, or None (default).
            rows_per_batch: (image, candidate) rows scored together over the cache.
            use_cache: score over the prefix's key-value cache (False: full forwards, the reference path).

        """
        template = self._template(template)
        per_image = self._per_image(candidates, len(images))
        prefix, lead = split_prompt(self.processor, template)
        scorer = score_with_prefix_cache if use_cache else score_from_scratch
        names = sorted({c for cands in per_image for c in cands})
        tokens = continuation_ids(self.tokenizer, prefix, [lead + template.continuation(c) for c in names])
        ids_of = dict(zip(names, tokens.ids, strict=True))
        sums = np.zeros((len(per_image), len(per_image[0])))
        counts = np.zeros_like(sums, dtype=np.int64)
        items = self._inputs(images, [prefix] * len(per_image))
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        for idx, batch in self._groups(items):
            conts = [[ids_of[c] for c in per_image[i]] for i in idx]
            s, n = scorer(self.module, batch, conts, rows_per_batch=rows_per_batch, pad_id=pad)
            sums[idx], counts[idx] = np.stack(s), np.stack(n)
        protocol = {
            "protocol": "likelihood",
            "template": template.record,
            "prefix": prefix,
            "continuation_lead": lead,
            "tokenisation": "ids of prefix+continuation after the ids of prefix (lm-evaluation-harness)",
            "boundary_fallbacks": tokens.boundary_fallbacks,
            "scoring": "prefix key-value cache" if use_cache else "full forward per candidate",
        }
        return CandidateScores(sums, counts, protocol)

    @staticmethod
    def _template(template: AnswerTemplate | str | None) -> AnswerTemplate:
        if template is None:
            return AnswerTemplate.named()
        return AnswerTemplate.parse(template) if isinstance(template, str) else template

    @staticmethod
    def _per_image(candidates: Sequence[str] | Sequence[Sequence[str]], n: int) -> list[list[str]]:
        if not len(candidates):
            raise UsageError("the candidate list is empty")
        if isinstance(candidates[0], str):
            return [list(candidates)] * n  # type: ignore[arg-type]
        rows = [list(c) for c in candidates]
        if len(rows) != n or len({len(r) for r in rows}) != 1 or not rows[0]:
            raise UsageError(f"per-image candidates need {n} non-empty lists of one length, got {len(rows)}")
        return rows

    def _generate(
        self, images: Sequence[Any] | torch.Tensor, prompts: Sequence[str], max_new_tokens: int
    ) -> tuple[list[str], list[list[int]]]:
        """Greedy answers (no sampling, one beam) to one chat-templated prompt per image, and their token ids."""
        items = self._inputs(images, prompts)
        ids: list[list[int]] = [[] for _ in items]
        pad = self.tokenizer.pad_token_id
        for idx, batch in self._groups(items):
            out = self.module.generate(**batch, generation_config=self._greedy(max_new_tokens))
            for i, row in zip(idx, out[:, batch["input_ids"].shape[1] :].tolist(), strict=True):
                ids[i] = [t for t in row if t != pad] if pad is not None else row
        return [self.decode(row) for row in ids], ids

    def _greedy(self, max_new_tokens: int) -> Any:
        """Greedy decoding and nothing else: a fresh config keeps the checkpoint's sampling, temperature or
        repetition settings out (only its end and padding tokens are kept).
        """
        from transformers import GenerationConfig

        own = self.module.generation_config
        pad = own.pad_token_id if own.pad_token_id is not None else self.tokenizer.pad_token_id
        return GenerationConfig(
            do_sample=False, num_beams=1, max_new_tokens=max_new_tokens, eos_token_id=own.eos_token_id,
            pad_token_id=pad, bos_token_id=own.bos_token_id,
        )  # fmt: skip

    def decode(self, token_ids: Sequence[int]) -> str:
        """The answer text of generated token ids (special tokens dropped, stripped)."""
        return self.tokenizer.decode(list(token_ids), skip_special_tokens=True).strip()

    @torch.no_grad()
    def choice(
        self,
        images: Sequence[Any] | torch.Tensor,
        gt_names: Sequence[str],
        other_names: Sequence[str],
        question: str | None = None,
        order: str = "gt_first",
        seed: int = 0,
        max_new_tokens: int = 64,
    ) -> ChoiceAnswers:
        """ImageNet-D's two-way question: true class and failure category, greedy answers (match them with
        :func:`zeroshift.lmm.matching.match_choice`).

        Args:
            images: PIL images or ``[0, 1]`` pixel tensors.
            gt_names: the true class name of each image.
            other_names: the second option of each image (:func:`zeroshift.lmm.candidates.strongest_wrong`).
            question: a template with ``{first}`` and ``{second}`` (default: ImageNet-D's).
            order: ``gt_first`` (as published) or ``shuffled`` (each image's order drawn from ``seed``).
            seed: seed of the shuffled order.
            max_new_tokens: answer length limit.

        """
        if order not in CHOICE_ORDERS:
            raise UsageError(f"unknown choice order {order!r}; choose one of: {', '.join(CHOICE_ORDERS)}")
        text = question or named_question("choice", "imagenet_d")["question"]
        if "{first}" not in text or "{second}" not in text:
            raise UsageError(f"choice question {text!r} needs the {{first}} and {{second}} slots")
        if not len(gt_names) == len(other_names) == len(images):
            raise UsageError("choice needs one true class and one other option per image")
        rng = random.Random(seed)
        first, second, questions = [], [], []
        for gt, other in zip(gt_names, other_names, strict=True):
            swap = order == "shuffled" and rng.random() < 0.5
            a, b = (other, gt) if swap else (gt, other)
            first.append(a)
            second.append(b)
            questions.append(text.format(first=a, second=b))
        prompts = [generation_prompt(self.processor, q) for q in questions]
        answers, ids = self._generate(images, prompts, max_new_tokens)
        protocol = {
            "protocol": "choice",
            "question": text,
            "order": order,
            "seed": seed if order == "shuffled" else None,
            "decoding": {"greedy": True, "num_beams": 1, "max_new_tokens": max_new_tokens},
        }
        return ChoiceAnswers(answers, first, second, questions, protocol, ids)

    @torch.no_grad()
    def generate(
        self, images: Sequence[Any] | torch.Tensor, question: str | None = None, max_new_tokens: int = 64
    ) -> FreeAnswers:
        """Free greedy answers to one question (match them with :func:`zeroshift.lmm.matching.match_free`)."""
        text = question or named_question("generate", "default")["question"]
        prompt = generation_prompt(self.processor, text)
        answers, ids = self._generate(images, [prompt] * len(images), max_new_tokens)
        protocol = {
            "protocol": "generate",
            "question": text,
            "prompt": prompt,
            "decoding": {"greedy": True, "num_beams": 1, "max_new_tokens": max_new_tokens},
        }
        return FreeAnswers(answers, protocol, ids)
