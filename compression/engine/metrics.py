"""Image quality (PSNR, SSIM) and size figures, computed tile by tile in bounded memory.

The quantized image is never materialised: each tile of it is gathered from the palette, packed
as one uint32 per entry, with a single `np.take` (one gather per pixel, not one per channel).

SSIM reproduces scikit-image's `structural_similarity(a, b, channel_axis=-1, data_range=255)` with
its defaults: a 7×7 uniform window, sample covariance (N/(N-1)), K1=0.01, K2=0.03, the mean over the
windows that lie fully inside the image (skimage crops a 3-pixel border, so its padding never
counts), then the mean over channels. The four window sums it needs per channel (Σx, Σy,
Σ(x² + y²), Σxy) are exact int32 box filters, all four channels-by-quantities planes of a tile
stacked in one array so that each step is one numpy call; only the final ratio is float32,
accumulated in float64. PSNR reuses the same per-pixel products: Σ(x − y)² = Σ(x² + y²) − 2Σxy,
exact in int64.

RGBA: both images are composited over mid-grey (`ALPHA_BACKGROUND`) and compared as RGB, so
fully transparent pixels count by what is seen, not by their hidden colour values.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .threads import THREADS, run_parts

DATA_RANGE = 255
SSIM_WINDOW = 7
SSIM_K1 = 0.01
SSIM_K2 = 0.03
STRIP_ROWS = 48  # output rows per strip
TILE_COLUMNS = 512  # SSIM windows per tile row: a tile's planes stay in cache
ALPHA_BACKGROUND = 128
# Strips run in parallel (see `threads`): 1.2-1.45x less wall time for the metrics of the 24 MP
# photo on a shared 2-core machine, CPU time +0-30%.
THREAD_MIN_PIXELS = 1 << 20  # below ~1 MP the thread start-up is not worth it

_NP = SSIM_WINDOW * SSIM_WINDOW
_COV_NORM = _NP / (_NP - 1)
_C1 = (SSIM_K1 * DATA_RANGE) ** 2
_C2 = (SSIM_K2 * DATA_RANGE) ** 2
_RGB = 3

# fill(lo, hi, left, right, out): write the tile's composited RGB channels into out (3, rows, cols) int32.
Filler = Callable[[int, int, int, int, np.ndarray], None]


def _composite(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colour channel(s) over ALPHA_BACKGROUND, rounded, as int32 (same formula for pixels and palettes)."""
    alpha = alpha.astype(np.int32)
    return (rgb.astype(np.int32) * alpha + ALPHA_BACKGROUND * (255 - alpha) + 127) // 255


def _array_filler(image: np.ndarray) -> Filler:
    def fill(lo, hi, left, right, out):
        tile = image[lo:hi, left:right]
        if tile.shape[-1] == 4:
            for c in range(_RGB):
                out[c] = _composite(tile[..., c], tile[..., 3])
        else:
            for c in range(_RGB):
                out[c] = tile[..., c]

    return fill


def _palette_filler(indices: np.ndarray, palette: np.ndarray) -> Filler:
    """Tiles of palette[indices] (composited), via one uint32 gather per pixel."""
    entries = np.zeros((256, 4), dtype=np.uint8)
    if palette.shape[1] == 4:
        entries[: len(palette), :_RGB] = _composite(palette[:, :_RGB], palette[:, 3:4])
    else:
        entries[: len(palette), :_RGB] = palette
    packed = entries.view(np.uint32).reshape(256)  # byte order follows the uint8 view, any endianness

    def fill(lo, hi, left, right, out):
        block = indices[lo:hi, left:right]
        colors = np.take(packed, block).view(np.uint8).reshape(*block.shape, 4)
        for c in range(_RGB):
            out[c] = colors[..., c]

    return fill


class _Workspace:
    """Flat int32 buffers reused by every tile of one call.

    A fresh array per tile step costs more than the arithmetic: tiles of a few hundred KB sit
    around glibc's mmap threshold, and every allocation then comes back as new zeroed pages (600k
    page faults and >1 s of system time on a 24 MP image). `take(i, shape)` is a contiguous view
    of the start of buffer i, in int32 or float32 (both 4 bytes).
    """

    def __init__(self, n_buffers: int, size: int):
        self._buffers = [np.empty(size, dtype=np.int32) for _ in range(n_buffers)]

    def take(self, i: int, shape: tuple[int, ...], dtype=np.int32) -> np.ndarray:
        return self._buffers[i][: math.prod(shape)].view(dtype).reshape(shape)


def _box_sums(planes: np.ndarray, ws: _Workspace) -> np.ndarray:
    """Exact sums over every 7×7 window of the last two axes (`planes` is workspace buffer 0).

    (..., rows, cols) -> (..., rows - 6, cols) in workspace buffer 0; the last 6 columns are not
    windows and are set to 0. Vertical sums by doubling (4 additions); horizontal sums on the
    flattened array, so each addition is one long contiguous loop, not one short loop per row.
    """
    lead, n, cols = planes.shape[:-2], planes.shape[-2], planes.shape[-1]
    pairs = np.add(planes[..., : n - 1, :], planes[..., 1:, :], out=ws.take(1, (*lead, n - 1, cols)))
    quads = np.add(pairs[..., : n - 3, :], pairs[..., 2 : n - 1, :], out=ws.take(2, (*lead, n - 3, cols)))
    columns = np.add(quads[..., : n - 6, :], pairs[..., 4 : n - 2, :], out=ws.take(3, (*lead, n - 6, cols)))
    columns += planes[..., 6:, :]
    flat = columns.reshape(-1)
    size = flat.size
    pairs = np.add(flat[:-1], flat[1:], out=ws.take(1, (size - 1,)))
    quads = np.add(pairs[:-2], pairs[2:], out=ws.take(2, (size - 3,)))
    out = ws.take(0, columns.shape)
    out_flat = out.reshape(-1)
    np.add(quads[: size - 6], pairs[4 : size - 2], out=out_flat[: size - 6])
    out_flat[: size - 6] += flat[6:]
    out[..., -(SSIM_WINDOW - 1) :] = 0  # windows that would wrap into the next row
    return out


def _ssim_sum(sums: np.ndarray, n_windows: int, ws: _Workspace) -> float:
    """Sum of the SSIM map from window sums (4, C, h, cols) = (Σx, Σy, Σ(x² + y²), Σxy).

    Only the first `n_windows` columns are windows. Every term is scaled by N² (N = 49), which
    keeps the numerators exact int32: N²·2µxµy = 2ab, N²·σxy = (N·Σxy − ab)·N/(N−1), and so on.
    Only the final ratio is float32 (relative error ~1e-6 per window, far below the 0.005 we
    promise), summed in float64. `sums` is overwritten; workspace buffers 1-3 are reused.
    """
    sx, sy, sum_squares, sxy = sums
    shape = sx.shape
    n = _NP
    f32 = np.float32
    sxsy = np.multiply(sx, sy, out=ws.take(1, shape))
    squares = np.multiply(sx, sx, out=ws.take(2, shape))
    np.multiply(sy, sy, out=sy)
    squares += sy  # a² + b²
    sxy *= n  # N·Σxy − ab: exact in int32 (at most 49·49·65025)
    sxy -= sxsy
    sum_squares *= n  # N·Σ(x² + y²) − (a² + b²)
    sum_squares -= squares
    ratio = ws.take(3, (4, *shape), f32)
    a1, b1, a2, b2 = ratio
    np.multiply(sxsy, f32(2), out=a1, dtype=f32)
    a1 += f32(_C1 * n * n)
    np.add(squares, f32(_C1 * n * n), out=b1, dtype=f32)
    np.multiply(sxy, f32(2 * _COV_NORM), out=a2, dtype=f32)
    a2 += f32(_C2 * n * n)
    np.multiply(sum_squares, f32(_COV_NORM), out=b2, dtype=f32)
    b2 += f32(_C2 * n * n)
    a1 *= a2
    b1 *= b2
    a1 /= b1
    return float(np.sum(a1[..., :n_windows], dtype=np.float64))


def _rows_metrics(
    fill_a: Filler, fill_b: Filler, height: int, width: int, can_ssim: bool, strips: range
) -> tuple[int, float]:
    """(sum of squared errors, sum of the SSIM map) over the strips starting at `strips`."""
    half = SSIM_WINDOW // 2
    n_windows = width - SSIM_WINDOW + 1
    # Column tiles: SSIM tiles overlap by the window's 6 columns; each pixel counts once for PSNR.
    step = TILE_COLUMNS if can_ssim else max(TILE_COLUMNS, width)
    max_columns = min(width, step + SSIM_WINDOW - 1)
    ws = _Workspace(4, 4 * _RGB * min(height, STRIP_ROWS + SSIM_WINDOW - 1) * max_columns)
    squared_error = 0
    ssim_total = 0.0
    for start in strips:
        stop = min(start + STRIP_ROWS, height)
        # SSIM windows centred on rows start..stop-1 need `half` rows of context either side.
        first, last = max(start, half), min(stop, height - half)
        with_ssim = can_ssim and first < last
        lo, hi = (first - half, last + half) if with_ssim else (start, stop)
        own_rows = slice(start - lo, stop - lo)
        for left in range(0, n_windows if can_ssim else width, step):
            if can_ssim:
                right = min(left + step, n_windows) + SSIM_WINDOW - 1
                own_right = right - left if right == width else step
            else:
                right = min(left + step, width)
                own_right = right - left
            planes = ws.take(0, (4, _RGB, hi - lo, right - left))
            x, y, second, cross = planes
            fill_a(lo, hi, left, right, x)
            fill_b(lo, hi, left, right, y)
            np.multiply(x, x, out=second)
            np.multiply(y, y, out=cross)
            second += cross  # x² + y²
            np.multiply(x, y, out=cross)  # xy
            own = (slice(None), own_rows, slice(0, own_right))
            squared_error += int(np.sum(second[own], dtype=np.int64)) - 2 * int(np.sum(cross[own], dtype=np.int64))
            if with_ssim:
                ssim_total += _ssim_sum(_box_sums(planes, ws), right - left - SSIM_WINDOW + 1, ws)
    return squared_error, ssim_total


def _strip_metrics(fill_a: Filler, fill_b: Filler, height: int, width: int, want_ssim: bool) -> tuple[float, float | None]:
    """PSNR and SSIM of two images given as tile fillers (see `Filler`)."""
    half = SSIM_WINDOW // 2
    can_ssim = want_ssim and height >= SSIM_WINDOW and width >= SSIM_WINDOW
    strips = range(0, height, STRIP_ROWS)
    n_threads = THREADS if height * width >= THREAD_MIN_PIXELS else 1
    if n_threads > 1 and len(strips) > 1:
        # Interleaved strips: both threads walk down the image together; each has its own buffers.
        parts = [strips[i::n_threads] for i in range(n_threads)]
        results = run_parts(lambda part: _rows_metrics(fill_a, fill_b, height, width, can_ssim, part), parts)
    else:
        results = [_rows_metrics(fill_a, fill_b, height, width, can_ssim, strips)]
    squared_error = sum(r[0] for r in results)
    ssim_total = math.fsum(r[1] for r in results)
    value_psnr = psnr_from_squared_error(squared_error, height * width * _RGB)
    if not want_ssim:
        return value_psnr, None
    if not can_ssim:
        # skimage refuses images smaller than its window: identical counts as 1, else undefined.
        return value_psnr, 1.0 if squared_error == 0 else float("nan")
    return value_psnr, ssim_total / ((height - 2 * half) * (width - 2 * half) * _RGB)


def psnr_ssim(
    original: np.ndarray,
    indices: np.ndarray,
    palette: np.ndarray,
    *,
    want_ssim: bool = True,
) -> tuple[float, float | None]:
    """PSNR and SSIM of a palette image against the original, tile by tile.

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
        _array_filler(original), _palette_filler(indices, palette), height, width, want_ssim
    )


def psnr_from_squared_error(squared_error: int, n_values: int) -> float:
    """PSNR in dB from the sum of squared errors over `n_values` channel values (inf when 0)."""
    if squared_error == 0:
        return math.inf
    return 10 * math.log10(DATA_RANGE**2 * n_values / squared_error)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (H, W, 3|4) of the same shape; RGBA composited; inf if equal."""
    _check_same(a, b)
    return _strip_metrics(_array_filler(a), _array_filler(b), *a.shape[:2], False)[0]


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two uint8 images (H, W, 3|4).

    Equals skimage `structural_similarity(a, b, channel_axis=-1, data_range=255)` for RGB.
    """
    _check_same(a, b)
    return _strip_metrics(_array_filler(a), _array_filler(b), *a.shape[:2], True)[1]


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
