"""Remap pixels to a palette: nearest colour, or Floyd-Steinberg error diffusion.

Distances are measured in the clustering space of `kmeans` (sRGB, or OKLab; premultiplied by
alpha for RGBA), so `remap(pixels, q.palette)` with dither 0 gives `q.indices` (up to exact ties).

Floyd-Steinberg is sequential, but only along anti-diagonals: pixel (y, x) receives error from
(y, x-1), (y-1, x-1), (y-1, x) and (y-1, x+1), whose "time" t = 2y + x is smaller. All pixels with
the same t are therefore independent, and the image is processed in 2(H-1) + W wavefronts, each one
vectorised numpy step; the result equals the sequential scan (up to float rounding). The pending
error lives in a ring of 4 wavefront rows indexed by y (a wavefront holds at most one pixel per
row), so the extra memory is O(H), not O(H×W).
"""

import numpy as np

from .errors import InvalidOptions
from .kmeans import _blocks, _build_histogram, _check_color_space, _check_pixels, _features, _labels_to_indices

# Floyd-Steinberg weights: right, below-left, below, below-right.
_FS_RIGHT, _FS_BELOW_LEFT, _FS_BELOW, _FS_BELOW_RIGHT = 7 / 16, 3 / 16, 5 / 16, 1 / 16
# Distance blocks hold at most this many multiply-adds: below OpenBLAS's threading threshold
# (65536 x GEMM_MULTITHREAD_THRESHOLD 4), so each GEMM runs on one thread. Threaded GEMMs with an
# inner dimension of 4 were up to 50x slower on the shared 2-core machine.
_GEMM_SINGLE_THREAD_WORK = 1 << 18


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
        Floyd-Steinberg strength 0..1 (the diffused error is multiplied by it); 0 is plain nearest
        colour.
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
    """Floyd-Steinberg by anti-diagonal wavefronts (module docstring). Assumes validated input."""
    height, width, n_channels = pixels.shape
    flat = pixels.reshape(-1, n_channels)
    centers = _features(palette, color_space).astype(np.float32)
    # One GEMM gives -2 x.c + ||c||^2 (ones column appended to the pixels, see kmeans._augment).
    centers_aug = _augment_centers(centers)
    # Keep the wanted colour inside the palette's bounding box so the error cannot run away.
    low, high = centers.min(axis=0), centers.max(axis=0)
    has_alpha = n_channels == 4
    transparent_entry = int(np.argmin(palette[:, 3])) if has_alpha else -1
    weights = np.float32(strength) * np.array([_FS_RIGHT, _FS_BELOW_LEFT, _FS_BELOW, _FS_BELOW_RIGHT], dtype=np.float32)

    indices = np.empty(height * width, dtype=np.uint8)
    # ring[t % 4, y] = error pending for the pixel of wavefront t in row y (rows padded by 1).
    ring = np.zeros((4, height + 1, n_channels), dtype=np.float32)
    row_step = width - 2  # flat index of (y, t - 2y) is t + y * (width - 2)
    for t in range(2 * (height - 1) + width):
        y0 = max(0, (t - width + 2) // 2)  # smallest y with x = t - 2y <= width - 1
        y1 = min(height - 1, t // 2)  # largest y with x >= 0
        rows = np.arange(y0, y1 + 1)
        flat_index = t + rows * row_step
        colors = flat[flat_index]
        pending = ring[t % 4, y0 : y1 + 1]
        wanted = _augment(_features(colors, color_space))
        wanted[:, :-1] += pending
        np.clip(wanted[:, :-1], low, high, out=wanted[:, :-1])
        chosen = _nearest(wanted, centers_aug)
        wanted = wanted[:, :-1]
        error = wanted - centers[chosen]
        if has_alpha:
            clear = colors[:, 3] == 0
            chosen[clear] = transparent_entry
            error[clear] = 0.0
        indices[flat_index] = chosen
        pending[:] = 0.0
        # Right neighbour (y, x+1) is on wavefront t+1; the three below (y+1, ...) on t+1, t+2, t+3.
        ring[(t + 1) % 4, y0 : y1 + 1] += weights[0] * error
        # Below-left of a pixel at x = 0 does not exist: drop it (its ring slot is reused later).
        last = y1 + 1 if t % 2 or t // 2 > height - 1 else y1
        ring[(t + 1) % 4, y0 + 1 : last + 1] += weights[1] * error[: last - y0]
        ring[(t + 2) % 4, y0 + 1 : y1 + 2] += weights[2] * error
        ring[(t + 3) % 4, y0 + 1 : y1 + 2] += weights[3] * error
    return indices.reshape(height, width)


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
