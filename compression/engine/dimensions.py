"""Geometry: crop box, scale by percent, and the resize modes of `presets.RESIZE_MODES`.

Order is fixed: crop_box, then scale_percent, then resize (mode with width/height, or width-only /
height-only keeping the aspect ratio). Unless `allow_upscale` is set, no step enlarges the image:
the step is skipped (or limited to the original size) and the operations list says so.

Geometry is planned before it is done: `plan_geometry` works out every step from the sizes alone
(no pixels), so the platform can check a job's output size, and what any step would hold in
memory, before anything is decoded. `apply_plan` then carries the plan out on the pixels. One
plan serves compress, the size curve, previews and the job pages (`GeometryPlan.source_box` is
the region of the input that the output shows). Resampling is Lanczos; Pillow premultiplies alpha
while resampling RGBA, so transparent edges get no dark fringes.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from .errors import InvalidOptions
from .presets import RESIZE_MODE_KEYS

RESAMPLE = Image.Resampling.LANCZOS


@dataclass(frozen=True)
class CropBox:
    """A rectangle in pixels of the (orientation-corrected) input image."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class GeometryPlan:
    """What `apply_plan` will do to an image of `input_size`, worked out from the sizes alone.

    steps: ("crop", (left, top, right, bottom)), ("resize", (width, height)) or
    ("pad", (width, height), (left, top)), in order. peak_pixels: the most pixels any image along
    the way holds, the input, Lanczos's intermediate (new width x old height) and the output
    included. source_box: (x, y, width, height) of the input region the output shows, in input
    pixels (floats; padding not included).
    """

    input_size: tuple[int, int]
    output_size: tuple[int, int]
    peak_pixels: int
    source_box: tuple[float, float, float, float]
    steps: tuple[tuple, ...]
    operations: tuple[str, ...]


def _size_text(width: int, height: int) -> str:
    return f"{width}x{height}"


def check_crop_box(box: CropBox, width: int, height: int) -> None:
    """Raise InvalidOptions (field "crop") unless `box` lies inside a `width`×`height` image."""
    if box.x < 0 or box.y < 0 or box.width < 1 or box.height < 1:
        raise InvalidOptions(
            f"The crop box (x={box.x}, y={box.y}, width={box.width}, height={box.height}) needs "
            "x and y of at least 0 and a width and height of at least 1.",
            field="crop",
        )
    if box.x + box.width > width or box.y + box.height > height:
        raise InvalidOptions(
            f"The crop box (x={box.x}, y={box.y}, width={box.width}, height={box.height}) reaches "
            f"({box.x + box.width}, {box.y + box.height}), outside the {width}x{height} image.",
            field="crop",
        )


def _scaled(width: int, height: int, factor: float) -> tuple[int, int]:
    return max(1, round(width * factor)), max(1, round(height * factor))


class _Planner:
    """Accumulates the steps of a plan and follows the input region the current image shows."""

    def __init__(self, width: int, height: int):
        self.input_size = (width, height)
        self.size = (width, height)
        self.region = (0.0, 0.0, float(width), float(height))
        self.peak = width * height
        self.steps: list[tuple] = []
        self.operations: list[str] = []

    def crop(self, left: int, top: int, right: int, bottom: int, note: str) -> None:
        if (left, top, right, bottom) == (0, 0, *self.size):
            return
        x, y, w, h = self.region
        sx, sy = w / self.size[0], h / self.size[1]
        self.region = (x + left * sx, y + top * sy, (right - left) * sx, (bottom - top) * sy)
        self.size = (right - left, bottom - top)
        self.steps.append(("crop", (left, top, right, bottom)))
        self.operations.append(note)

    def resize(self, size: tuple[int, int], label: str) -> None:
        if size == self.size:
            return
        # Lanczos resamples horizontally first: new width x old height, then the new size.
        self.peak = max(self.peak, size[0] * self.size[1], size[0] * size[1])
        self.operations.append(f"resized {_size_text(*self.size)} → {_size_text(*size)} ({label})")
        self.steps.append(("resize", size))
        self.size = size

    def pad(self, size: tuple[int, int], background: tuple[int, int, int]) -> None:
        offset = ((size[0] - self.size[0]) // 2, (size[1] - self.size[1]) // 2)
        self.peak = max(self.peak, size[0] * size[1])
        self.steps.append(("pad", size, offset))
        self.operations.append(f"padded to {_size_text(*size)} with background #{bytes(background).hex()}")
        self.size = size

    def plan(self) -> GeometryPlan:
        return GeometryPlan(
            input_size=self.input_size,
            output_size=self.size,
            peak_pixels=self.peak,
            source_box=self.region,
            steps=tuple(self.steps),
            operations=tuple(self.operations),
        )


def plan_geometry(
    image_width: int,
    image_height: int,
    *,
    crop_box: CropBox | None = None,
    scale_percent: float | None = None,
    resize_mode: str | None = None,
    width: int | None = None,
    height: int | None = None,
    allow_upscale: bool = False,
    background: tuple[int, int, int] | None = None,
) -> GeometryPlan:
    """Plan the crop, scale and resize of an image of image_width x image_height.

    Parameters
    ----------
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
    """
    plan = _Planner(image_width, image_height)
    if crop_box is not None:
        check_crop_box(crop_box, image_width, image_height)
        plan.crop(
            crop_box.x, crop_box.y, crop_box.x + crop_box.width, crop_box.y + crop_box.height,
            f"cropped to {_size_text(crop_box.width, crop_box.height)} at ({crop_box.x}, {crop_box.y})",
        )

    if scale_percent is not None and scale_percent != 100:
        if scale_percent > 100 and not allow_upscale:
            plan.operations.append(f"not scaled to {scale_percent:g}%: upscaling is off")
        else:
            plan.resize(_scaled(*plan.size, scale_percent / 100), f"{scale_percent:g}%")

    if resize_mode is None and (width or height):
        if width and height:
            resize_mode = "fit"
        else:
            label = f"width {width}" if width else f"height {height}"
            factor = width / plan.size[0] if width else height / plan.size[1]
            if factor > 1 and not allow_upscale:
                plan.operations.append(f"not resized to {label}: upscaling is off")
            else:
                plan.resize(_scaled(*plan.size, factor), label)
            return plan.plan()

    if resize_mode is not None:
        if resize_mode not in RESIZE_MODE_KEYS:
            raise InvalidOptions(
                f"The resize mode must be one of {', '.join(RESIZE_MODE_KEYS)}.", field="resize_mode"
            )
        if not width or not height:
            raise InvalidOptions(
                f"Resize mode “{resize_mode}” needs both a width and a height.", field="resize_mode"
            )
        _plan_resize_mode(plan, resize_mode, width, height, allow_upscale, background)
    return plan.plan()


def _plan_resize_mode(
    plan: _Planner,
    mode: str,
    width: int,
    height: int,
    allow_upscale: bool,
    background: tuple[int, int, int] | None,
) -> None:
    src_w, src_h = plan.size
    if mode == "stretch":
        target = (width, height)
        if not allow_upscale and (width > src_w or height > src_h):
            target = (min(width, src_w), min(height, src_h))
            plan.operations.append(f"stretch limited to {_size_text(*target)}: upscaling is off")
        plan.resize(target, "stretch")
        return

    if mode == "crop":
        crop_w, crop_h = min(width, src_w), min(height, src_h)
        if (crop_w, crop_h) != (width, height):
            plan.operations.append(f"crop box {width}x{height} is larger than the image; cropped to {crop_w}x{crop_h}")
        left, top = (src_w - crop_w) // 2, (src_h - crop_h) // 2
        plan.crop(left, top, left + crop_w, top + crop_h, f"cropped to {_size_text(crop_w, crop_h)} at ({left}, {top}) (centre)")
        return

    if mode == "fit":
        factor = min(width / src_w, height / src_h)
        if factor > 1 and not allow_upscale:
            plan.operations.append(f"not enlarged to fit {width}x{height}: upscaling is off")
            factor = 1.0
        plan.resize(_scaled(src_w, src_h, factor), "fit")
        if background is not None and plan.size != (width, height):
            plan.pad((width, height), background)
        return

    # fill: cover the box, then crop the centre
    factor = max(width / src_w, height / src_h)
    if factor > 1 and not allow_upscale:
        plan.operations.append(f"not enlarged to fill {width}x{height}: upscaling is off")
        factor = 1.0
    plan.resize(_scaled(src_w, src_h, factor), "fill")
    cur_w, cur_h = plan.size
    crop_w, crop_h = min(width, cur_w), min(height, cur_h)
    left, top = (cur_w - crop_w) // 2, (cur_h - crop_h) // 2
    plan.crop(left, top, left + crop_w, top + crop_h, f"cropped to {_size_text(crop_w, crop_h)} at ({left}, {top}) (fill)")


def apply_plan(image: Image.Image, plan: GeometryPlan, background: tuple[int, int, int] | None = None) -> Image.Image:
    """Carry out `plan` on `image` (mode "RGB" or "RGBA", of the plan's input size)."""
    if image.size != plan.input_size:
        raise ValueError(f"the plan is for a {plan.input_size} image, not {image.size}")
    for step in plan.steps:
        if step[0] == "crop":
            image = image.crop(step[1])
        elif step[0] == "resize":
            image = image.resize(step[1], RESAMPLE)
        else:
            _, size, offset = step
            fill = tuple(background) + ((255,) if image.mode == "RGBA" else ())
            canvas = Image.new(image.mode, size, fill)
            canvas.paste(image, offset)
            image = canvas
    return image
