"""`compress`: decode → normalise → geometry → quantize → remap → encode → metrics.

Options are validated once, by `options.validate_options`; the private steps below assume clean input.
Memory: the pipeline keeps one uint8 copy of the pixels (H×W×3|4) plus the uint8 indices; the
decoded Pillow image is released once it has become an array, the PNG encoder reads the indices in
place, and the metrics build the quantized image tile by tile.

Time: besides decoding, quantizing and encoding, the only pass over the pixels is the metrics'
one (PSNR and SSIM together), which runs beside the PNG encode (both release the GIL). The
palette shares come from the quantizer's own counts (counted again only after dithering), and
PSNR-target searches take each attempt's PSNR from the quantizer's inertia instead of reading the
pixels (RGB without dithering; see `_psnr_from_inertia`). Progress callbacks are plain calls,
once per stage or search attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import BinaryIO

import numpy as np
from PIL import Image

from . import metrics, target_size
from .decode import FULLY_OPAQUE, decode, normalize_image, output_exif, read_source, to_array
from .dimensions import apply_plan
from .encode import GIF_ALPHA_THRESHOLD, MIME_TYPES, encode, optimize_png, png_bit_depth
from .kmeans import build_histogram, quantize, quantize_histogram
from .presets import MAX_COLORS
from .options import (
    AUTO, AUTO_DITHERS, AUTO_FORMATS, CompressOptions, CompressResult, CompressStats, PaletteEntry, SearchAttempt,
    auto_target, check_geometry, validate_options,
)
from .remap import remap
from .sandbox import CappedDecode
from .verdict import judge

ProgressCallback = Callable[[str, int], None]

# Stages in order, with the overall percentage reached when each one finishes.
STAGES: tuple[tuple[str, int], ...] = (
    ("decode", 15),
    ("geometry", 25),
    ("quantize", 60),
    ("remap", 70),
    ("encode", 85),
    ("metrics", 92),
    ("verdict", 100),
)
STAGE_PERCENT = dict(STAGES)

SEARCH_PROGRESS_ATTEMPTS = 12  # attempts a search is assumed to take, for progress percentages
COUNT_BLOCK_PIXELS = 1 << 20  # pixels per block when counting palette indices


# --------------------------------------------------------------------------- one attempt


@dataclass
class _Attempt:
    n_colors: int
    scale_percent: float
    pixels: np.ndarray  # the (possibly rescaled) pixels this attempt quantized
    quantization: object
    indices: np.ndarray
    palette: np.ndarray
    data: bytes | None = None
    psnr: float | None = None
    ssim: float | None = None
    score: metrics.Score | None = None  # the full score (per background for alpha), when measured
    counts: np.ndarray | None = None  # pixels per palette entry, while `indices` are the quantizer's
    optimized: bool = False  # `data` went through oxipng
    remapped: bool = False  # `indices` come from `remap` with the options' dithering


class _Runner:
    """Makes attempts (quantize → remap → encode) and accumulates per-stage times."""

    def __init__(self, options: CompressOptions, timings: dict[str, float], exif: bytes | None = None):
        self.options = options
        self.timings = timings
        self.exif = exif

    def _timed(self, stage: str, func, *args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            self.timings[stage] += (time.perf_counter() - start) * 1000

    def quantize(self, pixels: np.ndarray, n_colors: int, *, histogram=None, scale: float = 100.0) -> _Attempt:
        """Quantize (from `histogram` when given); the indices are the nearest palette colours."""
        o = self.options
        if histogram is None:
            q = self._timed(
                "quantize", quantize, pixels, n_colors,
                max_iter=o.max_iter, tol=o.tol, seed=o.seed, color_space=o.color_space, init=o.init,
            )
        else:
            q = self._timed(
                "quantize", quantize_histogram, histogram, n_colors,
                max_iter=o.max_iter, tol=o.tol, seed=o.seed, init=o.init,
            )
        palette = np.ascontiguousarray(q.palette, dtype=np.uint8)
        return _Attempt(n_colors, scale, pixels, q, q.indices, palette, counts=q.counts)

    def remap(self, attempt: _Attempt) -> _Attempt:
        """Remap only when needed: to dither, or when the quantization came without indices."""
        o = self.options
        indices = attempt.indices
        if attempt.remapped:
            return attempt
        if o.dither > 0 or indices is None or indices.shape != attempt.pixels.shape[:2]:
            attempt.indices = self._timed(
                "remap", remap, attempt.pixels, attempt.palette, dither=o.dither, color_space=o.color_space
            )
            attempt.counts = None  # the quantizer's counts describe its own indices
            attempt.remapped = True
        return attempt

    def attempt(self, pixels: np.ndarray, n_colors: int, *, histogram=None, scale: float = 100.0) -> _Attempt:
        return self.remap(self.quantize(pixels, n_colors, histogram=histogram, scale=scale))

    def encode(self, attempt: _Attempt, *, optimize: bool = True) -> _Attempt:
        """Encode in the output format; `optimize=False` skips oxipng (searches price with the
        default encoder and optimise only where it decides, see `_search_size`)."""
        o = self.options
        attempt.data = self._timed(
            "encode", encode, attempt.indices, attempt.palette,
            output_format=o.output_format, png_optimize_level=o.png_optimize_level if optimize else None,
            strip_metadata=o.strip_metadata, exif=self.exif,
        )
        attempt.optimized = optimize and self.optimizes
        return attempt

    @property
    def optimizes(self) -> bool:
        """True when the final output goes through oxipng (PNG with png_optimize_level)."""
        return self.options.output_format == "png" and self.options.png_optimize_level is not None

    def optimize(self, attempt: _Attempt) -> _Attempt:
        """oxipng on an attempt encoded with `optimize=False` (lossless, never larger)."""
        if self.optimizes and not attempt.optimized:
            attempt.data = self._timed(
                "encode", optimize_png, attempt.data, self.options.png_optimize_level,
                strip_metadata=self.options.strip_metadata,
            )
            attempt.optimized = True
        return attempt

    def measure(self, attempt: _Attempt, *, want_ssim: bool) -> _Attempt:
        if not want_ssim and _psnr_from_inertia(attempt):
            attempt.psnr = self._timed("metrics", _inertia_psnr, attempt)
            return attempt
        attempt.score = self._timed(
            "metrics", metrics.score, attempt.pixels, attempt.indices,
            _effective_palette(attempt.palette, self.options.output_format), want_ssim=want_ssim,
        )
        attempt.psnr, attempt.ssim = attempt.score.psnr, attempt.score.ssim
        return attempt


def _psnr_from_inertia(attempt: _Attempt) -> bool:
    """True when the quantizer's inertia is the PSNR's squared error: RGB, its own (nearest) indices.

    `Quantization.inertia` is the mean over pixels of the squared sRGB distance to each pixel's
    palette colour, summed exactly over the colour histogram. For RGB that is exactly what PSNR
    measures (RGBA differs: inertia premultiplies, PSNR composites), so a PSNR search needs no
    pass over the pixels per attempt.
    """
    return attempt.counts is not None and attempt.palette.shape[1] == 3 and attempt.pixels.shape[2] == 3


def _inertia_psnr(attempt: _Attempt) -> float:
    n_pixels = attempt.indices.shape[0] * attempt.indices.shape[1]
    # The float64 sum over the histogram is of integers below 2**53: rounding recovers it exactly.
    squared_error = round(attempt.quantization.inertia * n_pixels)
    return metrics.psnr_from_squared_error(squared_error, n_pixels * 3)


def _effective_palette(palette: np.ndarray, output_format: str) -> np.ndarray:
    """The palette as the output file shows it (GIF keeps 1-bit alpha only)."""
    if output_format != "gif" or palette.shape[1] != 4:
        return palette
    shown = palette.copy()
    transparent = shown[:, 3] < GIF_ALPHA_THRESHOLD
    shown[:, 3] = np.where(transparent, 0, 255)
    return shown


def _rescale(pixels: np.ndarray, percent: float) -> np.ndarray:
    height, width = pixels.shape[:2]
    size = (max(1, round(width * percent / 100)), max(1, round(height * percent / 100)))
    return to_array(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS))


def _search_attempt_record(attempt: _Attempt) -> SearchAttempt:
    return SearchAttempt(
        n_colors=attempt.n_colors,
        scale_percent=attempt.scale_percent,
        output_bytes=len(attempt.data) if attempt.data is not None else 0,
        psnr=attempt.psnr,
        ssim=attempt.ssim,
        png_optimized=attempt.optimized,
    )


def _search_size(
    runner: _Runner, pixels: np.ndarray, options: CompressOptions, log: list, tick: Callable[[], None]
) -> tuple[_Attempt, bool]:
    """Largest K (then, at K=2, largest scale) that fits the byte budget; see target_size.

    Every attempt is priced with the default encoder. With oxipng on (png_optimize_level), oxipng
    runs only where it decides: its gain is measured on a band of the best fit's rows; then it
    runs on the largest K whose default size times that gain fits (found with default-encoded
    attempts, within `target_size.optimizer_range`): usually one full oxipng run, not one per attempt.
    Only the attempts that can still be chosen are kept (best fit so far, smallest so far), so a
    search on a large image holds at most three index arrays.
    """
    budget = options.target_size_bytes
    kept: dict[str, tuple[float, _Attempt]] = {}  # "fit": (key, attempt), "smallest": (bytes, attempt)
    plain_sizes: dict[int, int] = {}  # K -> bytes with the default encoder

    def consider(attempt: _Attempt, key: float) -> int:
        log.append(_search_attempt_record(attempt))
        tick()
        size = len(attempt.data)
        if size <= budget and ("fit" not in kept or key > kept["fit"][0]):
            kept["fit"] = (key, attempt)
        if "smallest" not in kept or size < kept["smallest"][0]:
            kept["smallest"] = (size, attempt)
        return size

    histogram = runner._timed("quantize", build_histogram, pixels, color_space=options.color_space)

    def size_of(k: int):
        attempt = runner.encode(runner.attempt(pixels, k, histogram=histogram), optimize=False)
        plain_sizes[k] = len(attempt.data)
        return consider(attempt, k), None

    def optimized_size_of(k: int):
        return consider(runner.encode(runner.attempt(pixels, k, histogram=histogram)), k), None

    k, _ = target_size.largest_k_within(options.n_colors, size_of, budget)
    if k is not None:
        if runner.optimizes:
            gain = runner._timed("encode", _optimizer_gain, kept["fit"][1], options)
            # Where oxipng decides: the largest K whose default size times oxipng's gain fits
            # (default-encoded attempts only), then oxipng on that K alone; only when it misses,
            # a binary search with oxipng below it. The final answer is optimised in `compress`.
            high = target_size.optimizer_range(k, options.n_colors, plain_sizes, gain, budget)
            def estimated_size_of(kk: int):
                plain = plain_sizes[kk] if kk in plain_sizes else size_of(kk)[0]
                return round(plain * gain), None

            predicted, _ = target_size.largest_k_between(k, high, estimated_size_of, budget)
            if predicted > k and optimized_size_of(predicted)[0] > budget:
                target_size.largest_k_between(k, predicted, optimized_size_of, budget)
        del histogram
        return kept["fit"][1], True
    del histogram

    def size_at(percent: float):
        scaled = runner._timed("geometry", _rescale, pixels, percent)
        attempt = runner.attempt(scaled, target_size.MIN_SEARCH_COLORS, scale=percent)
        return consider(runner.encode(attempt, optimize=False), percent), None

    percent, _ = target_size.largest_scale_within(size_at, budget)
    chosen = kept["fit"][1] if percent is not None else kept["smallest"][1]
    if runner.optimizes:
        log.append(_search_attempt_record(runner.optimize(chosen)))
    return chosen, len(chosen.data) <= budget


def _optimizer_gain(attempt: _Attempt, options: CompressOptions) -> float:
    """oxipng's size ratio (optimised / default encoder) on a band of the attempt's rows.

    A band of about `target_size.GAIN_SAMPLE_PIXELS` from the middle of the image: deflate's gain
    depends on the statistics of the indices, which a band shares, at a fraction of a full run.
    """
    height, width = attempt.indices.shape
    rows = min(height, max(1, target_size.GAIN_SAMPLE_PIXELS // width))
    top = (height - rows) // 2
    plain = encode(attempt.indices[top : top + rows], attempt.palette)
    return len(optimize_png(plain, options.png_optimize_level)) / len(plain)


def _search_quality(
    runner: _Runner, pixels: np.ndarray, options: CompressOptions, log: list, tick: Callable[[], None]
) -> tuple[_Attempt, bool]:
    """Smallest K whose PSNR (or SSIM) reaches the target; see target_size."""
    use_ssim = options.target_ssim is not None
    target = options.target_ssim if use_ssim else options.target_psnr
    kept: dict[str, _Attempt] = {}
    histogram = runner._timed("quantize", build_histogram, pixels, color_space=options.color_space)

    def quality_of(k: int):
        attempt = runner.measure(runner.attempt(pixels, k, histogram=histogram), want_ssim=use_ssim)
        log.append(_search_attempt_record(attempt))
        tick()
        value = attempt.ssim if use_ssim else attempt.psnr
        best = kept.get("best")
        # The first attempt is K = n_colors: the answer when nothing reaches the target.
        if best is None or (value >= target and k < best.n_colors):
            kept["best"] = attempt
        return value, None

    k, _ = target_size.smallest_k_reaching(options.n_colors, quality_of, target)
    return kept["best"], k is not None


def _search_auto(
    options: CompressOptions, timings: dict, exif, pixels: np.ndarray, log: list, tick: Callable[[], None]
) -> tuple[_Attempt, bool, CompressOptions, int | None]:
    """n_colors="auto": the smallest file that meets the quality target (`options.auto_target`).

    For each dithering strength in AUTO_DITHERS, the smallest K in [2, 256] that reaches the
    target (`target_size.smallest_k_reaching`: K - 1 was tried and fell short); each such K is then
    encoded in every format of AUTO_FORMATS (PNG after oxipng when png_optimize_level is set) and
    the smallest file wins. K-Means runs once per K
    (one histogram; a palette does not depend on the dithering), the remap and the metrics once
    per (K, strength). When no strength reaches the target at K = 256, the attempt closest to it
    is returned and the target is not met.

    Returns (chosen attempt with its data, target met, the options it was made with (K, dither,
    format filled in), the chosen palette image's lossless WebP bytes).
    """
    metric, target = auto_target(options)
    use_ssim = metric == "ssim"
    histogram = None
    quantized: dict[int, _Attempt] = {}
    best_short: tuple[float, _Attempt, CompressOptions] | None = None  # closest to the target
    candidates: list[tuple[_Attempt, CompressOptions]] = []  # per strength: the smallest K reaching it

    for strength in AUTO_DITHERS:
        runner = _Runner(replace(options, n_colors=MAX_COLORS, dither=strength, output_format="png"), timings, exif)
        if histogram is None:
            histogram = runner._timed("quantize", build_histogram, pixels, color_space=options.color_space)
        kept: dict[str, _Attempt] = {}

        def quality_of(k: int):
            if k not in quantized:
                quantized[k] = runner.quantize(pixels, k, histogram=histogram)
            base = quantized[k]
            attempt = runner.remap(_Attempt(k, base.scale_percent, pixels, base.quantization, base.indices,
                                            base.palette, counts=base.counts))
            runner.measure(attempt, want_ssim=use_ssim)
            log.append(replace(_search_attempt_record(attempt), dither=strength))
            tick()
            value = attempt.ssim if use_ssim else attempt.psnr
            if value >= target and ("best" not in kept or k < kept["best"].n_colors):
                kept["best"] = attempt
            nonlocal best_short
            if value < target and (best_short is None or value > best_short[0]):
                best_short = (value, attempt, runner.options)
            return value, None

        k, _ = target_size.smallest_k_reaching(MAX_COLORS, quality_of, target)
        if k is not None:
            candidates.append((kept["best"], runner.options))
    del histogram, quantized

    if not candidates:
        _, attempt, chosen_options = best_short
        runner = _Runner(chosen_options, timings, exif)
        return runner.encode(attempt), False, chosen_options, None

    best = None  # (bytes, attempt, options, data, lossless WebP bytes)
    for attempt, made_with in candidates:
        encoded = {}
        for output_format in AUTO_FORMATS:
            fmt_options = replace(
                made_with, output_format=output_format,
                png_optimize_level=made_with.png_optimize_level if output_format == "png" else None,
            )
            # With png_optimize_level, PNG competes after oxipng (once per strength's answer).
            runner = _Runner(fmt_options, timings, exif)
            runner.encode(attempt)
            encoded[output_format] = (attempt.data, attempt.optimized, fmt_options)
        for data, optimized, fmt_options in encoded.values():
            if best is None or len(data) < best[0]:
                best = (len(data), attempt, fmt_options, data, optimized, len(encoded["webp"][0]))
    _, attempt, chosen_options, data, optimized, webp_bytes = best
    attempt.data, attempt.optimized = data, optimized
    return attempt, True, chosen_options, webp_bytes


# --------------------------------------------------------------------------- compress


def _index_counts(indices: np.ndarray, n_entries: int) -> np.ndarray:
    """Pixels per palette index, in row blocks: np.bincount converts its input to int64 first."""
    counts = np.zeros(max(n_entries, 256), dtype=np.int64)
    rows = max(1, COUNT_BLOCK_PIXELS // indices.shape[1])
    for top in range(0, indices.shape[0], rows):
        counts += np.bincount(indices[top : top + rows].reshape(-1), minlength=256)
    return counts[:n_entries]


def _hex(color: np.ndarray) -> str:
    return "#" + bytes(int(c) for c in color).hex()


def compress(
    source: bytes | BinaryIO | CappedDecode,
    options: CompressOptions,
    *,
    progress: ProgressCallback | None = None,
) -> CompressResult:
    """Compress an image into an indexed palette file.

    Parameters
    ----------
    source : bytes, binary file object or CappedDecode
        The encoded input image (format detected from the bytes), or the result of
        `sandbox.decode_capped` (the platform's jobs decode untrusted bytes under caps first).
    options : CompressOptions
        Validated here with `options.validate_options`.
    progress : callable or None
        `progress(stage, percent)` after each stage finishes, stages in order "decode",
        "geometry", "quantize", "remap", "encode", "metrics", "verdict" with percent 15, 25, 60, 70, 85,
        92, 100 (see `STAGES`).
        Target searches also report "quantize" (percent 25-60) after every attempt. An exception
        raised by the callback propagates (the platform cancels jobs this way).

    Returns
    -------
    CompressResult
        Output bytes, format, MIME type, final dimensions and complete `CompressStats`.

    Raises
    ------
    InvalidOptions, InvalidImage, UnsupportedFormat, ImageTooLarge
    """
    validate_options(options)
    o = options
    timings = {stage: 0.0 for stage, _ in STAGES}
    started = time.perf_counter()

    def finish(stage: str) -> None:
        if progress is not None:
            progress(stage, STAGE_PERCENT[stage])

    # decode + normalise (already done, under caps, when the source is a CappedDecode)
    if isinstance(source, CappedDecode):
        image = Image.fromarray(source.pixels)
        input_bytes, warnings, normalise_operations = source.input_bytes, list(source.warnings), list(source.operations)
        input_format, input_mode, input_frames = source.format, source.mode, source.n_frames
        exif = None if o.strip_metadata else source.exif
    else:
        data = read_source(source)
        input_bytes = len(data)
        decoded = decode(data, max_pixels=o.max_pixels)
        del data
        image = normalize_image(decoded)
        warnings, normalise_operations = decoded.warnings, decoded.operations
        input_format, input_mode, input_frames = decoded.format, decoded.mode, decoded.n_frames
        exif = None if o.strip_metadata else output_exif(decoded)
        del decoded
    original_width, original_height = image.size
    timings["decode"] = (time.perf_counter() - started) * 1000
    finish("decode")

    # geometry
    stage_start = time.perf_counter()
    plan = check_geometry(o, original_width, original_height)
    image = apply_plan(image, plan, o.background)
    operations = normalise_operations + list(plan.operations)
    if plan.steps and image.mode == "RGBA" and image.getextrema()[3][0] == FULLY_OPAQUE:
        image = image.convert("RGB")  # e.g. a crop that kept only opaque pixels
    pixels = to_array(image)
    del image
    timings["geometry"] = (time.perf_counter() - stage_start) * 1000
    finish("geometry")

    runner = _Runner(o, timings, exif)

    def search_tick() -> None:
        # Searches report "quantize" after every attempt, so callers can cancel long searches.
        if progress is not None:
            done = min(len(search_log), SEARCH_PROGRESS_ATTEMPTS) / SEARCH_PROGRESS_ATTEMPTS
            low, high = STAGE_PERCENT["geometry"], STAGE_PERCENT["quantize"]
            progress("quantize", int(low + (high - low) * done))

    search_log: list[SearchAttempt] = []
    target_met: bool | None = None
    lossless_webp_bytes: int | None = None
    requested = o.n_colors
    if o.n_colors == AUTO:
        chosen, target_met, o, lossless_webp_bytes = _search_auto(o, timings, exif, pixels, search_log, search_tick)
        runner = _Runner(o, timings, exif)
    elif o.target_size_bytes is not None:
        chosen, target_met = _search_size(runner, pixels, o, search_log, search_tick)
    elif o.target_psnr is not None or o.target_ssim is not None:
        chosen, target_met = _search_quality(runner, pixels, o, search_log, search_tick)
    else:
        chosen = runner.quantize(pixels, o.n_colors)
    finish("quantize")
    runner.remap(chosen)
    finish("remap")
    need_metrics = chosen.psnr is None or chosen.ssim is None

    def silhouette_of_chosen() -> tuple[float | None, float]:
        start = time.perf_counter()
        value = metrics.sampled_silhouette(chosen.pixels, chosen.indices, seed=o.seed, color_space=o.color_space)
        return value, (time.perf_counter() - start) * 1000

    silhouette = None
    if chosen.data is None and need_metrics and o.output_format == "png":
        # The PNG encoder (libdeflate) and the metrics (C) release the GIL: run them side by side,
        # the silhouette (numpy) after the encode, which is usually the shorter of the two.
        def encode_then_silhouette():
            runner.encode(chosen)
            return silhouette_of_chosen()

        with ThreadPoolExecutor(1) as pool:
            encoding = pool.submit(encode_then_silhouette)
            runner.measure(chosen, want_ssim=True)
            silhouette, silhouette_ms = encoding.result()
        timings["metrics"] += silhouette_ms  # added here: the two threads time different stages
        need_metrics = False
    elif chosen.data is None:
        runner.encode(chosen)
    runner.optimize(chosen)  # a no-op unless a search priced it with the default encoder only
    finish("encode")
    if need_metrics:
        runner.measure(chosen, want_ssim=True)
    if silhouette is None:
        silhouette, silhouette_ms = silhouette_of_chosen()
        timings["metrics"] += silhouette_ms
    finish("metrics")
    advice = None
    if o.with_verdict:
        advice = runner._timed(
            "verdict", judge, pixels, n_colors=len(chosen.palette), palette=chosen.palette, dither=o.dither,
            color_space=o.color_space, seed=o.seed, init=o.init,
        )
    finish("verdict")
    timings["total"] = (time.perf_counter() - started) * 1000

    if chosen.scale_percent != target_size.FULL_SCALE_PERCENT:
        operations.append(
            f"scaled to {chosen.scale_percent:g}% ({chosen.indices.shape[1]}x{chosen.indices.shape[0]}) "
            "to meet the target size"
        )
    return _result(o, chosen, search_log, target_met, timings, operations, warnings, input_bytes,
                   input_format, input_mode, input_frames, original_width, original_height, plan.source_box,
                   silhouette, advice, requested, lossless_webp_bytes)


def _result(o, chosen, search_log, target_met, timings, operations, warnings, input_bytes,
            input_format, input_mode, input_frames, original_width, original_height, source_box,
            silhouette, advice, requested, lossless_webp_bytes) -> CompressResult:
    q = chosen.quantization
    palette = chosen.palette
    height, width = chosen.indices.shape
    n_pixels = width * height
    # The quantizer already counted its indices; only remapped (dithered) indices are counted here.
    counts = chosen.counts if chosen.counts is not None else _index_counts(chosen.indices, len(palette))
    output_bytes = len(chosen.data)
    has_alpha = palette.shape[1] == 4
    by_background = chosen.score.by_background if chosen.score is not None else {}
    stats = CompressStats(
        input_bytes=input_bytes,
        output_bytes=output_bytes,
        file_ratio=metrics.file_ratio(input_bytes, output_bytes),
        bytes_saved=metrics.bytes_saved(input_bytes, output_bytes),
        bits_per_pixel=metrics.bits_per_pixel(output_bytes, width, height),
        theoretical_ratio=metrics.theoretical_ratio(len(palette), width, height, has_alpha=has_alpha),
        psnr=chosen.psnr,
        ssim=chosen.ssim,
        inertia=float(q.inertia),
        n_iter=int(q.n_iter),
        converged=bool(q.converged),
        n_colors_requested=requested,
        n_colors_used=len(palette),
        unique_colors_before=int(q.n_unique_colors),
        unique_colors_after=int(np.count_nonzero(counts)),
        original_width=original_width,
        original_height=original_height,
        width=width,
        height=height,
        input_format=input_format,
        palette=[PaletteEntry(color=_hex(c), share=float(n) / n_pixels) for c, n in zip(palette, counts)],
        history=[float(v) for v in q.history],
        timings_ms={k: round(v, 3) for k, v in timings.items()},
        operations=operations,
        warnings=warnings,
        target_size_bytes=o.target_size_bytes,
        target_met=target_met,
        attempts=list(search_log),
        input_mode=input_mode,
        input_frames=input_frames,
        has_alpha=has_alpha,
        color_space=o.color_space,
        dither=float(o.dither),
        png_bit_depth=png_bit_depth(len(palette), translucent=has_alpha and bool((palette[:, 3] != 255).any()))
        if o.output_format == "png" and o.png_optimize_level is None
        else None,
        scale_percent_applied=None
        if chosen.scale_percent == target_size.FULL_SCALE_PERCENT
        else chosen.scale_percent,
        source_box=source_box,
        psnr_over_black=by_background["black"][0] if by_background else None,
        psnr_over_white=by_background["white"][0] if by_background else None,
        ssim_over_black=by_background["black"][1] if by_background else None,
        ssim_over_white=by_background["white"][1] if by_background else None,
        init=o.init,
        lossless_webp_bytes=output_bytes if o.output_format == "webp" else lossless_webp_bytes,
        silhouette=silhouette,
        verdict=advice,
    )
    return CompressResult(
        data=chosen.data,
        format=o.output_format,
        mime_type=MIME_TYPES[o.output_format],
        width=width,
        height=height,
        stats=stats,
    )
