"""The engine's compiled inner loops (C, loaded with ctypes): k-means++, exact Lloyd, the RGB
colour histogram, the coarse grid's sums (kmeans.c) and PSNR/SSIM (metrics.c).

numpy spent its time on the dozen passes each Lloyd iteration makes over the colours whose
bounds fail; in C each colour is one pass (docs/benchmarks.md, "The C loops"). The library is
built by `make native` (any C11 compiler, no Python headers) into ``_native.so`` beside the
sources; the Dockerfile builds it the same way. ctypes releases the GIL during each call.
"""

import ctypes
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
LIBRARY = _HERE / "_native.so"
SOURCES = sorted([*_HERE.glob("*.c"), *_HERE.glob("*.h")])


def _load() -> ctypes.CDLL:
    if not LIBRARY.exists():
        raise ImportError(f"{LIBRARY} is missing: build it with `make native` (needs a C compiler such as gcc)")
    built = LIBRARY.stat().st_mtime
    stale = [source.name for source in SOURCES if source.stat().st_mtime > built]
    if stale:
        raise ImportError(f"{LIBRARY.name} is older than {', '.join(stale)}: rebuild it with `make native`")
    return ctypes.CDLL(str(LIBRARY))


_lib = _load()

_double_p = ctypes.POINTER(ctypes.c_double)
_float_p = ctypes.POINTER(ctypes.c_float)
_int32_p = ctypes.POINTER(ctypes.c_int32)


class _State(ctypes.Structure):
    # Mirrors `km_state` in kmeans.c.
    _fields_ = [
        ("n", ctypes.c_int64),
        ("d", ctypes.c_int32),
        ("k", ctypes.c_int32),
        ("n_threads", ctypes.c_int32),
        ("x", _float_p),
        ("w", _double_p),
        ("labels", _int32_p),
        ("upper", _double_p),
        ("lower", _double_p),
        ("centers", _double_p),
        ("sums", _double_p),
        ("weight", _double_p),
        ("sq", _double_p),
    ]


_lib.km_assign.argtypes = [ctypes.POINTER(_State)]
_lib.km_assign.restype = ctypes.c_int
_lib.km_move.argtypes = [ctypes.POINTER(_State), _double_p]
_lib.km_move.restype = ctypes.c_int64
_lib.km_lloyd.argtypes = [
    ctypes.POINTER(_State), ctypes.c_int32, ctypes.c_double, _double_p, _int32_p, _double_p,
]
_lib.km_lloyd.restype = ctypes.c_int
_lib.km_plusplus.argtypes = [
    ctypes.c_int64, ctypes.c_int32, _float_p, _double_p, ctypes.c_int32, ctypes.c_int32, _double_p, _double_p,
]
_lib.km_plusplus.restype = ctypes.c_int


def _ptr(array: np.ndarray, kind):
    return array.ctypes.data_as(kind)


def _check(status: int) -> int:
    if status < 0:
        raise MemoryError("the quantizer ran out of memory")
    return status


class LloydState:
    """Labels, Hamerly bounds and per-cluster sums of weighted points, kept between calls.

    x: (n, d) float32 with d = 3 or 4; weights: (n,) float64, all > 0; k: centres (1..256);
    threads: how many threads one call may use (results do not depend on it).
    """

    def __init__(self, x: np.ndarray, weights: np.ndarray, k: int, threads: int = 1):
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
        self._struct = _State(
            n, d, k, max(1, int(threads)),
            _ptr(self.x, _float_p), _ptr(self.weights, _double_p), _ptr(self.labels, _int32_p),
            _ptr(self.upper, _double_p), _ptr(self.lower, _double_p), _ptr(self.centers, _double_p),
            _ptr(self.cluster_sum, _double_p), _ptr(self.cluster_weight, _double_p), _ptr(self.cluster_sq, _double_p),
        )

    def assign(self, centers: np.ndarray) -> None:
        """Label every point with its nearest centre (ties: see kmeans.c) and set the sums."""
        self.centers[:] = centers
        _check(_lib.km_assign(ctypes.byref(self._struct)))

    def move(self, centers: np.ndarray) -> int:
        """Move the centres of an assigned state; re-label only where the bounds allow a change.

        Returns how many points changed cluster (a tie keeps the current one)."""
        new = np.ascontiguousarray(centers, dtype=np.float64)
        return _check(_lib.km_move(ctypes.byref(self._struct), _ptr(new, _double_p)))

    def lloyd(self, centers: np.ndarray, max_iter: int, tol_abs: float):
        """Lloyd from `centers` (assign, then update and re-assign until converged).

        Returns (centres (k, d) float64, n_iter, converged, history, inertia of the result)."""
        self.centers[:] = centers
        history = np.zeros(max_iter)
        n_iter = ctypes.c_int32(0)
        final = ctypes.c_double(0.0)
        converged = _check(
            _lib.km_lloyd(ctypes.byref(self._struct), max_iter, tol_abs, _ptr(history, _double_p), ctypes.byref(n_iter), ctypes.byref(final))
        )
        return self.centers.copy(), n_iter.value, bool(converged), history[: n_iter.value].tolist(), final.value


def kmeans_plusplus(x: np.ndarray, weights: np.ndarray, k: int, n_trials: int, uniforms: np.ndarray) -> np.ndarray:
    """Greedy weighted k-means++ centres (k, d) float64; `uniforms` as in kmeans.c."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    uniforms = np.ascontiguousarray(uniforms, dtype=np.float64)
    if uniforms.size < 1 + (k - 1) * n_trials:
        raise ValueError("not enough uniforms for k-means++")
    centers = np.zeros((k, x.shape[1]))
    _check(_lib.km_plusplus(len(x), x.shape[1], _ptr(x, _float_p), _ptr(weights, _double_p), k, n_trials, _ptr(uniforms, _double_p), _ptr(centers, _double_p)))
    return centers


_lib.km_histogram_mark.argtypes = [ctypes.c_int64, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p]
_lib.km_histogram_mark.restype = ctypes.c_int64
_lib.km_histogram_rank.argtypes = [
    ctypes.c_int64, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
]
_lib.km_histogram_rank.restype = ctypes.c_int
_CODE_WORDS = 1 << 18  # 2^24 bits


def rgb_histogram(pixels: np.ndarray, threads: int = 1):
    """Distinct colours of RGB pixels: (codes (n,) uint32 sorted, counts (n,) int64, inverse (H, W) int32).

    A colour's code is r<<16 | g<<8 | b; `inverse` holds each pixel's row in `codes`. Marks the
    codes in a 2 MB bitmap, then ranks each pixel's code by the set bits below it.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    n = pixels.shape[0] * pixels.shape[1]
    bits = np.zeros(_CODE_WORDS, dtype=np.uint64)
    prefix = np.empty(_CODE_WORDS, dtype=np.int32)
    n_distinct = _check(_lib.km_histogram_mark(n, pixels.ctypes.data, threads, bits.ctypes.data, prefix.ctypes.data))
    inverse = np.empty(pixels.shape[:2], dtype=np.int32)
    codes = np.empty(n_distinct, dtype=np.uint32)
    counts = np.zeros(n_distinct, dtype=np.int64)
    _check(_lib.km_histogram_rank(
        n, pixels.ctypes.data, threads, bits.ctypes.data, prefix.ctypes.data, n_distinct,
        inverse.ctypes.data, codes.ctypes.data, counts.ctypes.data,
    ))
    return codes, counts, inverse


_lib.km_grid_sums.argtypes = [ctypes.c_int64, ctypes.c_int32, _float_p, _double_p, ctypes.c_int32, _double_p, _double_p]
_lib.km_grid_sums.restype = None


def grid_sums(x: np.ndarray, weights: np.ndarray, bits: int):
    """Weights and weighted coordinate sums of points per cell of a 2^bits-per-channel grid over
    the points' range (see kmeans.c). x: (n, d) float32. Returns (cell_weight (2^(bits*d),),
    cell_sums (d, 2^(bits*d))), channel 0 in the key's high bits."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    d = x.shape[1]
    cell_weight = np.zeros(1 << (bits * d))
    cell_sums = np.zeros((d, 1 << (bits * d)))
    _lib.km_grid_sums(len(x), d, _ptr(x, _float_p), _ptr(weights, _double_p), bits, _ptr(cell_weight, _double_p), _ptr(cell_sums, _double_p))
    return cell_weight, cell_sums


# --- metrics (metrics.c) ---

_uint8_p = ctypes.POINTER(ctypes.c_uint8)
_int64_p = ctypes.POINTER(ctypes.c_int64)

_lib.mt_metrics.argtypes = [
    ctypes.c_int32, ctypes.c_int32,
    _uint8_p, ctypes.c_int64, ctypes.c_int32,
    _uint8_p, ctypes.c_int64, ctypes.c_int32, _uint8_p,
    ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, ctypes.c_double, ctypes.c_double, ctypes.c_int32,
    _int64_p, _double_p,
]
_lib.mt_metrics.restype = ctypes.c_int


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
    status = _lib.mt_metrics(
        height, width, _ptr(a, _uint8_p), a.strides[0], a.shape[2],
        _ptr(b, _uint8_p), b.strides[0], 1 if table is not None else b.shape[2],
        None if table is None else _ptr(table, _uint8_p),
        band_rows, max(1, int(threads)), bool(want_ssim), c1, c2, background,
        _ptr(errors, _int64_p), _ptr(sums, _double_p),
    )
    if status < 0:
        raise MemoryError("the metrics ran out of memory")
    return errors, sums
