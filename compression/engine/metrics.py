"""Image quality (PSNR, SSIM) and size figures.

The pixel work is `mt_metrics` in native/metrics.c, one pass down the rows of both images: the
quantized image is read through its indices and a composited palette table (never materialised),
the 7×7 window sums are kept as running column sums, and memory stays at a few rows per thread.
The image is cut into bands of `BAND_ROWS` rows shared by `threads.THREADS` threads (C threads);
each band's results have their own slot and the SSIM sums are added with `math.fsum`, so results
do not depend on the thread count.

SSIM reproduces scikit-image's `structural_similarity(a, b, channel_axis=-1, data_range=255)` with
its defaults: a 7×7 uniform window, sample covariance (N/(N-1)), K1=0.01, K2=0.03, the mean over the
windows that lie fully inside the image (skimage crops a 3-pixel border, so its padding never
counts), then the mean over channels. The window sums (Σx, Σy, Σ(x² + y²), Σxy per channel) are
exact integers and only each window's ratio is rounded (double precision). PSNR is exact: its
squared error is an integer sum.

RGBA: both images are composited over black and, separately, over white (`ALPHA_BACKGROUNDS`),
with `_composite`'s rounding, and compared as RGB each time; the reported PSNR and SSIM are the
worse of the two (`Score`). An image can be shown on any page colour: a translucent edge that is
wrong only shows on the background that contrasts with it, and one grey background hid it (5 of 8
SSIM targets "met" over grey 128 were missed over black or white). Fully transparent pixels count
by what is seen, not by their hidden colour values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import native, threads
from .decode import FULLY_OPAQUE

DATA_RANGE = 255
SSIM_WINDOW = 7  # fixed by metrics.c
SSIM_K1 = 0.01
SSIM_K2 = 0.03
ALPHA_BACKGROUNDS = {"black": 0, "white": 255}  # RGBA is scored over each; the worse is reported
BAND_ROWS = 256  # rows per band (a thread's unit of work); each band re-reads 6 rows of context

_C1 = (SSIM_K1 * DATA_RANGE) ** 2
_C2 = (SSIM_K2 * DATA_RANGE) ** 2
_RGB = 3


@dataclass(frozen=True)
class Score:
    """PSNR and SSIM of an image against its original.

    For RGBA, `psnr` and `ssim` are the worse of the scores over each background in
    `ALPHA_BACKGROUNDS`, and `by_background` holds each ({"black": (psnr, ssim), "white": ...});
    for RGB it is empty. SSIM is None when not wanted.
    """

    psnr: float
    ssim: float | None
    by_background: dict[str, tuple[float, float | None]] = field(default_factory=dict)


def _worse(values: list[float | None]) -> float | None:
    """The lowest value; NaN (undefined SSIM) wins, None (not computed) stays None."""
    if any(value is None for value in values):
        return None
    if any(math.isnan(value) for value in values):
        return math.nan
    return min(values)


def _composite(rgb: np.ndarray, alpha: np.ndarray, background: int) -> np.ndarray:
    """Colour channel(s) over `background`, rounded, as int32 (metrics.c composites pixels alike)."""
    alpha = alpha.astype(np.int32)
    return (rgb.astype(np.int32) * alpha + background * (255 - alpha) + 127) // 255


def _palette_table(palette: np.ndarray, background: int) -> np.ndarray:
    """(256, 3) uint8: each palette entry as composited RGB, unused entries black."""
    table = np.zeros((256, _RGB), dtype=np.uint8)
    if palette.shape[1] == 4:
        table[: len(palette)] = _composite(palette[:, :_RGB], palette[:, 3:4], background)
    else:
        table[: len(palette)] = palette
    return table


def _score(a: np.ndarray, b: np.ndarray, palette: np.ndarray | None, want_ssim: bool) -> Score:
    """Score `a` against `b` (pixels, or indices into `palette`); RGBA over every background."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    has_alpha = a.shape[2] == 4 or (palette is not None and palette.shape[1] == 4) or (
        palette is None and b.shape[2] == 4
    )
    if not has_alpha:
        table = None if palette is None else _palette_table(palette, 0)
        return Score(*_metrics(a, b, table, want_ssim, 0))
    if a.shape[2] == 3:  # an opaque original against a translucent result: compare over the same pages
        a = np.concatenate([a, np.full((*a.shape[:2], 1), FULLY_OPAQUE, dtype=np.uint8)], axis=2)
    scores = {}
    for name, background in ALPHA_BACKGROUNDS.items():
        table = None if palette is None else _palette_table(palette, background)
        scores[name] = _metrics(a, b, table, want_ssim, background)
    return Score(
        psnr=min(psnr for psnr, _ in scores.values()),
        ssim=_worse([ssim for _, ssim in scores.values()]),
        by_background=scores,
    )


def _metrics(
    a: np.ndarray, b: np.ndarray, table: np.ndarray | None, want_ssim: bool, background: int
) -> tuple[float, float | None]:
    """PSNR and SSIM of `a` against `b` (pixels, or indices into `table`): see `native.image_metrics`."""
    height, width = a.shape[:2]
    can_ssim = want_ssim and height >= SSIM_WINDOW and width >= SSIM_WINDOW
    errors, sums = native.image_metrics(
        a, b, table, band_rows=BAND_ROWS, threads=threads.THREADS, want_ssim=can_ssim,
        c1=_C1, c2=_C2, background=background,
    )
    squared_error = int(errors.sum())
    value_psnr = psnr_from_squared_error(squared_error, height * width * _RGB)
    if not want_ssim:
        return value_psnr, None
    if not can_ssim:
        # skimage refuses images smaller than its window: identical counts as 1, else undefined.
        return value_psnr, 1.0 if squared_error == 0 else float("nan")
    half = SSIM_WINDOW // 2
    return value_psnr, math.fsum(sums.tolist()) / ((height - 2 * half) * (width - 2 * half) * _RGB)


def score(original: np.ndarray, indices: np.ndarray, palette: np.ndarray, *, want_ssim: bool = True) -> Score:
    """PSNR and SSIM of a palette image against the original, per background for alpha images.

    Same parameters as `psnr_ssim`; see `Score`.
    """
    return _score(original, indices, palette, want_ssim)


def psnr_ssim(
    original: np.ndarray,
    indices: np.ndarray,
    palette: np.ndarray,
    *,
    want_ssim: bool = True,
) -> tuple[float, float | None]:
    """PSNR and SSIM of a palette image against the original (RGBA: the worse over black and white).

    Parameters
    ----------
    original : ndarray of uint8, shape (H, W, C), C in {3, 4}
    indices : ndarray of uint8, shape (H, W)
    palette : ndarray of uint8, shape (k, C)
    want_ssim : bool
        False skips SSIM (returns None for it), for searches that need only PSNR.

    Returns
    -------
    (psnr, ssim)
        PSNR in dB (inf when identical); SSIM in [-1, 1], None when not wanted, NaN when the image
        is smaller than the 7×7 window and not identical.
    """
    result = _score(original, indices, palette, want_ssim)
    return result.psnr, result.ssim


def psnr_from_squared_error(squared_error: int, n_values: int) -> float:
    """PSNR in dB from the sum of squared errors over `n_values` channel values (inf when 0)."""
    if squared_error == 0:
        return math.inf
    return 10 * math.log10(DATA_RANGE**2 * n_values / squared_error)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (H, W, 3|4) of the same shape; inf if equal.

    RGBA: the worse over black and over white (see the module docstring).
    """
    _check_same(a, b)
    return _score(a, b, None, False).psnr


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two uint8 images (H, W, 3|4).

    Equals skimage `structural_similarity(a, b, channel_axis=-1, data_range=255)` for RGB; RGBA:
    the worse over black and over white.
    """
    _check_same(a, b)
    return _score(a, b, None, True).ssim


def _check_same(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ValueError(f"images must have the same (H, W, 3|4) shape: {a.shape} vs {b.shape}")


def file_ratio(input_bytes: int, output_bytes: int) -> float:
    """Input size over output size (2.0 means the output is half the size)."""
    return input_bytes / output_bytes if output_bytes else math.inf


def bytes_saved(input_bytes: int, output_bytes: int) -> int:
    """Bytes saved; negative when the output is larger than the input."""
    return input_bytes - output_bytes


def bits_per_pixel(n_bytes: int, width: int, height: int) -> float:
    """File size in bits per image pixel."""
    return n_bytes * 8 / (width * height)


def theoretical_ratio(n_colors: int, width: int, height: int, *, has_alpha: bool = False) -> float:
    """The classic K-Means "theoretical" compression ratio.

    ratio = B / (log2(K) + K·B / (W·H)), where B = 24 bits per pixel for RGB (32 with alpha) is the
    uncompressed cost, log2(K) the bits of one index (not rounded up to a whole bit), and K·B/(W·H)
    the palette's own bits spread over the pixels. It ignores entropy coding and file overhead, so
    it is the figure tools quote, not a file size; `file_ratio` is the real one.
    """
    bits = 32 if has_alpha else 24
    k = max(int(n_colors), 1)
    return bits / (math.log2(k) + k * bits / (width * height))


# Pixels the silhouette is estimated on: its cost is SILHOUETTE_SAMPLE² distances, the same for
# every image (about 1.5 ms for 500 here, 6 ms for 1000: the old compress of a 0.3 MP emoji took
# 15 ms), for a standard error of about 0.015.
SILHOUETTE_SAMPLE = 500
_SILHOUETTE_ROWS = 256  # points per block of the distance matrix


def silhouette(points: np.ndarray, labels: np.ndarray) -> float | None:
    """Mean silhouette coefficient (Rousseeuw 1987) of labelled points, Euclidean distance.

    Equals scikit-learn's `silhouette_score(points, labels)` (to float32 rounding): s = (b - a) / max(a, b) per point,
    a = mean distance to the other points of its cluster, b = the lowest mean distance to another
    cluster's points, s = 0 for a point alone in its cluster. None when fewer than 2 clusters or as
    many clusters as points (undefined). Distances are summed per channel and per cluster with
    numpy reductions, not BLAS (see kmeans._dot).

    Parameters
    ----------
    points : ndarray of shape (n, d), float
    labels : ndarray of shape (n,), int
    """
    n = len(points)
    order = np.argsort(labels, kind="stable")
    # float32 distances (colour coordinates need no more), summed in float64.
    points, labels = np.asarray(points, dtype=np.float32)[order], np.asarray(labels)[order]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    n_clusters = len(starts)
    if not 2 <= n_clusters < n:
        return None
    # Distances from a block of rows at a time (a few MB), summed per cluster with reduceat.
    cluster_sums = np.empty((n, n_clusters))
    for top in range(0, n, _SILHOUETTE_ROWS):
        block = points[top : top + _SILHOUETTE_ROWS]
        squared = np.zeros((len(block), n), dtype=np.float32)
        for j in range(points.shape[1]):
            difference = block[:, j, None] - points[None, :, j]
            squared += difference * difference
        cluster_sums[top : top + len(block)] = np.add.reduceat(
            np.sqrt(squared, out=squared), starts, axis=1, dtype=np.float64
        )
    sizes = np.diff(np.r_[starts, n])
    own = np.repeat(np.arange(n_clusters), sizes)
    rows = np.arange(n)
    own_sizes = sizes[own]
    a = cluster_sums[rows, own] / np.maximum(own_sizes - 1, 1)
    mean_to = cluster_sums / sizes
    mean_to[rows, own] = np.inf
    b = mean_to.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(own_sizes > 1, (b - a) / np.maximum(a, b), 0.0)
    return float(np.nan_to_num(s, nan=0.0).mean())  # a = b = 0 (identical points): 0, as sklearn


def sampled_silhouette(
    pixels: np.ndarray, indices: np.ndarray, *, seed: int | None, color_space: str = "rgb",
    sample: int = SILHOUETTE_SAMPLE,
) -> float | None:
    """The silhouette of a palette image's clusters, estimated on `sample` pixels drawn with `seed`.

    Distances are in the clustering space (sRGB 0-255, premultiplied for RGBA, or OKLab), as
    K-Means saw the colours. Bounded cost whatever the image size: O(sample²).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, C)
    indices : ndarray of uint8, shape (H, W)
    """
    from .kmeans import _features  # the clustering coordinates, defined once there

    n_pixels = indices.size
    picked = np.random.default_rng(seed).choice(n_pixels, size=min(sample, n_pixels), replace=False)
    colors = pixels.reshape(n_pixels, -1)[picked]
    return silhouette(_features(colors, color_space), indices.reshape(n_pixels)[picked])
