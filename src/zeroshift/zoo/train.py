"""Training the zoo: ``zeroshift zoo train NAME`` rebuilds a model from its recipe (recipes.yaml) and a seed.

A recipe names the model kind (``clip``: a dual encoder trained on captions with the CLIP softmax or the
SigLIP sigmoid loss; ``supervised``: a classifier over the 16 classes; ``finetune``: a CLIP model whose
image encoder is fine-tuned on labelled data through its own zero-shot head, which stays frozen), the
architecture, the FactorWorld distribution and size of its training set and the schedule. Training images
are rendered once into memory; captions are drawn anew at every step, so one image is seen with many
wordings. Top-1 on a validation draw of the test distribution (another seed than the benchmark's) is measured
before and after training and stored with the weights.

Weights are written as safetensors (float16, a few hundred KB) whose metadata holds the whole config (vocab,
architecture, metadata of the six factors), so one file rebuilds its model; ``manifest.json`` beside them
lists the models of a folder. Results are reproducible by seed on a given machine and thread count.

Example:
    >>> recipe = resolve_recipe("clip-cnn-diverse")
    >>> recipe["kind"], recipe["loss"], recipe["data"]["distribution"]
    ('clip', 'clip', 'diverse')

"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from safetensors.torch import load_file, save_file
from torch.nn import functional as F

from zeroshift.data.factorworld.captions import caption, vocabulary
from zeroshift.data.factorworld.render import render
from zeroshift.data.factorworld.sampler import sample_params, split_recipe, training_recipe
from zeroshift.data.factorworld.world import world
from zeroshift.engine.progress import progress_bar
from zeroshift.errors import UsageError
from zeroshift.registry import suggest
from zeroshift.zoo.nets import DualEncoder, build_model, clip_loss, siglip_loss
from zeroshift.zoo.tokenizer import UNK, WordTokenizer

#: pixel normalisation of every zoo model
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
#: the key of the config in a weights file's safetensors metadata
METADATA_KEY = "zeroshift_zoo"
#: the prompt set used for zero-shot heads while training (the engine's default)
TRAIN_PROMPTS = "openai"
_LOSS_NAMES = {"clip": "contrastive", "siglip": "sigmoid", "supervised": "supervised"}


def shipped_dir() -> Path:
    """The folder of the weights shipped inside the package."""
    return Path(str(resources.files("zeroshift.zoo") / "weights"))


def load_recipes() -> dict[str, Any]:
    """recipes.yaml as a dict (``defaults`` and ``models``)."""
    return yaml.safe_load((resources.files("zeroshift.zoo") / "recipes.yaml").read_text(encoding="utf-8"))


def recipe_names() -> list[str]:
    """Names of every model that has a recipe."""
    return list(load_recipes()["models"])


def resolve_recipe(name: str, **overrides: Any) -> dict[str, Any]:
    """A model's recipe with the defaults filled in and ``overrides`` (``steps``, ``seed``, ``size``) applied."""
    recipes = load_recipes()
    if name not in recipes["models"]:
        raise UsageError(f"no zoo recipe {name!r}" + (suggest(name, list(recipes["models"])) or ""))
    recipe = {**copy.deepcopy(recipes["defaults"]), **copy.deepcopy(recipes["models"][name]), "name": name}
    for key in ("steps", "seed", "batch"):
        if overrides.get(key) is not None:
            if int(overrides[key]) < 1 and key != "seed":
                raise UsageError(f"--{key} must be at least 1, got {overrides[key]}")
            recipe[key] = int(overrides[key])
    if overrides.get("size") is not None:
        if int(overrides["size"]) < 1:
            raise UsageError(f"--size must be at least 1, got {overrides['size']}")
        recipe["data"]["size"] = int(overrides["size"])
    if overrides.get("val_n") is not None:
        recipe["val"]["n"] = int(overrides["val_n"])
    recipe["warmup"] = min(recipe["warmup"], max(1, recipe["steps"] // 10))
    return recipe


@dataclass
class ImageSet:
    """Rendered images (uint8, ``(N, 3, H, W)``), their sample parameters and class labels."""

    images: torch.Tensor
    params: list[dict[str, Any]]
    labels: torch.Tensor

    @property
    def no_word(self) -> torch.Tensor:
        """Whether each sample has no written word (so mirroring it changes no text)."""
        return torch.tensor([p["word"] is None for p in self.params])

    def pixels(self, idx: torch.Tensor, flip: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised float pixels of the samples ``idx`` (mirrored left-right where ``flip`` is True)."""
        x = self.images[idx].float() / 255.0
        if flip is not None and bool(flip.any()):
            x[flip] = x[flip].flip(-1)
        mean = torch.tensor(MEAN).view(1, 3, 1, 1)
        std = torch.tensor(STD).view(1, 3, 1, 1)
        return (x - mean) / std


def render_set(
    recipe_name: str, seed: int, n: int, progress: bool = False, label: str = "render", cache: bool = True
) -> ImageSet:
    """Render ``n`` samples of a split or training distribution (``train:DIST`` or a split name).

    With ``cache``, the images and parameters are kept in the artefact cache (keyed by the generator version,
    the recipe, the seed and ``n``), so models trained on the same data render it once.
    """
    from zeroshift.core.io import atomic_write_bytes
    from zeroshift.data.factorworld.benchmarks import generator_key
    from zeroshift.paths import cache_dir

    recipe = training_recipe(recipe_name[6:]) if recipe_name.startswith("train:") else split_recipe(recipe_name)
    w = world()
    key = hashlib.sha256(f"{generator_key()}|{recipe_name}|{seed}|{n}".encode()).hexdigest()[:24]
    path = cache_dir() / "factorworld-sets" / f"{key}.npz"
    if cache and path.is_file():
        try:
            with np.load(path) as stored:
                images = torch.from_numpy(stored["images"])
                params = json.loads(bytes(stored["params"]).decode())
            return ImageSet(images, params, torch.tensor([w.classes.index(p["shape"]) for p in params]))
        except (OSError, ValueError, KeyError):
            pass  # unreadable: render again
    size = w.image_size
    images = torch.empty((n, 3, size, size), dtype=torch.uint8)
    params = []
    with progress_bar(label, n, progress) as advance:
        for i in range(n):
            p = sample_params(recipe, seed, i, w)
            images[i] = torch.from_numpy(np.array(render(p))).permute(2, 0, 1)
            params.append(p)
            if i % 256 == 255:
                advance(256)
        advance(n % 256)
    if cache:
        import io

        buffer = io.BytesIO()
        np.savez(buffer, images=images.numpy(), params=np.frombuffer(json.dumps(params).encode(), dtype=np.uint8))
        atomic_write_bytes(path, buffer.getvalue())
    labels = torch.tensor([w.classes.index(p["shape"]) for p in params])
    return ImageSet(images, params, labels)


def make_config(recipe: dict[str, Any], parent: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored config of a model trained from ``recipe`` (a fine-tune inherits its parent's networks)."""
    w = world()
    base = parent if parent is not None else recipe
    kind = "supervised" if recipe["kind"] == "supervised" else "clip"
    config: dict[str, Any] = {
        "format": 1,
        "name": recipe["name"],
        "kind": kind,
        "image": base["image"],
        "image_size": base.get("image_size", recipe["image_size"]),
        "mean": list(MEAN),
        "std": list(STD),
        "classes": list(w.classes),
        "generator": w.version,
    }
    if kind == "clip":
        config.update(
            loss=base["loss"],
            embed_dim=base["embed_dim"],
            text=base["text"],
            vocab=list(base["vocab"]) if parent is not None else list(vocabulary()),
        )
    return config


def describe(config: dict[str, Any], recipe: dict[str, Any], parent: dict[str, Any] | None, n_params: int,
             training: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The model's metadata (the fields of :class:`~zeroshift.models.base.ModelInfo`)."""
    image = config["image"]
    if image["arch"] == "cnn":
        arch, family = "cnn-" + "-".join(str(v) for v in image["widths"]), "CNN"
    else:
        stem = "-convstem" if image.get("stem") == "conv" else ""
        arch, family = f"vit-p{image['patch']}-d{image['dim']}-l{image['depth']}{stem}", "ViT"
    first = parent["info"] if parent is not None else None
    data = recipe["data"] if first is None else {"distribution": first["extra"]["distribution"],
                                                  "size": first["data_size"]}  # fmt: skip
    extra: dict[str, Any] = {
        "distribution": data["distribution"],
        "zero_shot": config["kind"] == "clip",
        "recipe": recipe["name"],
        "steps": recipe["steps"],
        "seed": recipe["seed"],
        "image_size": config["image_size"],
        **training,
    }
    if parent is not None:
        extra.update(
            parent=parent["name"],
            fine_tune_data=f"FactorWorld-{recipe['data']['distribution']}",
            fine_tune_size=recipe["data"]["size"],
        )
    return {
        "architecture": arch,
        "family": family,
        "params": n_params,
        "training_data": f"FactorWorld-{data['distribution']}",
        "data_size": data["size"],
        "loss": _LOSS_NAMES[config.get("loss", "supervised")],
        "fine_tuned": parent is not None,
        "source": "zoo",
        "extra": extra,
    }


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The float32 state dict and the config stored in a zoo weights file."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if METADATA_KEY not in meta:
        raise UsageError(f"{path} is not a zeroshift zoo weights file (no {METADATA_KEY!r} metadata)")
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(str(path)).items()}
    return state, json.loads(meta[METADATA_KEY])


def write_weights(model: torch.nn.Module, config: dict[str, Any], folder: Path) -> Path:
    """Save ``model`` as float16 safetensors with its config, and list it in the folder's manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{config['name']}.safetensors"
    state = {
        k: (v.detach().half() if v.is_floating_point() else v.detach()).contiguous()
        for k, v in model.state_dict().items()
    }
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata={METADATA_KEY: json.dumps(config, sort_keys=True)})
    tmp.chmod(0o644)  # safetensors writes owner-only files; weights are meant to be shared and shipped
    tmp.replace(path)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {"models": {}}
    manifest["models"][config["name"]] = {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
        "kind": "fixed_head" if config["kind"] == "supervised" else "zero_shot",
        "info": config["info"],
    }
    manifest["models"] = dict(sorted(manifest["models"].items()))
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return path


@torch.no_grad()
def zero_shot_head(model: DualEncoder, tokenizer: WordTokenizer, classes: list[str]) -> torch.Tensor:
    """Class embeddings from the prompt set the engine uses by default (normalised mean over templates)."""
    from zeroshift.artefacts.text import class_embedding
    from zeroshift.prompts import load_prompts

    prompts = load_prompts(TRAIN_PROMPTS)
    rows = [class_embedding(model.encode_text(tokenizer.encode(prompts.texts(c)))) for c in classes]
    return torch.stack(rows)


@torch.no_grad()
def top1(model: torch.nn.Module, data: ImageSet, tokenizer: WordTokenizer | None, classes: list[str]) -> float:
    """Top-1 of a model on an image set (zero-shot through the prompt head for dual encoders)."""
    was_training = model.training
    model.eval()
    head = zero_shot_head(model, tokenizer, classes) if isinstance(model, DualEncoder) else None
    correct = 0
    for start in range(0, len(data.labels), 256):
        idx = torch.arange(start, min(start + 256, len(data.labels)))
        x = data.pixels(idx)
        logits = model.encode_image(x) @ head.T if head is not None else model(x)
        correct += int((logits.argmax(1) == data.labels[idx]).sum())
    model.train(was_training)
    return correct / len(data.labels)


def _lr_at(step: int, recipe: dict[str, Any]) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if step < recipe["warmup"]:
        return recipe["lr"] * (step + 1) / recipe["warmup"]
    t = (step - recipe["warmup"]) / max(1, recipe["steps"] - recipe["warmup"])
    return recipe["lr"] * 0.5 * (1 + math.cos(math.pi * t))


def _parent(name: str, out_dir: Path | None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A fine-tune's parent: from the output folder if it was retrained there, else the shipped weights."""
    for folder in ([out_dir] if out_dir is not None else []) + [shipped_dir()]:
        path = folder / f"{name}.safetensors"
        if path.is_file():
            return read_weights(path)
    raise UsageError(f"the parent model {name!r} is neither in {out_dir} nor shipped; train it first")


@dataclass
class TrainResult:
    """What ``zoo train`` produced."""

    name: str
    path: Path | None
    val_top1_start: float
    val_top1_end: float
    seconds: float
    config: dict[str, Any]


def train(
    name: str,
    out_dir: str | Path | None = None,
    steps: int | None = None,
    seed: int | None = None,
    size: int | None = None,
    val_n: int | None = None,
    progress: bool = False,
    eval_every: int = 0,
    threads: int | None = None,
) -> TrainResult:
    """Train zoo model ``name`` from its recipe; write the weights into ``out_dir`` (None: do not save).

    Args:
        name: a model of recipes.yaml.
        out_dir: folder for ``NAME.safetensors`` and ``manifest.json``.
        steps: optimisation steps instead of the recipe's (a short schedule for tests).
        seed: seed of initialisation, batch order and captions (the training images depend on it too).
        size: training-set size instead of the recipe's.
        val_n: validation images instead of the recipe's.
        progress: draw progress bars.
        eval_every: also measure validation top-1 every this many steps (stored as ``history``).
        threads: torch CPU threads (None: leave torch's setting).

    """
    started = time.perf_counter()
    if threads is not None:
        torch.set_num_threads(threads)
    recipe = resolve_recipe(name, steps=steps, seed=seed, size=size, val_n=val_n)
    out = Path(out_dir) if out_dir is not None else None
    torch.manual_seed(recipe["seed"])
    parent_state, parent_config = _parent(recipe["parent"], out) if recipe["kind"] == "finetune" else (None, None)
    config = make_config(recipe, parent_config)
    model = build_model(config)
    if parent_state is not None:
        model.load_state_dict(parent_state)
    classes = config["classes"]
    tokenizer = WordTokenizer(config["vocab"], config["text"]["max_len"]) if config["kind"] == "clip" else None
    data_spec = recipe["data"]
    train_set = render_set(
        f"train:{data_spec['distribution']}", recipe["seed"], data_spec["size"], progress, f"render {name}"
    )
    val = render_set(recipe["val"]["split"], recipe["val"]["seed"], recipe["val"]["n"])
    start_top1 = top1(model, val, tokenizer, classes)
    params = [p for p in model.parameters() if p.requires_grad]
    if recipe["kind"] == "finetune":
        assert isinstance(model, DualEncoder) and tokenizer is not None
        head = zero_shot_head(model, tokenizer, classes)  # frozen: the fine-tuned model stays a zero-shot model
        params = list(model.image.parameters())
    optimizer = torch.optim.AdamW(params, lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    gen = torch.Generator().manual_seed(recipe["seed"])
    rng = np.random.default_rng(recipe["seed"])
    order = torch.randperm(len(train_set.labels), generator=gen)
    cursor = 0
    no_word = train_set.no_word
    history: list[tuple[int, float]] = [(0, round(start_top1, 4))]
    model.train()
    with progress_bar(f"train {name}", recipe["steps"], progress, unit="step/s") as advance:
        for step in range(recipe["steps"]):
            if cursor + recipe["batch"] > len(order):
                order, cursor = torch.randperm(len(train_set.labels), generator=gen), 0
            idx = order[cursor : cursor + recipe["batch"]]
            cursor += recipe["batch"]
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(step, recipe)
            # mirror half the images (every class is mirror-symmetric as a class), except those with writing
            flip = (torch.rand(len(idx), generator=gen) < 0.5) & no_word[idx]
            x = train_set.pixels(idx, flip)
            if recipe["kind"] == "supervised":
                loss = F.cross_entropy(model(x), train_set.labels[idx])
            elif recipe["kind"] == "finetune":
                loss = F.cross_entropy(model.scale.detach() * model.encode_image(x) @ head.T, train_set.labels[idx])
            else:
                assert tokenizer is not None
                texts = [caption(train_set.params[int(i)], rng) for i in idx]
                ids = tokenizer.encode(texts)
                drop = (torch.from_numpy(rng.random(ids.shape)) < recipe["word_dropout"]) & (ids > 0)
                ids = ids.masked_fill(drop, UNK)
                img, txt = model.encode_image(x), model.encode_text(ids)
                loss = (
                    clip_loss(img, txt, model.scale)
                    if model.loss == "clip"
                    else siglip_loss(img, txt, model.scale, model.bias)
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            advance(1)
            if eval_every and (step + 1) % eval_every == 0 and step + 1 < recipe["steps"]:
                history.append((step + 1, round(top1(model, val, tokenizer, classes), 4)))
    model.eval()
    end_top1 = top1(model, val, tokenizer, classes)
    seconds = time.perf_counter() - started
    training = {
        "val_top1_start": round(start_top1, 4),
        "val_top1": round(end_top1, 4),
        "val": recipe["val"],
        "train_seconds": round(seconds, 1),
        "final_loss": round(float(loss.detach()), 4),
        "history": history + [(recipe["steps"], round(end_top1, 4))],
        "threads": torch.get_num_threads(),
    }
    config["info"] = describe(config, recipe, parent_config, sum(p.numel() for p in model.parameters()), training)
    config["recipe"] = {k: v for k, v in recipe.items() if k != "name"}
    path = write_weights(model, config, out) if out is not None else None
    return TrainResult(name, path, start_top1, end_top1, seconds, config)
