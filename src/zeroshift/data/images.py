"""Decode images defensively: every file becomes an RGB ``PIL.Image`` or a :class:`BadImageError` with a reason.

Conversions follow what torchvision's default loader does (``convert('RGB')``), with two corrections that
PIL gets wrong: 16-bit and 32-bit greyscale are rescaled to 8 bits instead of clipped, and palette images
with transparency go through RGBA first. Truncated files are never padded with grey: they are reported.

Example:
    >>> from PIL import Image
    >>> import io, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "cmyk.jpg")
    >>> Image.new("CMYK", (8, 8)).save(path)
    >>> image, note = load_rgb(path)
    >>> image.mode, note
    ('RGB', 'CMYK->RGB')

"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from zeroshift.errors import BadImageError

#: Images above this many pixels are decoded at reduced size (JPEG) or skipped; PIL's own default.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485

#: The reasons a sample can be skipped; they key the skip counts of a RunRecord.
SKIP_REASONS = ("empty file", "not an image", "truncated", "too large", "unreadable")


def _to_8bit(image: Image.Image) -> Image.Image:
    """Rescale a 16/32-bit integer or float greyscale image to 8 bits over its nominal range."""
    array = np.asarray(image)
    if image.mode.startswith("I;16"):
        scaled = array.astype(np.float64) / 65535.0
    elif image.mode == "F":
        lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
        scaled = (array - lo) / (hi - lo) if hi > lo else np.zeros_like(array)
    else:  # "I": 32-bit ints, most often 16-bit data stored wide
        top = 65535.0 if array.max(initial=0) <= 65535 else float(array.max())
        scaled = array.astype(np.float64) / top
    return Image.fromarray(np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8), mode="L")


def load_rgb(
    path: str | os.PathLike[str], max_pixels: int = MAX_PIXELS, reduce_to: int = 1024
) -> tuple[Image.Image, str]:
    """Open ``path`` as an RGB image and say what conversion, if any, was applied.

    Args:
        path: image file.
        max_pixels: above this, a JPEG is decoded at a reduced scale (at least ``reduce_to`` on the short side)
            and any other format is rejected as ``"too large"``.
        reduce_to: the shortest side a reduced JPEG decode keeps.

    Returns:
        ``(image, note)`` where ``note`` is ``""`` or a short description such as ``"CMYK->RGB"``.

    Raises:
        BadImageError: with ``reason`` one of :data:`SKIP_REASONS`.

    """
    path = os.fspath(path)
    try:
        if os.path.getsize(path) == 0:
            raise BadImageError(path, "empty file")
    except OSError as err:
        raise BadImageError(path, "unreadable", str(err)) from None
    return _decode(path, path, max_pixels, reduce_to)


def decode_rgb(data: bytes, name: str, max_pixels: int = MAX_PIXELS, reduce_to: int = 1024) -> tuple[Image.Image, str]:
    """Decode image bytes (a tar member, a dataset row) exactly as :func:`load_rgb` decodes a file.

    ``name`` labels the sample in errors (e.g. ``test/0.tar:s0000001.webp``).

    Example:
        >>> import io
        >>> buf = io.BytesIO(); Image.new("L", (4, 4), 7).save(buf, format="PNG")
        >>> image, note = decode_rgb(buf.getvalue(), "x.png")
        >>> image.mode, image.getpixel((0, 0)), note
        ('RGB', (7, 7, 7), 'L->RGB')
        >>> decode_rgb(b"", "y.png")
        Traceback (most recent call last):
        ...
        zeroshift.errors.BadImageError: y.png: empty file

    """
    if not data:
        raise BadImageError(name, "empty file")
    return _decode(io.BytesIO(data), name, max_pixels, reduce_to)


def _decode(source: str | io.BytesIO, name: str, max_pixels: int, reduce_to: int) -> tuple[Image.Image, str]:
    """The shared body of :func:`load_rgb` and :func:`decode_rgb`: open, guard size, load, convert to RGB."""
    note = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(source)
        except Image.DecompressionBombError as err:
            raise BadImageError(name, "too large", str(err)) from None
        except UnidentifiedImageError:
            raise BadImageError(name, "not an image") from None
        except OSError as err:
            raise BadImageError(name, "unreadable", str(err)) from None
        if image.width * image.height > max_pixels:
            if image.format != "JPEG":
                raise BadImageError(name, "too large", f"{image.width}x{image.height} pixels")
            width, height = image.size
            scale = max(1, min(width, height) // reduce_to)
            image.draft("RGB", (width // scale, height // scale))
            note = f"reduced {width}x{height}"
            if image.width * image.height > max_pixels:
                raise BadImageError(name, "too large", f"{image.width}x{image.height} pixels after reduction")
        try:
            image.load()
        except (OSError, SyntaxError, ValueError) as err:
            reason = "truncated" if "truncat" in str(err).lower() or "broken data" in str(err).lower() else "unreadable"
            raise BadImageError(name, reason, str(err)) from None
    mode = image.mode
    if mode == "RGB":
        return image, note
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image, conv = _to_8bit(image), f"{mode}->8-bit"
    elif mode == "P" and "transparency" in image.info:
        image, conv = image.convert("RGBA"), "P+transparency->RGB"
    else:
        conv = f"{mode}->RGB"
    return image.convert("RGB"), (f"{note}; {conv}" if note else conv)
