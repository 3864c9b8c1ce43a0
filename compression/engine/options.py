"""The options `compress` takes and the result it returns: the engine's contract with its callers."""

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

ENGINE_VERSION = "1.0.0"

ColorSpace = Literal["rgb", "oklab"]
ResizeModeKey = Literal["fit", "fill", "stretch", "crop"]
OutputFormat = Literal["png", "webp", "gif"]


@dataclass(frozen=True)
class CropBox:
    """A rectangle in pixels of the (orientation-corrected) input image."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class CompressOptions:
    """Every option of the pipeline, with defaults. Validated by `compress`, not here.

    Geometry runs in this order: crop_box, then scale_percent, then resize_mode with
    width/height (either alone keeps the aspect ratio when resize_mode is None).
    Target size and target quality are mutually exclusive; with either, n_colors is the upper
    bound of the search.
    """

    n_colors: int = 16
    color_space: ColorSpace = "rgb"
    max_iter: int = 100
    tol: float = 1e-4
    seed: int = 0
    dither: float = 0.0  # Floyd-Steinberg strength, 0 (off) to 1 (full)
    # Geometry
    crop_box: CropBox | None = None
    scale_percent: float | None = None
    resize_mode: ResizeModeKey | None = None
    width: int | None = None
    height: int | None = None
    allow_upscale: bool = False
    background: tuple[int, int, int] | None = None  # padding colour for "fit"; None = no padding
    # Searches
    target_size_bytes: int | None = None
    target_psnr: float | None = None
    target_ssim: float | None = None
    # Output
    output_format: OutputFormat = "png"
    png_optimize_level: int | None = None  # oxipng level 0-6; None = Pillow's encoder only
    strip_metadata: bool = True
    # Limits
    max_pixels: int = 50_000_000


@dataclass(frozen=True)
class PaletteEntry:
    color: str  # "#rrggbb" or "#rrggbbaa" when the palette has alpha
    share: float  # fraction of the output pixels with this colour, 0-1


@dataclass(frozen=True)
class SearchAttempt:
    n_colors: int
    scale_percent: float
    output_bytes: int
    psnr: float | None = None
    ssim: float | None = None


@dataclass(frozen=True)
class CompressStats:
    input_bytes: int
    output_bytes: int
    file_ratio: float  # input bytes / output bytes
    bytes_saved: int  # may be negative: the output is larger
    bits_per_pixel: float  # of the output file
    theoretical_ratio: float  # 24 bpp against log2(K) bpp plus the palette; see metrics.theoretical_ratio
    psnr: float  # dB, inf when identical
    ssim: float
    inertia: float
    n_iter: int
    converged: bool
    n_colors_requested: int
    n_colors_used: int
    unique_colors_before: int
    unique_colors_after: int
    original_width: int
    original_height: int
    width: int
    height: int
    input_format: str
    palette: list[PaletteEntry]
    history: list[float]  # inertia per Lloyd iteration
    timings_ms: dict[str, float]  # per stage: decode, geometry, quantize, remap, encode, metrics, total
    operations: list[str]  # human-readable, in order, e.g. "resized 6000x4000 -> 1280x853 (fit)"
    warnings: list[str]  # e.g. "animated GIF: only the first of 3 frames was used"
    target_size_bytes: int | None = None
    target_met: bool | None = None
    attempts: list[SearchAttempt] = field(default_factory=list)
    # Added with the pipeline (defaults keep older constructors valid):
    input_mode: str = ""  # Pillow mode of the decoded input, e.g. "CMYK", "I;16", "P"
    input_frames: int = 1  # frames in the input (animations: only the first is used)
    has_alpha: bool = False  # the output palette carries alpha
    color_space: str = "rgb"  # clustering space used
    dither: float = 0.0  # Floyd-Steinberg strength used
    png_bit_depth: int | None = None  # bits per index written (PNG without oxipng); None otherwise
    scale_percent_applied: float | None = None  # set when the target-size search had to scale down

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data (an infinite PSNR or undefined SSIM becomes None)."""
        data = asdict(self)
        _finite_or_none(data, ("psnr", "ssim"))
        for attempt in data["attempts"]:
            _finite_or_none(attempt, ("psnr", "ssim"))
        return data


def _finite_or_none(data: dict, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            data[key] = None


@dataclass(frozen=True)
class CompressResult:
    data: bytes
    format: OutputFormat
    mime_type: str
    width: int
    height: int
    stats: CompressStats
