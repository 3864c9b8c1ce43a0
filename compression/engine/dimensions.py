"""Geometry: crop box, scale by percent, and the resize modes of `presets.RESIZE_MODES`.

Order is fixed: crop_box, then scale_percent, then resize (mode with width/height, or width-only /
height-only keeping the aspect ratio). Resampling is Lanczos; Pillow premultiplies alpha while
resampling RGBA, so transparent edges get no dark fringes. Unless `allow_upscale` is set, no step
enlarges the image: the step is skipped (or limited to the original size) and the operations list
says so.
"""

from __future__ import annotations

from PIL import Image

from .errors import InvalidOptions
from .options import CompressOptions, CropBox
from .presets import RESIZE_MODE_KEYS

RESAMPLE = Image.Resampling.LANCZOS


def _size_text(width: int, height: int) -> str:
    return f"{width}x{height}"


def check_crop_box(box: CropBox, width: int, height: int) -> None:
    """Raise InvalidOptions (with the values) unless `box` lies inside a `width`×`height` image."""
    if box.x < 0 or box.y < 0 or box.width < 1 or box.height < 1:
        raise InvalidOptions(
            f"crop box (x={box.x}, y={box.y}, width={box.width}, height={box.height}) must have "
            "x, y >= 0 and width, height >= 1"
        )
    if box.x + box.width > width or box.y + box.height > height:
        raise InvalidOptions(
            f"crop box (x={box.x}, y={box.y}, width={box.width}, height={box.height}) reaches "
            f"({box.x + box.width}, {box.y + box.height}), outside the {width}x{height} image"
        )


def _scaled(width: int, height: int, factor: float) -> tuple[int, int]:
    return max(1, round(width * factor)), max(1, round(height * factor))


def _resize(image: Image.Image, size: tuple[int, int], label: str, operations: list[str]) -> Image.Image:
    if size == image.size:
        return image
    operations.append(
        f"resized {_size_text(*image.size)} → {_size_text(*size)} ({label})"
    )
    return image.resize(size, RESAMPLE)


def apply_options_geometry(image: Image.Image, options: CompressOptions) -> tuple[Image.Image, list[str]]:
    """`apply_geometry` with the geometry fields of `options` (what compress and size_curve do)."""
    return apply_geometry(
        image,
        crop_box=options.crop_box,
        scale_percent=options.scale_percent,
        resize_mode=options.resize_mode,
        width=options.width,
        height=options.height,
        allow_upscale=options.allow_upscale,
        background=options.background,
    )


def apply_geometry(
    image: Image.Image,
    *,
    crop_box: CropBox | None = None,
    scale_percent: float | None = None,
    resize_mode: str | None = None,
    width: int | None = None,
    height: int | None = None,
    allow_upscale: bool = False,
    background: tuple[int, int, int] | None = None,
) -> tuple[Image.Image, list[str]]:
    """Crop, scale and resize an image.

    Parameters
    ----------
    image : PIL.Image.Image
        Mode "RGB" or "RGBA" (as returned by `codec.normalize_image`).
    crop_box : CropBox or None
        Cut this rectangle first; it must lie inside the image (InvalidOptions otherwise).
    scale_percent : float or None
        Then scale both sides by this percentage.
    resize_mode : {"fit", "fill", "stretch", "crop"} or None
        Then fit the `width`×`height` box in this mode. With None, `width` or `height` alone (or
        both, which behaves like "fit") resizes keeping the aspect ratio.
    allow_upscale : bool
        False (default): never enlarge. An enlarging step is limited to the current size.
    background : (r, g, b) or None
        For "fit": pad to exactly `width`×`height` with this colour, centred. None: no padding.

    Returns
    -------
    (PIL.Image.Image, list of str)
        The new image and human-readable operations, e.g. "cropped to 400x300 at (10, 20)".
    """
    operations: list[str] = []
    if crop_box is not None:
        check_crop_box(crop_box, *image.size)
        box = (crop_box.x, crop_box.y, crop_box.x + crop_box.width, crop_box.y + crop_box.height)
        if box != (0, 0, *image.size):
            image = image.crop(box)
            operations.append(
                f"cropped to {_size_text(crop_box.width, crop_box.height)} at ({crop_box.x}, {crop_box.y})"
            )

    if scale_percent is not None and scale_percent != 100:
        if scale_percent > 100 and not allow_upscale:
            operations.append(f"not scaled to {scale_percent:g}%: upscaling is off")
        else:
            image = _resize(image, _scaled(*image.size, scale_percent / 100), f"{scale_percent:g}%", operations)

    if resize_mode is None and (width or height):
        resize_mode = "fit"
        if not (width and height):
            label = "width" if width else "height"
            src_w, src_h = image.size
            factor = width / src_w if width else height / src_h
            if factor > 1 and not allow_upscale:
                operations.append(f"not resized to {label} {width or height}: upscaling is off")
                return image, operations
            return _resize(image, _scaled(src_w, src_h, factor), f"{label} {width or height}", operations), operations

    if resize_mode is not None:
        if resize_mode not in RESIZE_MODE_KEYS:
            raise InvalidOptions(f"resize_mode={resize_mode!r} must be one of {', '.join(RESIZE_MODE_KEYS)}")
        if not width or not height:
            raise InvalidOptions(f"resize_mode={resize_mode!r} needs both width and height (got {width}, {height})")
        image = _resize_mode(image, resize_mode, width, height, allow_upscale, background, operations)
    return image, operations


def _resize_mode(
    image: Image.Image,
    mode: str,
    width: int,
    height: int,
    allow_upscale: bool,
    background: tuple[int, int, int] | None,
    operations: list[str],
) -> Image.Image:
    src_w, src_h = image.size
    if mode == "stretch":
        target = (width, height)
        if not allow_upscale and (width > src_w or height > src_h):
            target = (min(width, src_w), min(height, src_h))
            operations.append(f"stretch limited to {_size_text(*target)}: upscaling is off")
        return _resize(image, target, "stretch", operations)

    if mode == "crop":
        crop_w, crop_h = min(width, src_w), min(height, src_h)
        if (crop_w, crop_h) != (width, height):
            operations.append(f"crop box {width}x{height} is larger than the image; cropped to {crop_w}x{crop_h}")
        left, top = (src_w - crop_w) // 2, (src_h - crop_h) // 2
        if (crop_w, crop_h) == (src_w, src_h):
            return image
        operations.append(f"cropped to {_size_text(crop_w, crop_h)} at ({left}, {top}) (centre)")
        return image.crop((left, top, left + crop_w, top + crop_h))

    if mode == "fit":
        factor = min(width / src_w, height / src_h)
        if factor > 1 and not allow_upscale:
            operations.append(f"not enlarged to fit {width}x{height}: upscaling is off")
            factor = 1.0
        image = _resize(image, _scaled(src_w, src_h, factor), "fit", operations)
        if background is not None and image.size != (width, height):
            canvas_mode = image.mode
            fill = tuple(background) + ((255,) if canvas_mode == "RGBA" else ())
            canvas = Image.new(canvas_mode, (width, height), fill)
            left, top = (width - image.width) // 2, (height - image.height) // 2
            canvas.paste(image, (left, top))
            operations.append(
                f"padded to {_size_text(width, height)} with background #{bytes(background).hex()}"
            )
            image = canvas
        return image

    # fill: cover the box, then crop the centre
    factor = max(width / src_w, height / src_h)
    if factor > 1 and not allow_upscale:
        operations.append(f"not enlarged to fill {width}x{height}: upscaling is off")
        factor = 1.0
    image = _resize(image, _scaled(src_w, src_h, factor), "fill", operations)
    crop_w, crop_h = min(width, image.width), min(height, image.height)
    if (crop_w, crop_h) != image.size:
        left, top = (image.width - crop_w) // 2, (image.height - crop_h) // 2
        image = image.crop((left, top, left + crop_w, top + crop_h))
        operations.append(f"cropped to {_size_text(crop_w, crop_h)} at ({left}, {top}) (fill)")
    return image
