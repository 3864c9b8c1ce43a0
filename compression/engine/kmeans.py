"""Exact K-Means colour quantization: weighted Lloyd on the colour histogram.

Every pixel counts. The image is reduced once to its distinct colours and how many pixels have
each (`build_histogram`); weighted K-Means on those colours is exactly K-Means on all pixels,
because a pixel's contribution to every centre and to the inertia depends only on its colour.
The float work therefore scales with the number of distinct colours, not with the pixel count:
per pixel we keep only an int32 histogram index and the final uint8 palette index.

Algorithm (modelled on scikit-learn's ``sklearn/cluster/_kmeans.py``):

- Coarse to fine: the distinct colours are grouped into the occupied cells of a grid (up to
  `LEVEL_MAX_POINTS` cells per level, count-weighted cell means). One pass over the colours sums
  them into the cells of the finest grid (2^`_GRID_BITS` cells); every coarser grid is built from
  those cell sums by shifting the cell coordinates, not from the colours. k-means++ seeding (greedy,
  ``2 + log(k)`` local trials, weighted by pixel counts) and Lloyd run on the coarsest level,
  `COARSE_INITS` times, and the start with the lowest inertia there is refined level by level and
  finally by Lloyd on every distinct colour. The coarse levels only choose the starting centres; the
  result is a fixed point (or tolerance stop) of Lloyd on all pixels.
- k-means++ and Lloyd run in C (`native`, compiled by `make`): numpy spent its time on the dozen
  passes each iteration makes over the colours whose bounds fail, which in C is one. Lloyd keeps
  Hamerly's two bounds per colour (upper to its centre, lower to every other centre, moved by how
  far the centres moved, with Hamerly's half-distance to the nearest other centre) and looks at a
  colour again only when they may have crossed, which after the first iterations is a thin
  boundary layer. A colour whose bounds fail is searched "Exponion" style: only centres within
  ``2u + gap`` of its centre can be nearer (u: its exact distance, gap: that centre's distance to
  its nearest other centre), and each centre keeps the others sorted by distance, so the search
  stops at the first one beyond that radius. Cluster sums are updated for the colours that
  changed cluster. Distances are exact (double precision); the bounds only prune. Large levels
  are split into fixed chunks over `threads.THREADS` threads; results do not depend on the
  thread count. Ties keep a colour's current centre.
- Fixed costs (they dominate at K=16), also in C where numpy was slow: the histogram of RGB
  pixels ranks each pixel's 24-bit code in a 2 MB bitmap of the present codes (per-word prefix
  counts plus a popcount) instead of a 64 MB int32 lookup table or a sort; RGBA does the same for
  its opaque pixels and hashes the translucent ones (only their distinct codes are sorted); the
  finest coarse grid is summed in one pass. The remaining reductions over the colours go through `_dot`
  (einsum), never through BLAS dot/GEMV, which OpenBLAS threads above ~10,000 elements and which
  then spun against the other processes on the shared machine.
- Measured and rejected in numpy before the C loops (figures in docs/benchmarks.md): Kanungo et
  al.'s filtering on an octree of the colours, Yinyang group bounds, finer intermediate levels,
  fewer k-means++ starts (1 or 2 instead of `COARSE_INITS` = 4 lost the quality margin over
  scikit-learn at K=256).
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

Floating point: distinct colours are stored in float32 (their clustering coordinates), distances,
bounds, centres and sums are float64, so results are exact up to rounding (near-ties may resolve
either way).
"""

from dataclasses import dataclass
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np

from . import native, threads
from .colorspace import _oklab_to_srgb, _srgb_to_oklab
from .errors import InvalidOptions
from .presets import COLOR_SPACES, INITS, MAX_COLORS, MIN_COLORS
from .threads import run_parts, split

# Coarse-to-fine levels: k-means++ runs on the first, Lloyd on each, then on every colour.
# (A first level of 2^13 cells left K=256 0.5-0.9% above scikit-learn's full fit, too few cells per
# centre for the seeding; 2^14 matched it at the same cost.)
LEVEL_MAX_POINTS = (1 << 14, 1 << 16, 1 << 19)
# k-means++ starts tried on the coarsest level; the one with the lowest inertia there is refined.
COARSE_INITS = 4
# Bits of the finest coarse-level grid over all channels (2^20 cells, so the bincounts stay small).
_GRID_BITS = 20
# Pixels per block of the per-pixel gathers (bounds the temporaries to a few MB).
_PIXEL_BLOCK = 1 << 17
# Per-pixel passes (blocks of `_PIXEL_BLOCK`) are split over threads from this many blocks each.
_PARALLEL_MIN_BLOCKS = 4
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
    init: str = "k-means++",
) -> Quantization:
    """Quantize the image behind `histogram` to at most `n_colors` colours.

    Same parameters and result as `quantize`, minus the pixels and colour space, which the
    histogram carries. Use it to try many K on one image without recounting colours.
    """
    if not isinstance(histogram, ColorHistogram):
        raise InvalidOptions(f"histogram must be a ColorHistogram, got {type(histogram).__name__}")
    _check_k_options(n_colors, max_iter, tol, seed)
    _check_init(init)
    return _quantize_histogram(histogram, int(n_colors), int(max_iter), float(tol), seed, init=init)


def quantize(
    pixels: np.ndarray,
    n_colors: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-4,
    seed: int | None = 0,
    color_space: str = "rgb",
    init: str = "k-means++",
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
    init : {"k-means++", "random"}, default "k-means++"
        Starting centres: k-means++ seeding, or random pixels (distinct colours drawn without
        replacement with probability proportional to their pixel counts, as the classic scripts
        start from random pixels). Either way `COARSE_INITS` starts are tried on the coarsest level.

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
    _check_init(init)
    histogram = _build_histogram(pixels, color_space)
    return _quantize_histogram(histogram, int(n_colors), int(max_iter), float(tol), seed, init=init)


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


def _check_init(init) -> None:
    if init not in INITS:
        raise InvalidOptions(f"init={init!r} must be one of {', '.join(INITS)}")


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
    """(n,) codes (channel 0 in the high byte) -> (n, C) uint8 colours."""
    colors = np.empty((codes.size, n_channels), dtype=np.uint8)
    for channel in range(n_channels):
        # astype keeps the low byte.
        colors[:, channel] = (codes >> np.uint32(8 * (n_channels - 1 - channel))).astype(np.uint8)
    return colors


def _build_histogram(pixels: np.ndarray, color_space: str) -> ColorHistogram:
    """`build_histogram` without validation.

    In C, without sorting the pixels: RGB ranks each pixel's 24-bit code in a 2 MB bitmap of the
    present codes (`native.rgb_histogram`); RGBA does the same for opaque pixels and hashes the
    translucent ones, then merges the two sorted code lists (`native.rgba_histogram`).
    """
    if pixels.shape[2] == 3:
        distinct, counts, inverse = native.rgb_histogram(pixels, threads.THREADS)
    else:
        distinct, counts, inverse = native.rgba_histogram(pixels, threads.THREADS)
    n_channels = pixels.shape[2]
    colors = _unpack_codes(distinct, n_channels)
    transparent_index = 0 if n_channels == 4 and colors[0, 3] == 0 else None
    return ColorHistogram(
        colors=colors,
        counts=counts,
        inverse=inverse,
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
    init: str = "k-means++",
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
        centers, mean, state, n_iter, converged, history = _kmeans(points, weights, slots, max_iter, tol, rng, init)
        palette = _centers_to_palette(centers + mean, histogram.color_space, n_channels)
        # Re-assign to the rounded palette: the indices must be the nearest entry of what we ship.
        rounded = _features(palette, histogram.color_space).astype(np.float32) - mean
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
# Weighted K-Means: levels and starts here, k-means++ and Lloyd in `native` (n_points > k)
# ---------------------------------------------------------------------------------------------


def _kmeans(points, weights, k, max_iter, tol, rng, init="k-means++"):
    """Weighted K-Means on distinct colours. Assumes validated input with len(points) > k.

    Returns (centers (k, d) float64 relative to `mean`, mean, state, n_iter, converged, history);
    `state` holds the labels of the returned centres and can move them (the rounded palette).
    """
    total = weights.sum()
    mean = (np.array([_dot(column, weights) for column in points.T]) / total).astype(np.float32)
    x = points - mean
    # Mean per-channel variance = weighted mean of ||x - mean||^2 over the channels.
    tol_abs = float(_dot(np.einsum("ij,ij->i", x, x), weights)) / total / x.shape[1] * tol

    # Coarse to fine: k-means++ and Lloyd on count-weighted means of colour cells (cheap), then
    # Lloyd on every colour; the fine level then starts near its optimum, where the bounds prune well.
    levels = _coarse_levels(x, weights, k)
    # Several k-means++ starts on the coarsest level (cheap there); the best one is refined. The
    # starts run side by side on two threads, each from its own slice of the generator's numbers
    # (drawn up front, in the order one thread would draw them), so the result does not depend on
    # the thread count.
    n_starts = COARSE_INITS if len(levels[0][0]) < len(x) else 1
    n_trials = _local_trials(k)
    if init == "random":
        # Random pixels: distinct colours drawn by pixel count, without replacement (never twice).
        drawn = [rng.choice(len(x), size=k, replace=False, p=weights / total) for _ in range(n_starts)]
    else:
        uniforms = rng.random((n_starts, 1 + (k - 1) * n_trials))

    def starting_centers(start):
        if init == "random":
            return x[drawn[start]].astype(np.float64)
        return native.kmeans_plusplus(*levels[0], k, n_trials, uniforms[start])

    def run_starts(starts):
        found = []
        for start in starts:
            seeds = starting_centers(start)
            centers, _, _, _, inertia = native.LloydState(*levels[0], k).lloyd(seeds, max_iter, tol_abs)
            found.append((inertia, start, centers))
        return found

    runs = run_parts(run_starts, split(np.arange(n_starts), 1))
    _, _, centers = min((run for part in runs for run in part), key=lambda run: run[:2])  # ties: first start
    for points_l, weights_l in levels[1:]:
        centers = native.LloydState(points_l, weights_l, k, threads.THREADS).lloyd(centers, max_iter, tol_abs)[0]
    full = native.LloydState(x, weights, k, threads.THREADS)
    centers, n_iter, converged, history, _ = full.lloyd(centers, max_iter, tol_abs)
    return centers, mean, full, n_iter, converged, history


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
    cell_weight, cell_sums = native.grid_sums(x, weights, bits)
    occupied = np.flatnonzero(cell_weight)
    sums = list(cell_sums[:, occupied])
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


def _dot(a, b):
    """a (..., n) . b (n,) without BLAS: OpenBLAS threads dot products and GEMVs of more than about
    10,000 elements, which made the whole quantization up to 2x slower on the shared 2-core machine
    (threads spinning against the other processes); einsum's loop is single-threaded and as fast."""
    return np.einsum("...j,j->...", a, b)
