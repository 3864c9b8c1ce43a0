"""Encode indexed output: PNG at the smallest bit depth (1, 2, 4 or 8 bits for at most 2, 4, 16,
256 colours) with a tRNS chunk for alpha palettes, written here from the indices with `zlib` (see
`_encode_png`); lossless WebP and GIF through Pillow. GIF has 1-bit transparency only:
palette entries with alpha below `GIF_ALPHA_THRESHOLD` become the single transparent index, the
others are written opaque with their own colour (their partial alpha is dropped). Output carries no
metadata by default (no EXIF, ICC or text chunks) and is sRGB.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from .decode import FULLY_OPAQUE

MIME_TYPES = {"png": "image/png", "webp": "image/webp", "gif": "image/gif"}
PNG_COMPRESS_LEVEL = 6  # zlib level (Pillow's default too)
PNG_BLOCK_PIXELS = 1 << 20  # indices packed and compressed per block: bounded extra memory
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_COLOR_TYPE_PALETTE = 3
EXIF_HEADER = b"Exif\x00\x00"  # Pillow's EXIF bytes start with it; PNG's eXIf chunk does not
WEBP_LOSSLESS_EFFORT = 80  # for lossless WebP "quality" is encoder effort; 80 is libwebp's default
WEBP_METHOD = 4  # speed/size trade-off 0 (fast) - 6 (slow); libwebp's default
GIF_ALPHA_THRESHOLD = 128  # alpha below this is transparent in GIF output, at or above is opaque


def png_bit_depth(n_colors: int) -> int:
    """The smallest PNG palette bit depth that holds `n_colors` entries (1, 2, 4 or 8)."""
    for bits in (1, 2, 4):
        if n_colors <= 1 << bits:
            return bits
    return 8


def _palette_image(indices: np.ndarray, palette: np.ndarray) -> Image.Image:
    height, width = indices.shape
    indices = np.ascontiguousarray(indices, dtype=np.uint8)
    image = Image.frombuffer("L", (width, height), indices, "raw", "L", 0, 1)
    raw_mode = "RGBA" if palette.shape[1] == 4 else "RGB"
    image.putpalette(np.ascontiguousarray(palette, dtype=np.uint8).tobytes(), raw_mode)
    return image


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_rows(indices: np.ndarray, bits: int) -> np.ndarray:
    """(h, w) indices -> (h, 1 + ceil(w·bits/8)) PNG scanlines: filter byte 0, indices packed MSB first."""
    height, width = indices.shape
    per_byte = 8 // bits
    rows = np.zeros((height, 1 + -(-width // per_byte)), dtype=np.uint8)
    if bits == 8:
        rows[:, 1:] = indices
        return rows
    packed = rows[:, 1:]
    for j in range(per_byte):
        part = indices[:, j::per_byte]  # every index is below 2**bits: no bits spill over
        packed[:, : part.shape[1]] |= part << (8 - bits * (j + 1))
    return rows


def _encode_png(indices: np.ndarray, palette: np.ndarray, exif: bytes | None, level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Indexed PNG written directly: IHDR, PLTE, tRNS (alpha palettes), eXIf (when given), IDAT, IEND.

    Scanlines use filter type 0 (None), as the PNG specification recommends for palette images:
    Pillow's encoder filters 1-, 2- and 4-bit palette images adaptively, which made the kodim23
    and 24 MP test photos 4-14% larger at K=4 and 16, and its encoder holds the GIL. `zlib`
    releases the GIL while it compresses, so the pipeline can compute metrics meanwhile.
    """
    height, width = indices.shape
    bits = png_bit_depth(len(palette))
    parts = [
        PNG_SIGNATURE,
        _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bits, PNG_COLOR_TYPE_PALETTE, 0, 0, 0)),
        _png_chunk(b"PLTE", np.ascontiguousarray(palette[:, :3]).tobytes()),
    ]
    if palette.shape[1] == 4:
        translucent = np.flatnonzero(palette[:, 3] != FULLY_OPAQUE)  # trailing opaque entries may be omitted
        parts.append(_png_chunk(b"tRNS", palette[: translucent[-1] + 1, 3].tobytes()))
    if exif:
        parts.append(_png_chunk(b"eXIf", exif[len(EXIF_HEADER) :] if exif.startswith(EXIF_HEADER) else exif))
    compressor = zlib.compressobj(level)
    rows = max(1, PNG_BLOCK_PIXELS // width)
    compressed = [compressor.compress(_png_rows(indices[top : top + rows], bits)) for top in range(0, height, rows)]
    compressed.append(compressor.flush())
    parts.append(_png_chunk(b"IDAT", b"".join(compressed)))
    parts.append(_png_chunk(b"IEND", b""))
    return b"".join(parts)


def _gif_image(indices: np.ndarray, palette: np.ndarray) -> tuple[Image.Image, int | None]:
    """Map an RGBA palette to GIF's single transparent index (see module docstring)."""
    if palette.shape[1] != 4:
        return _palette_image(indices, palette), None
    transparent = palette[:, 3] < GIF_ALPHA_THRESHOLD
    if not transparent.any():
        return _palette_image(indices, palette[:, :3]), None
    first = int(np.flatnonzero(transparent)[0])
    lut = np.arange(len(palette), dtype=np.uint8)
    lut[transparent] = first
    rgb = palette[:, :3].copy()
    rgb[first] = 0
    return _palette_image(lut[indices], rgb), first


def encode(
    indices: np.ndarray,
    palette: np.ndarray,
    *,
    output_format: str = "png",
    png_optimize_level: int | None = None,
    strip_metadata: bool = True,
    exif: bytes | None = None,
    png_compress_level: int = PNG_COMPRESS_LEVEL,
) -> bytes:
    """Encode a palette image.

    Parameters
    ----------
    indices : ndarray of uint8, shape (H, W)
        Palette index of every pixel.
    palette : ndarray of uint8, shape (k, 3) or (k, 4)
        sRGB colours (with alpha for k×4); k ≤ 256.
    output_format : {"png", "webp", "gif"}
    png_optimize_level : int or None
        oxipng level 0-6 applied to PNG output; None skips oxipng.
    strip_metadata : bool
        True (default) writes no EXIF/ICC/text metadata. False keeps `exif` (orientation already
        applied to the pixels, so the caller must pass EXIF with orientation reset).
    exif : bytes or None
        EXIF block to keep when `strip_metadata` is False.
    png_compress_level : int
        zlib level 0-9 of PNG output; previews take 1 (fast), outputs the default 6.

    Returns
    -------
    bytes
    """
    buffer = io.BytesIO()
    extra = {} if strip_metadata or not exif else {"exif": exif}
    if palette.shape[1] == 4 and (palette[:, 3] == FULLY_OPAQUE).all():
        palette = palette[:, :3]  # an all-opaque alpha column would only add a useless tRNS chunk
    if output_format == "png":
        data = _encode_png(indices, palette, extra.get("exif"), png_compress_level)
        if png_optimize_level is not None:
            import oxipng

            strip = oxipng.StripChunks.safe() if strip_metadata else oxipng.StripChunks.none()
            data = oxipng.optimize_from_memory(data, level=png_optimize_level, strip=strip)
        return data
    if output_format == "webp":
        image = _palette_image(indices, palette)
        image = image.convert("RGBA" if palette.shape[1] == 4 else "RGB")
        image.save(buffer, "WEBP", lossless=True, quality=WEBP_LOSSLESS_EFFORT, method=WEBP_METHOD, **extra)
        return buffer.getvalue()
    if output_format == "gif":
        image, transparent_index = _gif_image(indices, palette)
        options = {"optimize": False}
        if transparent_index is not None:
            options["transparency"] = transparent_index
        image.save(buffer, "GIF", **options)
        return buffer.getvalue()
    raise ValueError(f"output_format={output_format!r} must be one of png, webp, gif")


THUMBNAIL_SIDE = 256
THUMBNAIL_QUALITY = 85


def thumbnail(data: bytes, *, side: int = THUMBNAIL_SIDE, quality: int = THUMBNAIL_QUALITY) -> bytes:
    """A lossy WebP of an encoded result, shrunk to fit side x side (never enlarged), alpha kept.

    Made from the quantized result, so it shows what the user gets. Lossy: a few KB where a
    lossless WebP of the Lanczos-smoothed (no longer palette) pixels would be tens of KB.
    """
    with Image.open(io.BytesIO(data)) as image:
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info or (
            image.mode == "P" and image.palette is not None and image.palette.mode == "RGBA"
        )
        picture = image.convert("RGBA" if has_alpha else "RGB")
    picture.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "WEBP", quality=quality, method=WEBP_METHOD)
    return buffer.getvalue()
