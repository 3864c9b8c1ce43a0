"""Test helpers: tolerant image comparison and tiny image makers (after Pillow's Tests/helper.py)."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image


def as_array(image) -> np.ndarray:
    """A PIL image, encoded bytes or an array -> ndarray (no copy for arrays)."""
    if isinstance(image, (bytes, bytearray)):
        image = Image.open(io.BytesIO(image))
    if isinstance(image, Image.Image):
        return np.asarray(image)
    return np.asarray(image)


def mean_abs_diff(a, b) -> float:
    a, b = as_array(a), as_array(b)
    assert a.shape == b.shape, f"shapes differ: {a.shape} vs {b.shape}"
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def assert_image_similar(a, b, max_mean_abs_diff: float) -> None:
    """Assert same shape and a mean absolute difference (0-255 units) at most `max_mean_abs_diff`."""
    diff = mean_abs_diff(a, b)
    assert diff <= max_mean_abs_diff, f"mean abs diff {diff:.3f} > {max_mean_abs_diff}"


def encode_png(pixels: np.ndarray | Image.Image, **save_options) -> bytes:
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(np.ascontiguousarray(pixels))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **save_options)
    return buffer.getvalue()


def encode_as(pixels: np.ndarray | Image.Image, fmt: str, **save_options) -> bytes:
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(np.ascontiguousarray(pixels))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_options)
    return buffer.getvalue()


def solid(width: int, height: int, color=(200, 30, 40)) -> np.ndarray:
    """An H×W×C array of one colour (C = len(color))."""
    return np.broadcast_to(np.array(color, dtype=np.uint8), (height, width, len(color))).copy()


def gradient(width: int, height: int) -> np.ndarray:
    """A smooth RGB gradient: red left→right, green top→bottom, blue diagonal."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.stack(np.broadcast_arrays(x, y, (x + y) / 2), axis=-1)
    return np.rint(rgb).astype(np.uint8)


def noise(width: int, height: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


def stripes(width: int, height: int, colors) -> np.ndarray:
    """Vertical stripes cycling through `colors` (exactly len(colors) distinct colours)."""
    palette = np.array(colors, dtype=np.uint8)
    index = np.arange(width) % len(palette)
    return np.ascontiguousarray(np.broadcast_to(palette[index][None], (height, width, palette.shape[1])))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """[(chunk type, chunk data), ...] of a PNG file."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunks.append((kind, data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def png_ihdr(data: bytes) -> dict:
    """Width, height, bit depth and colour type from a PNG's IHDR."""
    kind, body = png_chunks(data)[0]
    assert kind == b"IHDR"
    width, height, bit_depth, color_type = struct.unpack(">IIBB", body[:10])
    return {"width": width, "height": height, "bit_depth": bit_depth, "color_type": color_type}
