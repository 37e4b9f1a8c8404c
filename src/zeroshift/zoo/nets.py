"""The zoo's small architectures: a CNN and a ViT image encoder, a word-level text transformer, and the two
model kinds built from them (a CLIP-style dual encoder and a supervised classifier).

Every network is built from a plain JSON-ready config, which is stored inside the weights file, so a file
alone rebuilds its model.

Example:
    >>> import torch
    >>> net = build_image_encoder({"arch": "cnn", "widths": [8, 16, 32]}, out_dim=10)
    >>> net(torch.zeros(2, 3, 64, 64)).shape
    torch.Size([2, 10])
    >>> vit = build_image_encoder({"arch": "vit", "patch": 8, "dim": 32, "depth": 1, "heads": 2}, out_dim=10)
    >>> vit(torch.zeros(2, 3, 64, 64)).shape
    torch.Size([2, 10])

"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ConvEncoder(nn.Module):
    """A small CNN: a 4x4 patchify stem (64 -> 16 pixels), three stages of 3x3 convolutions (16, 8, 4 pixels),
    global average pooling and a linear map. The patchify stem keeps it cheap on a CPU.
    """

    def __init__(self, widths: list[int], out_dim: int, image_size: int = 64) -> None:
        super().__init__()
        w0, w1, w2 = widths
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, w0, 4, 4, bias=False), nn.BatchNorm2d(w0), nn.ReLU(inplace=True)),
            _conv(w0, w0, 1),
            _conv(w0, w1, 2), _conv(w1, w1, 1),
            _conv(w1, w2, 2), _conv(w2, w2, 1),
        )  # fmt: skip
        self.proj = nn.Linear(w2, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.proj(self.features(x).mean(dim=(2, 3)))

    #: the stages of ``features`` (stem + first conv at 1/4, then 1/8, then 1/16 of the input): (start, stop)
    STAGES = ((0, 2), (2, 4), (4, 6))

    def dense(self, x: torch.Tensor, stage: int = -1) -> torch.Tensor:
        """The feature map ``(B, C, h, w)`` after stage ``stage`` (a negative index; -1: the map that is pooled)."""
        stop = self.STAGES[stage][1]
        return self.features[:stop](x)


class ViTEncoder(nn.Module):
    """A small pre-norm Vision Transformer: patch embedding, class token, learned positions, transformer layers.

    ``stem="conv"`` embeds 8x8 patches through two stride-2 3x3 convolutions and a 2x2 one instead of one linear
    map (the convolutional stem of Xiao et al. 2021, which lets small ViTs learn from little data).
    """

    def __init__(
        self,
        patch: int,
        dim: int,
        depth: int,
        heads: int,
        out_dim: int,
        image_size: int = 64,
        mlp_ratio: int = 2,
        stem: str = "linear",
    ) -> None:
        super().__init__()
        if stem == "conv":
            if patch != 8:
                raise ValueError("the convolutional stem embeds 8x8 patches")
            self.patch_embed: nn.Module = nn.Sequential(
                _conv(3, dim // 4, 2), _conv(dim // 4, dim // 2, 2), nn.Conv2d(dim // 2, dim, 2, 2)
            )
        else:
            self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        n = (image_size // patch) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim * mlp_ratio, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(len(tokens), -1, -1), tokens], dim=1) + self.pos
        return self.proj(self.norm(self.blocks(tokens)[:, 0]))

    def dense(self, x: torch.Tensor, block: int = -1) -> torch.Tensor:
        """Patch tokens after block ``block`` (a negative index), before the final norm, as ``(B, C, h, w)``."""
        grid = self.patch_embed(x)
        h, w = grid.shape[-2:]
        tokens = grid.flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(len(tokens), -1, -1), tokens], dim=1) + self.pos
        for layer in self.blocks.layers[: len(self.blocks.layers) + block + 1]:
            tokens = layer(tokens)
        return tokens[:, 1:].transpose(1, 2).reshape(len(tokens), -1, h, w)


class TextEncoder(nn.Module):
    """Word embeddings + learned positions + a few transformer layers, mean-pooled over the words."""

    def __init__(self, vocab_size: int, dim: int, layers: int, heads: int, out_dim: int, max_len: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim * 2, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, out_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Encode ``(B, L)`` token ids (0 = padding) into ``(B, out_dim)``."""
        pad = ids == 0
        h = self.embed(ids) + self.pos[:, : ids.shape[1]]
        h = self.norm(self.blocks(h, src_key_padding_mask=pad))
        keep = (~pad).unsqueeze(-1).float()
        return self.proj((h * keep).sum(1) / keep.sum(1).clamp_min(1.0))


def build_image_encoder(cfg: dict[str, Any], out_dim: int, image_size: int = 64) -> nn.Module:
    """Build the image encoder a config names (``arch``: ``cnn`` or ``vit``)."""
    if cfg["arch"] == "cnn":
        return ConvEncoder(list(cfg["widths"]), out_dim, image_size)
    if cfg["arch"] == "vit":
        return ViTEncoder(
            cfg["patch"], cfg["dim"], cfg["depth"], cfg["heads"], out_dim, image_size, stem=cfg.get("stem", "linear")
        )
    raise ValueError(f"unknown zoo image architecture {cfg['arch']!r}")


class DualEncoder(nn.Module):
    """A CLIP-style model: image and text encoders into one unit-normalised space, a learned temperature and,
    for the sigmoid loss, a learned bias.
    """

    def __init__(self, image: nn.Module, text: nn.Module, loss: str) -> None:
        super().__init__()
        self.image = image
        self.text = text
        self.loss = loss
        # CLIP starts at temperature 0.07; SigLIP at t = 10, b = -10 (Zhai et al. 2023)
        init_scale = math.log(1 / 0.07) if loss == "clip" else math.log(10.0)
        self.log_scale = nn.Parameter(torch.tensor(init_scale))
        self.bias = nn.Parameter(torch.tensor(-10.0 if loss == "siglip" else 0.0), requires_grad=loss == "siglip")

    @property
    def scale(self) -> torch.Tensor:
        """The logit scale, capped at 100 as in CLIP."""
        return self.log_scale.exp().clamp(max=100.0)

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return F.normalize(self.image(x), dim=-1)

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return F.normalize(self.text(ids), dim=-1)


class Classifier(nn.Module):
    """A supervised classifier: an image encoder whose output is the logits over the class universe."""

    def __init__(self, image: nn.Module) -> None:
        super().__init__()
        self.image = image

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.image(x)


def build_model(config: dict[str, Any]) -> nn.Module:
    """Build the (untrained) model a stored config describes."""
    size = config["image_size"]
    if config["kind"] == "supervised":
        return Classifier(build_image_encoder(config["image"], len(config["classes"]), size))
    text = config["text"]
    return DualEncoder(
        build_image_encoder(config["image"], config["embed_dim"], size),
        TextEncoder(len(config["vocab"]) + 2, text["dim"], text["layers"], text["heads"], config["embed_dim"],
                    text["max_len"]),
        config["loss"],
    )  # fmt: skip


def clip_loss(image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric softmax (InfoNCE) loss over a batch of matching unit embeddings.

    Example:
        >>> e = torch.eye(4)
        >>> round(float(clip_loss(e, e, torch.tensor(100.0))), 4)
        0.0
    """
    logits = scale * image @ text.T
    target = torch.arange(len(image), device=image.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def siglip_loss(image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """SigLIP's pairwise sigmoid loss: every image-text pair is a binary match / non-match decision.

    Example:
        >>> e = torch.eye(3)
        >>> float(siglip_loss(e, e, torch.tensor(50.0), torch.tensor(-25.0))) < 1e-6
        True
    """
    logits = scale * image @ text.T + bias
    sign = 2 * torch.eye(len(image), device=image.device) - 1
    return -F.logsigmoid(sign * logits).sum() / len(image)
