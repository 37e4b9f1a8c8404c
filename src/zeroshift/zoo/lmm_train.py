"""Training the zoo's transformers-format models: a CLIP tower and LLaVAs on top of it, from ``lmm_recipes.yaml``.

* ``clip`` recipes train a ``CLIPModel`` (ViT image tower, word-level text transformer) with CLIP's contrastive
  loss on FactorWorld captions drawn anew at every step, as the zoo's ``clip-*`` models are trained. With a
  ``distill`` entry the loss adds the cosine distance of the student's image and caption embeddings to those of a
  trained zoo CLIP (the teacher; feature distillation as in TinyCLIP), and the mean squared error of a linear map
  of the student's patch tokens at ``layer`` to the teacher's feature map at ``dense_stage``, standardised per
  position (FitNets-style hints; the map is discarded after training). A plain ViT (linear patch embedding, the
  only stem transformers' CLIP has) learns from contrastive pairs alone far too slowly on a few thousand images
  (0.18 zero-shot after 1500 steps); the dense hints reach the patch tokens that LLaVA reads directly.
* ``lmm`` recipes build a ``LlavaForConditionalGeneration`` whose vision tower is a trained zoo CLIP's vision
  model, frozen, and train the projector and a Llama language model from scratch (LLaVA's stage 2) on three
  tasks drawn per sample: the likelihood protocol's question answered with the class name, ImageNet-D's two-way
  question (true class and a random other class, in random order) answered with the class name, and "Describe
  this image." answered with a caption. The tower's features of the training images are computed once (it is
  frozen), and the sequences are built by the same prompt code the adapter scores with.

Each model is written with ``save_pretrained`` (float16 weights; ``config.json`` says float32, the dtype to
compute in) into ``OUT/NAME/`` and listed in ``OUT/manifest.json`` with its files' sha256 and metadata. A seed
reproduces the same bytes on the same machine and thread count. After training, an LMM's top-1 under the
likelihood protocol (16 class names as candidates) is measured through :class:`zeroshift.models.lmm.LMMModel`
on a validation draw of the clean test distribution, and a CLIP's zero-shot top-1 with ``a photo of a {}.``.

Example:
    >>> recipe = resolve_lmm_recipe("llava-fw-lm-small", steps=3)
    >>> recipe["kind"], recipe["tower"], recipe["steps"]
    ('lmm', 'clip-hf-vit-diverse', 3)

"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from PIL import Image
from torch.nn import functional as F

from zeroshift.data.factorworld.captions import caption
from zeroshift.data.factorworld.world import world
from zeroshift.errors import UsageError
from zeroshift.registry import suggest
from zeroshift.zoo import hf_format
from zeroshift.zoo.hf_zoo import shipped_hf_dir, write_manifest_entry
from zeroshift.zoo.train import MEAN, STD, ImageSet, _lr_at, render_set

#: the question of the caption task (its words join the vocabulary)
CAPTION_QUESTION = "Describe this image."
#: the prompt of the CLIP's validation head
CLIP_VAL_PROMPT = "a photo of a {}."


def load_lmm_recipes() -> dict[str, Any]:
    """lmm_recipes.yaml as a dict (``defaults`` and ``models``)."""
    return yaml.safe_load((resources.files("zeroshift.zoo") / "lmm_recipes.yaml").read_text(encoding="utf-8"))


def lmm_recipe_names() -> list[str]:
    """Names of the transformers-format zoo models that have a recipe.

    Example:
        >>> lmm_recipe_names()[:1]
        ['clip-hf-vit-diverse']

    """
    return list(load_lmm_recipes()["models"])


def resolve_lmm_recipe(name: str, **overrides: Any) -> dict[str, Any]:
    """A recipe with its defaults filled in and ``overrides`` (``steps``, ``seed``, ``size``, ``val_n``) applied."""
    recipes = load_lmm_recipes()
    if name not in recipes["models"]:
        raise UsageError(f"no zoo recipe {name!r}" + (suggest(name, list(recipes["models"])) or ""))
    recipe = {**copy.deepcopy(recipes["defaults"]), **copy.deepcopy(recipes["models"][name]), "name": name}
    for key in ("steps", "seed"):
        if overrides.get(key) is not None:
            if key == "steps" and int(overrides[key]) < 1:
                raise UsageError(f"--steps must be at least 1, got {overrides[key]}")
            recipe[key] = int(overrides[key])
    if overrides.get("size") is not None:
        recipe["data"]["size"] = int(overrides["size"])
    if overrides.get("val_n") is not None:
        recipe["val"]["n"] = int(overrides["val_n"])
    recipe["warmup"] = min(recipe["warmup"], max(1, recipe["steps"] // 10))
    return recipe


def _pil(images: ImageSet, idx: range | list[int]) -> list[Image.Image]:
    return [Image.fromarray(images.images[i].permute(1, 2, 0).numpy()) for i in idx]


def _pixels(image_processor: Any, images: ImageSet) -> torch.Tensor:
    """Normalised pixels of every image through the model's own image processor (as at evaluation)."""
    out = []
    for start in range(0, len(images.labels), 512):
        idx = range(start, min(start + 512, len(images.labels)))
        out.append(image_processor(images=_pil(images, idx), return_tensors="pt")["pixel_values"].float())
    return torch.cat(out)


def _save(model: torch.nn.Module, processor: Any, folder: Path) -> None:
    """``save_pretrained`` in float16, with ``dtype: float32`` in the config (the dtype to compute in)."""
    folder.mkdir(parents=True, exist_ok=True)
    model.to(torch.float16).save_pretrained(folder)
    model.to(torch.float32)
    processor.save_pretrained(folder)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())

    def float32(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("dtype", "torch_dtype") and isinstance(value, str):
                    node[key] = "float32"
                else:
                    float32(value)

    float32(config)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(0o644)  # safetensors writes owner-only files; weights are meant to be shipped


@dataclass
class HFTrainResult:
    """What a training run produced."""

    name: str
    folder: Path
    val_top1: float
    seconds: float
    info: dict[str, Any]


# --- the CLIP tower --------------------------------------------------------------------------------------


@torch.no_grad()
def clip_top1(model: Any, tokenizer: Any, pixels: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> float:
    """Zero-shot top-1 of a transformers CLIP with one prompt per class."""
    from zeroshift.models.hf import HFModel

    was_training = model.training
    model.eval()
    texts = tokenizer([CLIP_VAL_PROMPT.format(c) for c in classes], padding=True, return_tensors="pt")
    head = F.normalize(HFModel._features(model.get_text_features(**texts)), dim=-1)
    image = F.normalize(HFModel._features(model.get_image_features(pixel_values=pixels)), dim=-1)
    model.train(was_training)
    return float(((image @ head.T).argmax(1) == labels).float().mean())


class _Teacher:
    """A shipped (or retrained) zoo CLIP whose normalised embeddings a student regresses (``distill``)."""

    def __init__(self, name: str, out: Path, train_set: ImageSet, dense_stage: int) -> None:
        from zeroshift.zoo.nets import build_model
        from zeroshift.zoo.tokenizer import WordTokenizer
        from zeroshift.zoo.train import _parent

        state, config = _parent(name, out)
        if config["kind"] != "clip":
            raise UsageError(f"the distillation teacher {name!r} is a {config['kind']} model, not a zoo CLIP")
        self.model = build_model(config)
        self.model.load_state_dict(state)
        self.model.eval()
        self.tokenizer = WordTokenizer(config["vocab"], config["text"]["max_len"])
        n = len(train_set.labels)
        self.images: list[torch.Tensor] = []  # per mirroring: (N, D) normalised embeddings
        self.dense: list[torch.Tensor] = []  # per mirroring: (N, positions, C) standardised feature maps
        with torch.no_grad():  # the teacher's targets of every training image, plain and mirrored, once
            for mirror in (False, True):
                chunks = [torch.arange(i, min(i + 512, n)) for i in range(0, n, 512)]
                pixels = [train_set.pixels(idx, flip=torch.full((len(idx),), mirror)) for idx in chunks]
                self.images.append(torch.cat([F.normalize(self.model.encode_image(x), dim=-1) for x in pixels]))
                maps = [self.model.image.dense(x, dense_stage).flatten(2).transpose(1, 2) for x in pixels]
                self.dense.append(torch.cat([F.layer_norm(m, m.shape[-1:]) for m in maps]))

    def image(self, idx: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
        """Teacher image embeddings of training samples ``idx`` (mirrored where ``flip``)."""
        return torch.where(flip.unsqueeze(1), self.images[1][idx], self.images[0][idx])

    def dense_map(self, idx: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
        """Teacher feature maps ``(B, positions, C)`` of training samples ``idx`` (mirrored where ``flip``)."""
        return torch.where(flip.view(-1, 1, 1), self.dense[1][idx], self.dense[0][idx])

    @torch.no_grad()
    def text(self, texts: list[str]) -> torch.Tensor:
        """Teacher caption embeddings."""
        return F.normalize(self.model.encode_text(self.tokenizer.encode(texts)), dim=-1)


def _cosine_distance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    return (1 - (F.normalize(student, dim=-1) * teacher).sum(-1)).mean()


def train_clip(recipe: dict[str, Any], out: Path, progress: bool = False) -> HFTrainResult:
    """Train a ``clip`` recipe into ``out/NAME``."""
    from transformers import CLIPModel

    from zeroshift.engine.progress import progress_bar

    started = time.perf_counter()
    words = hf_format.vocabulary([CAPTION_QUESTION])
    tokenizer = hf_format.build_tokenizer(words, "clip")
    image_processor = hf_format.build_image_processor(recipe["image_size"], MEAN, STD)
    torch.manual_seed(recipe["seed"])
    model = CLIPModel(hf_format.clip_config(recipe, words))
    data = recipe["data"]
    train_set = render_set(f"train:{data['distribution']}", recipe["seed"], data["size"], progress, "render")
    val = render_set(recipe["val"]["split"], recipe["val"]["seed"], recipe["val"]["n"])
    pixels, val_pixels = _pixels(image_processor, train_set), _pixels(image_processor, val)
    classes = list(world().classes)
    start_top1 = clip_top1(model, tokenizer, val_pixels, val.labels, classes)
    distill = recipe.get("distill")
    teacher, hint = None, None
    params = list(model.parameters())
    if distill:
        teacher = _Teacher(distill["teacher"], out, train_set, distill["dense_stage"])
        positions, channels = teacher.dense[0].shape[1:]
        grid = (recipe["image_size"] // recipe["vision"]["patch"]) ** 2
        if positions != grid:
            raise UsageError(
                f"distillation: the teacher's map at stage {distill['dense_stage']} has {positions} positions, the "
                f"student has {grid} patches; choose a stage or patch size that match"
            )
        hint = torch.nn.Linear(recipe["vision"]["hidden"], channels)  # training only: not part of the model
        params += list(hint.parameters())
    optimizer = torch.optim.AdamW(params, lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    gen = torch.Generator().manual_seed(recipe["seed"])
    rng = np.random.default_rng(recipe["seed"])
    order, cursor = torch.randperm(len(train_set.labels), generator=gen), 0
    no_word = train_set.no_word
    model.train()
    with progress_bar(f"train {recipe['name']}", recipe["steps"], progress, unit="step/s") as advance:
        for step in range(recipe["steps"]):
            if cursor + recipe["batch"] > len(order):
                order, cursor = torch.randperm(len(train_set.labels), generator=gen), 0
            idx = order[cursor : cursor + recipe["batch"]]
            cursor += recipe["batch"]
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(step, recipe)
            x = pixels[idx].clone()
            flip = (torch.rand(len(idx), generator=gen) < 0.5) & no_word[idx]  # mirror images without writing
            x[flip] = x[flip].flip(-1)
            texts = [caption(train_set.params[int(i)], rng) for i in idx]
            tokens = tokenizer(texts, padding=True, truncation=True, max_length=recipe["text"]["max_len"],
                               return_tensors="pt")  # fmt: skip
            output = model(**tokens, pixel_values=x, return_loss=True, output_hidden_states=teacher is not None)
            loss = output.loss
            if teacher is not None and hint is not None:
                patches = output.vision_model_output.hidden_states[distill["layer"]][:, 1:]
                loss = (
                    loss
                    + distill["weight"] * _cosine_distance(output.image_embeds, teacher.image(idx, flip))
                    + distill["weight"] * _cosine_distance(output.text_embeds, teacher.text(texts))
                    + distill["dense_weight"] * F.mse_loss(hint(patches), teacher.dense_map(idx, flip))
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            advance(1)
    model.eval()
    top1 = clip_top1(model, tokenizer, val_pixels, val.labels, classes)
    folder = out / recipe["name"]
    _save(model, _ClipProcessor(image_processor, tokenizer), folder)
    v = recipe["vision"]
    info = {
        "architecture": f"vit-p{v['patch']}-h{v['hidden']}-l{v['layers']}-{recipe['image_size']}px",
        "family": "ViT",
        "params": sum(p.numel() for p in model.parameters()),
        "training_data": f"FactorWorld-{data['distribution']}",
        "data_size": data["size"],
        "loss": "contrastive" + (f" + distillation from zoo:{distill['teacher']}" if distill else ""),
        "fine_tuned": False,
        "source": "zoo",
        "extra": _extra(recipe, start_top1, top1, float(loss.detach()), started, "zero-shot, " + CLIP_VAL_PROMPT),
    }
    write_manifest_entry(out, recipe["name"], "clip", info)
    return HFTrainResult(recipe["name"], folder, top1, time.perf_counter() - started, info)


class _ClipProcessor:
    """Saves a CLIP's image processor and tokenizer into one folder (what ``AutoImageProcessor`` and
    ``AutoTokenizer`` read back).
    """

    def __init__(self, image_processor: Any, tokenizer: Any) -> None:
        self.image_processor, self.tokenizer = image_processor, tokenizer

    def save_pretrained(self, folder: Path) -> None:
        self.image_processor.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)


def _extra(recipe: dict[str, Any], start: float | None, end: float, loss: float, started: float, how: str
           ) -> dict[str, Any]:  # fmt: skip
    val = {**recipe["val"], "top1": round(end, 4), "how": how, "chance": round(1 / len(world().classes), 4)}
    if start is not None:
        val["top1_start"] = round(start, 4)
    return {
        "recipe": {k: v for k, v in recipe.items() if k != "name"},
        "val": val,
        "final_loss": round(loss, 4),
        "train_seconds": round(time.perf_counter() - started, 1),
        "threads": torch.get_num_threads(),
    }


# --- the LLaVAs ------------------------------------------------------------------------------------------


def _tower_folder(name: str, out: Path) -> Path:
    """A tower retrained into ``out`` if there is one, else the shipped one."""
    for folder in (out, shipped_hf_dir()):
        if (folder / name / "config.json").is_file():
            return folder / name
    raise UsageError(f"the tower {name!r} is neither in {out} nor shipped; train it first")


class _Sequences:
    """Token sequences of (question, reply) pairs through the chat template, image token expanded, with the
    positions of the reply (its tokens and the end token) as the training targets.
    """

    def __init__(self, processor: Any, n_image_tokens: int) -> None:
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.n_image = n_image_tokens
        self.image_id = self.tokenizer.convert_tokens_to_ids(hf_format.IMAGE)
        self.eos = self.tokenizer.eos_token_id
        self._prefix: dict[str, tuple[list[int], str, str]] = {}

    def _prefix_of(self, question: str) -> tuple[list[int], str, str]:
        from zeroshift.lmm.templates import AnswerTemplate, split_prompt

        if question not in self._prefix:
            prefix, lead = split_prompt(self.processor, AnswerTemplate(question))
            ids: list[int] = []
            for i in self.tokenizer(prefix)["input_ids"]:
                ids += [i] * (self.n_image if i == self.image_id else 1)
            self._prefix[question] = (ids, prefix, lead)
        return self._prefix[question]

    def build(self, question: str, reply: str) -> tuple[list[int], int]:
        """``(ids, n_prefix)``: the sequence and the length of its prefix."""
        from zeroshift.lmm.tokens import continuation_ids

        ids, prefix, lead = self._prefix_of(question)
        tail = continuation_ids(self.tokenizer, prefix, [lead + reply]).ids[0]
        return ids + tail + [self.eos], len(ids)


def _task_pairs(recipe: dict[str, Any], params: dict[str, Any], rng: np.random.Generator) -> tuple[str, str]:
    """One (question, reply) pair of a sample, its task drawn from the recipe's task weights."""
    from zeroshift.lmm.templates import AnswerTemplate, named_question

    tasks = recipe["tasks"]
    names = list(tasks)
    task = names[int(rng.choice(len(names), p=np.asarray([tasks[n] for n in names]) / sum(tasks.values())))]
    shape = params["shape"]
    if task == "classify":
        return AnswerTemplate.named().question, shape
    if task == "choice":
        others = [c for c in world().classes if c != shape]
        other = others[int(rng.integers(len(others)))]
        first, second = (shape, other) if rng.random() < 0.5 else (other, shape)
        return named_question("choice", "imagenet_d")["question"].format(first=first, second=second), shape
    return CAPTION_QUESTION, caption(params, rng)


def llava_top1(folder: Path, val: ImageSet) -> float:
    """Top-1 of a saved LLaVA folder under the likelihood protocol (16 class names), through the adapter."""
    from zeroshift.models.lmm import LMMModel
    from zeroshift.specs import ModelSpec

    model = LMMModel.load(ModelSpec.parse(f"lmm:{folder}"))
    classes = list(world().classes)
    scores = model.likelihood(_pil(val, range(len(val.labels))), classes).scores("mean")
    return float((scores.argmax(1) == val.labels.numpy()).mean())


def train_llava(recipe: dict[str, Any], out: Path, progress: bool = False) -> HFTrainResult:
    """Train an ``lmm`` recipe into ``out/NAME`` on its (frozen) zoo CLIP tower."""
    from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel, LlavaForConditionalGeneration

    from zeroshift.engine.progress import progress_bar

    started = time.perf_counter()
    tower_dir = _tower_folder(recipe["tower"], out)
    tower = CLIPModel.from_pretrained(tower_dir, dtype=torch.float32, local_files_only=True)
    vocab = AutoTokenizer.from_pretrained(tower_dir, local_files_only=True).get_vocab()
    words = [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    image_processor = AutoImageProcessor.from_pretrained(tower_dir, local_files_only=True)
    vision = tower.config.vision_config
    processor = hf_format.llava_processor(image_processor, hf_format.build_tokenizer(words, "lmm"), vision.patch_size)
    torch.manual_seed(recipe["seed"])
    model = LlavaForConditionalGeneration(hf_format.llava_config(recipe, vision, words))
    model.model.vision_tower.load_state_dict(tower.vision_model.state_dict())
    model.model.vision_tower.requires_grad_(False)
    data = recipe["data"]
    train_set = render_set(f"train:{data['distribution']}", recipe["seed"], data["size"], progress, "render")
    val = render_set(recipe["val"]["split"], recipe["val"]["seed"], recipe["val"]["n"])
    pixels = _pixels(image_processor, train_set)
    layer = recipe["feature_layer"]
    with torch.no_grad():  # the frozen tower's patch features ("default": the class token dropped), once
        feats = torch.cat([
            model.model.vision_tower(pixels[i : i + 512], output_hidden_states=True).hidden_states[layer][:, 1:]
            for i in range(0, len(pixels), 512)
        ])  # fmt: skip
    n_image = feats.shape[1]
    sequences = _Sequences(processor, n_image)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    gen = torch.Generator().manual_seed(recipe["seed"])
    rng = np.random.default_rng(recipe["seed"])
    order, cursor = torch.randperm(len(train_set.labels), generator=gen), 0
    embed = model.get_input_embeddings()
    pad = processor.tokenizer.pad_token_id
    model.train()
    with progress_bar(f"train {recipe['name']}", recipe["steps"], progress, unit="step/s") as advance:
        for step in range(recipe["steps"]):
            if cursor + recipe["batch"] > len(order):
                order, cursor = torch.randperm(len(train_set.labels), generator=gen), 0
            idx = order[cursor : cursor + recipe["batch"]]
            cursor += recipe["batch"]
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(step, recipe)
            built = [sequences.build(*_task_pairs(recipe, train_set.params[int(i)], rng)) for i in idx]
            width = max(len(ids) for ids, _ in built)
            ids = torch.full((len(built), width), pad, dtype=torch.long)
            labels = torch.full((len(built), width), -100, dtype=torch.long)
            for r, (seq, n_prefix) in enumerate(built):
                ids[r, : len(seq)] = torch.tensor(seq)
                labels[r, n_prefix : len(seq)] = torch.tensor(seq[n_prefix:])
            attention = torch.arange(width).unsqueeze(0) < torch.tensor([len(s) for s, _ in built]).unsqueeze(1)
            # LLaVA's merge: projected patch features replace the image tokens, in order
            image = model.model.multi_modal_projector(feats[idx])
            inputs = embed(ids)
            slots = (ids == sequences.image_id).unsqueeze(-1).expand_as(inputs)
            inputs = inputs.masked_scatter(slots, image.reshape(-1, image.shape[-1]).to(inputs.dtype))
            logits = model(inputs_embeds=inputs, attention_mask=attention.long()).logits
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            advance(1)
    model.eval()
    folder = out / recipe["name"]
    _save(model, processor, folder)
    top1 = llava_top1(folder, val)
    lm = recipe["lm"]
    lm_name = f"llama-h{lm['hidden']}-l{lm['layers']}"
    info = {
        "architecture": f"llava:{recipe['tower']}+{lm_name}",
        "family": "LMM",
        "params": sum(p.numel() for p in model.parameters()),
        "training_data": f"FactorWorld-{data['distribution']} (questions and captions)",
        "data_size": data["size"],
        "loss": "next-token",
        "fine_tuned": False,
        "source": "zoo",
        "vision_tower": recipe["tower"],
        "clip_spec": f"hf:zoo/{recipe['tower']}",
        "language_model": f"{lm_name} (trained from scratch on FactorWorld)",
        "extra": _extra(
            recipe,
            None,
            top1,
            float(loss.detach()),
            started,
            "likelihood protocol, 16 class names, through zeroshift.models.lmm",
        ),  # fmt: skip
    }
    write_manifest_entry(out, recipe["name"], "lmm", info)
    return HFTrainResult(recipe["name"], folder, top1, time.perf_counter() - started, info)


def train_hf(
    name: str,
    out_dir: str | Path,
    steps: int | None = None,
    seed: int | None = None,
    size: int | None = None,
    val_n: int | None = None,
    threads: int | None = None,
    progress: bool = False,
) -> HFTrainResult:
    """Train the transformers-format zoo model ``name`` into ``out_dir/NAME`` (a CLIP tower or a LLaVA).

    Args:
        name: a model of lmm_recipes.yaml.
        out_dir: folder of the model folders and their ``manifest.json``.
        steps: optimisation steps instead of the recipe's (a short schedule for tests).
        seed: seed of initialisation, batch order, tasks and captions (the training images depend on it too).
        size: training-set size instead of the recipe's.
        val_n: validation images instead of the recipe's.
        threads: torch CPU threads (None: leave torch's setting).
        progress: draw progress bars.

    """
    if threads is not None:
        torch.set_num_threads(threads)
    recipe = resolve_lmm_recipe(name, steps=steps, seed=seed, size=size, val_n=val_n)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trainer = {"clip": train_clip, "lmm": train_llava}[recipe["kind"]]
    return trainer(recipe, out, progress)
