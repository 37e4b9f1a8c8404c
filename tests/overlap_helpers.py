"""Helpers of the overlap tests: small image sets, webdataset shards written by webdataset itself, and a counting
embedder (an 8x8 colour thumbnail: a deterministic test double for the index machinery, not a metric under test).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from zeroshift.overlap.features import ModelRef


def noise_images(n: int, seed: int = 0, size: int = 48) -> list[Image.Image]:
    """``n`` distinct smooth random RGB images (upsampled noise, so resizing keeps them recognisable)."""
    rng = np.random.default_rng(seed)
    return [
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
        for _ in range(n)
    ]


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


class ThumbEmbedder:
    """8x8 RGB thumbnail, centred: a deterministic embedder that counts its calls."""

    def __init__(self, name: str = "test:thumb8", fail_after: int | None = None) -> None:
        self.model = ModelRef(name, f"fp-{name}")
        self.calls = 0
        self.images = 0
        self.fail_after = fail_after

    def __call__(self, images: Sequence[Image.Image]) -> np.ndarray:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.calls += 1
        self.images += len(images)
        rows = np.stack([np.asarray(im.convert("RGB").resize((8, 8), Image.Resampling.BOX), np.float32).ravel()
                         for im in images])  # fmt: skip
        return rows - rows.mean(axis=1, keepdims=True)


def write_shards(folder: Path, images: Sequence[Image.Image], per_shard: int, start_key: int = 0) -> list[Path]:
    """img2dataset-layout shards ``00000.tar, ...`` written by ``webdataset.TarWriter``: KEY.jpg, KEY.txt, KEY.json."""
    import webdataset as wds

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in range(0, len(images), per_shard):
        path = folder / f"{s // per_shard:05d}.tar"
        with wds.TarWriter(str(path)) as sink:
            for i in range(s, min(s + per_shard, len(images))):
                key = f"{(s // per_shard) * 10000 + i - s + start_key:09d}"
                sink.write({"__key__": key, "jpg": jpeg_bytes(images[i]), "txt": f"caption {i}",
                            "json": json.dumps({"key": key, "url": f"http://example.com/{i}.jpg"})})  # fmt: skip
        paths.append(path)
    return paths
