"""The compression engine: numpy and Pillow (and its own C loops), never Django.

Public API (stable; tests/engine/test_public_api.py checks each name is what this says):

Functions
    quantize(pixels, n_colors, ...) -> Quantization     K-Means++ palette and indices of an image
    elbow(pixels, ks, ...) -> list[ElbowPoint]          inertia against K (the "elbow" chart)
    compress(source, options, ...) -> CompressResult    decode, resize, quantize, encode, measure
    probe(source, max_pixels=...) -> ImageInfo          format and displayed size, pixels checked
    precheck(data, limits) -> None                      headers only: tiles, pages, scans, frames
    decode_capped(source, limits) -> CappedDecode       pre-check, then decode in a capped child
    probe_capped(source, limits) -> ImageInfo           pre-check, then probe in a capped child
    thumbnail(data, ...) -> bytes                       a small WebP of an encoded image
    validate_options(options, ...) -> None              every bound and the geometry, InvalidOptions
    plan_geometry(width, height, ...) -> GeometryPlan   crop/scale/resize from the sizes alone
    parse_hex_colour(text) -> (r, g, b)                 "#rrggbb" as the options take it
    prepare_preview(source, options, ...) -> PreviewSource   decode, geometry, shrink once per image
    render_preview(source, options, ...) -> PreviewResult    quantize a prepared preview, estimate the size
Classes
    Quantization, CompressOptions, CompressResult, CompressStats, CropBox, PaletteEntry,
    SearchAttempt, GeometryPlan, ImageInfo, Bound, DecodeLimits, CappedDecode, PreviewSource, PreviewResult
Errors (all subclasses of EngineError)
    EngineError, InvalidImage, UnsupportedFormat, ImageTooLarge, ImageTooCostly, InvalidOptions
Constants
    ENGINE_VERSION (str); BOUNDS (dict of Bound by option name); MAX_DIMENSION (int);
    COMPRESSION_PRESETS, DIMENSION_PRESETS, RESIZE_MODES (tuples of presets)
"""

from .decode import ImageInfo, probe
from .dimensions import CropBox, GeometryPlan, plan_geometry
from .encode import thumbnail
from .errors import EngineError, ImageTooCostly, ImageTooLarge, InvalidImage, InvalidOptions, UnsupportedFormat
from .kmeans import Quantization, elbow, quantize
from .options import (
    BOUNDS,
    ENGINE_VERSION,
    MAX_DIMENSION,
    Bound,
    CompressOptions,
    CompressResult,
    CompressStats,
    PaletteEntry,
    SearchAttempt,
    parse_hex_colour,
    validate_options,
)
from .pipeline import compress
from .prechecks import DecodeLimits, precheck
from .preview import PreviewResult, PreviewSource, prepare_preview, render_preview
from .presets import COMPRESSION_PRESETS, DIMENSION_PRESETS, RESIZE_MODES
from .sandbox import CappedDecode, decode_capped, probe_capped

__all__ = [
    "BOUNDS",
    "COMPRESSION_PRESETS",
    "DIMENSION_PRESETS",
    "ENGINE_VERSION",
    "MAX_DIMENSION",
    "RESIZE_MODES",
    "Bound",
    "CappedDecode",
    "CompressOptions",
    "CompressResult",
    "CompressStats",
    "CropBox",
    "DecodeLimits",
    "EngineError",
    "GeometryPlan",
    "ImageInfo",
    "ImageTooCostly",
    "ImageTooLarge",
    "InvalidImage",
    "InvalidOptions",
    "PaletteEntry",
    "PreviewResult",
    "PreviewSource",
    "Quantization",
    "SearchAttempt",
    "UnsupportedFormat",
    "compress",
    "decode_capped",
    "elbow",
    "parse_hex_colour",
    "plan_geometry",
    "precheck",
    "prepare_preview",
    "probe",
    "probe_capped",
    "quantize",
    "render_preview",
    "thumbnail",
    "validate_options",
]
