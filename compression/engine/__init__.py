"""The compression engine: numpy and Pillow (and its own C loops), never Django.

Public API (stable; tests/engine/test_public_api.py checks each name is what this says):

Functions
    quantize(pixels, n_colors, ...) -> Quantization     K-Means++ palette and indices of an image
    elbow(pixels, ks, ...) -> list[ElbowPoint]          inertia against K (the "elbow" chart)
    compress(source, options, ...) -> CompressResult    decode, resize, quantize, encode, measure
Classes
    Quantization, CompressOptions, CompressResult, CompressStats, CropBox, PaletteEntry,
    SearchAttempt
Errors (all subclasses of EngineError)
    EngineError, InvalidImage, UnsupportedFormat, ImageTooLarge, InvalidOptions
Constants
    ENGINE_VERSION (str); COMPRESSION_PRESETS, DIMENSION_PRESETS, RESIZE_MODES (tuples of presets)
"""

from .errors import EngineError, ImageTooLarge, InvalidImage, InvalidOptions, UnsupportedFormat
from .kmeans import Quantization, elbow, quantize
from .options import (
    ENGINE_VERSION,
    CompressOptions,
    CompressResult,
    CompressStats,
    CropBox,
    PaletteEntry,
    SearchAttempt,
)
from .pipeline import compress
from .presets import COMPRESSION_PRESETS, DIMENSION_PRESETS, RESIZE_MODES

__all__ = [
    "COMPRESSION_PRESETS",
    "DIMENSION_PRESETS",
    "ENGINE_VERSION",
    "RESIZE_MODES",
    "CompressOptions",
    "CompressResult",
    "CompressStats",
    "CropBox",
    "EngineError",
    "ImageTooLarge",
    "InvalidImage",
    "InvalidOptions",
    "PaletteEntry",
    "Quantization",
    "SearchAttempt",
    "UnsupportedFormat",
    "compress",
    "elbow",
    "quantize",
]
