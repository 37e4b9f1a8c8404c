"""Video-codec corruptions through FFmpeg's encoders (PyAV): h265_crf, h265_abr and bit_error.

3DCC (Kar et al. 2022; ``motion_video/video_distortions.py``, after Yi et al. 2021) codes a camera-motion video
and keeps one frame; here the image is coded as one frame (an intra frame) with the same encoders and settings:

* ``h265`` at a constant rate factor (``crf``) or at a bitrate (``divisor``: the bitrate of the image coded with
  ``reference_encoder`` at ``reference_crf``, at ``fps`` frames per second, divided by it; maxrate = bufsize =
  that bitrate, as the reference's ``-b:v -maxrate -bufsize``);
* ``bit_error``: the image coded with ``encoder`` at ``crf``, one slice per macroblock row; bytes of the slice
  data replaced by random bytes, ``bytes_per_frame / noise`` of them on average (ffmpeg's ``noise`` bitstream
  filter replaces about one byte in ``noise``); decoded with FFmpeg's error concealment.

``lossless=True`` (x265) or ``crf=0`` with ``libx264rgb`` code the image without loss, in an RGB pixel format;
with ``noise=None`` no byte is touched: these are the identity parameters. Odd sides are padded by repeating the
edge (4:2:0 formats need even sides) and cropped back. Encoders run single-threaded (x265 without thread pools),
which makes their bytes independent of the machine's core count. A missing encoder or decoder raises
:class:`~zeroshift.errors.UsageError` naming it (:func:`require_codec`).

Example:
    >>> import numpy as np
    >>> img = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    >>> img = np.rint(img * 255).astype(np.float32) / 255  # an 8-bit image
    >>> params = {"encoder": "libx265", "decoder": "hevc", "pix_fmt": "gbrp", "lossless": True, "crf": None}
    >>> bool((h265(img, None, params, np.random.default_rng(0)) == img).all())
    True

"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np

from zeroshift.errors import UsageError

#: x265 settings that keep its output independent of the machine (no thread pools, one frame thread) and quiet
X265_BASE = "pools=none:frame-threads=1:log-level=error"
#: H.264 NAL unit types that carry slice data; H.265's are 0..31
H264_SLICE_TYPES = frozenset({1, 2, 3, 4, 5})


@cache
def _codec_ok(name: str, mode: str) -> bool:
    import av

    try:
        av.codec.Codec(name, mode)
    except Exception:  # noqa: BLE001 - PyAV raises UnknownCodecError (or ValueError in older versions)
        return False
    return True


def require_codec(name: str, mode: str = "w", corruption: str = "corruption3d") -> None:
    """Raise UsageError unless FFmpeg (through PyAV) has the encoder (``mode='w'``) or decoder (``'r'``) ``name``.

    Example:
        >>> require_codec("no_such_codec", corruption="h265_crf")
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: h265_crf needs the FFmpeg encoder 'no_such_codec', which this PyAV build lacks ...

    """
    if not _codec_ok(name, mode):
        import av

        kind = "encoder" if mode == "w" else "decoder"
        raise UsageError(
            f"{corruption} needs the FFmpeg {kind} {name!r}, which this PyAV build lacks (PyAV {av.__version__}); "
            "install PyAV wheels from PyPI (they bundle libx264 and libx265) or an FFmpeg built with it"
        )


def _even(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if h % 2 or w % 2 else image


def encode(
    image: np.ndarray, encoder: str, pix_fmt: str, options: dict[str, str], bit_rate: int | None = None
) -> tuple[bytes, list[bytes]]:
    """Code one (H, W, 3) uint8 RGB frame; returns the stream's global header (parameter sets) and its packets."""
    import av

    require_codec(encoder, "w")
    ctx = av.CodecContext.create(encoder, "w")
    ctx.width, ctx.height = image.shape[1], image.shape[0]
    ctx.pix_fmt = pix_fmt
    ctx.time_base = Fraction(1, 25)
    ctx.framerate = Fraction(25, 1)
    ctx.thread_count = 1
    if bit_rate is not None:
        ctx.bit_rate = bit_rate
    # parameter sets go to the global header (the container's, in the reference), so bit errors never hit them
    ctx.flags |= av.codec.context.Flags.global_header
    ctx.options = dict(options)
    ctx.open()
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24").reformat(format=pix_fmt)
    packets = [bytes(p) for p in ctx.encode(frame)] + [bytes(p) for p in ctx.encode(None)]
    return bytes(ctx.extradata or b""), packets


def decode(decoder: str, extradata: bytes, packets: list[bytes], shape: tuple[int, int]) -> np.ndarray:
    """Decode the first frame as (H, W, 3) uint8 RGB; a frame the decoder cannot give at all is mid-grey."""
    import av

    require_codec(decoder, "r")
    ctx = av.CodecContext.create(decoder, "r")
    ctx.thread_count = 1
    if extradata:
        ctx.extradata = extradata
    frames = []
    for data in [*packets, None]:
        try:
            frames += ctx.decode(av.Packet(data) if data is not None else None)
        except av.error.FFmpegError:
            continue  # a packet too damaged to decode: later ones (or the flush) may still give the frame
    if not frames:
        return np.full((*shape, 3), 128, dtype=np.uint8)
    out = frames[0].to_ndarray(format="rgb24")
    if out.shape[:2] != shape:  # damaged headers can change the decoded size: pad or crop back
        fixed = np.full((*shape, 3), 128, dtype=np.uint8)
        h, w = min(shape[0], out.shape[0]), min(shape[1], out.shape[1])
        fixed[:h, :w] = out[:h, :w]
        out = fixed
    return out


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(image, 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)


def _to_float(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float32) / np.float32(255.0)


def reference_bitrate(frame: np.ndarray, params: Mapping[str, Any]) -> int:
    """Bits per second of ``frame`` coded with the reference encoder at its CRF, at ``fps`` frames per second."""
    options = {"crf": str(params["reference_crf"])}
    _, packets = encode(frame, params["reference_encoder"], "yuv420p", options)
    return int(sum(len(p) for p in packets) * 8 * int(params["fps"]))


def h265(
    image: np.ndarray, depth: np.ndarray | None, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """Code and decode with x265 at a CRF, a bitrate (``divisor``) or losslessly (see the module docstring)."""
    h, w = image.shape[:2]
    frame = _even(_to_uint8(image))
    x265 = X265_BASE
    options: dict[str, str] = {}
    bit_rate = None
    if params.get("lossless"):
        x265 += ":lossless=1"
    elif params.get("divisor") is not None:
        bit_rate = max(1000, reference_bitrate(frame, params) // int(params["divisor"]))
        kbps = max(1, bit_rate // 1000)
        x265 += f":vbv-maxrate={kbps}:vbv-bufsize={kbps}"
    else:
        options["crf"] = str(params["crf"])
    options["x265-params"] = x265
    extradata, packets = encode(frame, params["encoder"], params["pix_fmt"], options, bit_rate)
    out = decode(params["decoder"], extradata, packets, frame.shape[:2])
    return _to_float(out[:h, :w])


def _nal_payloads(packet: bytes, slice_types: frozenset[int] | None) -> list[tuple[int, int]]:
    """``(start, end)`` of the slice-data bytes (after each NAL header) of an Annex-B packet."""
    data = np.frombuffer(packet, dtype=np.uint8)
    zeros = (data[:-2] == 0) & (data[1:-1] == 0) & (data[2:] == 1)
    starts = np.flatnonzero(zeros) + 3  # first byte after each 00 00 01 start code
    spans = []
    for i, start in enumerate(starts):
        end = int(starts[i + 1] - 3) if i + 1 < len(starts) else len(data)
        while end > start and data[end - 1] == 0:  # the leading zero of a 4-byte start code
            end -= 1
        if start >= end:
            continue
        if slice_types is None:
            header, nal_type = 2, (int(data[start]) >> 1) & 0x3F  # H.265: 2-byte header, VCL types 0..31
            if nal_type > 31:
                continue
        else:
            header, nal_type = 1, int(data[start]) & 0x1F
            if nal_type not in slice_types:
                continue
        if start + header < end:
            spans.append((int(start + header), end))
    return spans


def corrupt_bytes(packets: list[bytes], errors: float, rng: np.random.Generator, h264: bool = True) -> list[bytes]:
    """Replace bytes of the slice data by random bytes, ``errors`` of them on average over all packets.

    Example:
        >>> import numpy as np
        >>> pk = [bytes([0, 0, 1, 0x65]) + bytes(range(1, 101))]
        >>> out = corrupt_bytes(pk, 100.0, np.random.default_rng(0))
        >>> out[0][:4] == pk[0][:4], sum(a != b for a, b in zip(out[0], pk[0])) > 90
        (True, True)

    """
    spans = [_nal_payloads(p, H264_SLICE_TYPES if h264 else None) for p in packets]
    total = sum(end - start for s in spans for start, end in s)
    if not errors or total == 0:
        return list(packets)
    p = min(1.0, errors / total)
    out = []
    for packet, packet_spans in zip(packets, spans, strict=True):
        data = np.frombuffer(packet, dtype=np.uint8).copy()
        for start, end in packet_spans:
            hit = np.flatnonzero(rng.random(end - start) < p) + start
            data[hit] = rng.integers(0, 256, size=hit.size, dtype=np.uint8)
        out.append(data.tobytes())
    return out


def bit_error(
    image: np.ndarray, depth: np.ndarray | None, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """Code with H.264 (one slice per macroblock row), replace bytes of the slice data, decode."""
    h, w = image.shape[:2]
    frame = _even(_to_uint8(image))
    options = {"crf": str(params["crf"])} if params["encoder"] != "libx264rgb" else {"qp": str(params["crf"])}
    if params["slices"] == "rows":
        options["x264-params"] = f"slice-max-mbs={-(-frame.shape[1] // 16)}"
    extradata, packets = encode(frame, params["encoder"], params["pix_fmt"], options)
    noise = params["noise"]
    errors = float(params["bytes_per_frame"]) / float(noise) if noise else 0.0
    packets = corrupt_bytes(packets, errors, rng)
    out = decode(params["decoder"], extradata, packets, frame.shape[:2])
    return _to_float(out[:h, :w])
