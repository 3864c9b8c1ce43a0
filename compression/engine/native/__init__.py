"""The engine's compiled inner loops: k-means++, exact Lloyd, the colour histograms, the
coarse grid's sums (kmeans.c), dithering (remap.c) and PSNR/SSIM (metrics.c).

numpy spent its time on the dozen passes each Lloyd iteration makes over the colours whose
bounds fail; in C each colour is one pass (docs/benchmarks.md, "The C loops"). pip builds them
(`pip install -e .`, which `make` runs) with cffi in API mode from `engine_native.h`, the one
declaration of every exported function (build.py). C calls release the GIL.

The library is loaded on the first call that needs it, never at import: Django, the admin and
every page that does not compress work without it. `status()` says whether it can be used and,
when not, why and how to build it; a call that needs it raises `NativeUnavailable` (an
EngineError, so a job fails with that message).
"""

import importlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EngineError
from .sources import build_id

_HERE = Path(__file__).resolve().parent
BUILD_COMMAND = "pip install -e .  (or `make native`; needs a C compiler such as gcc)"


class NativeUnavailable(EngineError):
    """The compiled library is missing, or was built from other sources than those beside it."""


@dataclass(frozen=True)
class NativeStatus:
    ok: bool
    message: str  # what is wrong and the command that fixes it; "" when ok
    build_id: str | None  # of the loaded library


_lock = threading.Lock()
_loaded: tuple | None = None  # (ffi, lib) once loaded
_status: NativeStatus | None = None


def _load() -> NativeStatus:
    global _loaded
    try:
        _native = importlib.import_module(f"{__name__}._native")
    except ImportError as exc:
        return NativeStatus(
            False,
            f"The engine's compiled library (compression.engine.native._native) is missing ({exc}). "
            f"Build it with: {BUILD_COMMAND}",
            None,
        )
    built = _native.ffi.string(_native.lib.native_build_id()).decode()
    expected = build_id()
    if expected is not None and built != expected:
        return NativeStatus(
            False,
            f"The engine's compiled library {Path(_native.__file__).name} was built from other sources "
            f"(build {built}, sources {expected}). Rebuild it with: {BUILD_COMMAND}",
            built,
        )
    _loaded = (_native.ffi, _native.lib)
    return NativeStatus(True, "", built)


def status() -> NativeStatus:
    """Whether the compiled library can be used (loads it on the first call)."""
    global _status
    if _status is None:
        with _lock:
            if _status is None:
                _status = _load()
    return _status


def _lib():
    """(ffi, lib), or NativeUnavailable with the reason and the build command."""
    state = status()
    if not state.ok:
        raise NativeUnavailable(state.message)
    return _loaded


def _ptr(ffi, array: np.ndarray, kind: str):
    """A C pointer to `array`'s first element (the caller keeps `array` alive)."""
    return ffi.cast(kind, array.ctypes.data)


def _check(status_code: int) -> int:
    if status_code < 0:
        raise MemoryError("the quantizer ran out of memory")
    return status_code


class LloydState:
    """Labels, Hamerly bounds and per-cluster sums of weighted points, kept between calls.

    x: (n, d) float32 with d = 3 or 4; weights: (n,) float64, all > 0; k: centres (1..256);
    threads: how many threads one call may use (results do not depend on it).
    """

    def __init__(self, x: np.ndarray, weights: np.ndarray, k: int, threads: int = 1):
        ffi, self._c = _lib()
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        n, d = self.x.shape
        if d not in (3, 4):
            raise ValueError(f"points must have 3 or 4 channels, got {d}")
        self.labels = np.zeros(n, dtype=np.int32)
        self.upper = np.zeros(n)
        self.lower = np.zeros(n)
        self.centers = np.zeros((k, d))
        self.cluster_sum = np.zeros((k, d))
        self.cluster_weight = np.zeros(k)
        self.cluster_sq = np.zeros(k)
        self._ffi = ffi
        self._state = ffi.new("km_state *", {
            "n": n, "d": d, "k": k, "n_threads": max(1, int(threads)),
            "x": _ptr(ffi, self.x, "float *"), "w": _ptr(ffi, self.weights, "double *"),
            "labels": _ptr(ffi, self.labels, "int32_t *"),
            "upper": _ptr(ffi, self.upper, "double *"), "lower": _ptr(ffi, self.lower, "double *"),
            "centers": _ptr(ffi, self.centers, "double *"), "sums": _ptr(ffi, self.cluster_sum, "double *"),
            "weight": _ptr(ffi, self.cluster_weight, "double *"), "sq": _ptr(ffi, self.cluster_sq, "double *"),
        })

    def assign(self, centers: np.ndarray) -> None:
        """Label every point with its nearest centre (ties: see kmeans.c) and set the sums."""
        self.centers[:] = centers
        _check(self._c.km_assign(self._state))

    def move(self, centers: np.ndarray) -> int:
        """Move the centres of an assigned state; re-label only where the bounds allow a change.

        Returns how many points changed cluster (a tie keeps the current one)."""
        new = np.ascontiguousarray(centers, dtype=np.float64)
        return _check(self._c.km_move(self._state, _ptr(self._ffi, new, "double *")))

    def lloyd(self, centers: np.ndarray, max_iter: int, tol_abs: float):
        """Lloyd from `centers` (assign, then update and re-assign until converged).

        Returns (centres (k, d) float64, n_iter, converged, history, inertia of the result)."""
        ffi = self._ffi
        self.centers[:] = centers
        history = np.zeros(max_iter)
        n_iter = ffi.new("int32_t *")
        final = ffi.new("double *")
        converged = _check(
            self._c.km_lloyd(self._state, max_iter, tol_abs, _ptr(ffi, history, "double *"), n_iter, final)
        )
        return self.centers.copy(), n_iter[0], bool(converged), history[: n_iter[0]].tolist(), final[0]


def kmeans_plusplus(x: np.ndarray, weights: np.ndarray, k: int, n_trials: int, uniforms: np.ndarray) -> np.ndarray:
    """Greedy weighted k-means++ centres (k, d) float64; `uniforms` as in kmeans.c."""
    ffi, lib = _lib()
    x = np.ascontiguousarray(x, dtype=np.float32)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    uniforms = np.ascontiguousarray(uniforms, dtype=np.float64)
    if uniforms.size < 1 + (k - 1) * n_trials:
        raise ValueError("not enough uniforms for k-means++")
    centers = np.zeros((k, x.shape[1]))
    _check(lib.km_plusplus(
        len(x), x.shape[1], _ptr(ffi, x, "float *"), _ptr(ffi, weights, "double *"), k, n_trials,
        _ptr(ffi, uniforms, "double *"), _ptr(ffi, centers, "double *"),
    ))
    return centers


_CODE_WORDS = 1 << 18  # 2^24 bits


def rgb_histogram(pixels: np.ndarray, threads: int = 1):
    """Distinct colours of RGB pixels: (codes (n,) uint32 sorted, counts (n,) int64, inverse (H, W) int32).

    A colour's code is r<<16 | g<<8 | b; `inverse` holds each pixel's row in `codes`. Marks the
    codes in a 2 MB bitmap, then ranks each pixel's code by the set bits below it.
    """
    ffi, lib = _lib()
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    n = pixels.shape[0] * pixels.shape[1]
    bits = np.zeros(_CODE_WORDS, dtype=np.uint64)
    prefix = np.empty(_CODE_WORDS, dtype=np.int32)
    pixel_ptr = _ptr(ffi, pixels, "uint8_t *")
    bits_ptr, prefix_ptr = _ptr(ffi, bits, "uint64_t *"), _ptr(ffi, prefix, "int32_t *")
    n_distinct = _check(lib.km_histogram_mark(n, pixel_ptr, threads, bits_ptr, prefix_ptr))
    inverse = np.empty(pixels.shape[:2], dtype=np.int32)
    codes = np.empty(n_distinct, dtype=np.uint32)
    counts = np.zeros(n_distinct, dtype=np.int64)
    _check(lib.km_histogram_rank(
        n, pixel_ptr, threads, bits_ptr, prefix_ptr, n_distinct,
        _ptr(ffi, inverse, "int32_t *"), _ptr(ffi, codes, "uint32_t *"), _ptr(ffi, counts, "int64_t *"),
    ))
    return codes, counts, inverse


def rgba_histogram(pixels: np.ndarray, threads: int = 1):
    """Distinct colours of RGBA pixels, as `rgb_histogram` returns them for RGB.

    A colour's code is r<<24 | g<<16 | b<<8 | a, and every fully transparent pixel has code 0.
    Opaque pixels are marked in the RGB bitmap, translucent ones in a hash table sized to twice
    their count; the two sorted code lists are merged (kmeans.c), so nothing sorts the pixels.
    """
    ffi, lib = _lib()
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    n = height * width
    alpha = pixels[..., 3]
    n_translucent_pixels = n - int(np.count_nonzero(alpha == 255)) - int(np.count_nonzero(alpha == 0))
    table_bits = max(4, int(2 * n_translucent_pixels).bit_length())
    bits = np.zeros(_CODE_WORDS, dtype=np.uint64)
    prefix = np.empty(_CODE_WORDS, dtype=np.int32)
    table = np.zeros(1 << table_bits, dtype=np.uint32)
    found = np.zeros(3, dtype=np.int64)  # distinct opaque, distinct translucent, transparent pixels
    pixel_ptr, table_ptr = _ptr(ffi, pixels, "uint8_t *"), _ptr(ffi, table, "uint32_t *")
    bits_ptr, prefix_ptr = _ptr(ffi, bits, "uint64_t *"), _ptr(ffi, prefix, "int32_t *")
    _check(lib.km_rgba_histogram_mark(n, pixel_ptr, threads, bits_ptr, prefix_ptr, table_ptr, table_bits,
                                      _ptr(ffi, found, "int64_t *")))
    n_opaque, n_translucent, n_transparent = (int(v) for v in found)
    has_transparent = int(n_transparent > 0)
    n_distinct = has_transparent + n_opaque + n_translucent
    inverse = np.empty((height, width), dtype=np.int32)
    codes = np.empty(n_distinct, dtype=np.uint32)
    counts = np.zeros(n_distinct, dtype=np.int64)
    _check(lib.km_rgba_histogram_rank(
        n, pixel_ptr, threads, bits_ptr, prefix_ptr, n_opaque, table_ptr, table_bits, n_translucent,
        has_transparent, _ptr(ffi, inverse, "int32_t *"), _ptr(ffi, codes, "uint32_t *"), _ptr(ffi, counts, "int64_t *"),
    ))
    return codes, counts, inverse


def grid_sums(x: np.ndarray, weights: np.ndarray, bits: int):
    """Weights and weighted coordinate sums of points per cell of a 2^bits-per-channel grid over
    the points' range (see kmeans.c). x: (n, d) float32. Returns (cell_weight (2^(bits*d),),
    cell_sums (d, 2^(bits*d))), channel 0 in the key's high bits."""
    ffi, lib = _lib()
    x = np.ascontiguousarray(x, dtype=np.float32)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    d = x.shape[1]
    cell_weight = np.zeros(1 << (bits * d))
    cell_sums = np.zeros((d, 1 << (bits * d)))
    lib.km_grid_sums(
        len(x), d, _ptr(ffi, x, "float *"), _ptr(ffi, weights, "double *"), bits,
        _ptr(ffi, cell_weight, "double *"), _ptr(ffi, cell_sums, "double *"),
    )
    return cell_weight, cell_sums


# --- dithering (remap.c) ---


def contrast_levels(pixels: np.ndarray, table: np.ndarray, threads: int = 1) -> np.ndarray:
    """(H, W) uint8 damping level of each pixel: `table` (511,) uint8 at the largest second
    difference (any channel, horizontal or vertical) in its 3×3 neighbourhood. See remap.c."""
    ffi, lib = _lib()
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    table = np.ascontiguousarray(table, dtype=np.uint8)
    if table.shape != (511,):
        raise ValueError(f"the damping table must have 511 levels, got {table.shape}")
    height, width, channels = pixels.shape
    levels = np.empty((height, width), dtype=np.uint8)
    _check(lib.rm_contrast_levels(
        height, width, channels, _ptr(ffi, pixels, "uint8_t *"), _ptr(ffi, table, "uint8_t *"),
        max(1, int(threads)), _ptr(ffi, levels, "uint8_t *"),
    ))
    return levels


def dither(
    pixels: np.ndarray, palette: np.ndarray, oklab: np.ndarray | None, levels: np.ndarray, *,
    strength: float, min_error: float, max_error: float,
) -> np.ndarray:
    """(H, W) uint8 palette indices by selective serpentine Floyd-Steinberg (remap.c `rm_dither`).

    pixels (H, W, C) and palette (k, C) uint8, C = 3|4; oklab: None for sRGB distances, else the
    (274,) float64 constants of `feature` in remap.c; levels: (H, W) uint8 from `contrast_levels`.
    """
    ffi, lib = _lib()
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    palette = np.ascontiguousarray(palette, dtype=np.uint8)
    levels = np.ascontiguousarray(levels, dtype=np.uint8)
    height, width, channels = pixels.shape
    if palette.ndim != 2 or palette.shape[1] != channels or not 1 <= len(palette) <= 256 or levels.shape != (height, width):
        raise ValueError(f"remap.c cannot dither {pixels.shape} with a {palette.shape} palette and {levels.shape} levels")
    if oklab is not None:
        oklab = np.ascontiguousarray(oklab, dtype=np.float64)
        if oklab.shape != (274,):
            raise ValueError(f"the OKLab constants must be 274 values, got {oklab.shape}")
    indices = np.empty((height, width), dtype=np.uint8)
    _check(lib.rm_dither(
        height, width, channels, _ptr(ffi, pixels, "uint8_t *"), len(palette), _ptr(ffi, palette, "uint8_t *"),
        ffi.NULL if oklab is None else _ptr(ffi, oklab, "double *"), _ptr(ffi, levels, "uint8_t *"),
        float(strength), float(min_error), float(max_error), _ptr(ffi, indices, "uint8_t *"),
    ))
    return indices


# --- metrics (metrics.c) ---


def _packed_rows(image: np.ndarray, ndim: int) -> bool:
    """uint8 rows of packed pixels (rows may be strided), as metrics.c reads them."""
    if image.dtype != np.uint8 or image.ndim != ndim or (ndim == 3 and image.shape[2] not in (3, 4)):
        return False
    pixel = image.shape[2] if ndim == 3 else 1
    return image.strides[1] == pixel and (ndim == 2 or image.strides[2] == 1)


def image_metrics(
    a: np.ndarray, b: np.ndarray, table: np.ndarray | None, *,
    band_rows: int, threads: int, want_ssim: bool, c1: float, c2: float, background: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per band of `band_rows` rows: (squared errors (int64), sums of the SSIM map (float64)).

    a: (H, W, 3|4) uint8 with packed pixels. b: the same shape, or, with `table` ((256, 3) uint8
    composited RGB), (H, W) uint8 indices into it. RGBA is composited over `background`; c1, c2
    are SSIM's constants; the SSIM sums are 0 when not wanted or the image is smaller than 7×7.
    See `mt_metrics` in metrics.c.
    """
    ffi, lib = _lib()
    if table is None:
        ok = _packed_rows(a, 3) and _packed_rows(b, 3) and b.shape[:2] == a.shape[:2]
    else:
        ok = (
            _packed_rows(a, 3) and _packed_rows(b, 2) and b.shape == a.shape[:2]
            and table.shape == (256, 3) and table.dtype == np.uint8 and table.flags.c_contiguous
        )
    if not ok or band_rows < 1:
        raise ValueError(f"metrics.c cannot read {a.dtype} {a.shape} against {b.dtype} {b.shape}")
    height, width = a.shape[:2]
    n_bands = -(-height // band_rows)
    errors = np.zeros(n_bands, dtype=np.int64)
    sums = np.zeros(n_bands)
    status_code = lib.mt_metrics(
        height, width, _ptr(ffi, a, "uint8_t *"), a.strides[0], a.shape[2],
        _ptr(ffi, b, "uint8_t *"), b.strides[0], 1 if table is not None else b.shape[2],
        ffi.NULL if table is None else _ptr(ffi, table, "uint8_t *"),
        band_rows, max(1, int(threads)), int(bool(want_ssim)), c1, c2, background,
        _ptr(ffi, errors, "int64_t *"), _ptr(ffi, sums, "double *"),
    )
    if status_code < 0:
        raise MemoryError("the metrics ran out of memory")
    return errors, sums
