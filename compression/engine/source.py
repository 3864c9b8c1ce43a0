"""The image a job would work on: the source decoded (or taken from a `decode_capped` result) and
the options' geometry applied, as `compress` does. Shared by the size curve, previews and the
verdict, which all judge what a job would make of the same pixels."""

from __future__ import annotations

from typing import BinaryIO

from PIL import Image

from .decode import FULLY_OPAQUE, decode, normalize_image, read_source
from .dimensions import apply_plan
from .options import CompressOptions, check_geometry
from .sandbox import CappedDecode


def planned_image(source: bytes | BinaryIO | CappedDecode, options: CompressOptions) -> tuple[Image.Image, int]:
    """(the geometry-applied RGB or RGBA image, the source's byte count) for validated `options`.

    Bytes are decoded here (trusted callers only: the platform passes `decode_capped` results).
    The alpha channel is dropped when nothing is transparent, as `compress` does.
    """
    if isinstance(source, CappedDecode):
        image, input_bytes = Image.fromarray(source.pixels), source.input_bytes
    else:
        data = read_source(source)
        input_bytes = len(data)
        image = normalize_image(decode(data, max_pixels=options.max_pixels))
        del data
    image = apply_plan(image, check_geometry(options, *image.size), options.background)
    if image.mode == "RGBA" and image.getextrema()[3][0] == FULLY_OPAQUE:
        image = image.convert("RGB")
    return image, input_bytes
