"""The compression engine: numpy and Pillow only, never Django.

Public API (stable): quantize, Quantization, elbow, compress, CompressOptions, CompressResult,
CompressStats, CropBox, the errors, and the presets.
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
