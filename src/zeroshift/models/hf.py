"""Hugging Face transformers backend: ``hf:REPO``, ``hf:/local/dir`` or ``hf:zoo/NAME`` (the zoo's
transformers-format CLIPs) for CLIPModel and SiglipModel, and ``random:hf//local/dir?seed=N`` for random weights
from a local config.

A local directory loads with ``local_files_only=True`` and never touches the network. Remote code runs only
when the spec says ``?trust_remote_code=true`` (the CLI's ``--trust-remote-code``). Geometry is the model's own
image processor with normalisation switched off; SigLIP text is padded to its fixed length, as it was trained.

Example:
    >>> from zeroshift.specs import ModelSpec
    >>> HFModel.identity(ModelSpec.parse("hf:openai/clip-vit-base-patch32"))["repo"]
    'openai/clip-vit-base-patch32'

"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image

from zeroshift.digest import folder_digest
from zeroshift.errors import ModelLoadError
from zeroshift.models.base import Preprocess, ZeroShotModel, library_version
from zeroshift.models.dense import dense_record, resolve_layer, tokens_to_map
from zeroshift.models.metadata import build_info
from zeroshift.models.open_clip import random_seed
from zeroshift.specs import ModelSpec

#: transformers model types this backend drives, with the class that loads them
SUPPORTED = {"clip": "CLIPModel", "siglip": "SiglipModel", "siglip2": "Siglip2Model"}


def load_config(spec: ModelSpec, source: str, kwargs: dict[str, Any]) -> Any:
    """A transformers config from a local folder or the hub, or one line saying what is missing and how to get it.

    Example:
        >>> try:
        ...     load_config(ModelSpec.parse("hf:/nowhere"), "/nowhere", {"local_files_only": True})
        ... except ModelLoadError as err:
        ...     print(str(err).split(" (")[0])
        hf:/nowhere: no transformers config in /nowhere

    """
    import transformers

    try:
        return transformers.AutoConfig.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as err:
        if kwargs.get("local_files_only"):
            raise ModelLoadError(f"{spec}: no transformers config in {source} ({str(err).splitlines()[0]})") from None
        raise ModelLoadError(
            f"{spec}: could not load {source!r} from the hub or the local HF cache; without network, download it "
            f"(huggingface-cli download {source} --local-dir DIR) and pass {spec.scheme}:DIR"
        ) from None


class HFGeometry:
    """Picklable geometry: the model's image processor with normalisation switched off."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor

    def __call__(self, image: Image.Image) -> torch.Tensor:
        out = self.processor(images=image, return_tensors="pt", do_normalize=False)
        return out["pixel_values"][0].float()


#: ``hf:zoo/NAME``: a transformers-format CLIP of the zoo (``zeroshift.zoo.hf_zoo``)
ZOO_PREFIX = "zoo/"


def _is_local(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or os.path.isdir(name)


class HFModel(ZeroShotModel):
    """A transformers CLIP or SigLIP model behind the common protocol."""

    backend = "transformers"

    def __init__(self, spec: ModelSpec, module: Any, processor: Any, tokenizer: Any, model_type: str) -> None:
        self.spec = spec
        self.module = module.eval()
        self.tokenizer = tokenizer
        self.model_type = model_type
        mean = tuple(float(m) for m in processor.image_mean)
        std = tuple(float(s) for s in processor.image_std)
        size = getattr(processor, "size", None)
        crop = getattr(processor, "crop_size", None)
        config = {
            "steps": [type(processor).__name__],
            "resize": dict(size) if isinstance(size, dict) else size,
            "crop": dict(crop) if isinstance(crop, dict) else crop,
            "interpolation": str(getattr(processor, "resample", "")),
            "do_center_crop": bool(getattr(processor, "do_center_crop", False)),
        }
        self.preprocess = Preprocess(HFGeometry(processor), mean, std, config)
        vision = module.config.vision_config
        arch = f"{model_type}-vit-h{vision.hidden_size}-p{vision.patch_size}-{vision.image_size}px"
        key = (
            None
            if _is_local(spec.name) or spec.name.startswith(ZOO_PREFIX) or random_seed(spec) is not None
            else spec.name
        )
        self.info = build_info(arch, "hf", key, self.count_params())
        self.info.family = "ViT"

    @classmethod
    def identity(cls, spec: ModelSpec) -> dict[str, Any]:  # noqa: D102
        ident: dict[str, Any] = {"backend": "transformers"}
        seed = random_seed(spec)
        if spec.name.startswith(ZOO_PREFIX):
            from zeroshift.zoo.hf_zoo import folder_sha256, zoo_folder

            ident.update(
                zoo=spec.name[len(ZOO_PREFIX) :],
                folder_sha256=folder_sha256(zoo_folder(spec.name[len(ZOO_PREFIX) :], "clip")[1]),
            )
        elif _is_local(spec.name):
            path = os.path.abspath(os.path.expanduser(spec.name))
            if not os.path.isdir(path):
                raise ModelLoadError(f"{spec}: no model folder at {path}")
            ident["folder_sha256"] = folder_digest(path)
        else:
            ident["repo"] = spec.name
            ident["revision"] = spec.option_dict.get("revision", "main")
        if seed is not None:
            ident.update(seed=seed, transformers=library_version("transformers"), torch=library_version("torch"))
        return ident

    @classmethod
    def load(cls, spec: ModelSpec) -> HFModel:  # noqa: D102
        import transformers

        options = spec.option_dict
        trust = options.get("trust_remote_code", "false").lower() in ("1", "true", "yes")
        local = _is_local(spec.name)
        source = os.path.abspath(os.path.expanduser(spec.name)) if local else spec.name
        if spec.name.startswith(ZOO_PREFIX):  # the zoo's transformers-format CLIPs (the towers of its LLaVAs)
            from zeroshift.zoo.hf_zoo import verify_folder, zoo_folder

            folder, entry = zoo_folder(spec.name[len(ZOO_PREFIX) :], "clip")
            verify_folder(folder, entry)
            local, source = True, str(folder)
        kwargs: dict[str, Any] = {"local_files_only": local, "trust_remote_code": trust}
        if "revision" in options:
            kwargs["revision"] = options["revision"]
        config = load_config(spec, source, kwargs)
        model_type = config.model_type
        if model_type not in SUPPORTED:
            raise ModelLoadError(
                f"{spec}: model type {model_type!r} is not supported (supported: {', '.join(sorted(SUPPORTED))})"
            )
        model_cls = getattr(transformers, SUPPORTED[model_type])
        seed = random_seed(spec)
        quiet = transformers.utils.logging.is_progress_bar_enabled()
        transformers.utils.logging.disable_progress_bar()  # our own bars are the only ones a run draws
        try:
            if seed is not None:
                torch.manual_seed(seed)
                module = model_cls(config)
            else:
                module = model_cls.from_pretrained(source, use_safetensors=None, **kwargs)
            processor = transformers.AutoImageProcessor.from_pretrained(source, **kwargs)
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, **kwargs)
        except (OSError, ValueError, RuntimeError) as err:
            raise ModelLoadError(
                f"{spec}: could not load weights, processor or tokenizer: {str(err).splitlines()[0]}"
            ) from None
        finally:
            if quiet:
                transformers.utils.logging.enable_progress_bar()
        model = cls(spec, module, processor, tokenizer, model_type)
        if seed is not None:
            model.info.training_data, model.info.source = "none (random init)", "random"
        return model

    @staticmethod
    def _features(out: Any) -> torch.Tensor:
        # transformers < 5 returns the projected tensor; 5.x returns an output whose pooler_output it is
        return out if isinstance(out, torch.Tensor) else out.pooler_output

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.nn.functional.normalize(
            self._features(self.module.get_image_features(pixel_values=pixels)), dim=-1
        )

    @property
    def dense_input_size(self) -> int:  # noqa: D102
        return int(self.module.config.vision_config.image_size)

    def dense_record(self, layer: int = -1) -> dict[str, Any]:  # noqa: D102
        n = int(self.module.config.vision_config.num_hidden_layers)
        return dense_record(
            self, layer, f"transformers {self.model_type} vision hidden_states, patch tokens", n, "blocks"
        )

    def encode_dense(self, pixels: torch.Tensor, layer: int = -1) -> torch.Tensor:
        """Patch tokens of the vision tower's ``hidden_states[layer]`` (the class token dropped where present).

        ``hidden_states[-1]`` is CLIP's ``last_hidden_state``; for SigLIP it is ``last_hidden_state`` before
        ``post_layernorm``, so that every backend gives block outputs without a final norm.
        """
        vision = self.module.config.vision_config
        resolve_layer(layer, int(vision.num_hidden_layers), "blocks")
        out = self.module.vision_model(pixel_values=pixels, output_hidden_states=True)
        tokens = out.hidden_states[layer]
        grid = (pixels.shape[-2] // vision.patch_size, pixels.shape[-1] // vision.patch_size)
        prefix = tokens.shape[1] - grid[0] * grid[1]  # CLIP: one class token; SigLIP: none
        return tokens_to_map(tokens[:, prefix:], grid)

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:  # noqa: D102
        text_config = self.module.config.text_config
        if self.model_type.startswith("siglip"):
            kwargs: dict[str, Any] = {"padding": "max_length", "max_length": text_config.max_position_embeddings}
        else:
            kwargs = {"padding": True, "max_length": text_config.max_position_embeddings}
        tokens = self.tokenizer(list(texts), truncation=True, return_tensors="pt", **kwargs).to(self.device)
        inputs = {k: v for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        if self.model_type.startswith("siglip"):
            inputs.pop("attention_mask", None)  # SigLIP was trained without a text attention mask
        return torch.nn.functional.normalize(self._features(self.module.get_text_features(**inputs)), dim=-1)
