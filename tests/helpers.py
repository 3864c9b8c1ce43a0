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


# --------------------------------------------------------------------------------------------
# Platform tests: upload files, token clients, stored files, downloads, error messages


def png_bytes(width: int = 48, height: int = 32, *, seed: int = 0) -> bytes:
    """A small photo-like RGB PNG (a gradient plus noise; distinct bytes per seed), quick to compress."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], axis=-1)
    rgb = np.clip(rgb + rng.normal(0, 8, rgb.shape), 0, 255).astype(np.uint8)
    return encode_png(rgb)


def png_file(name: str = "photo.png", **kwargs):
    """png_bytes as an uploaded file (the dashboard's and the API's multipart forms)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="image/png")


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def token_client(user):
    """An API client authenticated with a new token of `user`."""
    from rest_framework.test import APIClient

    from accounts.tokens import token_create

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user, name='tests').key}")
    return client


def stored_names(prefix: str = "") -> list[str]:
    """Every file under `prefix` in default_storage (the filesystem or S3), sorted."""
    from django.core.files.storage import default_storage

    from compression.stored_files import walk

    if not prefix:
        try:
            dirs, files = default_storage.listdir("")
        except FileNotFoundError:
            return []
        return sorted(files + [name for top in dirs for name in walk(default_storage, top)])
    return sorted(walk(default_storage, prefix.rstrip("/")))


class Fetched:
    """A download as the browser gets it: Django's own answer, or the object store's after a redirect."""

    def __init__(self, status_code: int, headers, content: bytes, redirected: bool):
        self.status_code, self.headers, self.content, self.redirected = status_code, headers, content, redirected

    def __getitem__(self, name):
        return self.headers[name]

    def get(self, name, default=None):
        return self.headers.get(name, default)


def fetch(client, url: str, **extra) -> Fetched:
    """GET a download URL; follow a redirect to a presigned object-store URL (S3)."""
    response = client.get(url, **extra)
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    if location.startswith(("http://", "https://")):
        import requests

        stored = requests.get(location, timeout=30)
        return Fetched(stored.status_code, stored.headers, stored.content, True)
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return Fetched(response.status_code, response.headers, content, False)


def error_text(response) -> str:
    """The human message of a JSON error answer (DRF, classic or dashboard shape); fails if none."""
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response["Content-Type"], response.content[:300])
    body = response.json()
    assert isinstance(body, dict), body

    def first(value):
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value:
            return first(value[0])
        if isinstance(value, dict):
            for key in ("error", "detail", "non_field_errors"):
                if key in value:
                    return first(value[key])
            for item in value.values():
                text = first(item)
                if text:
                    return text
        return ""

    text = first(body)
    assert text and len(text.strip()) >= 8, f"no clear message in {body}"
    return text


def active_jobs() -> int:
    """Jobs queued or running, platform-wide."""
    from compression.models import CompressionJob

    return CompressionJob.objects.filter(status__in=("queued", "running")).count()
