"""Previews: what `compress` would make of an image, on a downscaled copy, fast enough to follow a slider.

Two steps, so the slow part runs once per image and geometry:

- `prepare_preview(source, options)` decodes (or takes the `decode_capped` result), applies the
  geometry with the same plan as `compress` (`options.check_geometry` + `dimensions.apply_plan`),
  shrinks the result to at most `preview_pixels` (Lanczos) and keeps a *size sample*: the whole
  output when it has at most `ESTIMATE_SAMPLE_PIXELS` pixels, else full-resolution row segments
  spread over it (`_segment_sample`). Colour histograms of the preview are built once per colour
  space (`kmeans.build_histogram`).
- `render_preview(source, options)` only clusters the histogram, remaps (dithering when asked),
  encodes a fast PNG (zlib level 1) and measures PSNR/SSIM on the preview, maps the size sample
  to the same palette and encodes it in the chosen output format for the size estimate, and
  paints the optional views. The last `REMEMBERED_RESULTS` results of a source are kept: the same
  options again (a slider dragged back) return the same result without the work.

Size estimate: exact when the preview is the whole output (at most `ESTIMATE_SAMPLE_PIXELS`, not
shrunk): the preview's indices encoded in the output format. Otherwise the sample is made of *row
segments*: `SEGMENT_ROWS` consecutive full-resolution, full-width rows from evenly spaced bands of
the output, stacked, so every sample row is a real row and its neighbour above is the real one,
except at the joins between segments, where the encoders lose their context (PNG's and WebP's
matches against the row above). The joins' cost is measured and taken out: the same sample is
encoded a second time with each segment cut in two halves (all top halves, then all bottom
halves: the same pixels with twice the joins), and ``2·A − B`` of the two sizes (less the header
``overhead``, the palette encoded as 1×1) is the sample without joins; it is scaled by
``output_pixels / sample_pixels``. Square 64×64 tiles side by side (what engine/curves.py samples)
overestimated tests/images' graphics by up to +60 % (GIF, K=4; median +11 %), 1024-wide segments
the 12-24 MP photos by +14-47 % (every row cut short); full-width segments with the joins taken
out came within about ±10 % of the median on both (`bench/preview.py`, docs/benchmarks.md).

Views: a heat-map of the per-pixel error (Euclidean distance between each pixel and its palette
colour in the clustering space, coloured with viridis from 0 to the largest error) and a cluster
map (every pixel painted by its palette entry, the entries in golden-angle hues, the most used
first). numpy + Pillow only.
"""

from __future__ import annotations

import colorsys
import dataclasses
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from . import metrics
from .decode import to_array
from .dimensions import RESAMPLE
from .encode import encode
from .errors import InvalidOptions
from .kmeans import ColorHistogram, _features, build_histogram, quantize_histogram
from .options import BOUNDS, TARGET_FIELDS, CompressOptions, PaletteEntry, validate_options
from .pipeline import _effective_palette, _hex, _index_counts
from .remap import _augment, _augment_centers, _nearest, remap
from .sandbox import CappedDecode
from .source import planned_image

DEFAULT_PREVIEW_PIXELS = 500_000
ESTIMATE_SAMPLE_PIXELS = 131_072  # full-resolution pixels encoded per preview for the size estimate
PREVIEW_PNG_LEVEL = 1  # zlib level of the preview images: a third of level 6's time, ~10% larger
VIEWS = ("heatmap", "clusters")
# Results kept per source (the least recently used dropped first): a K slider dragged back and
# forth asks for the same options again, and a result (PNGs and figures, deterministic) is a few
# hundred KB.
REMEMBERED_RESULTS = 12
FIXED_K_MESSAGE = "Previews take a fixed K: leave the size and quality targets out."
SEGMENT_ROWS = 8  # rows per segment of the size sample (even: the join measure halves them)
# Geometry options: a prepared source serves every option except these.
GEOMETRY_FIELDS = ("crop_box", "scale_percent", "resize_mode", "width", "height", "allow_upscale", "background",
                   "max_pixels")
# viridis (matplotlib's perceptually uniform map) at 0, 1/4, 1/2, 3/4 and 1, interpolated to 256 entries.
_VIRIDIS_STOPS = np.array(
    [[0x44, 0x01, 0x54], [0x3B, 0x52, 0x8B], [0x21, 0x91, 0x8C], [0x5E, 0xC9, 0x62], [0xFD, 0xE7, 0x25]], dtype=np.float64
)
HEATMAP_PALETTE = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_VIRIDIS_STOPS)), _VIRIDIS_STOPS[:, c]) for c in range(3)],
    axis=1,
).round().astype(np.uint8)
GOLDEN_ANGLE_DEGREES = 137.507764
ERROR_UNITS = {
    "rgb": "sRGB 0-255 units (Euclidean distance over R, G, B; premultiplied by alpha)",
    "oklab": "Oklab units (Euclidean distance; L runs 0-1; premultiplied by alpha)",
}


@dataclass(eq=False)
class PreviewSource:
    """An image prepared for previews: see the module docstring. Build it with `prepare_preview`.

    Attributes
    ----------
    pixels : ndarray (h, w, C) uint8
        The geometry's output shrunk to at most `preview_pixels` (the output itself when smaller).
    sample : ndarray (sh, sw, C) uint8
        Full-resolution pixels of the output the size estimate encodes.
    sample_is_output : bool
        True when `sample` is the whole output (exact when it is also the preview, see
        `estimate_exact`; else mapped to the shrunk preview's palette).
    output_width, output_height : int
        The full-size output `compress` would make with these geometry options.
    input_bytes : int
    """

    pixels: np.ndarray
    sample: np.ndarray
    sample_is_output: bool
    output_width: int
    output_height: int
    input_bytes: int
    _histograms: dict[str, ColorHistogram] = field(default_factory=dict)
    _results: OrderedDict = field(default_factory=OrderedDict)  # (options, views) -> PreviewResult
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def histogram(self, color_space: str) -> ColorHistogram:
        """The preview's colour histogram for `color_space`, built on first use."""
        with self._lock:
            if color_space not in self._histograms:
                self._histograms[color_space] = build_histogram(self.pixels, color_space=color_space)
            return self._histograms[color_space]

    @property
    def estimate_exact(self) -> bool:
        """The preview is the whole output and is the size sample: size estimates are exact."""
        return self.sample is self.pixels

    @property
    def nbytes(self) -> int:
        """Memory held: pixels, sample and the histograms built so far (for a cache's bound)."""
        total = self.pixels.nbytes + (0 if self.sample is self.pixels else self.sample.nbytes)
        for h in self._histograms.values():
            total += h.colors.nbytes + h.counts.nbytes + h.inverse.nbytes + h.features.nbytes
        for result in list(self._results.values()):
            total += len(result.image_png) + len(result.heatmap_png or b"") + len(result.clusters_png or b"")
        return total

    def _remembered(self, key) -> "PreviewResult | None":
        with self._lock:
            result = self._results.get(key)
            if result is not None:
                self._results.move_to_end(key)
            return result

    def _remember(self, key, result: "PreviewResult") -> None:
        with self._lock:
            self._results[key] = result
            while len(self._results) > REMEMBERED_RESULTS:
                self._results.popitem(last=False)


@dataclass(frozen=True)
class PreviewResult:
    """What `render_preview` returns. PNG bytes are the preview images; sizes in pixels."""

    image_png: bytes
    width: int
    height: int
    n_colors_used: int
    palette: list[PaletteEntry]  # most used first
    psnr: float  # of the preview (inf when identical)
    ssim: float
    estimated_bytes: int  # of the full-size output in the chosen format
    estimate_exact: bool
    input_bytes: int
    output_width: int
    output_height: int
    heatmap_png: bytes | None
    heatmap_max_error: float | None  # the legend's top; units: ERROR_UNITS[color_space]
    clusters_png: bytes | None
    timings_ms: dict[str, float]
    reused: bool = False  # the same options were rendered on this source before: returned as they were

    @property
    def estimated_ratio(self) -> float:
        return metrics.file_ratio(self.input_bytes, self.estimated_bytes)

    @property
    def not_worth_it(self) -> bool:
        """The output would be larger than the original (the job page's rule)."""
        return self.estimated_bytes > self.input_bytes


def preview_source_key(options: CompressOptions, preview_pixels: int) -> tuple:
    """What a prepared source depends on besides the image: its geometry options and size."""
    return tuple(getattr(options, name) for name in GEOMETRY_FIELDS) + (preview_pixels,)


def prepare_preview(
    source: bytes | CappedDecode, options: CompressOptions, *, preview_pixels: int = DEFAULT_PREVIEW_PIXELS
) -> PreviewSource:
    """Decode (unless given a `decode_capped` result), apply the geometry, shrink, sample.

    Raises InvalidOptions (bad options, preview size or geometry), and as `decode` for bytes.
    """
    BOUNDS["preview_pixels"].check(preview_pixels)
    validate_options(options)
    image, input_bytes = planned_image(source, options)
    width, height = image.size
    if width * height > preview_pixels:
        factor = math.sqrt(preview_pixels / (width * height))
        shrunk = image.resize((max(1, math.floor(width * factor)), max(1, math.floor(height * factor))), RESAMPLE)
    else:
        shrunk = image
    pixels = to_array(shrunk)
    if width * height <= ESTIMATE_SAMPLE_PIXELS:
        sample, sample_is_output = (pixels if shrunk is image else to_array(image)), True
    else:
        sample, sample_is_output = _segment_sample(image, ESTIMATE_SAMPLE_PIXELS), False
    prepared = PreviewSource(pixels, sample, sample_is_output, width, height, input_bytes)
    prepared.histogram(options.color_space)
    return prepared


def render_preview(source: PreviewSource, options: CompressOptions, *, views=()) -> PreviewResult:
    """Quantize the prepared preview with `options` (a fixed K) and measure it.

    `views`: any of "heatmap", "clusters". The geometry options are those of `source` (the caller
    prepares one per geometry, see `preview_source_key`). Raises InvalidOptions.
    """
    validate_options(options)
    for name in TARGET_FIELDS:
        if getattr(options, name) is not None:
            raise InvalidOptions(FIXED_K_MESSAGE, field=name)
    unknown = [view for view in views if view not in VIEWS]
    if unknown:
        raise InvalidOptions(f"Unknown view(s) {', '.join(map(str, unknown))}; choose from {', '.join(VIEWS)}.", field="views")
    key = (options, tuple(sorted(set(views))))
    remembered = source._remembered(key)
    if remembered is not None:
        return dataclasses.replace(remembered, reused=True)
    result = _render(source, options, views)
    source._remember(key, result)
    return result


def _render(source: PreviewSource, o: CompressOptions, views) -> PreviewResult:
    """`render_preview` on validated options."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round((now - clock) * 1000, 3)
        clock = now

    histogram = source.histogram(o.color_space)
    lap("histogram")
    q = quantize_histogram(histogram, o.n_colors, max_iter=o.max_iter, tol=o.tol, seed=o.seed)
    palette = np.ascontiguousarray(q.palette, dtype=np.uint8)
    lap("quantize")
    if o.dither > 0:
        indices = remap(source.pixels, palette, dither=o.dither, color_space=o.color_space)
        counts = _index_counts(indices, len(palette))
    else:
        indices, counts = q.indices, q.counts
    lap("remap")
    shown = _effective_palette(palette, o.output_format)
    image_png = encode(indices, shown, png_compress_level=PREVIEW_PNG_LEVEL)
    lap("encode")
    psnr, ssim = metrics.psnr_ssim(source.pixels, indices, shown)
    lap("metrics")
    estimated = _estimate_bytes(source, palette, indices, o)
    lap("estimate")
    heatmap_png = heatmap_max = clusters_png = None
    if "heatmap" in views:
        heatmap_png, heatmap_max = _heatmap(histogram, indices, palette, o)
    if "clusters" in views:
        clusters_png = encode(indices, _cluster_colours(counts), png_compress_level=PREVIEW_PNG_LEVEL)
    lap("views")
    n_pixels = indices.size
    order = np.argsort(-counts, kind="stable")
    return PreviewResult(
        image_png=image_png,
        width=int(indices.shape[1]),
        height=int(indices.shape[0]),
        n_colors_used=len(palette),
        palette=[PaletteEntry(color=_hex(palette[i]), share=float(counts[i]) / n_pixels) for i in order],
        psnr=psnr,
        ssim=ssim,
        estimated_bytes=estimated,
        estimate_exact=source.estimate_exact,
        input_bytes=source.input_bytes,
        output_width=source.output_width,
        output_height=source.output_height,
        heatmap_png=heatmap_png,
        heatmap_max_error=heatmap_max,
        clusters_png=clusters_png,
        timings_ms=timings,
    )


def _segment_sample(image: Image.Image, max_pixels: int) -> np.ndarray:
    """Full-width segments of `SEGMENT_ROWS` rows from evenly spaced bands, stacked (module docstring).

    As many as fit in `max_pixels` (at least one), none overlapping."""
    width, height = image.size
    rows = min(SEGMENT_ROWS, height)
    count = max(1, min(height // rows, max_pixels // (width * rows)))
    segments = []
    for i in range(count):
        top = min(height - rows, max(0, round((i + 0.5) * height / count - rows / 2)))
        segments.append(to_array(image.crop((0, top, width, top + rows))))
    return np.ascontiguousarray(np.concatenate(segments, axis=0))


def _encode_output(indices: np.ndarray, palette: np.ndarray, o: CompressOptions) -> bytes:
    return encode(indices, palette, output_format=o.output_format, png_optimize_level=o.png_optimize_level)


def _estimate_bytes(source: PreviewSource, palette: np.ndarray, preview_indices: np.ndarray, o: CompressOptions) -> int:
    """The full-size output's bytes: exact when the preview is the output, else from the sample
    (module docstring)."""
    if source.estimate_exact:
        return len(_encode_output(preview_indices, palette, o))  # compress's palette and indices
    indices = remap(source.sample, palette, dither=o.dither, color_space=o.color_space)
    sample_bytes = len(_encode_output(indices, palette, o))
    if source.sample_is_output:
        return sample_bytes
    overhead = min(sample_bytes, len(_encode_output(indices[:1, :1], palette, o)))
    body = sample_bytes - overhead
    rows, width = min(SEGMENT_ROWS, source.output_height), indices.shape[1]
    if rows % 2 == 0:
        segments = indices.reshape(-1, rows, width)
        halves = np.concatenate([segments[:, : rows // 2].reshape(-1, width), segments[:, rows // 2 :].reshape(-1, width)])
        joins_doubled = len(_encode_output(np.ascontiguousarray(halves), palette, o)) - overhead
        if 0 < 2 * body - joins_doubled <= body:  # a sample too small to measure its joins keeps them
            body = 2 * body - joins_doubled
    return round(overhead + body * (source.output_width * source.output_height) / indices.size)


def _heatmap(histogram: ColorHistogram, indices: np.ndarray, palette: np.ndarray, o: CompressOptions):
    """(PNG, largest error): each pixel's distance to its palette colour, viridis from 0 to the largest.

    Undithered, every pixel's entry is its colour's nearest (`Quantization.indices`), so the error
    is worked out once per distinct colour and looked up per pixel; dithered, per pixel.
    """
    centres = _features(palette, o.color_space)
    if o.dither == 0:
        per_colour = _nearest_distance(histogram.features, centres)
        largest = float(per_colour.max())
        levels = _levels(per_colour, largest)[histogram.inverse]
    else:
        diff = histogram.features[histogram.inverse] - centres[indices]
        error = np.sqrt(np.einsum("hwc,hwc->hw", diff, diff))
        largest = float(error.max())
        levels = _levels(error, largest)
    return encode(levels, HEATMAP_PALETTE, png_compress_level=PREVIEW_PNG_LEVEL), largest


def _levels(error: np.ndarray, largest: float) -> np.ndarray:
    """Errors 0..largest -> heat-map palette indices 0..255."""
    scale = 255.0 / largest if largest > 0 else 0.0
    return np.rint(error * scale).astype(np.uint8)


def _nearest_distance(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Distance from each point to its nearest centre (remap's single-threaded GEMM blocks)."""
    diff = points - centres[_nearest(_augment(points), _augment_centers(centres))]
    return np.sqrt(np.einsum("nc,nc->n", diff, diff))


def _cluster_colours(counts: np.ndarray) -> np.ndarray:
    """A distinct opaque colour per palette entry: golden-angle hues, the most used entry first."""
    rank = np.empty(len(counts), dtype=np.int64)
    rank[np.argsort(-counts, kind="stable")] = np.arange(len(counts))
    colours = [
        colorsys.hsv_to_rgb((r * GOLDEN_ANGLE_DEGREES / 360.0) % 1.0, 0.75 if r % 2 else 0.55, 0.95 if r % 3 else 0.8)
        for r in rank
    ]
    return np.rint(np.array(colours) * 255).astype(np.uint8)
