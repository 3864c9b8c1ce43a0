"""Size and error against K: the data of the "size vs K" (elbow) chart.

`size_curve` answers "how large would this image be, and how far from the original, with K
colours?" for several K at once, with the job's own geometry, colour space, dithering and output
format. The byte counts come from the real encoder, not from a formula.

Small images (the geometry's output has at most `max_preview_pixels` pixels) are quantized and
encoded whole at every K: the sizes are *exact* (`SizeCurve.exact`), the same encoder on the same
pixels as `compress`.

Larger images are estimated from two samples, each at most `max_preview_pixels` pixels:

- a *preview*: the whole image shrunk with Lanczos, whose colours are counted once
  (`kmeans.build_histogram`) and quantized at every K, giving the palette for that K;
- a *tile sample*: up to ``max_preview_pixels / 64²`` tiles of 64×64 pixels at full resolution,
  spread on a grid over the image and laid side by side, mapped to that palette (with the job's
  dithering) and encoded.

``estimated_bytes = overhead + (sample_bytes - overhead) * output_pixels / sample_pixels``, where
``overhead`` is the same palette encoded as a 1×1 image (file header and palette chunks, which do
not grow with the pixel count). Why tiles and not the shrunk preview: a downscaled photo carries
far more detail per pixel than the full image, and scaling its bytes by the pixel ratio
overestimated 12-24 MP photos by 1.6-3× (PNG and WebP, K 4-64); full-resolution tiles keep the
per-pixel detail and came within about ±15 % on the same photos at the default sample size (and
within +33 % on 0.4 MP Kodak photos with a 4× smaller sample). The error (`CurvePoint.inertia`)
is measured on the same sample, after dithering.

numpy + Pillow only, like the rest of the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

import numpy as np
from PIL import Image

from .decode import read_source, to_array
from .dimensions import RESAMPLE
from .encode import encode
from .errors import InvalidOptions
from .kmeans import build_histogram, quantize_histogram
from .options import CompressOptions, validate_options
from .presets import MAX_COLORS, MIN_COLORS
from .remap import remap
from .sandbox import CappedDecode
from .source import planned_image

DEFAULT_KS = (2, 4, 8, 16, 32, 64, 128, 256)
# 512x512: eight K take a second or two on one core of the 2-core CI machine.
DEFAULT_MAX_PREVIEW_PIXELS = 262_144
MIN_PREVIEW_PIXELS = 4_096
TILE_SIDE = 64  # full-resolution tiles of the size sample; 64 px kept PNG/WebP context realistic


class CurvePoint(NamedTuple):
    """One K of a `SizeCurve`.

    Attributes
    ----------
    n_colors : int
        The K asked for.
    n_colors_used : int
        Palette entries actually used (fewer when the image has fewer distinct colours).
    inertia : float
        Mean squared error per pixel between the sample and its palette image (after dithering),
        summed over channels in sRGB 0-255 units, premultiplied by alpha for RGBA: the units of
        `Quantization.inertia` (equal to it when exact and not dithered).
    estimated_bytes : int
        Estimated size of the output file at this K (exact when `SizeCurve.exact`).
    preview_bytes : int
        Size of the encoded sample (the whole image when exact) at this K.
    """

    n_colors: int
    n_colors_used: int
    inertia: float
    estimated_bytes: int
    preview_bytes: int


@dataclass(frozen=True)
class SizeCurve:
    """The result of `size_curve`.

    Attributes
    ----------
    points : list of CurvePoint
        One per K, in the order asked.
    width, height : int
        The output size after the geometry options (what the estimates are for).
    preview_width, preview_height : int
        The shrunk image the palettes come from (the output size when exact).
    sample_pixels : int
        Pixels encoded per K: the tiles' total, or width*height when exact.
    n_tiles : int
        Full-resolution tiles in the sample (0 when exact).
    exact : bool
        True when the whole output was encoded: the sizes are exact, not estimates.
    output_format : str
    """

    points: list[CurvePoint]
    width: int
    height: int
    preview_width: int
    preview_height: int
    sample_pixels: int
    n_tiles: int
    exact: bool
    output_format: str

    def to_dict(self) -> dict:
        return {
            "points": [point._asdict() for point in self.points],
            "width": self.width,
            "height": self.height,
            "preview_width": self.preview_width,
            "preview_height": self.preview_height,
            "sample_pixels": self.sample_pixels,
            "n_tiles": self.n_tiles,
            "tile_side": TILE_SIDE,
            "exact": self.exact,
            "output_format": self.output_format,
        }


def size_curve(
    source: bytes | BinaryIO | CappedDecode,
    ks=DEFAULT_KS,
    *,
    options: CompressOptions,
    max_preview_pixels: int = DEFAULT_MAX_PREVIEW_PIXELS,
) -> SizeCurve:
    """Estimated output size and quantization error for several K.

    Parameters
    ----------
    source : bytes, binary file object or CappedDecode
        The encoded original image, or its `sandbox.decode_capped` result (as `compress` takes it).
    ks : iterable of int
        The K values, each 2..256; the points keep this order.
    options : CompressOptions
        The job's options. Geometry (crop, scale, resize), colour space, seed, iteration cap and
        tolerance, dithering, output format and PNG optimisation level are honoured; `n_colors`
        and the target searches are not (the curve is over K, at the geometry's full size).
    max_preview_pixels : int, default 262_144
        Size of the preview and of the tile sample (see the module docstring); an output of at
        most this many pixels is encoded whole and its sizes are exact.

    Returns
    -------
    SizeCurve

    Raises
    ------
    InvalidOptions
        Bad K values, preview size or geometry (e.g. a crop box outside the image).
    InvalidImage, UnsupportedFormat, ImageTooLarge
        As `decode`.
    """
    try:
        ks_list = [] if isinstance(ks, (str, bytes)) else list(ks)
    except TypeError:
        ks_list = []
    if not ks_list:
        raise InvalidOptions(f"ks must be a non-empty list of K values, got {ks!r}")
    for k in ks_list:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not MIN_COLORS <= k <= MAX_COLORS:
            raise InvalidOptions(f"k={k!r} must be an integer between {MIN_COLORS} and {MAX_COLORS}")
    if (
        isinstance(max_preview_pixels, bool)
        or not isinstance(max_preview_pixels, int)
        or max_preview_pixels < MIN_PREVIEW_PIXELS
    ):
        raise InvalidOptions(f"max_preview_pixels={max_preview_pixels!r} must be an integer >= {MIN_PREVIEW_PIXELS}")
    if not isinstance(options, CompressOptions):
        raise InvalidOptions(f"options must be CompressOptions, got {type(options).__name__}")
    validate_options(options)
    source = source if isinstance(source, CappedDecode) else read_source(source)
    return _size_curve(source, [int(k) for k in ks_list], options, max_preview_pixels)


def _size_curve(source: bytes | CappedDecode, ks: list[int], o: CompressOptions, max_pixels: int) -> SizeCurve:
    """`size_curve` on validated arguments."""
    image, _input_bytes = planned_image(source, o)
    del source
    width, height = image.size
    exact = width * height <= max_pixels
    if exact:
        preview = sample = to_array(image)
        n_tiles = 0
    else:
        preview = to_array(_shrink(image, max_pixels))
        sample, n_tiles = _tile_sample(image, max_pixels)
    del image
    ratio = (width * height) / (sample.shape[0] * sample.shape[1])

    histogram = build_histogram(preview, color_space=o.color_space)
    points = []
    for k in ks:
        q = quantize_histogram(histogram, k, max_iter=o.max_iter, tol=o.tol, seed=o.seed)
        palette = np.ascontiguousarray(q.palette, dtype=np.uint8)
        if exact and o.dither == 0:
            indices = q.indices
        else:
            indices = remap(sample, palette, dither=o.dither, color_space=o.color_space)
        sample_bytes = len(_encode(indices, palette, o))
        if exact:
            estimated = sample_bytes
        else:
            overhead = min(sample_bytes, len(_encode(indices[:1, :1], palette, o)))
            estimated = round(overhead + (sample_bytes - overhead) * ratio)
        points.append(
            CurvePoint(k, int(len(palette)), _mean_squared_error(sample, indices, palette), int(estimated), sample_bytes)
        )
    return SizeCurve(
        points=points,
        width=width,
        height=height,
        preview_width=preview.shape[1],
        preview_height=preview.shape[0],
        sample_pixels=int(sample.shape[0] * sample.shape[1]),
        n_tiles=n_tiles,
        exact=exact,
        output_format=o.output_format,
    )


def _shrink(image: Image.Image, max_pixels: int) -> Image.Image:
    """The whole image, Lanczos-shrunk to at most `max_pixels` pixels (aspect kept)."""
    width, height = image.size
    factor = math.sqrt(max_pixels / (width * height))
    size = (max(1, math.floor(width * factor)), max(1, math.floor(height * factor)))
    return image.resize(size, RESAMPLE)


def _tile_sample(image: Image.Image, max_pixels: int) -> tuple[np.ndarray, int]:
    """Full-resolution tiles on an even grid over the image, laid out as one array.

    The grid has about as many columns per row as the image's aspect asks and at most
    ``max_pixels / TILE_SIDE²`` tiles, none overlapping. Returns (pixels (h, w, C), tile count).
    """
    width, height = image.size
    tile_w, tile_h = min(TILE_SIDE, width), min(TILE_SIDE, height)
    budget = max(1, max_pixels // (tile_w * tile_h))
    across, down = width // tile_w, height // tile_h  # tiles that fit without overlapping
    cols = max(1, min(across, round(math.sqrt(budget * across / down))))
    rows = max(1, min(down, budget // cols))
    cols = max(1, min(across, budget // rows))
    lines = []
    for row in range(rows):
        top = min(height - tile_h, max(0, round((row + 0.5) * height / rows - tile_h / 2)))
        tiles = []
        for col in range(cols):
            left = min(width - tile_w, max(0, round((col + 0.5) * width / cols - tile_w / 2)))
            tiles.append(to_array(image.crop((left, top, left + tile_w, top + tile_h))))
        lines.append(np.concatenate(tiles, axis=1))
    return np.ascontiguousarray(np.concatenate(lines, axis=0)), rows * cols


def _mean_squared_error(pixels: np.ndarray, indices: np.ndarray, palette: np.ndarray) -> float:
    """Mean over pixels of the squared sRGB distance to the palette colour (premultiplied RGBA)."""
    def features(colors: np.ndarray) -> np.ndarray:
        colors = colors.astype(np.float32)
        if colors.shape[-1] == 4:
            alpha = colors[..., 3:4] / 255.0
            colors = np.concatenate([colors[..., :3] * alpha, colors[..., 3:4]], axis=-1)
        return colors

    diff = (features(pixels) - features(palette)[indices]).reshape(-1)
    return float(np.dot(diff.astype(np.float64), diff.astype(np.float64)) / indices.size)


def _encode(indices: np.ndarray, palette: np.ndarray, o: CompressOptions) -> bytes:
    return encode(indices, palette, output_format=o.output_format, png_optimize_level=o.png_optimize_level)
