"""Dense features: the image encoder's spatial features before pooling, and the input geometry they are taken on.

:meth:`ZeroShotModel.encode_dense` returns ``(B, C, h, w)`` maps: a ViT's patch tokens (class and register tokens
dropped) reshaped to the patch grid, a CNN's feature map. Every backend returns the **output of a block or stage,
without the final norm and without the projection into the joint space, not L2-normalised**, as probe3d (El Banani
et al. 2024) takes them; whoever compares features normalises them (correspondence matching uses cosine similarity).
``layer`` is a negative index of the encoder's blocks (ViTs) or stages (CNNs): ``-1`` the last, ``-2`` the one
before. What a model extracts is described by its :meth:`ZeroShotModel.dense_record`, recorded with every result.

Correspondence needs the whole image, so dense features are taken on a **letterboxed** input instead of the model's
classification crop: :class:`DenseGeometry` pads the image at the bottom and right to a square (white, as probe3d
does) and resizes the square to the model's native input side. A pixel ``(x, y)`` of the original image (the image
spanning ``[0, W] x [0, H]``) then lands at ``(x, y) * side / max(W, H)`` of the input, and the feature map, which
tiles the whole input, at ``(x, y) * w / max(W, H)`` in units of feature cells.

Example:
    >>> geo = DenseGeometry(32)
    >>> from PIL import Image
    >>> geo(Image.new("RGB", (40, 20), (0, 0, 0))).shape
    torch.Size([3, 32, 32])
    >>> geo.to_input([[40.0, 20.0]], (40, 20)).tolist()
    [[32.0, 16.0]]
    >>> resolve_layer(-1, 12), resolve_layer(-12, 12)
    (11, 0)

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from zeroshift.errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from zeroshift.models.base import ZeroShotModel

#: bumped whenever the same image would give other input pixels (part of the dense artefact's fingerprint)
DENSE_GEOMETRY_VERSION = 1


class DenseGeometry:
    """Pad to a square at the bottom and right, resize to ``side`` x ``side`` (bicubic), a [0, 1] float tensor.

    Picklable (runs in loader workers). The pad keeps the top-left corner where it was, so the mapping from
    original pixels to input pixels is one scale factor, ``side / max(W, H)``.

    Attributes:
        side: the model's native input side.
        fill: grey level of the padding (255: white, as probe3d pads SPair images).

    """

    def __init__(self, side: int, fill: int = 255) -> None:
        self.side = int(side)
        self.fill = int(fill)

    def __call__(self, image: Image.Image) -> torch.Tensor:  # noqa: D102
        from torchvision.transforms import functional as TF

        w, h = image.size
        s = max(w, h)
        if (w, h) != (s, s):
            canvas = Image.new("RGB", (s, s), (self.fill,) * 3)
            canvas.paste(image.convert("RGB"), (0, 0))
            image = canvas
        if s != self.side:
            image = image.resize((self.side, self.side), Image.Resampling.BICUBIC)
        return TF.to_tensor(image)

    def scale(self, size_wh: Sequence[float]) -> float:
        """Input pixels per original pixel for an image of ``size_wh = (W, H)``."""
        return self.side / float(max(size_wh[0], size_wh[1]))

    def to_input(self, points: Any, size_wh: Sequence[float]) -> np.ndarray:
        """``(K, 2)`` points ``(x, y)`` in original pixels -> input pixels."""
        return np.asarray(points, dtype=np.float64) * self.scale(size_wh)

    def from_input(self, points: Any, size_wh: Sequence[float]) -> np.ndarray:
        """``(K, 2)`` points in input pixels -> original pixels."""
        return np.asarray(points, dtype=np.float64) / self.scale(size_wh)

    @property
    def record(self) -> dict[str, Any]:
        """What is recorded (and fingerprinted) about the geometry."""
        return {
            "kind": "letterbox",
            "pad": "bottom-right to a square",
            "fill": self.fill,
            "side": self.side,
            "resize": "bicubic",
            "version": DENSE_GEOMETRY_VERSION,
        }


def resolve_layer(layer: int, n_layers: int, what: str = "blocks") -> int:
    """The absolute index (0-based) of a negative ``layer`` among ``n_layers`` blocks or stages.

    Example:
        >>> resolve_layer(-2, 4)
        2
        >>> try:
        ...     resolve_layer(0, 4)
        ... except SpecError as err:
        ...     print(err)
        dense features: layer must be a negative index from -1 to -4 (-1: the last of 4 blocks), got 0

    """
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or not -n_layers <= layer <= -1:
        raise SpecError(
            f"dense features: layer must be a negative index from -1 to -{n_layers} "
            f"(-1: the last of {n_layers} {what}), got {layer!r}"
        )
    return n_layers + int(layer)


def tokens_to_map(tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """``(B, h*w, C)`` patch tokens in row-major order -> ``(B, C, h, w)``.

    Example:
        >>> import torch
        >>> tokens_to_map(torch.arange(12.0).view(1, 6, 2), (2, 3))[0, 0].tolist()
        [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]

    """
    b, n, c = tokens.shape
    h, w = grid
    if n != h * w:
        raise ValueError(f"{n} tokens do not tile a {h}x{w} grid")
    return tokens.transpose(1, 2).reshape(b, c, h, w).contiguous()


def dense_record(model: ZeroShotModel, layer: int, source: str, n_layers: int, what: str) -> dict[str, Any]:
    """The record of what :meth:`encode_dense` extracts (backends call it from their ``dense_record``)."""
    return {
        "source": source,
        "layer": int(layer),
        "layer_index": resolve_layer(layer, n_layers, what),
        "n_layers": int(n_layers),
        "layers_are": what,
        "normalised": False,
        "final_norm": False,
        "projection": False,
        "input_side": model.dense_input_size,
    }


def layer_record(dense_facts: dict[str, Any], layer: int) -> dict[str, Any]:
    """The record of layer ``layer`` from a model's cached dense facts (:meth:`ZeroShotModel.dense_facts`).

    Example:
        >>> layer_record({"source": "patch tokens", "n_layers": 4, "layers_are": "blocks"}, -2)["layer_index"]
        2

    """
    n = int(dense_facts["n_layers"])
    return {**dense_facts, "layer": int(layer), "layer_index": resolve_layer(layer, n, dense_facts["layers_are"])}


def dense_features(
    model: ZeroShotModel,
    images: Sequence[Image.Image],
    layer: int = -1,
    batch_size: int = 32,
    geometry: DenseGeometry | None = None,
) -> np.ndarray:
    """Dense feature maps ``(N, C, h, w)`` (float32) of PIL images, letterboxed by :class:`DenseGeometry`.

    The core of a dense-feature artefact producer: images -> geometry -> the model's normalisation ->
    :meth:`encode_dense`, in batches, without gradients.

    Example:
        >>> from zeroshift.models import resolve_model
        >>> zoo = resolve_model("zoo:clip-cnn-diverse").load()
        >>> dense_features(zoo, [Image.new("RGB", (64, 48))]).shape
        (1, 96, 4, 4)

    """
    import torch

    geometry = geometry or DenseGeometry(model.dense_input_size)
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            pixels = torch.stack([geometry(im) for im in images[start : start + batch_size]]).to(model.device)
            maps = model.encode_dense(model.preprocess.normalize(pixels), layer=layer)
            out.append(maps.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0, 0, 0), dtype=np.float32)
