"""Defensive decoding: every odd file becomes RGB or a reason."""

import numpy as np
import pytest
from PIL import Image

from zeroshift.data.images import load_rgb
from zeroshift.errors import BadImageError


def reason_of(path, **kwargs):
    with pytest.raises(BadImageError) as err:
        load_rgb(path, **kwargs)
    return err.value.reason


def test_good_and_converted_modes(tmp_path):
    rgb = tmp_path / "rgb.jpg"
    Image.new("RGB", (10, 8), (10, 20, 30)).save(rgb)
    image, note = load_rgb(rgb)
    assert image.mode == "RGB" and note == "" and image.size == (10, 8)

    grey = tmp_path / "grey.png"
    Image.new("L", (4, 4), 77).save(grey)
    image, note = load_rgb(grey)
    assert image.mode == "RGB" and note == "L->RGB" and image.getpixel((0, 0)) == (77, 77, 77)

    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(cmyk)  # pure red in CMYK
    image, note = load_rgb(cmyk)
    r, g, b = image.getpixel((1, 1))
    assert note == "CMYK->RGB" and r > 200 and g < 60 and b < 60


def test_16bit_greyscale_is_rescaled_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    data = np.full((4, 4), 32768, dtype=np.uint16)  # mid-grey in 16 bits
    Image.fromarray(data).save(path)
    image, note = load_rgb(path)
    assert "8-bit" in note
    assert image.getpixel((0, 0)) == (128, 128, 128)  # 32768/65535*255 = 127.5 -> 128, not clipped to 255


def test_palette_with_transparency(tmp_path):
    path = tmp_path / "pal.png"
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    image.info["transparency"] = 0
    image.save(path, transparency=0)
    out, note = load_rgb(path)
    assert out.mode == "RGB" and note == "P+transparency->RGB" and out.getpixel((0, 0)) == (200, 10, 10)


def test_bad_files_are_reported_with_reasons(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert reason_of(empty) == "empty file"

    text = tmp_path / "notes.jpg"
    text.write_text("this is not an image")
    assert reason_of(text) == "not an image"

    good = tmp_path / "good.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(good, quality=95)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert reason_of(truncated) == "truncated"

    missing = tmp_path / "missing.jpg"
    assert reason_of(missing) == "unreadable"


def test_large_images_reduced_or_refused(tmp_path):
    big_jpeg = tmp_path / "big.jpg"
    Image.new("RGB", (400, 300), (0, 128, 0)).save(big_jpeg)
    image, note = load_rgb(big_jpeg, max_pixels=50_000, reduce_to=100)
    assert image.width * image.height <= 50_000 and note.startswith("reduced 400x300")

    big_png = tmp_path / "big.png"
    Image.new("RGB", (400, 300)).save(big_png)
    assert reason_of(big_png, max_pixels=50_000) == "too large"


def test_decompression_bomb_is_refused(tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (14000, 14000)).save(bomb)  # 196 M pixels in a few kB: PIL's own bomb limit
    assert bomb.stat().st_size < 1_000_000
    assert reason_of(bomb) == "too large"
