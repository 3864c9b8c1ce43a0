"""The options `compress` takes and the result it returns: the engine's contract with its callers.

Every bound a user can hit is stated once, here (`BOUNDS`), with the one message a person sees
for it. `validate_options` enforces them; the platform's forms and serializers read their
min/max and messages from the same table, so every face gives the same answer.
"""

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from .dimensions import CropBox, plan_geometry
from .errors import InvalidOptions
from .presets import COLOR_SPACES, MAX_COLORS, MIN_COLORS, OUTPUT_FORMATS, RESIZE_MODE_KEYS

ENGINE_VERSION = "1.0.0"

ColorSpace = Literal["rgb", "oklab"]
ResizeModeKey = Literal["fit", "fill", "stretch", "crop"]
OutputFormat = Literal["png", "webp", "gif"]


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
    # (x, y, width, height) of the input region the output shows, in input pixels; see dimensions.
    source_box: tuple[float, float, float, float] | None = None

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


# --------------------------------------------------------------------------- bounds and validation

MAX_DIMENSION = 20_000  # largest width or height an option may ask for
KIB = 1024


@dataclass(frozen=True)
class Bound:
    """The allowed range of one numeric option, and what a person is told beyond it."""

    field: str
    label: str
    minimum: float
    maximum: float | None
    integer: bool = True
    unit: str = ""

    @property
    def message(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        if self.maximum is None:
            return f"{self.label} must be {kind} of at least {self.minimum:g}{self.unit}."
        return f"{self.label} must be {kind} from {self.minimum:g} to {self.maximum:g}{self.unit}."

    def contains(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        if self.integer and not isinstance(value, (int, np.integer)):
            return False
        if math.isnan(value) or value < self.minimum:
            return False
        return self.maximum is None or value <= self.maximum

    def check(self, value) -> None:
        if not self.contains(value):
            raise InvalidOptions(self.message, field=self.field)


MIN_TARGET_SIZE_BYTES = 256  # below this not even a 2-colour file fits: headers and palette
MAX_TARGET_SIZE_BYTES = KIB**3
_SIZE_MESSAGE_UNIT = " bytes (1 GiB)"

BOUNDS: dict[str, Bound] = {
    bound.field: bound
    for bound in (
        Bound("n_colors", "K (the number of colours)", MIN_COLORS, MAX_COLORS),
        Bound("max_iter", "The iteration limit", 1, 1000),
        Bound("seed", "The seed", 0, 2**32 - 1),
        Bound("dither", "The dithering strength", 0, 1, integer=False, unit=" (0-100 %)"),
        Bound("width", "The width", 1, MAX_DIMENSION, unit=" pixels"),
        Bound("height", "The height", 1, MAX_DIMENSION, unit=" pixels"),
        Bound("scale_percent", "The scale", 1, 1000, integer=False, unit=" %"),
        Bound("crop_x", "The crop box's x", 0, None, unit=" pixels"),
        Bound("crop_y", "The crop box's y", 0, None, unit=" pixels"),
        Bound("crop_width", "The crop box's width", 1, None, unit=" pixels"),
        Bound("crop_height", "The crop box's height", 1, None, unit=" pixels"),
        Bound("target_size_bytes", "The target size", MIN_TARGET_SIZE_BYTES, MAX_TARGET_SIZE_BYTES, unit=" bytes"),
        Bound("target_size_kb", "The target size", MIN_TARGET_SIZE_BYTES / KIB, MAX_TARGET_SIZE_BYTES / KIB,
              integer=False, unit=" KB"),
        Bound("target_psnr", "The target PSNR", 10, 80, integer=False, unit=" dB"),
        Bound("target_ssim", "The target SSIM", 0.1, 1, integer=False),
        Bound("png_optimize_level", "The PNG optimisation level", 0, 6),
        Bound("preview_pixels", "The preview size", 16_384, 2_000_000, unit=" pixels"),
    )
}
TARGET_FIELDS = ("target_size_bytes", "target_psnr", "target_ssim")
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")


def parse_hex_colour(text: str) -> tuple[int, int, int]:
    """"#rrggbb" (or "rrggbb") -> (r, g, b); InvalidOptions (field "background") otherwise."""
    match = _HEX_COLOUR.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidOptions(f'A colour is written like "#1a2b3c" (got {text!r}).', field="background")
    return tuple(bytes.fromhex(match.group(1)))


def _fail(message: str, field: str | None = None) -> None:
    raise InvalidOptions(message, field=field)


def validate_options(
    options: CompressOptions,
    *,
    image_width: int | None = None,
    image_height: int | None = None,
) -> None:
    """Check every option, raising InvalidOptions naming the field and the allowed range.

    Parameters
    ----------
    options : CompressOptions
    image_width, image_height : int or None
        The (orientation-corrected) size of the input when known: then the crop box must lie
        inside it and no image along the planned geometry (every resize, upscale and padding)
        may exceed `options.max_pixels`.
    """
    o = options
    for name in ("n_colors", "max_iter", "seed", "dither"):
        BOUNDS[name].check(getattr(o, name))
    for name in ("width", "height", "scale_percent", "png_optimize_level"):
        if getattr(o, name) is not None:
            BOUNDS[name].check(getattr(o, name))
    if o.color_space not in COLOR_SPACES:
        _fail(f"The colour space must be one of {', '.join(COLOR_SPACES)} (got {o.color_space!r}).", "color_space")
    if isinstance(o.tol, bool) or not isinstance(o.tol, (int, float)) or math.isnan(o.tol) or not 0 <= o.tol < 1:
        _fail(f"tol={o.tol!r} must be a number >= 0 and < 1", "tol")
    if o.crop_box is not None:
        for name, value in zip(("crop_x", "crop_y", "crop_width", "crop_height"), (
            o.crop_box.x, o.crop_box.y, o.crop_box.width, o.crop_box.height
        )):
            if not BOUNDS[name].contains(value):
                box = o.crop_box
                _fail(
                    f"{BOUNDS[name].message} (crop box x={box.x}, y={box.y}, width={box.width}, "
                    f"height={box.height})",
                    "crop",
                )
    if o.scale_percent is not None and (o.width is not None or o.height is not None):
        _fail("Give a scale or a width/height, not both.", "scale_percent")
    if o.resize_mode is not None:
        if o.resize_mode not in RESIZE_MODE_KEYS:
            _fail(f"The resize mode must be one of {', '.join(RESIZE_MODE_KEYS)} (got {o.resize_mode!r}).", "resize_mode")
        if o.width is None or o.height is None:
            _fail(f"Resize mode “{o.resize_mode}” needs both a width and a height.", "resize_mode")
    if o.background is not None and (
        len(o.background) != 3
        or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c <= 255 for c in o.background)
    ):
        _fail(f"background={o.background!r} must be three integers 0-255 (r, g, b)", "background")
    targets = [name for name in TARGET_FIELDS if getattr(o, name) is not None]
    if len(targets) > 1:
        _fail(f"Only one target at a time: {', '.join(targets)} were given.", targets[1])
    for name in targets:
        BOUNDS[name].check(getattr(o, name))
    if o.output_format not in OUTPUT_FORMATS:
        _fail(f"The output format must be one of {', '.join(OUTPUT_FORMATS)} (got {o.output_format!r}).", "output_format")
    if o.png_optimize_level is not None and o.output_format != "png":
        _fail(f"png_optimize_level applies only to PNG output, not output_format={o.output_format!r}", "png_optimize_level")
    if isinstance(o.max_pixels, bool) or not isinstance(o.max_pixels, int) or o.max_pixels < 1:
        _fail(f"max_pixels={o.max_pixels!r} must be a positive integer", "max_pixels")
    if image_width is not None and image_height is not None:
        check_geometry(o, image_width, image_height)


def check_geometry(o: CompressOptions, width: int, height: int):
    """The geometry plan of `o` on a width x height input, refused if it would exceed max_pixels.

    The one output-size check: every resize mode, upscale, padding and Lanczos's intermediate
    image count (`GeometryPlan.peak_pixels`). Returns the plan.
    """
    if width * height > o.max_pixels:
        _fail(f"The image is {width}x{height} = {width * height:,} pixels; the limit is {o.max_pixels:,}.")
    plan = plan_geometry(
        width, height,
        crop_box=o.crop_box, scale_percent=o.scale_percent, resize_mode=o.resize_mode,
        width=o.width, height=o.height, allow_upscale=o.allow_upscale, background=o.background,
    )
    if plan.peak_pixels > o.max_pixels:
        out_w, out_h = plan.output_size
        field = "scale_percent" if o.scale_percent is not None else "width"
        _fail(
            f"This geometry needs {plan.peak_pixels:,} pixels along the way (the output is {out_w}x{out_h}); "
            f"the limit is {o.max_pixels:,}. Choose a smaller size or turn off upscaling.",
            field,
        )
    return plan
