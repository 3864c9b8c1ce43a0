"""Remap pixels to a palette: nearest colour, or selective Floyd-Steinberg error diffusion.

Distances are measured in the clustering space of `kmeans` (sRGB, or OKLab; premultiplied by
alpha for RGBA), so `remap(pixels, q.palette)` with dither 0 gives `q.indices` (up to exact ties).

Dithering (in C, native/remap.c) is serpentine Floyd-Steinberg (rows alternate direction; weights
7, 3, 5, 1 / 16), made selective the way pngquant's is, because error spread everywhere costs
bytes (noisy indices compress badly) and adds visible noise where the eye would not miss it:

- Damped where local contrast already masks the error: each pixel takes its pending error times
  ``strength * level / 255``, where level comes from the largest second difference (any channel,
  horizontal or vertical; RGBA colour premultiplied by alpha) in its 3×3 neighbourhood:
  `_DAMPING_TABLE`, `ERROR_KEPT` in smooth areas (where banding would show), down to
  `DAMPING_FLOOR` on edges and texture (dithered edges look jagged, and texture hides banding).
- Limited: an incoming error shorter than `MIN_ERROR` is dropped (flat areas stay flat and
  compress well), one longer than `MAX_ERROR_GAPS` times the palette's median spacing (each
  entry's distance to its nearest other entry) is scaled down to that length (no runaway
  speckles), and the wanted colour is clipped to the palette's bounding box.
- Alpha: fully transparent pixels take the most transparent entry and neither send nor receive
  error; fully opaque ones carry no alpha error; only partial alpha is dithered.

The scan is one sequential pass (its result depends on the order), so the output never depends on
the thread count; only the contrast map runs on threads. The nearest entry is searched from the
previous pixel's choice outwards (triangle inequality over pre-sorted palette distances), exactly.
"""

import numpy as np

from . import native, threads
from .colorspace import _LINEAR_LUT, _LMS_TO_LAB, _RGB_TO_LMS
from .errors import InvalidOptions
from .kmeans import _blocks, _build_histogram, _check_color_space, _check_pixels, _features, _labels_to_indices

# Distance blocks hold at most this many multiply-adds: below OpenBLAS's threading threshold
# (65536 x GEMM_MULTITHREAD_THRESHOLD 4), so each GEMM runs on one thread. Threaded GEMMs with an
# inner dimension of 4 were up to 50x slower on the shared 2-core machine.
_GEMM_SINGLE_THREAD_WORK = 1 << 18

# The damping rule (tuned in bench/bench_dither.py against pngquant; docs/benchmarks.md): the
# share of the pending error a pixel accepts falls from ERROR_KEPT in smooth areas to
# DAMPING_FLOOR as the local contrast (second difference, 0-510) rises past DAMPING_CONTRAST.
# ERROR_KEPT < 1, as in pngquant (15/16), so that small errors do not pile up into noise.
ERROR_KEPT = 15 / 16
DAMPING_CONTRAST = 24.0
DAMPING_FLOOR = 0.35
# Incoming errors shorter than this are dropped, in clustering units (OKLab's L spans 0-1 where
# sRGB spans 0-255); longer than MAX_ERROR_GAPS palette spacings, they are shortened to that.
MIN_ERROR = {"rgb": 2.0, "oklab": 2.0 / 255.0}
MAX_ERROR_GAPS = 1.0


def _damping_table() -> np.ndarray:
    """(511,) uint8: the level (0-255) accepted at each local contrast 0..510."""
    contrast = np.arange(511, dtype=np.float64)
    share = ERROR_KEPT * DAMPING_CONTRAST**2 / (DAMPING_CONTRAST**2 + contrast**2)
    return np.rint(255.0 * np.maximum(share, DAMPING_FLOOR)).astype(np.uint8)


_DAMPING_TABLE = _damping_table()
# What remap.c needs to compute OKLab coordinates as colorspace does: a byte's linear light, then
# the two matrices (row-major).
_OKLAB_CONSTANTS = np.concatenate([_LINEAR_LUT, _RGB_TO_LMS.ravel(), _LMS_TO_LAB.ravel()])


def remap(
    pixels: np.ndarray,
    palette: np.ndarray,
    *,
    dither: float = 0.0,
    color_space: str = "rgb",
) -> np.ndarray:
    """Map every pixel to a palette entry.

    Parameters
    ----------
    pixels : ndarray of shape (H, W, C), uint8
        C = 3 (RGB) or 4 (RGBA).
    palette : ndarray of shape (k, C), uint8
        1 <= k <= 256, same C as `pixels`.
    dither : float, default 0.0
        Error-diffusion strength 0..1 (the diffused error is multiplied by it); 0 is plain nearest
        colour. See the module docstring for where the error is damped.
    color_space : {"rgb", "oklab"}, default "rgb"
        Space of the distances and of the diffused error.

    Returns
    -------
    ndarray of shape (H, W), uint8
        Palette index of each pixel. For RGBA, fully transparent pixels get the palette's most
        transparent entry and neither send nor receive diffused error.

    Raises
    ------
    InvalidOptions
        On bad dtypes or shapes, a channel mismatch, a dither outside 0..1 or an unknown space.
    """
    _check_pixels(pixels)
    _check_color_space(color_space)
    palette = np.asarray(palette)
    if palette.dtype != np.uint8 or palette.ndim != 2 or not 1 <= len(palette) <= 256:
        raise InvalidOptions(f"palette must be a (k, C) uint8 array with 1 <= k <= 256, got {palette.dtype} {palette.shape}")
    if palette.shape[1] != pixels.shape[2]:
        raise InvalidOptions(f"palette has {palette.shape[1]} channels but pixels have {pixels.shape[2]}")
    if isinstance(dither, bool) or not isinstance(dither, (int, float, np.integer, np.floating)) or not 0.0 <= dither <= 1.0:
        raise InvalidOptions(f"dither={dither!r} must be a number between 0 and 1")
    if dither == 0:
        return _remap_nearest(pixels, palette, color_space)
    return _remap_dither(pixels, palette, float(dither), color_space)


def _remap_nearest(pixels, palette, color_space):
    """Nearest palette entry per distinct colour, then one gather per pixel."""
    histogram = _build_histogram(pixels, color_space)
    centers = _features(palette, color_space)
    features = histogram.features
    labels = _nearest(_augment(features), _augment_centers(centers))
    return _labels_to_indices(labels.astype(np.uint8), histogram.inverse)


def _remap_dither(pixels, palette, strength, color_space):
    """Selective serpentine Floyd-Steinberg in C (module docstring). Assumes validated input."""
    pixels = np.ascontiguousarray(pixels)
    levels = native.contrast_levels(pixels, _DAMPING_TABLE, threads.THREADS)
    return native.dither(
        pixels, palette, _OKLAB_CONSTANTS if color_space == "oklab" else None, levels, strength=strength,
        min_error=MIN_ERROR[color_space], max_error=MAX_ERROR_GAPS * _palette_spacing(palette, color_space),
    )


def _palette_spacing(palette, color_space):
    """Median over the entries of the distance to the nearest other entry (inf for one entry)."""
    if len(palette) < 2:
        return float("inf")
    centers = _features(palette, color_space).astype(np.float64)
    squared = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(squared, np.inf)
    return float(np.sqrt(np.median(squared.min(axis=1))))


# --- nearest entry by GEMM: -2 x.c + ||c||^2 from one matrix product ------------------------


def _augment(x):
    """(n, d) -> (n, d+1) float32 with a column of ones, so one GEMM gives -2 x.c + ||c||^2.

    (OpenBLAS is also far faster with an inner dimension of 4 than of 3.)
    """
    out = np.ones((len(x), x.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = x
    return out


def _augment_centers(centers):
    """(k, d) -> (d+1, k) float32 so that `_augment(x) @ result` is -2 x.c + ||c||^2."""
    c = centers.astype(np.float32)
    return np.vstack([-2.0 * c.T, (c * c).sum(axis=1)[None, :]]).astype(np.float32)


def _nearest(xa, ca):
    """Index of the nearest centre for each row of `_augment(x)`, single-threaded GEMM blocks."""
    block = max(64, _GEMM_SINGLE_THREAD_WORK // ca.size)
    if len(xa) <= block:
        return (xa @ ca).argmin(axis=1)
    return np.concatenate([(xa[a:b] @ ca).argmin(axis=1) for a, b in _blocks(len(xa), block)])
