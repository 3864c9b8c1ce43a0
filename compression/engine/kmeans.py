"""Exact K-Means colour quantization: weighted Lloyd on the colour histogram.

Every pixel counts. The image is reduced once to its distinct colours and how many pixels have
each (`build_histogram`); weighted K-Means on those colours is exactly K-Means on all pixels,
because a pixel's contribution to every centre and to the inertia depends only on its colour.
The float work therefore scales with the number of distinct colours, not with the pixel count:
per pixel we keep only a uint32 colour code (turned in place into an int32 histogram index) and
the final uint8 palette index.

Algorithm (modelled on scikit-learn's ``sklearn/cluster/_kmeans.py``):

- Coarse to fine: the distinct colours are grouped into the occupied cells of a grid (up to
  `LEVEL_MAX_POINTS` cells per level, count-weighted cell means). One pass over the colours sums
  them into the cells of the finest grid (2^`_GRID_BITS` cells); every coarser grid is built from
  those cell sums by shifting the cell coordinates, not from the colours. k-means++ seeding (greedy,
  ``2 + log(k)`` local trials, weighted by pixel counts) and Lloyd run on the coarsest level,
  `COARSE_INITS` times, and the start with the lowest inertia there is refined level by level and
  finally by Lloyd on every distinct colour. The coarse levels only choose the starting centres; the
  result is a fixed point (or tolerance stop) of Lloyd on all pixels.
- Lloyd iterations with lazy Hamerly bounds (an upper bound to the assigned centre, a lower bound to
  the second nearest, moved by how far the centres moved, and Hamerly's half-distance to the
  nearest other centre). A point is looked at again only when its bounds may have crossed, which
  after the first iterations is a small boundary layer; cluster sums are updated incrementally for
  the colours that changed cluster. The points whose bounds fail are re-scanned against all
  centres with float32 GEMMs in single-threaded blocks, laid out centres by points so that the
  minima are vectorised column reductions, with the current label as a hint (`_nearest_two`);
  other per-point work runs channel by channel on 1-D arrays, because numpy is slow on a
  trailing axis of length 3 or 4. The per-point work of large levels, the histogram and the final
  index gather are split over two threads (`threads`): numpy releases the GIL in all of them.
- Fixed costs (they dominate at K=16): the histogram ranks each pixel's 24-bit code in a 2 MB
  bitmap of the present codes (per-word prefix counts plus a popcount) instead of a 64 MB int32
  lookup table; reductions and dot products over the colours run per channel on 1-D arrays and
  through `_dot` (einsum), never through BLAS dot/GEMV, which OpenBLAS threads above ~10,000
  elements and which then spun against the other processes on the shared machine (up to 2x the
  CPU time of a whole 1 MP quantization).
- Measured and rejected (figures in docs/benchmarks.md): Kanungo et al.'s filtering algorithm on
  a Morton-ordered octree of the colours (exact, but it redoes the whole traversal every
  iteration and was no faster end to end at K=16/64/256, 1024² and 4096²), neighbour-restricted
  re-scans (Exponion), with or without grouping (fewer candidates, but the per-point cost of
  numpy's gathers and row reductions stays), and finer intermediate levels (Lloyd's path changes:
  faster on one photo, slower on the others; re-measured with a 2^21-cell grid and an extra
  ~400k-cell level at 4096², which cut the full-level iterations from 12/38/58 to 3/2/82 but cost
  as much on that level, and doubled the iterations at 1024²). Fewer k-means++ starts (1 or 2
  instead of `COARSE_INITS` = 4) saved little time overall and lost the quality margin over
  scikit-learn at K=256. Yinyang group bounds (Ding et al. 2015; K/10 groups capped at 4 bytes of
  bounds per pixel, group filter after the Hamerly filter, one GEMM per failing group) cut the
  distances computed 2.8-5x but were no faster: 4-32% slower at K=64 (1024², 4096²), -8% to +14%
  at 1024² K=256. The cost here is per re-scanned point and per group (gathers, reductions, bound
  write-backs), not the multiply-adds; replayed on the centres of a 4096² K=64 run, 8 groups
  cut the points due per iteration from 27% to 11% and the re-scans from 12.6% to 5.5%, but their
  filter is a pass over every point's 8 bounds each iteration, which costs numpy about what it
  saves.
- Stop on strict convergence (no label changed), else when the total squared centre shift is at
  most ``tol`` times the mean per-channel variance of the pixels (scikit-learn's ``_tolerance``),
  else after ``max_iter`` updates. Every update is followed by an assignment, so the labels always
  belong to the returned centres.
- Centres are rounded to uint8, and every colour is then re-assigned to its nearest *rounded*
  palette entry; `Quantization.inertia` is measured against that rounded palette. Entries that end
  up unused (or duplicated by rounding) are dropped, so ``len(palette) <= n_colors``.

Colour spaces: ``"rgb"`` clusters sRGB values (0-255); ``"oklab"`` clusters OKLab coordinates
(see `colorspace`) and converts the centres back to sRGB (clipped). The inertia is always reported
in sRGB 0-255 units so figures are comparable between colour spaces; `Quantization.history` is in
the clustering space's own units.

Alpha (H×W×4 input): every fully transparent pixel (alpha 0) maps to one palette entry
(0, 0, 0, 0), index 0, which uses exactly one of the ``n_colors`` slots. The other pixels are
clustered in premultiplied RGBA, ``(r·α, g·α, b·α, a)`` with ``α = a/255`` (for OKLab:
``(L·α, a·α, b·α, α)``), so colour differences that transparency hides cost little and
translucent edges keep their alpha. The inertia of an RGBA quantization is measured in the same
premultiplied 0-255 units (transparent pixels contribute 0). An RGBA image whose alpha is all 255
is accepted and gives an opaque k×4 palette; callers that want a k×3 palette pass RGB.

Floating point: distinct colours are processed in float32 (sums in float64), so results are exact
up to float32 rounding (near-ties may resolve either way).
"""

from dataclasses import dataclass
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np

from .colorspace import _oklab_to_srgb, _srgb_to_oklab
from .errors import InvalidOptions
from .presets import COLOR_SPACES, MAX_COLORS, MIN_COLORS
from .threads import run_parts, split

# Coarse-to-fine levels: k-means++ runs on the first, Lloyd on each, then on every colour.
# (A first level of 2^13 cells left K=256 0.5-0.9% above scikit-learn's full fit, too few cells per
# centre for the seeding; 2^14 matched it at the same cost.)
LEVEL_MAX_POINTS = (1 << 14, 1 << 16, 1 << 19)
# k-means++ starts tried on the coarsest level; the one with the lowest inertia there is refined.
COARSE_INITS = 4
# Bits of the finest coarse-level grid over all channels (2^20 cells, so the bincounts stay small).
_GRID_BITS = 20
# Pixels per block when packing colour codes (bounds the temporaries to a few MB).
_PIXEL_BLOCK = 1 << 17
# Distance blocks hold at most this many multiply-adds: below OpenBLAS's threading threshold
# (65536 x GEMM_MULTITHREAD_THRESHOLD 4), so each GEMM runs on one thread. Threaded GEMMs with an
# inner dimension of 4 were up to 50x slower on the shared 2-core machine.
_GEMM_SINGLE_THREAD_WORK = 1 << 18
# Distances per scan buffer in `_nearest_two` (1 MB of float32: stays in the cache).
_SCAN_ELEMENTS = 1 << 18
# Lloyd's per-point work is split over threads from this many points per thread (below, the
# hand-off costs more than it saves: 1.2x at 10,000 points, 1.8x at 40,000).
_PARALLEL_MIN_POINTS = 1 << 14
# Per-pixel passes (blocks of `_PIXEL_BLOCK`) are split over threads from this many blocks each.
_PARALLEL_MIN_BLOCKS = 4
# Below this many pixels, np.unique beats the 2^24-entry lookup table for RGB.
_RGB_TABLE_MIN_PIXELS = 1 << 17
# sRGB-space channels of an RGBA colour are premultiplied by alpha / 255.
_INV255 = 1.0 / 255.0


@dataclass(frozen=True, eq=False)
class ColorHistogram:
    """The distinct colours of one image and how many pixels have each.

    Build it once with `build_histogram` and pass it to `quantize_histogram` for every K tried.

    Attributes
    ----------
    colors : ndarray of shape (n, C), uint8
        Distinct colours, C = 3 (RGB) or 4 (RGBA), sorted by their packed code. For RGBA, every
        fully transparent pixel is counted as the one colour (0, 0, 0, 0).
    counts : ndarray of shape (n,), int64
        Pixels per distinct colour; sums to H*W.
    inverse : ndarray of shape (H, W), int32
        Row of `colors` for each pixel.
    features : ndarray of shape (n, d), float32
        Clustering coordinates of `colors` (d = C); see the module docstring.
    color_space : {"rgb", "oklab"}
    transparent_index : int or None
        Row of `colors` holding the transparent colour, or None when no pixel has alpha 0.
    """

    colors: np.ndarray
    counts: np.ndarray
    inverse: np.ndarray
    features: np.ndarray
    color_space: str
    transparent_index: int | None

    @property
    def shape(self) -> tuple[int, int]:
        return self.inverse.shape

    @property
    def n_pixels(self) -> int:
        return self.inverse.size

    @property
    def n_unique_colors(self) -> int:
        return len(self.colors)

    @property
    def n_channels(self) -> int:
        return self.colors.shape[1]


@dataclass(frozen=True, eq=False)
class Quantization:
    """The result of `quantize`: a palette and, for every pixel, its palette index.

    Attributes
    ----------
    palette : ndarray of shape (k, C), uint8
        k <= n_colors_requested; C = 3 for RGB input, 4 for RGBA input.
    indices : ndarray of shape (H, W), uint8
        Index of each pixel's colour in `palette`, always its nearest entry (in the clustering
        colour space) after rounding. None only for results computed without indices.
    counts : ndarray of shape (k,), int64
        Pixels per palette entry; every entry is used at least once.
    inertia : float
        Mean over pixels of the squared distance between the pixel and its palette colour, summed
        over channels, in sRGB 0-255 units (premultiplied for RGBA), whatever the colour space.
    n_iter : int
        Lloyd updates run on the full set of distinct colours (0 when the image had no more
        colours than requested); the cheap coarse-level iterations that choose the start are not
        counted.
    converged : bool
        True on strict or tolerance convergence, False when `max_iter` stopped it.
    history : list of float
        Inertia of the assignment before each full-level update (len == n_iter), in the
        clustering space's units (0-255 for RGB, OKLab units for "oklab"), before rounding.
    n_unique_colors : int
        Distinct colours of the input (all fully transparent pixels count as one).
    n_colors_requested : int
    color_space : {"rgb", "oklab"}
    lossless : bool
        True when the palette is exactly the input's distinct colours (indices reproduce it).
    transparent_index : int or None
        Index of the fully transparent entry (0, 0, 0, 0), or None.
    """

    palette: np.ndarray
    indices: np.ndarray | None
    counts: np.ndarray
    inertia: float
    n_iter: int
    converged: bool
    history: list[float]
    n_unique_colors: int
    n_colors_requested: int
    color_space: str
    lossless: bool
    transparent_index: int | None

    @property
    def n_colors(self) -> int:
        """Palette entries actually used (len(palette))."""
        return len(self.palette)


class ElbowPoint(NamedTuple):
    n_colors: int
    inertia: float


# ---------------------------------------------------------------------------------------------
# Public API: validate once here; the private functions below assume clean input.
# ---------------------------------------------------------------------------------------------


def build_histogram(pixels: np.ndarray, *, color_space: str = "rgb") -> ColorHistogram:
    """Count the distinct colours of an image, once, for any number of quantizations.

    Parameters
    ----------
    pixels : ndarray of shape (H, W, 3) or (H, W, 4), uint8
        sRGB(A) pixels.
    color_space : {"rgb", "oklab"}
        The space the colours will be clustered in.

    Returns
    -------
    ColorHistogram

    Raises
    ------
    InvalidOptions
        On a wrong dtype, shape or colour space.
    """
    _check_pixels(pixels)
    _check_color_space(color_space)
    return _build_histogram(pixels, color_space)


def quantize_histogram(
    histogram: ColorHistogram,
    n_colors: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-4,
    seed: int | None = 0,
) -> Quantization:
    """Quantize the image behind `histogram` to at most `n_colors` colours.

    Same parameters and result as `quantize`, minus the pixels and colour space, which the
    histogram carries. Use it to try many K on one image without recounting colours.
    """
    if not isinstance(histogram, ColorHistogram):
        raise InvalidOptions(f"histogram must be a ColorHistogram, got {type(histogram).__name__}")
    _check_k_options(n_colors, max_iter, tol, seed)
    return _quantize_histogram(histogram, int(n_colors), int(max_iter), float(tol), seed)


def quantize(
    pixels: np.ndarray,
    n_colors: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-4,
    seed: int | None = 0,
    color_space: str = "rgb",
) -> Quantization:
    """Reduce an image to at most `n_colors` colours with exact, weighted K-Means.

    Parameters
    ----------
    pixels : ndarray of shape (H, W, 3) or (H, W, 4), uint8
        sRGB(A) pixels. For RGBA, fully transparent pixels share one transparent palette entry.
    n_colors : int
        Palette size K, 2 <= K <= 256. With transparent pixels, one of the K is the transparent
        entry.
    max_iter : int, default 100
        Cap on Lloyd updates, >= 1.
    tol : float, default 1e-4
        Relative tolerance: stop when the total squared centre shift is at most ``tol`` times the
        mean per-channel variance of the pixels (0 means only strict convergence stops).
    seed : int or None, default 0
        Seed of the k-means++ generator; the same seed gives the same result.
    color_space : {"rgb", "oklab"}, default "rgb"
        Euclidean distance in sRGB, or in OKLab (perceptual).

    Returns
    -------
    Quantization
        ``palette`` (k, C) uint8, ``indices`` (H, W) uint8 and the statistics.

    Raises
    ------
    InvalidOptions
        On a bad dtype, shape, K, iteration cap, tolerance, seed or colour space.
    """
    _check_pixels(pixels)
    _check_color_space(color_space)
    _check_k_options(n_colors, max_iter, tol, seed)
    histogram = _build_histogram(pixels, color_space)
    return _quantize_histogram(histogram, int(n_colors), int(max_iter), float(tol), seed)


def elbow(
    pixels: "np.ndarray | ColorHistogram",
    ks,
    *,
    seed: int | None = 0,
    color_space: str = "rgb",
    max_iter: int = 100,
    tol: float = 1e-4,
) -> list[ElbowPoint]:
    """Inertia for several K from one colour histogram, for charts and automatic K.

    Parameters
    ----------
    pixels : ndarray of shape (H, W, 3|4), uint8, or ColorHistogram
        The image, or its histogram (then `color_space` must match the histogram's).
    ks : iterable of int
        The K values, each 2..256; results keep this order.
    seed, color_space, max_iter, tol
        As in `quantize`.

    Returns
    -------
    list of ElbowPoint
        ``(n_colors, inertia)`` per K, inertia as in `Quantization.inertia`.
    """
    _check_color_space(color_space)
    try:
        ks_list = [] if isinstance(ks, (str, bytes)) else list(ks)
    except TypeError:
        ks_list = []
    if not ks_list:
        raise InvalidOptions(f"ks must be a non-empty list of K values, got {ks!r}")
    ks = ks_list
    for k in ks:
        _check_k_options(k, max_iter, tol, seed)
    if isinstance(pixels, ColorHistogram):
        if pixels.color_space != color_space:
            raise InvalidOptions(
                f"color_space={color_space!r} does not match the histogram's {pixels.color_space!r}"
            )
        histogram = pixels
    else:
        _check_pixels(pixels)
        histogram = _build_histogram(pixels, color_space)
    return [
        ElbowPoint(int(k), _quantize_histogram(histogram, int(k), int(max_iter), float(tol), seed, with_indices=False).inertia)
        for k in ks
    ]


def _check_pixels(pixels) -> None:
    if not isinstance(pixels, np.ndarray):
        raise InvalidOptions(f"pixels must be a numpy array, got {type(pixels).__name__}")
    if pixels.dtype != np.uint8:
        raise InvalidOptions(f"pixels must have dtype uint8, got {pixels.dtype}")
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise InvalidOptions(f"pixels must have shape (H, W, 3) or (H, W, 4), got {pixels.shape}")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise InvalidOptions(f"pixels must not be empty, got shape {pixels.shape}")


def _check_color_space(color_space) -> None:
    if color_space not in COLOR_SPACES:
        raise InvalidOptions(f"color_space={color_space!r} must be one of {', '.join(COLOR_SPACES)}")


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _check_k_options(n_colors, max_iter, tol, seed) -> None:
    if not _is_int(n_colors) or not MIN_COLORS <= n_colors <= MAX_COLORS:
        raise InvalidOptions(f"n_colors={n_colors!r} must be between {MIN_COLORS} and {MAX_COLORS}")
    if not _is_int(max_iter) or max_iter < 1:
        raise InvalidOptions(f"max_iter={max_iter!r} must be an integer >= 1")
    if isinstance(tol, bool) or not isinstance(tol, Real) or not np.isfinite(tol) or tol < 0:
        raise InvalidOptions(f"tol={tol!r} must be a finite number >= 0")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise InvalidOptions(f"seed={seed!r} must be a non-negative integer or None")


# ---------------------------------------------------------------------------------------------
# Histogram
# ---------------------------------------------------------------------------------------------


def _pack_codes(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 -> (H*W,) uint32 colour codes; alpha-0 pixels all get code 0."""
    n_channels = pixels.shape[2]
    flat = pixels.reshape(-1, n_channels)
    codes = np.empty(flat.shape[0], dtype=np.uint32)

    def pack(start, stop):
        block = flat[start:stop]
        out = codes[start:stop]
        out[:] = block[:, 0]
        for channel in range(1, n_channels):
            out <<= 8
            out |= block[:, channel]
        if n_channels == 4:
            out[block[:, 3] == 0] = 0

    _for_each_block(flat.shape[0], pack)
    return codes


def _blocks(n: int, size: int = _PIXEL_BLOCK):
    """(start, stop) of consecutive blocks covering range(n)."""
    return ((start, min(start + size, n)) for start in range(0, n, size))


def _for_each_block(n: int, work, size: int = _PIXEL_BLOCK) -> list:
    """[work(start, stop) for each block of `_blocks(n, size)`], the blocks shared between threads.

    `work` must only write its own block's rows (or values that every thread writes alike).
    """
    bounds = np.array(list(_blocks(n, size)), dtype=np.intp).reshape(-1, 2)
    parts = run_parts(lambda part: [work(int(a), int(b)) for a, b in part], split(bounds, _PARALLEL_MIN_BLOCKS))
    return [result for part in parts for result in part]


def _unpack_codes(codes: np.ndarray, n_channels: int) -> np.ndarray:
    """(n,) codes -> (n, C) uint8, the inverse of `_pack_codes`."""
    colors = np.empty((codes.size, n_channels), dtype=np.uint8)
    for channel in range(n_channels):
        # astype keeps the low byte.
        colors[:, channel] = (codes >> np.uint32(8 * (n_channels - 1 - channel))).astype(np.uint8)
    return colors


def _build_histogram(pixels: np.ndarray, color_space: str) -> ColorHistogram:
    """`build_histogram` without validation.

    Per-pixel work runs block by block with intp indices (numpy's fast indexing path, and small
    temporaries); the uint32 code array is turned in place into the int32 inverse index.
    """
    height, width, n_channels = pixels.shape
    codes = _pack_codes(pixels)
    inverse = codes.view(np.int32)
    if n_channels == 3 and codes.size >= _RGB_TABLE_MIN_PIXELS:
        # 24-bit codes: mark the colours present in a 2^24 table instead of sorting every pixel.
        # A colour's row is its rank among the present codes: the set bits below it, from a 2 MB
        # bitmap (per-word prefix counts plus a popcount), not from a 64 MB int32 lookup table.
        seen = np.zeros(1 << 24, dtype=np.bool_)

        def mark(start, stop):
            seen[codes[start:stop].astype(np.intp)] = True  # threads only ever write True

        _for_each_block(codes.size, mark)
        distinct = np.flatnonzero(seen).astype(np.uint32)
        words = np.packbits(seen, bitorder="little").view(np.uint64)
        del seen
        prefix = np.zeros(words.size, dtype=np.int32)
        np.cumsum(np.bitwise_count(words[:-1]), out=prefix[1:])
        one = np.uint64(1)

        def rank(start, stop):
            block = codes[start:stop]
            word = (block >> 6).astype(np.intp)
            below = words[word] & ((one << (block & 63).astype(np.uint64)) - one)
            inverse[start:stop] = prefix[word] + np.bitwise_count(below)

        _for_each_block(codes.size, rank)
    else:
        distinct = np.unique(codes)

        def rank(start, stop):
            inverse[start:stop] = np.searchsorted(distinct, codes[start:stop])

        _for_each_block(codes.size, rank)
    counts = sum(
        _for_each_block(
            codes.size,
            lambda start, stop: np.bincount(inverse[start:stop].astype(np.intp), minlength=distinct.size),
            1 << 22,
        )
    )
    colors = _unpack_codes(distinct, n_channels)
    transparent_index = 0 if n_channels == 4 and colors[0, 3] == 0 else None
    return ColorHistogram(
        colors=colors,
        counts=counts,
        inverse=inverse.reshape(height, width),
        features=_features(colors, color_space),
        color_space=color_space,
        transparent_index=transparent_index,
    )


def _labels_to_indices(labels8: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """(n,) uint8 per distinct colour -> (H, W) uint8 per pixel, block by block."""
    out = np.empty(inverse.size, dtype=np.uint8)
    flat = inverse.reshape(-1)

    def gather(start, stop):
        out[start:stop] = labels8[flat[start:stop].astype(np.intp)]

    _for_each_block(flat.size, gather)
    return out.reshape(inverse.shape)


def _features(colors: np.ndarray, color_space: str) -> np.ndarray:
    """(n, C) uint8 colours -> (n, C) float32 clustering coordinates (module docstring)."""
    if color_space == "rgb":
        out = colors.astype(np.float32)
        if colors.shape[1] == 4:
            out[:, :3] *= out[:, 3:] * np.float32(_INV255)
        return out
    lab = _srgb_to_oklab(colors[:, :3])
    if colors.shape[1] == 3:
        return lab.astype(np.float32)
    alpha = colors[:, 3:] * _INV255
    return np.hstack([lab * alpha, alpha]).astype(np.float32)


def _srgb_units(colors: np.ndarray) -> np.ndarray:
    """(n, C) uint8 -> float64 coordinates the inertia is measured in (premultiplied for RGBA)."""
    out = colors.astype(np.float64)
    if colors.shape[1] == 4:
        out[:, :3] *= out[:, 3:] * _INV255
    return out


def _centers_to_palette(centers: np.ndarray, color_space: str, n_channels: int) -> np.ndarray:
    """(k, C) clustering-space centres -> (k, C) uint8 sRGB(A), rounded and clipped."""
    centers = centers.astype(np.float64)
    if n_channels == 4:
        alpha = np.clip(centers[:, 3:] if color_space == "oklab" else centers[:, 3:] * _INV255, 0.0, 1.0)
        color = centers[:, :3] / np.maximum(alpha, 1e-12)
    else:
        alpha, color = None, centers
    rgb = _oklab_to_srgb(color) if color_space == "oklab" else color
    palette = np.empty((len(centers), n_channels), dtype=np.uint8)
    palette[:, :3] = np.clip(np.rint(rgb), 0, 255)
    if alpha is not None:
        palette[:, 3] = np.rint(alpha[:, 0] * 255.0)
        palette[palette[:, 3] == 0, :3] = 0
    return palette


# ---------------------------------------------------------------------------------------------
# Quantization on a histogram
# ---------------------------------------------------------------------------------------------


def _quantize_histogram(
    histogram: ColorHistogram,
    n_colors: int,
    max_iter: int,
    tol: float,
    seed: int | None,
    *,
    with_indices: bool = True,
) -> Quantization:
    """`quantize_histogram` without validation."""
    colors, counts = histogram.colors, histogram.counts
    n_channels = histogram.n_channels
    t_index = histogram.transparent_index
    # Rows that are clustered: everything but the transparent colour (row 0 when present).
    first = 0 if t_index is None else 1
    slots = n_colors - first
    n_points = len(colors) - first

    if n_points <= slots:
        labels = np.arange(len(colors), dtype=np.int64)
        palette = colors.copy()
        lossless, n_iter, converged, history = True, 0, True, []
    else:
        points = histogram.features[first:]
        weights = counts[first:].astype(np.float64)
        rng = np.random.default_rng(seed)
        centers, state, n_iter, converged, history = _kmeans(points, weights, slots, max_iter, tol, rng)
        palette = _centers_to_palette(centers + state.mean, histogram.color_space, n_channels)
        # Re-assign to the rounded palette: the indices must be the nearest entry of what we ship.
        rounded = _features(palette, histogram.color_space).astype(np.float32) - state.mean
        state.move(rounded)
        used_rows = np.flatnonzero(np.bincount(state.labels, minlength=len(palette)))
        # Drop entries that are unused or duplicated by rounding; a duplicate's colours go to its
        # twin (same colour, same distance). Kept entries stay in their original order.
        _, first_pos, group = np.unique(palette[used_rows], axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first_pos)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        new_label = np.zeros(len(palette), dtype=np.int64)
        new_label[used_rows] = rank[group.ravel()]
        palette = palette[used_rows[first_pos[order]]]
        labels = np.empty(len(colors), dtype=np.int64)
        if first:
            # A translucent centre whose alpha rounds to 0 joins the one transparent entry.
            visible = palette[:, 3] > 0
            to_entry = np.where(visible, np.cumsum(visible), 0)
            palette = np.vstack([np.zeros((1, 4), dtype=np.uint8), palette[visible]])
            labels[first:] = to_entry[new_label[state.labels]]
            labels[0] = 0
        else:
            labels[:] = new_label[state.labels]
        lossless = False

    labels8 = labels.astype(np.uint8)
    entry_counts = np.bincount(labels8, weights=counts, minlength=len(palette)).astype(np.int64)
    if lossless:
        inertia = 0.0
    else:
        # Channel by channel on 1-D arrays (numpy is slow on a last axis of length 3 or 4).
        squared = np.zeros(len(colors))
        for color_j, entry_j in zip(_srgb_units(colors).T, _srgb_units(palette).T):
            diff = color_j - entry_j[labels]
            squared += diff * diff
        inertia = float(_dot(squared, counts) / histogram.n_pixels)
    indices = _labels_to_indices(labels8, histogram.inverse) if with_indices else None
    return Quantization(
        palette=palette,
        indices=indices,
        counts=entry_counts,
        inertia=inertia,
        n_iter=n_iter,
        converged=converged,
        history=history,
        n_unique_colors=len(colors),
        n_colors_requested=n_colors,
        color_space=histogram.color_space,
        lossless=lossless,
        transparent_index=0 if t_index is not None else None,
    )


# ---------------------------------------------------------------------------------------------
# Weighted k-means++ and Lloyd with Hamerly bounds (validated float32 input, n_points > k)
# ---------------------------------------------------------------------------------------------


def _kmeans(points, weights, k, max_iter, tol, rng):
    """Weighted K-Means on distinct colours. Assumes validated input with len(points) > k.

    Returns (centers (k, d) float32 relative to state.mean, state, n_iter, converged, history);
    `state` holds the labels of the returned centres and can move them (the rounded palette).
    """
    total = weights.sum()
    mean = (np.array([_dot(column, weights) for column in points.T]) / total).astype(np.float32)
    x = points - mean
    full = _Hamerly(x, weights)
    full.mean = mean
    # Mean per-channel variance = weighted mean of ||x - mean||^2 over the channels.
    tol_abs = float(_dot(full.xsq, weights)) / total / x.shape[1] * tol

    # Coarse to fine: k-means++ and Lloyd on count-weighted means of colour cells (cheap), then
    # Lloyd on every colour; the fine level then starts near its optimum, where the bounds prune well.
    levels = _coarse_levels(x, weights, k)
    # Several k-means++ starts on the coarsest level (cheap there); the best one is refined. The
    # starts run side by side on two threads, each from its own slice of the generator's numbers
    # (drawn up front, in the order one thread would draw them), so the result does not depend on
    # the thread count.
    n_starts = COARSE_INITS if len(levels[0][0]) < len(x) else 1
    uniforms = rng.random((n_starts, 1 + (k - 1) * _local_trials(k)))

    def run_starts(starts):
        found = []
        for start in starts:
            state = _Hamerly(*levels[0])
            centers, _, _, _ = _lloyd(state, _kmeans_plusplus(*levels[0], k, uniforms[start]), max_iter, tol_abs)
            found.append((state.inertia(centers), start, centers))
        return found

    runs = run_parts(run_starts, split(np.arange(n_starts), 1))
    _, _, centers = min((run for part in runs for run in part), key=lambda run: run[:2])  # ties: first start
    for points_l, weights_l in levels[1:]:
        centers, _, _, _ = _lloyd(_Hamerly(points_l, weights_l), centers, max_iter, tol_abs)
    centers, n_iter, converged, history = _lloyd(full, centers, max_iter, tol_abs)
    return centers, full, n_iter, converged, history


def _lloyd(state, centers, max_iter, tol_abs):
    """Lloyd iterations on `state` from `centers`; returns (centers, n_iter, converged, history)."""
    state.assign_full(centers)
    history: list[float] = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        history.append(state.inertia(centers))
        new_centers, empty = state.means(centers)
        if empty.size:
            # As scikit-learn: an empty cluster restarts at the points farthest from their centre.
            far = np.argpartition(state.upper, -empty.size)[-empty.size :]
            new_centers[empty] = state.x[far]
            centers = new_centers
            state.assign_full(centers)
            continue
        shift_total = float(((new_centers.astype(np.float64) - centers) ** 2).sum())
        changed = state.move(new_centers)
        centers = new_centers
        if changed == 0 or shift_total <= tol_abs:
            converged = True
            break
    return centers, n_iter, converged, history


def _coarse_levels(x, weights, k):
    """[(points, weights), ...] from coarsest to finest, the full set excluded (unless alone).

    One pass over the colours puts them in the cells of a ``2^b``-per-channel grid (b =
    `_GRID_BITS` // d) and sums their counts and coordinates per occupied cell; every coarser grid
    halves it (a cell's bits shifted right), so the coarser levels are built from those cell sums,
    not from the colours. Each level holds the count-weighted means of the occupied cells of the
    finest grid with at most `max_points` of them.
    """
    n, d = x.shape
    if n <= 2 * min(LEVEL_MAX_POINTS):
        return [(x, weights)]
    bits = _GRID_BITS // d
    key = np.zeros(n, dtype=np.intp)
    for column in x.T:
        # Per channel: numpy reduces an (n, 3) array along axis 0 an order of magnitude slower.
        lo, hi = float(column.min()), float(column.max())
        key <<= bits
        key |= ((column - lo) * (((1 << bits) - 1e-3) / max(hi - lo, 1e-12))).astype(np.intp)
    cell_weight = np.bincount(key, weights=weights)
    occupied = np.flatnonzero(cell_weight)
    sums = [np.bincount(key, weights=weights * column)[occupied] for column in x.T]
    cell_weight = cell_weight[occupied]
    mask = (1 << bits) - 1
    fields = [(occupied >> (bits * (d - 1 - j))) & mask for j in range(d)]

    levels = []
    size = n
    for max_points in reversed(LEVEL_MAX_POINTS):
        if size <= 2 * max_points:
            continue
        for b in range(bits, 1, -1):
            key = np.zeros(len(occupied), dtype=np.intp)
            for field in fields:
                key <<= b
                key |= field >> (bits - b)
            level_weight = np.bincount(key, weights=cell_weight)
            cells = np.flatnonzero(level_weight)
            if cells.size <= max_points:
                break
        else:
            break
        if cells.size < 4 * k:
            break
        level_weight = level_weight[cells]
        points = np.empty((cells.size, d), dtype=np.float32)
        for j in range(d):
            points[:, j] = np.bincount(key, weights=sums[j])[cells] / level_weight
        levels.insert(0, (points, level_weight))
        size = cells.size
    return levels or [(x, weights)]


def _local_trials(k):
    """Candidates tried per k-means++ centre (scikit-learn's greedy rule)."""
    return 2 + int(np.log(k))


def _kmeans_plusplus(points, weights, k, uniforms):
    """Greedy weighted k-means++ (scikit-learn's `_kmeans_plusplus`). Assumes >= k distinct points.

    `uniforms`: the 1 + (k - 1) * `_local_trials(k)` random numbers in [0, 1) it uses, in order.
    """
    n_local_trials = _local_trials(k)
    centers = np.empty((k, points.shape[1]), dtype=np.float32)
    p64 = points.astype(np.float64)
    cumulative = np.cumsum(weights)
    first = min(int(np.searchsorted(cumulative, uniforms[0] * cumulative[-1])), len(points) - 1)
    centers[0] = points[first]
    closest = _squared_distances(p64[first : first + 1], p64)[0]
    potential = float(_dot(closest, weights))
    for c in range(1, k):
        trials = uniforms[1 + (c - 1) * n_local_trials : 1 + c * n_local_trials]
        targets = trials * potential
        candidates = np.searchsorted(np.cumsum(weights * closest), targets)
        np.clip(candidates, None, len(points) - 1, out=candidates)
        distance = _squared_distances(p64[candidates], p64)
        np.minimum(closest, distance, out=distance)
        potentials = _dot(distance, weights)
        best = int(np.argmin(potentials))
        closest = distance[best]
        potential = float(potentials[best])
        centers[c] = points[candidates[best]]
    return centers


def _dot(a, b):
    """a (..., n) . b (n,) without BLAS: OpenBLAS threads dot products and GEMVs of more than about
    10,000 elements, which made the whole quantization up to 2x slower on the shared 2-core machine
    (threads spinning against the other processes); einsum's loop is single-threaded and as fast."""
    return np.einsum("...j,j->...", a, b)


def _squared_distances(a, b):
    """(m, d), (n, d) -> (m, n) squared distances, one channel at a time (d is 3 or 4)."""
    out = (b[None, :, 0] - a[:, 0, None]) ** 2
    for j in range(1, a.shape[1]):
        out += (b[None, :, j] - a[:, j, None]) ** 2
    return out


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


def _augment_columns(x):
    """(n, d) -> (d+1, n) float32: `_augment(x)` transposed, the layout `_nearest_two` scans."""
    out = np.ones((x.shape[1] + 1, len(x)), dtype=np.float32)
    out[:-1] = x.T
    return out


def _nearest_two(xat, xsq, centers, hint=None):
    """Nearest centre (intp) and squared distance to the second nearest, block by block.

    xat: (d+1, n) float32 from `_augment_columns`; xsq: (n,) squared norms; centers: (k, d);
    hint: (n,) each point's current centre, or None. Distances are laid out centres by points, one
    single-threaded GEMM per block, because numpy's min along the first axis is vectorised across
    the columns (about 10x faster than an argmin, or than a min along a short last axis). With a
    hint, an argmin is only run for the points whose hinted centre is not at the minimum (a few
    percent once Lloyd has settled) and a tie keeps the hinted centre; without one, the nearest is
    the first centre at the minimum.
    """
    n = xat.shape[1]
    cat = np.ascontiguousarray(_augment_centers(centers).T)
    k = len(cat)
    labels = np.empty(n, dtype=np.intp)
    d2 = np.empty(n, dtype=np.float32)
    if k == 1:
        labels[:] = 0
        d2[:] = np.inf
        return labels, d2
    # GEMMs small enough for one thread, written side by side into a scan buffer of about
    # `_SCAN_ELEMENTS` distances that the reductions then cover in one call each.
    block = max(64, _GEMM_SINGLE_THREAD_WORK // cat.size)
    chunk = max(block, (_SCAN_ELEMENTS // k) // block * block)
    buffer = np.empty((k, min(chunk, n)), dtype=np.float32)
    for start, stop in _blocks(n, chunk):
        dist = buffer[:, : stop - start]
        for a, b in _blocks(stop - start, block):
            np.matmul(cat, xat[:, start + a : start + b], out=dist[:, a:b])
        nearest = dist.min(axis=0)
        columns = np.arange(stop - start)
        if hint is None:
            best = (dist == nearest).argmax(axis=0)
        else:
            best = hint[start:stop].astype(np.intp)
            wrong = np.flatnonzero(dist[best, columns] > nearest)
            if wrong.size:
                best[wrong] = dist[:, wrong].argmin(axis=0)
        dist[best, columns] = np.inf
        dist.min(axis=0, out=d2[start:stop])
        labels[start:stop] = best
    d2 += xsq
    return labels, d2


class _Hamerly:
    """Labels, lazy Hamerly bounds and per-cluster sums for weighted Lloyd. Assumes validated input.

    x: (n, d) float32, centred; weights: (n,) float64. `mean` (set by the caller) is what was
    subtracted from x.

    Bounds are stored as of the last time each point was examined, with the cumulative centre
    shifts of that moment folded in: u0 = (upper bound on the distance to its centre) - (that
    centre's cumulative shift), l0 = (lower bound on the distance to any other centre) + (the
    cumulative largest shift M). The current bounds are then u0 + cum_shift[label] and l0 - M,
    one gather each. The gap max(l, s[label]) - u (s: half the distance from the centre to its nearest
    other centre) shrinks per iteration by at most the shift of the point's own centre plus the
    largest shift (l by at most the largest, s by at most half their sum), so a point only needs
    looking at once ``expiry = gap0 + S0[label] + M0 <= S[label] + M`` (S: cumulative shift of each
    centre, M: cumulative largest shift). Each iteration costs one pass over `expiry` and the
    labels plus work on the points that are due, instead of several passes over every point.
    (Counting the own centre's shift rather than a second largest one halved the points due on
    the 4096² photos at K=64: most centres move a tenth as far as the farthest-moving one.)
    """

    def __init__(self, x, weights):
        self.x = x
        self.xat = _augment_columns(x)
        self.xt = np.ascontiguousarray(x.T)
        self.weights = weights
        self.mean = None
        self.xsq = np.einsum("ij,ij->i", x, x)
        self.weighted_xt = self.xt * weights
        self.weighted_sq = weights * self.xsq
        # Slack for float32 rounding in ||x||^2 - 2 x.c + ||c||^2 (squared units).
        self.slack = 8 * float(np.finfo(np.float32).eps) * (float(self.xsq.max()) + 1.0)
        self.centers = None

    def assign_full(self, centers):
        self.centers = centers.astype(np.float32)
        n, k = len(self.x), len(centers)
        self.labels = np.empty(n, dtype=np.intp)
        self.u0 = np.empty(n)
        self.l0 = np.empty(n)

        def assign(part):
            rows = slice(part[0], part[-1] + 1)
            labels, d2 = _nearest_two(self.xat[:, rows], self.xsq[rows], self.centers)
            self.labels[rows] = labels
            self.u0[rows] = self._exact_distance(rows, labels)
            self.l0[rows] = np.sqrt(np.maximum(d2 - self.slack, 0.0))

        run_parts(assign, split(np.arange(n), _PARALLEL_MIN_POINTS))
        # Snapshots with the cumulative shifts folded in (one array each, fewer gathers per
        # iteration): upper = u0 + cum_shift[label], lower = l0 - cum_max.
        self.cum_shift = np.zeros(k)
        self.cum_max = 0.0
        self.expiry = self.l0 - self.u0
        self.cluster_weight = np.bincount(self.labels, weights=self.weights, minlength=k)
        self.cluster_sum = np.stack(
            [np.bincount(self.labels, weights=column, minlength=k) for column in self.weighted_xt], axis=1
        )
        self.cluster_sq = np.bincount(self.labels, weights=self.weighted_sq, minlength=k)

    @property
    def upper(self):
        """Current upper bounds of every point (used to pick far points for empty clusters)."""
        return self.u0 + self.cum_shift[self.labels]

    def _exact_distance(self, rows, labels):
        # Channel by channel on 1-D arrays: numpy is slow on a last axis of length 3 or 4.
        total = None
        for xj, cj in zip(self.xt, self.centers.T):
            term = xj[rows] - cj[labels]
            term *= term
            total = term if total is None else total + term
        return np.sqrt(total)

    def inertia(self, centers):
        """Weighted mean squared distance of the current labels to `centers`, from the sums."""
        c = centers.astype(np.float64)
        total = self.cluster_sq - 2 * (self.cluster_sum * c).sum(axis=1) + self.cluster_weight * (c * c).sum(axis=1)
        return float(max(total.sum(), 0.0) / self.cluster_weight.sum())

    def means(self, centers):
        """(new centres float32, indices of empty clusters)."""
        new = centers.astype(np.float64).copy()
        filled = self.cluster_weight > 0
        new[filled] = self.cluster_sum[filled] / self.cluster_weight[filled, None]
        return new.astype(np.float32), np.flatnonzero(~filled)

    def move(self, new_centers):
        """Move the centres, re-examine only points whose bounds allow a change; return #changed."""
        new_centers = new_centers.astype(np.float32)
        shift = np.sqrt(((new_centers.astype(np.float64) - self.centers) ** 2).sum(axis=1))
        self.centers = new_centers
        k = len(new_centers)
        self.cum_shift += shift
        self.cum_max += float(shift.max())
        due = np.flatnonzero(self.expiry <= (self.cum_shift + self.cum_max)[self.labels])
        if due.size == 0:
            return 0
        # Half the distance from each centre to its nearest other centre (Hamerly's s).
        between = np.zeros((k, k))
        for cj in new_centers.T.astype(np.float64):
            between += (cj[:, None] - cj[None, :]) ** 2
        np.fill_diagonal(between, np.inf)
        half_gap = (0.5 * np.sqrt(between.min(axis=1))).astype(np.float32)
        # The due points are examined in parts on two threads (disjoint rows); the cluster sums
        # are updated afterwards, in this thread.
        parts = run_parts(lambda part: self._examine(part, half_gap), split(due, _PARALLEL_MIN_POINTS))
        moved, old, new = (np.concatenate(column) for column in zip(*parts))
        if moved.size:
            self._transfer(moved, old, new, k)
        return int(moved.size)

    def _examine(self, due, half_gap):
        """Check the bounds of the `due` points, re-scan those that fail, refresh their bounds and
        labels; return (rows that changed cluster, their old labels, their new labels)."""
        labels = self.labels[due]
        upper = (self.u0[due] + self.cum_shift[labels]).astype(np.float32)
        lower = (self.l0[due] - self.cum_max).astype(np.float32)
        bound = np.maximum(half_gap[labels], lower)
        pos = np.flatnonzero(upper > bound)
        moved = old = new = np.empty(0, dtype=np.intp)
        if pos.size:
            tight = self._exact_distance(due[pos], labels[pos])
            upper[pos] = tight
            pos = pos[tight > bound[pos]]
        if pos.size:
            rows = due[pos]
            old_labels = labels[pos]
            new_labels, d2 = _nearest_two(np.take(self.xat, rows, axis=1), self.xsq[rows], self.centers, old_labels)
            labels[pos] = new_labels
            upper[pos] = self._exact_distance(rows, new_labels)
            lower[pos] = np.sqrt(np.maximum(d2 - self.slack, 0.0))
            changed = new_labels != old_labels
            moved, old, new = rows[changed], old_labels[changed], new_labels[changed]
            self.labels[moved] = new
        # Refresh the snapshots of every point looked at.
        self.u0[due] = upper - self.cum_shift[labels]
        self.l0[due] = lower + self.cum_max
        # Hamerly's test passes while max(s[label], lower) >= upper (expiry rule: class docstring).
        slack = np.maximum(half_gap[labels], lower).astype(np.float64) - upper
        self.expiry[due] = slack + self.cum_shift[labels] + self.cum_max
        return moved, old, new

    def _transfer(self, rows, old, new, k):
        """Incrementally move `rows` from clusters `old` to `new` in the per-cluster sums."""
        for values, target in (
            (self.weights[rows], self.cluster_weight),
            (self.weighted_sq[rows], self.cluster_sq),
        ):
            target -= np.bincount(old, weights=values, minlength=k)
            target += np.bincount(new, weights=values, minlength=k)
        for j in range(self.x.shape[1]):
            values = self.weighted_xt[j][rows]
            self.cluster_sum[:, j] -= np.bincount(old, weights=values, minlength=k)
            self.cluster_sum[:, j] += np.bincount(new, weights=values, minlength=k)
