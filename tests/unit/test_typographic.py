"""Typographic text rendering: RoZ's defaults, placement, sizes, colours, determinism and spec checks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from zeroshift.errors import SpecError
from zeroshift.shifts import make_shift
from zeroshift.shifts.base import ShiftContext
from zeroshift.shifts.typographic import _overlaps, draw_text


def boxes(origins, width, height):
    return [(x, y - height, x + width, y) for x, y in origins]


def test_roz_defaults_eight_white_duplex_names_without_overlap():
    image = np.zeros((224, 224, 3), dtype=np.uint8)
    origins = draw_text(image, "tench", rng=np.random.default_rng(3))
    assert len(origins) == 8
    (tw, th), _ = cv2.getTextSize("tench", cv2.FONT_HERSHEY_DUPLEX, 0.8, 2)
    for x, y in origins:  # inside the image, as RoZ samples: x in [0, W - w), y in [h, H)
        assert 0 <= x < 224 - tw and th <= y < 224
    for i, (x, y) in enumerate(origins):  # RoZ's rule: no corner of a box strictly inside an earlier box
        assert not _overlaps(x, y, tw, th, origins[:i])
    painted = image.max(axis=2) > 0
    assert image.max() == 255 and (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
    assert 0.02 < painted.mean() < 0.3
    # exactly RoZ's drawing call at those origins (OpenCV's rasteriser decides the anti-aliasing)
    ref = np.zeros_like(image)
    for origin in origins:
        cv2.putText(ref, "tench", origin, cv2.FONT_HERSHEY_DUPLEX, 0.8, (255, 255, 255), 1)
    assert np.array_equal(image, ref)


def test_rendering_is_deterministic_per_seed_and_scales_with_the_crop():
    a, b, c = (np.zeros((224, 224, 3), dtype=np.uint8) for _ in range(3))
    draw_text(a, "goldfish", rng=np.random.default_rng(1))
    draw_text(b, "goldfish", rng=np.random.default_rng(1))
    draw_text(c, "goldfish", rng=np.random.default_rng(2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    small, large = np.zeros((112, 112, 3), np.uint8), np.zeros((448, 448, 3), np.uint8)
    draw_text(small, "goldfish", count=1, position="center", rng=np.random.default_rng(0))
    draw_text(large, "goldfish", count=1, position="center", rng=np.random.default_rng(0))

    def text_width(img):
        cols = np.nonzero(img.max(axis=(0, 2)))[0]
        return cols.max() - cols.min()

    assert 3.0 < text_width(large) / text_width(small) < 5.0  # 4x the side, ~4x the text


def test_a_name_wider_than_the_image_is_shrunk_to_fit():
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    draw_text(image, "American Staffordshire Terrier", count=1, position="center", rng=np.random.default_rng(0))
    cols = np.nonzero(image.max(axis=(0, 2)))[0]
    assert cols.min() >= 0 and cols.max() <= 63 and cols.max() - cols.min() > 32


@pytest.mark.parametrize("position", ["top", "center", "bottom"])
def test_fixed_positions_stack_lines(position):
    image = np.zeros((224, 224, 3), dtype=np.uint8)
    origins = draw_text(image, "hen", count=3, position=position, color=(255, 0, 0), rng=np.random.default_rng(0))
    ys = [y for _, y in origins]
    assert ys == sorted(ys) and len(set(ys)) == 3 and len({x for x, _ in origins}) == 1
    rows = np.nonzero(image[..., 0].max(axis=1))[0]
    middle = (rows.min() + rows.max()) / 2
    assert {"top": middle < 80, "center": 80 <= middle <= 144, "bottom": middle > 144}[position]
    assert image[..., 1:].max() == 0  # red only


def test_shift_apply_writes_the_prepared_name():
    shift = make_shift("typographic(count=2, color='black')")
    pixels = torch.ones(3, 224, 224)
    out = shift.apply(pixels, ShiftContext("a", seed=5, params={"written": 3, "text": "great white shark"}))
    assert out.shape == pixels.shape and out.dtype == pixels.dtype
    assert float(out.min()) == 0.0 and 0.0 < float((out < 1).float().mean()) < 0.2
    again = shift.apply(pixels, ShiftContext("a", seed=5, params={"written": 3, "text": "great white shark"}))
    assert torch.equal(out, again)


def test_spec_validation_and_canonical_defaults():
    assert make_shift("typographic").canonical == (
        "typographic(color='white', count=8, font='duplex', position='random', size=0.8, text='random', thickness=1)"
    )
    for bad, message in [
        ("typographic(text='wrong')", "text must be"),
        ("typographic(count=0)", "count must be"),
        ("typographic(size=-1)", "size must be"),
        ("typographic(color='mauve')", "color must be"),
        ("typographic(color=(300, 0, 0))", "color must be"),
        ("typographic(position='left')", "position must be"),
        ("typographic(font='arial')", "font must be"),
        ("typographic(thickness=0)", "thickness must be"),
        ("typographic(words=3)", "unknown parameter 'words'"),
    ]:
        with pytest.raises(SpecError, match=message):
            make_shift(bad)
    assert make_shift("typographic(text='random')").depends_on() == frozenset({"label_space"})
    assert make_shift("typographic(text='confusable')").depends_on() == frozenset({"label_space", "head"})
    assert make_shift("typographic").metric_groups == ("typographic",)
