"""Image quality (PSNR, SSIM) and size figures, computed strip by strip in bounded memory.

The quantized image is never materialised: each strip of it is built from `palette[indices[rows]]`.

SSIM reproduces scikit-image's `structural_similarity(a, b, channel_axis=-1, data_range=255)` with
its defaults: a 7×7 uniform window, sample covariance (N/(N-1)), K1=0.01, K2=0.03, the mean over the
windows that lie fully inside the image (skimage crops a 3-pixel border, so its padding never
counts), then the mean over channels. Window sums are exact int32 box filters (7 = 4+2+1 by
doubling: four additions per axis); only the final ratio is float32, accumulated in float64.

RGBA: both images are composited over mid-grey (`ALPHA_BACKGROUND`) and compared as RGB, so
fully transparent pixels count by what is seen, not by their hidden colour values.
"""

from __future__ import annotations

import math

import numpy as np

DATA_RANGE = 255
SSIM_WINDOW = 7
SSIM_K1 = 0.01
SSIM_K2 = 0.03
STRIP_ROWS = 48  # output rows per strip: memory stays O(STRIP_ROWS * width)
TILE_COLUMNS = 512  # SSIM windows per tile row
ALPHA_BACKGROUND = 128

_NP = SSIM_WINDOW * SSIM_WINDOW
_COV_NORM = _NP / (_NP - 1)
_C1 = (SSIM_K1 * DATA_RANGE) ** 2
_C2 = (SSIM_K2 * DATA_RANGE) ** 2


def _composite(rgba: np.ndarray) -> np.ndarray:
    """RGBA uint8 strip -> RGB int32 strip over ALPHA_BACKGROUND (rounded)."""
    alpha = rgba[..., 3:4].astype(np.int32)
    rgb = rgba[..., :3].astype(np.int32)
    return (rgb * alpha + ALPHA_BACKGROUND * (255 - alpha) + 127) // 255


def _channels(strip: np.ndarray) -> np.ndarray:
    """(h, W, C) uint8 -> (C, h, W) int32 colour channels (composited when C == 4)."""
    if strip.shape[-1] == 4:
        strip = _composite(strip)
    return np.ascontiguousarray(np.moveaxis(strip, -1, 0), dtype=np.int32)


def _window_sum(values: np.ndarray, axis: int) -> np.ndarray:
    """Sums of 7 consecutive entries along `axis` (length n -> n - 6), by doubling: 4 additions."""
    n = values.shape[axis]

    def part(array: np.ndarray, start: int, stop: int) -> np.ndarray:
        index = [slice(None)] * array.ndim
        index[axis] = slice(start, stop)
        return array[tuple(index)]

    pairs = part(values, 0, n - 1) + part(values, 1, n)  # x[j] + x[j+1]
    quads = part(pairs, 0, n - 3) + part(pairs, 2, n - 1)  # x[j..j+3]
    return part(quads, 0, n - 6) + part(pairs, 4, n - 2) + part(values, 6, n)  # x[j..j+6]


def _box_valid(values: np.ndarray) -> np.ndarray:
    """Exact int32 sum over every fully-inside 7×7 window of the last two axes."""
    return _window_sum(_window_sum(values, -2), -1)


def _ssim_sum(x: np.ndarray, y: np.ndarray) -> float:
    """Sum of the SSIM map over all full windows of int32 channels x, y (shape (C, h, W)).

    With window sums a = Σx, b = Σy (N = 49 pixels), every term is scaled by N², which keeps the
    numerators exact int32: N²·2µxµy = 2ab, N²·σxy = (N·Σxy − ab)·N/(N−1), and so on. Only the
    final ratio is float32 (relative error ~1e-6 per window, far below the 0.005 we promise),
    summed in float64.
    """
    sx, sy = _box_valid(x), _box_valid(y)
    # SSIM needs σx² and σy² only as their sum: one box filter of x² + y² instead of two.
    second = x * x
    second += y * y
    sum_squares, sxy = _box_valid(second), _box_valid(x * y)
    del second
    n = _NP
    sxsy = sx * sy
    squares = sx * sx
    squares += sy * sy
    covariance = sxy * n  # N·Σxy − ab: exact in int32 (at most 49·49·65025)
    covariance -= sxsy
    variance = sum_squares * n  # N·Σ(x² + y²) − (a² + b²)
    variance -= squares
    f32 = np.float32
    a1 = sxsy.astype(f32)
    a1 *= 2
    a1 += f32(_C1 * n * n)
    b1 = squares.astype(f32)
    b1 += f32(_C1 * n * n)
    a2 = covariance.astype(f32)
    a2 *= f32(2 * _COV_NORM)
    a2 += f32(_C2 * n * n)
    b2 = variance.astype(f32)
    b2 *= f32(_COV_NORM)
    b2 += f32(_C2 * n * n)
    a1 *= a2
    b1 *= b2
    a1 /= b1
    return float(np.sum(a1, dtype=np.float64))


def _strip_metrics(get_rows, height: int, width: int, want_ssim: bool) -> tuple[float, float | None]:
    """PSNR and SSIM from `get_rows(start, stop) -> (a_rows, b_rows)` uint8 strips."""
    half = SSIM_WINDOW // 2
    can_ssim = want_ssim and height >= SSIM_WINDOW and width >= SSIM_WINDOW
    squared_error = 0
    ssim_total = 0.0
    for start in range(0, height, STRIP_ROWS):
        stop = min(start + STRIP_ROWS, height)
        # SSIM windows centred on rows start..stop-1 need `half` rows of context either side.
        first, last = max(start, half), min(stop, height - half)
        with_ssim = can_ssim and first < last
        lo, hi = (first - half, last + half) if with_ssim else (start, stop)
        a_rows, b_rows = get_rows(lo, hi)
        x, y = _channels(a_rows), _channels(b_rows)
        diff = x[:, start - lo : stop - lo] - y[:, start - lo : stop - lo]
        squared_error += int(np.einsum("cij,cij->", diff, diff, dtype=np.int64))
        if with_ssim:
            # Column tiles keep the ~15 temporaries of _ssim_sum in cache on wide images.
            n_windows = width - SSIM_WINDOW + 1
            for left in range(0, n_windows, TILE_COLUMNS):
                right = min(left + TILE_COLUMNS, n_windows) + SSIM_WINDOW - 1
                ssim_total += _ssim_sum(x[..., left:right], y[..., left:right])
    mse = squared_error / (height * width * 3)
    value_psnr = math.inf if mse == 0 else 10 * math.log10(DATA_RANGE**2 / mse)
    if not want_ssim:
        return value_psnr, None
    if not can_ssim:
        # skimage refuses images smaller than its window: identical counts as 1, else undefined.
        return value_psnr, 1.0 if mse == 0 else float("nan")
    return value_psnr, ssim_total / ((height - 2 * half) * (width - 2 * half) * 3)


def psnr_ssim(
    original: np.ndarray,
    indices: np.ndarray,
    palette: np.ndarray,
    *,
    want_ssim: bool = True,
) -> tuple[float, float | None]:
    """PSNR and SSIM of a palette image against the original, in strips.

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
    height, width = indices.shape
    return _strip_metrics(
        lambda lo, hi: (original[lo:hi], palette[indices[lo:hi]]), height, width, want_ssim
    )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (H, W, 3|4) of the same shape; RGBA composited; inf if equal."""
    _check_same(a, b)
    return _strip_metrics(lambda lo, hi: (a[lo:hi], b[lo:hi]), *a.shape[:2], False)[0]


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two uint8 images (H, W, 3|4).

    Equals skimage `structural_similarity(a, b, channel_axis=-1, data_range=255)` for RGB.
    """
    _check_same(a, b)
    return _strip_metrics(lambda lo, hi: (a[lo:hi], b[lo:hi]), *a.shape[:2], True)[1]


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
