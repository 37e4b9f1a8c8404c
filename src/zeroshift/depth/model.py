"""Monocular depth models through transformers: ``dpt:HUB_ID|/folder`` and ``depth_anything:HUB_ID|/folder``.

Loading follows ``zeroshift.models.hf``: a local folder loads with ``local_files_only=True`` and never touches
the network; a hub id loads from the hub or the local Hugging Face cache; weights come only from safetensors
files; remote code runs only with ``?trust_remote_code=true``. The folder must hold a transformers config whose
``model_type`` is a depth model of ``_info/depth_models.yaml`` (DPT, Depth Anything), its weights and its image
processor; anything else is refused with one line.

:meth:`DepthModel.predict` takes the pixels a shift sees, ``(B, 3, H, W)`` in [0, 1], runs the model's own image
processor (resize, normalisation; no rescaling) and the model, resizes ``predicted_depth`` back to ``(H, W)``
(bicubic, as transformers' ``post_process_depth_estimation``) and converts it to 3DCC depth: inverse-depth models
with 3DCC's ImageNet rule, metric ones from metres (:mod:`zeroshift.depth.convert`).

Example:
    >>> src = ModelDepth.from_spec("dpt", "Intel/dpt-hybrid-midas")
    >>> src.canonical, src.identity()["repo"]
    ('dpt:Intel/dpt-hybrid-midas', 'Intel/dpt-hybrid-midas')

"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import torch
import yaml

from zeroshift.data.base import Dataset
from zeroshift.depth.base import DepthSource
from zeroshift.depth.convert import depth_from_inverse, depth_from_metric
from zeroshift.errors import ModelLoadError, SpecError

#: how each output kind becomes 3DCC depth
CONVERSIONS = {"inverse": depth_from_inverse, "metric": depth_from_metric}
#: spec options a depth model takes
OPTIONS = ("revision", "trust_remote_code")


@cache
def depth_model_types() -> dict[str, dict[str, Any]]:
    """The depth model types of ``_info/depth_models.yaml``.

    Example:
        >>> depth_model_types()["dpt"]["output"]
        'inverse'

    """
    text = (resources.files("zeroshift.depth") / "_info" / "depth_models.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _is_local(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or os.path.isdir(name)


@dataclass
class DepthModel:
    """A loaded depth model with its image processor and the meaning of its output."""

    module: Any
    processor: Any
    output: str
    model_type: str

    @torch.inference_mode()
    def predict(self, pixels: torch.Tensor) -> np.ndarray:
        """3DCC depth ``(B, H, W)`` float32 of ``(B, 3, H, W)`` pixels in [0, 1], at the pixels' size."""
        if pixels.ndim != 4 or pixels.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) pixels, got {tuple(pixels.shape)}")
        device = next(self.module.parameters()).device
        inputs = self.processor(images=list(pixels.float().cpu()), do_rescale=False, return_tensors="pt")
        predicted = self.module(pixel_values=inputs["pixel_values"].to(device)).predicted_depth
        if predicted.ndim == 4:
            predicted = predicted[:, 0]
        size = tuple(pixels.shape[-2:])
        resized = torch.nn.functional.interpolate(predicted[:, None].float(), size=size, mode="bicubic")[:, 0]
        convert = CONVERSIONS[self.output]
        return np.stack([convert(m) for m in resized.cpu().numpy()])


class ModelDepth(DepthSource):
    """A depth source that runs a monocular depth model on the pixels (see the module docstring)."""

    needs_pixels = True

    def __init__(self, scheme: str, name: str, options: dict[str, str] | None = None) -> None:
        self.scheme_name = scheme
        self.local = _is_local(name)
        self.name = os.path.abspath(os.path.expanduser(name)) if self.local else name
        self.options = dict(options or {})
        unknown = sorted(set(self.options) - set(OPTIONS))
        if unknown:
            raise SpecError(f"depth model {scheme}:{name}: unknown option {unknown[0]!r} (known: {', '.join(OPTIONS)})")
        self._model: DepthModel | None = None
        self._checked = False

    @classmethod
    def from_spec(cls, scheme: str, rest: str) -> ModelDepth:
        """Build from the part after ``scheme:`` (``NAME[?key=value&...]``)."""
        name, _, query = rest.partition("?")
        if not name:
            raise SpecError(f"depth model {scheme}: give a hub id or a folder, e.g. {scheme}:Intel/dpt-hybrid-midas")
        return cls(scheme, name, dict(parse_qsl(query)) if query else None)

    @property
    def canonical(self) -> str:  # noqa: D102
        text = f"{self.scheme_name}:{self.name}"
        if self.options:
            text += "?" + "&".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return text

    @property
    def trust_remote_code(self) -> bool:
        """Whether the spec allows the repository's own code to run."""
        return self.options.get("trust_remote_code", "false").lower() in ("1", "true", "yes")

    def identity(self) -> dict[str, Any]:
        """The weights (content digest of a local folder; repo and revision of a hub id) and the scheme."""
        ident: dict[str, Any] = {"source": self.scheme_name}
        if self.local:
            if not os.path.isdir(self.name):
                raise ModelLoadError(f"{self.canonical}: no depth model folder at {self.name}")
            from zeroshift.digest import folder_digest

            ident["folder_sha256"] = folder_digest(self.name)
        else:
            ident.update(repo=self.name, revision=self.options.get("revision", "main"))
        return ident

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        out = {**super().protocol, "model": self.canonical, "input": "the pixels the shift sees (after geometry)"}
        if self._model is not None:
            out["output"] = self._model.output
            out["conversion"] = {
                "inverse": "3DCC ImageNet rule: min(1 / (v * 65535 / 512 + 1e-6), 0.5), v min-max normalised",
                "metric": "metres / 15.625 (3DCC's Taskonomy units), clamped at 0.5",
            }[self._model.output]
        return out

    def check(self, dataset: Dataset) -> None:
        """Before any work: the folder or hub id must hold a depth model's config (ModelLoadError, one line).

        Only the config is read (from the folder, or the hub or the local HF cache for a hub id), never the
        weights; the planner calls this through the ``depth`` artefact's check of a ``corruption3d`` shift.
        """
        if self._model is None and not self._checked:
            depth_config(self.scheme_name, self.name, self.local, self.options)
            self._checked = True

    def load(self) -> DepthModel:
        """Load the model once (CPU); ModelLoadError with one line when the folder or id is not a depth model."""
        if self._model is None:
            self._model = load_depth_model(self.scheme_name, self.name, self.local, self.options)
        return self._model

    def depth_rows(self, pixels: torch.Tensor) -> list[np.ndarray]:
        """The 3DCC depth maps of a ``(B, 3, H, W)`` batch of [0, 1] pixels."""
        return list(self.load().predict(pixels))

    def rows(  # noqa: D102
        self, dataset: Dataset, indices: Sequence[int], pixels: torch.Tensor | None = None
    ) -> list[np.ndarray]:
        if pixels is None:
            raise ValueError(f"{self.canonical}: a depth model needs the pixels of the samples")
        return self.depth_rows(pixels)


def _output_kind(config: Any, entry: dict[str, Any]) -> str:
    if "output" in entry:
        return entry["output"]
    value = getattr(config, entry["output_from"], None)
    if value not in entry["outputs"]:
        raise ModelLoadError(f"depth model {config.model_type}: unknown {entry['output_from']} {value!r}")
    return entry["outputs"][value]


def _load_kwargs(local: bool, options: dict[str, str]) -> dict[str, Any]:
    trust = options.get("trust_remote_code", "false").lower() in ("1", "true", "yes")
    kwargs: dict[str, Any] = {"local_files_only": local, "trust_remote_code": trust}
    if "revision" in options:
        kwargs["revision"] = options["revision"]
    return kwargs


def depth_config(scheme: str, name: str, local: bool, options: dict[str, str]) -> tuple[Any, str]:
    """The transformers config of a depth model and its output kind (``inverse`` or ``metric``), without weights.

    Raises ModelLoadError with one line when the folder is missing, holds no config, holds another kind of model,
    or a hub id cannot be reached (offline and not in the local HF cache).

    Example:
        >>> depth_config("dpt", "/no/such/folder", True, {})
        Traceback (most recent call last):
        ...
        zeroshift.errors.ModelLoadError: dpt:/no/such/folder: no depth model folder at /no/such/folder

    """
    import transformers

    spec = f"{scheme}:{name}"
    kwargs = _load_kwargs(local, options)
    if local and not os.path.isdir(name):
        raise ModelLoadError(f"{spec}: no depth model folder at {name}")
    try:
        config = transformers.AutoConfig.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as err:
        if local:
            raise ModelLoadError(
                f"{spec}: {name} is not a transformers model folder (no usable config.json: {str(err).splitlines()[0]})"
            ) from None
        raise ModelLoadError(
            f"{spec}: could not load {name!r} from the hub or the local HF cache; without network, download it "
            f"(huggingface-cli download {name} --local-dir DIR) and pass {scheme}:DIR"
        ) from None
    types = depth_model_types()
    entry = types.get(config.model_type)
    if entry is None:
        raise ModelLoadError(
            f"{spec}: {name} holds a {config.model_type!r} model, not a depth model "
            f"(depth models: {', '.join(sorted(types))})"
        )
    if entry["scheme"] != scheme:
        raise ModelLoadError(f"{spec}: {name} holds a {config.model_type!r} model; name it {entry['scheme']}:{name}")
    return config, _output_kind(config, entry)


def load_depth_model(scheme: str, name: str, local: bool, options: dict[str, str]) -> DepthModel:
    """Load a transformers depth model and its image processor (see the module docstring)."""
    import transformers

    spec = f"{scheme}:{name}"
    kwargs = _load_kwargs(local, options)
    config, output = depth_config(scheme, name, local, options)
    quiet = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()
    try:
        module = transformers.AutoModelForDepthEstimation.from_pretrained(name, use_safetensors=True, **kwargs)
        processor = transformers.AutoImageProcessor.from_pretrained(name, **kwargs)
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelLoadError(
            f"{spec}: could not load the depth model's safetensors weights or image processor: "
            f"{str(err).splitlines()[0]}"
        ) from None
    finally:
        if quiet:
            transformers.utils.logging.enable_progress_bar()
    return DepthModel(module.eval(), processor, output, config.model_type)
