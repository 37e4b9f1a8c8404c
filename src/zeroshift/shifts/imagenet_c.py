"""The 15 + 4 ImageNet-C corruptions of Hendrycks & Dietterich (ICLR 2019) on uint8 RGB arrays.

A port of ``imagecorruptions`` 1.1.2 (bethgelab, Apache-2.0), itself the packaged version of the code that made
ImageNet-C (``hendrycks/robustness``). Parameters, operation order and dtypes are the reference's, so outputs
are bit-equal to it whenever both see the same random numbers (``tests/unit/test_corruptions_fidelity.py``
checks this). What differs, and why:

* randomness comes from an explicit generator (``rng``: ``normal``, ``uniform``, ``poisson``, ``integers``,
  ``random``, i.e. a :class:`numpy.random.Generator`), never numpy's global state, so each image is seeded on
  its own and a rerun is bit-equal whatever the worker schedule;
* renamed library APIs are used (scikit-image ``channel_axis``; ``np.float64``), which is what breaks the
  reference on current numpy / scikit-image (glass_blur, gaussian_blur, fog);
* glass blur's pixel shuffle, a Python loop over numpy elements (about 1 s per 224 px image), tracks source
  indices in a list instead and moves the pixels once per iteration (same result, ~20x faster). It keeps the
  reference's behaviour that ``x[h, w], x[h', w'] = x[h', w'], x[h, w]`` on numpy views *copies* pixel
  ``(h', w')`` to ``(h, w)`` rather than swapping them: that is what produced the released ImageNet-C;
* salt-and-pepper noise (impulse_noise) is scikit-image's ``random_noise(mode='s&p')`` written out, so that it
  draws from ``rng`` too;
* frost textures are decoded once per process, zooms run per channel (same bits, half the time), and grayscale
  branches are dropped (inputs are always RGB).

Example:
    >>> import numpy as np
    >>> image = np.full((32, 32, 3), 128, dtype=np.uint8)
    >>> out = corrupt(image, "contrast", 5, np.random.default_rng(0))
    >>> out.dtype, out.shape, int(out[0, 0, 0])
    (dtype('uint8'), (32, 32, 3), 127)

"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from io import BytesIO
from typing import Any

import cv2
import numpy as np
import skimage as sk
from PIL import Image
from scipy.ndimage import map_coordinates
from scipy.ndimage import zoom as scizoom
from skimage.filters import gaussian

from zeroshift.data.imagenet import IMAGENET_C_CORRUPTIONS as NAMES

#: the 15 corruptions of the benchmark (mCE averages over these) and the 4 held-out ones, in the reference's order
COMMON = NAMES[:15]
EXTRA = NAMES[15:]

Rng = Any  # numpy.random.Generator, or anything with its normal/uniform/poisson/integers/random methods


# --- helpers (as in the reference) ----------------------------------------------------------------------------
def disk(radius: float, alias_blur: float = 0.1, dtype: Any = np.float32) -> np.ndarray:
    """The anti-aliased disk kernel of defocus blur.

    Example:
        >>> k = disk(3)
        >>> k.shape, round(float(k.sum()), 4)
        ((17, 17), 1.0)

    """
    if radius <= 8:
        coords = np.arange(-8, 8 + 1)
        ksize = (3, 3)
    else:
        coords = np.arange(-radius, radius + 1)
        ksize = (5, 5)
    xx, yy = np.meshgrid(coords, coords)
    aliased_disk = np.array((xx**2 + yy**2) <= radius**2, dtype=dtype)
    aliased_disk /= np.sum(aliased_disk)
    return cv2.GaussianBlur(aliased_disk, ksize=ksize, sigmaX=alias_blur)


def plasma_fractal(rng: Rng, mapsize: int = 256, wibbledecay: float = 3) -> np.ndarray:
    """A diamond-square height map in [0, 1] (``mapsize`` a power of two), the texture of fog.

    Example:
        >>> m = plasma_fractal(np.random.default_rng(0), mapsize=8)
        >>> m.shape, float(m.min()), float(m.max())
        ((8, 8), 0.0, 1.0)

    """
    assert mapsize & (mapsize - 1) == 0
    maparray = np.empty((mapsize, mapsize), dtype=np.float64)
    maparray[0, 0] = 0
    stepsize = mapsize
    wibble = 100.0

    def wibbledmean(array: np.ndarray) -> np.ndarray:
        return array / 4 + wibble * rng.uniform(-wibble, wibble, array.shape)

    def fillsquares() -> None:
        cornerref = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        squareaccum = cornerref + np.roll(cornerref, shift=-1, axis=0)
        squareaccum += np.roll(squareaccum, shift=-1, axis=1)
        maparray[stepsize // 2 : mapsize : stepsize, stepsize // 2 : mapsize : stepsize] = wibbledmean(squareaccum)

    def filldiamonds() -> None:
        size = maparray.shape[0]
        drgrid = maparray[stepsize // 2 : size : stepsize, stepsize // 2 : size : stepsize]
        ulgrid = maparray[0:size:stepsize, 0:size:stepsize]
        ldrsum = drgrid + np.roll(drgrid, 1, axis=0)
        lulsum = ulgrid + np.roll(ulgrid, -1, axis=1)
        maparray[0:size:stepsize, stepsize // 2 : size : stepsize] = wibbledmean(ldrsum + lulsum)
        tdrsum = drgrid + np.roll(drgrid, 1, axis=1)
        tulsum = ulgrid + np.roll(ulgrid, -1, axis=0)
        maparray[stepsize // 2 : size : stepsize, 0:size:stepsize] = wibbledmean(tdrsum + tulsum)

    while stepsize >= 2:
        fillsquares()
        filldiamonds()
        stepsize //= 2
        wibble /= wibbledecay

    maparray -= maparray.min()
    return maparray / maparray.max()


def clipped_zoom(img: np.ndarray, zoom_factor: float) -> np.ndarray:
    """Zoom the centre of ``img`` (H, W, C) by ``zoom_factor`` (the output may exceed the input by a pixel).

    Example:
        >>> clipped_zoom(np.zeros((32, 32, 3), dtype=np.float32), 1.1).shape
        (33, 33, 3)

    """
    ch0 = int(np.ceil(img.shape[0] / float(zoom_factor)))
    top0 = (img.shape[0] - ch0) // 2
    ch1 = int(np.ceil(img.shape[1] / float(zoom_factor)))
    top1 = (img.shape[1] - ch1) // 2
    crop = img[top0 : top0 + ch0, top1 : top1 + ch1]
    # the reference zooms (z, z, 1) in 3-D; with a unit factor the channel axis is sampled exactly, so zooming each
    # channel in 2-D gives the same bits at half the cost
    return np.stack([scizoom(crop[..., c], (zoom_factor, zoom_factor), order=1) for c in range(crop.shape[2])], -1)


def _gauss(x: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-(x**2) / (2 * (sigma**2))) / (np.sqrt(2 * np.pi) * sigma)


def _shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Translate by (dx, dy), repeating the edge row/column into the space left behind."""
    if dx < 0:
        shifted = np.roll(image, shift=image.shape[1] + dx, axis=1)
        shifted[:, dx:] = shifted[:, dx - 1 : dx]
    elif dx > 0:
        shifted = np.roll(image, shift=dx, axis=1)
        shifted[:, :dx] = shifted[:, dx : dx + 1]
    else:
        shifted = image
    if dy < 0:
        shifted = np.roll(shifted, shift=image.shape[0] + dy, axis=0)
        shifted[dy:, :] = shifted[dy - 1 : dy, :]
    elif dy > 0:
        shifted = np.roll(shifted, shift=dy, axis=0)
        shifted[:dy, :] = shifted[dy : dy + 1, :]
    return shifted


def _motion_blur(x: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    """A one-sided Gaussian motion kernel along ``angle`` degrees, applied as a sum of shifted copies."""
    width = radius * 2 + 1
    kernel = _gauss(np.arange(width), sigma)
    kernel = kernel / np.sum(kernel)
    point = (width * np.sin(np.deg2rad(angle)), width * np.cos(np.deg2rad(angle)))
    hypot = math.hypot(point[0], point[1])
    blurred = np.zeros_like(x, dtype=np.float32)
    for i in range(width):
        dy = -math.ceil(((i * point[0]) / hypot) - 0.5)
        dx = -math.ceil(((i * point[1]) / hypot) - 0.5)
        if np.abs(dy) >= x.shape[0] or np.abs(dx) >= x.shape[1]:
            break  # the simulated motion left the image
        blurred = blurred + kernel[i] * _shift(x, dx, dy)
    return blurred


@lru_cache(maxsize=8)
def _frost_texture(index: int) -> np.ndarray:
    """Frost photograph ``index`` (0-4) as decoded by cv2 (BGR), once per process."""
    name = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")[index]
    data = (resources.files("zeroshift.shifts") / "_frost" / name).read_bytes()
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    image.setflags(write=False)
    return image


@lru_cache(maxsize=32)
def _frost_rescaled(index: int, height: int, width: int) -> np.ndarray:
    """The frost texture scaled to cover an image of this size (the reference's rule, times 1.1)."""
    frost = _frost_texture(index)
    fh, fw = frost.shape[:2]
    if fh >= height and fw >= width:
        scaling_factor = 1.0
    elif fh < height and fw >= width:
        scaling_factor = height / fh
    elif fh >= height and fw < width:
        scaling_factor = width / fw
    else:
        scaling_factor = max(height / fh, width / fw)
    scaling_factor *= 1.1
    new_shape = (int(np.ceil(fw * scaling_factor)), int(np.ceil(fh * scaling_factor)))
    rescaled = cv2.resize(frost, dsize=new_shape, interpolation=cv2.INTER_CUBIC)
    rescaled.setflags(write=False)
    return rescaled


def _glass_shuffle(x: np.ndarray, max_delta: int, iterations: int, rng: Rng) -> np.ndarray:
    """Glass blur's local pixel shuffle: visiting pixels bottom-right to top-left, copy a random neighbour in.

    Tracks, per position, which source pixel currently sits there, so the sequential copies of the reference
    cost one list assignment each and the pixels move once per iteration.
    """
    height, width = x.shape[:2]
    rows = range(height - max_delta, max_delta, -1)
    cols = range(width - max_delta, max_delta, -1)
    flat = x.reshape(height * width, -1)
    for _ in range(iterations):
        # one (dx, dy) per visited pixel, drawn in the reference's visiting order
        deltas = rng.integers(-max_delta, max_delta, size=(len(rows) * len(cols), 2))
        offsets = (deltas[:, 1] * width + deltas[:, 0]).tolist()
        src = list(range(height * width))
        k = 0
        for r in rows:
            base = r * width
            for c in cols:
                p = base + c
                src[p] = src[p + offsets[k]]
                k += 1
        flat = flat[src]
    return flat.reshape(x.shape)


# --- corruptions: (uint8 HxWx3 array, severity, rng) -> float array in [0, 255] ------------------------------
def gaussian_noise(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Additive Gaussian noise."""
    c = [0.08, 0.12, 0.18, 0.26, 0.38][severity - 1]
    x = np.array(x) / 255.0
    return np.clip(x + rng.normal(size=x.shape, scale=c), 0, 1) * 255


def shot_noise(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Poisson (photon) noise."""
    c = [60, 25, 12, 5, 3][severity - 1]
    x = np.array(x) / 255.0
    return np.clip(rng.poisson(x * c) / float(c), 0, 1) * 255


def impulse_noise(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Salt-and-pepper noise (scikit-image ``random_noise(mode='s&p', salt_vs_pepper=0.5)``)."""
    c = [0.03, 0.06, 0.09, 0.17, 0.27][severity - 1]
    out = np.array(x) / 255.0
    flipped = rng.random(out.shape) <= c
    salted = rng.random(out.shape) <= 0.5
    out[flipped & salted] = 1.0
    out[flipped & ~salted] = 0.0
    return np.clip(out, 0, 1) * 255


def speckle_noise(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Multiplicative Gaussian noise."""
    c = [0.15, 0.2, 0.35, 0.45, 0.6][severity - 1]
    x = np.array(x) / 255.0
    return np.clip(x + x * rng.normal(size=x.shape, scale=c), 0, 1) * 255


def gaussian_blur(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Gaussian blur."""
    c = [1, 2, 3, 4, 6][severity - 1]
    x = gaussian(np.array(x) / 255.0, sigma=c, channel_axis=-1)
    return np.clip(x, 0, 1) * 255


def glass_blur(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Blur, locally shuffle pixels, blur again (frosted glass)."""
    sigma, max_delta, iterations = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)][severity - 1]
    x = np.uint8(gaussian(np.array(x) / 255.0, sigma=sigma, channel_axis=-1) * 255)
    x = _glass_shuffle(x, max_delta, iterations, rng)
    return np.clip(gaussian(x / 255.0, sigma=sigma, channel_axis=-1), 0, 1) * 255


def defocus_blur(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Convolution with an anti-aliased disk."""
    c = [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)][severity - 1]
    x = np.array(x) / 255.0
    kernel = disk(radius=c[0], alias_blur=c[1])
    channels = np.array([cv2.filter2D(x[:, :, d], -1, kernel) for d in range(3)]).transpose((1, 2, 0))
    return np.clip(channels, 0, 1) * 255


def motion_blur(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Motion blur along a random direction within 45 degrees of horizontal."""
    c = [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)][severity - 1]
    angle = rng.uniform(-45, 45)
    x = _motion_blur(np.array(x), radius=c[0], sigma=c[1], angle=angle)
    return np.clip(x, 0, 255)


def zoom_blur(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Average of centre zooms (a camera moving towards the object)."""
    c = [
        np.arange(1, 1.11, 0.01),
        np.arange(1, 1.16, 0.01),
        np.arange(1, 1.21, 0.02),
        np.arange(1, 1.26, 0.02),
        np.arange(1, 1.31, 0.03),
    ][severity - 1]
    x = (np.array(x) / 255.0).astype(np.float32)
    out = np.zeros_like(x)
    for zoom_factor in c:
        out += clipped_zoom(x, zoom_factor)[: x.shape[0], : x.shape[1], :]
    x = (x + out) / (len(c) + 1)
    return np.clip(x, 0, 1) * 255


def snow(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Falling snow: a thresholded, zoomed, motion-blurred noise layer over a whitened image."""
    c = [
        (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
        (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
        (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
    ][severity - 1]
    x = np.array(x, dtype=np.float32) / 255.0
    snow_layer = rng.normal(size=x.shape[:2], loc=c[0], scale=c[1])
    snow_layer = clipped_zoom(snow_layer[..., np.newaxis], c[2])
    snow_layer[snow_layer < c[3]] = 0
    snow_layer = np.clip(snow_layer.squeeze(), 0, 1)
    snow_layer = _motion_blur(snow_layer, radius=c[4], sigma=c[5], angle=rng.uniform(-135, -45))
    # the snow layer is rounded to 8 bits and cropped to the image
    snow_layer = np.round(snow_layer * 255).astype(np.uint8) / 255.0
    snow_layer = snow_layer[..., np.newaxis][: x.shape[0], : x.shape[1], :]
    gray = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).reshape(x.shape[0], x.shape[1], 1)
    x = c[6] * x + (1 - c[6]) * np.maximum(x, gray * 1.5 + 0.5)
    return np.clip(x + snow_layer + np.rot90(snow_layer, k=2), 0, 1) * 255


def frost(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Blend with a random crop of one of five frost photographs."""
    c = [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)][severity - 1]
    idx = int(rng.integers(5))
    height, width = x.shape[:2]
    frost_rescaled = _frost_rescaled(idx, height, width)
    x_start = int(rng.integers(0, frost_rescaled.shape[0] - height))
    y_start = int(rng.integers(0, frost_rescaled.shape[1] - width))
    crop = frost_rescaled[x_start : x_start + height, y_start : y_start + width][..., [2, 1, 0]]
    return np.clip(c[0] * np.array(x) + c[1] * crop, 0, 255)


def fog(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Add a plasma-fractal haze and rescale."""
    c = [(1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)][severity - 1]
    shape = np.array(x).shape
    max_side = int(np.max(shape))
    map_size = 1 if max_side == 0 else 2 ** (max_side - 1).bit_length()
    x = np.array(x) / 255.0
    max_val = x.max()
    x += c[0] * plasma_fractal(rng, mapsize=map_size, wibbledecay=c[1])[: shape[0], : shape[1]][..., np.newaxis]
    return np.clip(x * max_val / (max_val + c[0]), 0, 1) * 255


def brightness(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Raise the HSV value channel."""
    c = [0.1, 0.2, 0.3, 0.4, 0.5][severity - 1]
    x = sk.color.rgb2hsv(np.array(x) / 255.0)
    x[:, :, 2] = np.clip(x[:, :, 2] + c, 0, 1)
    return np.clip(sk.color.hsv2rgb(x), 0, 1) * 255


def contrast(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Pull every pixel towards the per-channel mean."""
    c = [0.4, 0.3, 0.2, 0.1, 0.05][severity - 1]
    x = np.array(x) / 255.0
    means = np.mean(x, axis=(0, 1), keepdims=True)
    return np.clip((x - means) * c + means, 0, 1) * 255


def saturate(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Scale and shift the HSV saturation channel."""
    c = [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)][severity - 1]
    x = sk.color.rgb2hsv(np.array(x) / 255.0)
    x[:, :, 1] = np.clip(x[:, :, 1] * c[0] + c[1], 0, 1)
    return np.clip(sk.color.hsv2rgb(x), 0, 1) * 255


def spatter(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Water (severities 1-3) or mud (4-5) splashes from a thresholded noise layer."""
    c = [
        (0.65, 0.3, 4, 0.69, 0.6, 0),
        (0.65, 0.3, 3, 0.68, 0.6, 0),
        (0.65, 0.3, 2, 0.68, 0.5, 0),
        (0.65, 0.3, 1, 0.65, 1.5, 1),
        (0.67, 0.4, 1, 0.65, 1.5, 1),
    ][severity - 1]
    x_rgb = np.array(x)
    x = np.array(x, dtype=np.float32) / 255.0
    liquid_layer = rng.normal(size=x.shape[:2], loc=c[0], scale=c[1])
    liquid_layer = gaussian(liquid_layer, sigma=c[2])
    liquid_layer[liquid_layer < c[3]] = 0
    if c[5] == 0:
        liquid_layer = (liquid_layer * 255).astype(np.uint8)
        dist = 255 - cv2.Canny(liquid_layer, 50, 150)
        dist = cv2.distanceTransform(dist, cv2.DIST_L2, 5)
        _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
        dist = cv2.blur(dist, (3, 3)).astype(np.uint8)
        dist = cv2.equalizeHist(dist)
        ker = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
        dist = cv2.filter2D(dist, cv2.CV_8U, ker)
        dist = cv2.blur(dist, (3, 3)).astype(np.float32)
        m = cv2.cvtColor(liquid_layer * dist, cv2.COLOR_GRAY2BGRA)
        m /= np.max(m, axis=(0, 1))
        m *= c[4]
        # water is pale turquoise (the reference's channel order: its colour tuple is read as BGR)
        ones = np.ones_like(m[..., :1])
        color = np.concatenate((175 / 255.0 * ones, 238 / 255.0 * ones, 238 / 255.0 * ones), axis=2)
        color = cv2.cvtColor(color, cv2.COLOR_BGR2BGRA)
        x = cv2.cvtColor(x, cv2.COLOR_BGR2BGRA)
        return cv2.cvtColor(np.clip(x + m * color, 0, 1), cv2.COLOR_BGRA2BGR) * 255
    m = np.where(liquid_layer > c[3], 1, 0)
    m = gaussian(m.astype(np.float32), sigma=c[4])
    m[m < 0.8] = 0
    # mud brown
    ones = np.ones_like(x_rgb[..., :1])
    color = np.concatenate((63 / 255.0 * ones, 42 / 255.0 * ones, 20 / 255.0 * ones), axis=2)
    color *= m[..., np.newaxis]
    x *= 1 - m[..., np.newaxis]
    return np.clip(x + color, 0, 1) * 255


def pixelate(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Box-downsample, then nearest-upsample."""
    c = [0.6, 0.5, 0.4, 0.3, 0.25][severity - 1]
    height, width = x.shape[:2]
    image = Image.fromarray(x).resize((int(width * c), int(height * c)), Image.BOX)
    return np.array(image.resize((width, height), Image.NEAREST))


def jpeg_compression(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Encode as JPEG at a low quality and decode (Pillow's libjpeg)."""
    c = [25, 18, 15, 10, 7][severity - 1]
    output = BytesIO()
    Image.fromarray(x).save(output, "JPEG", quality=c)
    return np.array(Image.open(output))


def elastic_transform(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    """Resample along a smoothed random displacement field."""
    image = np.array(x, dtype=np.float32) / 255.0
    shape = image.shape
    sigma = np.array(shape[:2]) * 0.01
    alpha = [250 * 0.05, 250 * 0.065, 250 * 0.085, 250 * 0.1, 250 * 0.12][severity - 1]
    max_dx = shape[0] * 0.005
    max_dy = shape[0] * 0.005
    dx = (gaussian(rng.uniform(-max_dx, max_dx, size=shape[:2]), sigma, mode="reflect", truncate=3) * alpha).astype(
        np.float32
    )
    dy = (gaussian(rng.uniform(-max_dy, max_dy, size=shape[:2]), sigma, mode="reflect", truncate=3) * alpha).astype(
        np.float32
    )
    dx, dy = dx[..., np.newaxis], dy[..., np.newaxis]
    xs, ys, zs = np.meshgrid(np.arange(shape[1]), np.arange(shape[0]), np.arange(shape[2]))
    indices = np.reshape(ys + dy, (-1, 1)), np.reshape(xs + dx, (-1, 1)), np.reshape(zs, (-1, 1))
    return np.clip(map_coordinates(image, indices, order=1, mode="reflect").reshape(shape), 0, 1) * 255


CORRUPTIONS: dict[str, Callable[[np.ndarray, int, Rng], np.ndarray]] = {
    f.__name__: f
    for f in (
        gaussian_noise, shot_noise, impulse_noise, defocus_blur, glass_blur, motion_blur, zoom_blur, snow, frost,
        fog, brightness, contrast, elastic_transform, pixelate, jpeg_compression, speckle_noise, gaussian_blur,
        spatter, saturate,
    )
}  # fmt: skip


def corrupt(image: np.ndarray, name: str, severity: int, rng: Rng) -> np.ndarray:
    """Corrupt an ``(H, W, 3)`` uint8 RGB image; returns uint8 like the reference's ``corrupt`` (truncating).

    Images must be at least 32 pixels on each side (as in the reference).

    Example:
        >>> import numpy as np
        >>> img = np.zeros((32, 32, 3), dtype=np.uint8)
        >>> corrupt(img, "brightness", 1, np.random.default_rng(0)).max()
        np.uint8(25)

    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
    if image.shape[0] < 32 or image.shape[1] < 32:
        raise ValueError(f"corruptions need images of at least 32x32 pixels, got {image.shape[1]}x{image.shape[0]}")
    return np.uint8(CORRUPTIONS[name](image, severity, rng))
