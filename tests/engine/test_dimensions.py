"""Crop box, scale, resize modes and the no-upscale rule."""

import numpy as np
import pytest
from PIL import Image

from compression.engine import CropBox, InvalidOptions
from compression.engine.dimensions import apply_plan, plan_geometry
from compression.engine.presets import DIMENSION_PRESETS, RESIZE_MODE_KEYS, RESIZE_MODES
from tests.helpers import gradient


def apply_geometry(image, **options):
    """Plan on the sizes, then apply: (image, operations), as compress does."""
    plan = plan_geometry(*image.size, **options)
    return apply_plan(image, plan, options.get("background")), list(plan.operations)


@pytest.fixture
def landscape():
    return Image.fromarray(gradient(600, 400))  # 3:2, like a 6000x4000 camera photo


def test_presets_are_the_single_list():
    assert RESIZE_MODE_KEYS == tuple(mode.key for mode in RESIZE_MODES) == ("fit", "fill", "stretch", "crop")
    sizes = {p.key: (p.width, p.height) for p in DIMENSION_PRESETS}
    assert sizes["hd"] == (1280, 720) and sizes["favicon"] == (32, 32)


def test_fit_keeps_aspect_inside_the_box(landscape):
    image, ops = apply_geometry(landscape, resize_mode="fit", width=128, height=72)
    assert image.size == (108, 72)
    assert ops == ["resized 600x400 → 108x72 (fit)"]


def test_fit_pads_only_with_a_background(landscape):
    image, ops = apply_geometry(landscape, resize_mode="fit", width=128, height=72, background=(255, 0, 255))
    assert image.size == (128, 72)
    pixels = np.asarray(image)
    assert pixels[0, 0].tolist() == [255, 0, 255] and pixels[36, 64].tolist() != [255, 0, 255]
    assert "padded to 128x72 with background #ff00ff" in ops


def test_fill_covers_then_crops_the_centre(landscape):
    image, _ = apply_geometry(landscape, resize_mode="fill", width=128, height=72)
    assert image.size == (128, 72)
    # Centre crop: the mean red (left→right ramp) stays centred.
    assert abs(np.asarray(image)[..., 0].mean() - 127.5) < 2


def test_stretch_ignores_aspect(landscape):
    image, _ = apply_geometry(landscape, resize_mode="stretch", width=100, height=100)
    assert image.size == (100, 100)


def test_crop_mode_cuts_the_centre_without_scaling(landscape):
    image, ops = apply_geometry(landscape, resize_mode="crop", width=100, height=50)
    assert image.size == (100, 50)
    assert np.array_equal(np.asarray(image), np.asarray(landscape)[175:225, 250:350])
    assert ops == ["cropped to 100x50 at (250, 175) (centre)"]


@pytest.mark.parametrize("width, height, expected", [(300, None, (300, 200)), (None, 100, (150, 100))])
def test_width_or_height_alone_keeps_aspect(landscape, width, height, expected):
    image, _ = apply_geometry(landscape, width=width, height=height)
    assert image.size == expected


def test_portrait_fit():
    image, _ = apply_geometry(Image.fromarray(gradient(400, 600)), resize_mode="fit", width=200, height=200)
    assert image.size == (133, 200)


def test_no_upscale_by_default_and_it_says_so(landscape):
    image, ops = apply_geometry(landscape, resize_mode="fit", width=1200, height=1200)
    assert image.size == (600, 400)
    assert any("upscaling is off" in op for op in ops)
    image, _ = apply_geometry(landscape, width=1200)
    assert image.size == (600, 400)
    image, _ = apply_geometry(landscape, scale_percent=200)
    assert image.size == (600, 400)


def test_allow_upscale_enlarges(landscape):
    image, _ = apply_geometry(landscape, resize_mode="fit", width=1200, height=1200, allow_upscale=True)
    assert image.size == (1200, 800)
    image, _ = apply_geometry(landscape, scale_percent=150, allow_upscale=True)
    assert image.size == (900, 600)


def test_crop_box_then_scale_then_resize_in_that_order(landscape):
    image, ops = apply_geometry(
        landscape, crop_box=CropBox(10, 20, 400, 300), scale_percent=50, resize_mode="fit", width=100, height=100
    )
    assert image.size == (100, 75)
    assert ops == [
        "cropped to 400x300 at (10, 20)",
        "resized 400x300 → 200x150 (50%)",
        "resized 200x150 → 100x75 (fit)",
    ]


def test_crop_box_takes_exactly_those_pixels(landscape):
    image, _ = apply_geometry(landscape, crop_box=CropBox(10, 20, 30, 40))
    assert np.array_equal(np.asarray(image), np.asarray(landscape)[20:60, 10:40])


@pytest.mark.parametrize(
    "box", [CropBox(590, 0, 20, 10), CropBox(0, 395, 10, 10), CropBox(-1, 0, 10, 10), CropBox(0, 0, 0, 10)]
)
def test_crop_box_outside_the_image_is_invalid_options_with_the_values(landscape, box):
    with pytest.raises(InvalidOptions) as excinfo:
        apply_geometry(landscape, crop_box=box)
    message = str(excinfo.value)
    assert f"x={box.x}" in message and f"width={box.width}" in message


def test_resize_mode_needs_both_sides(landscape):
    with pytest.raises(InvalidOptions, match="width and a height"):
        apply_geometry(landscape, resize_mode="fill", width=100)


def test_rgba_resize_keeps_alpha_without_dark_fringes():
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[:, 20:] = (255, 255, 255, 255)  # white opaque half, transparent black half
    image, _ = apply_geometry(Image.fromarray(rgba), scale_percent=50)
    pixels = np.asarray(image)
    edge = pixels[:, 8:12]
    visible = edge[..., 3] > 0
    # Premultiplied resampling: visible edge pixels stay white instead of turning grey.
    assert (edge[visible][:, :3] >= 250).all()


def test_plan_reports_the_source_box_the_output_shows():
    plan = plan_geometry(600, 400, crop_box=CropBox(100, 50, 400, 300), resize_mode="fill", width=100, height=100)
    # crop to 400x300; fill scales it to 133x100 and keeps the 100x100 at x=16: 301x300 of the crop
    x, y, w, h = plan.source_box
    assert plan.output_size == (100, 100)
    assert (round(x), round(y), round(w), round(h)) == (148, 50, 301, 300)
    assert plan_geometry(600, 400).source_box == (0.0, 0.0, 600.0, 400.0)


def test_plan_counts_lanczos_intermediate_and_padding_in_peak_pixels():
    # fill with upscale on a 1x5000 strip: the width is scaled 7000x before the crop
    fill = plan_geometry(1, 5000, resize_mode="fill", width=7000, height=7000, allow_upscale=True)
    assert fill.output_size == (7000, 7000)
    assert fill.peak_pixels >= 7000 * 5000 * 7000
    padded = plan_geometry(100, 100, resize_mode="fit", width=2500, height=20000, background=(0, 0, 0))
    assert padded.output_size == (2500, 20000) and padded.peak_pixels == 2500 * 20000


@pytest.mark.parametrize("mode", ["fit", "fill", "stretch", "crop"])
@pytest.mark.parametrize("upscale", [False, True])
@pytest.mark.parametrize("background", [None, (9, 9, 9)])
def test_plan_matches_what_apply_does(landscape, mode, upscale, background):
    plan = plan_geometry(600, 400, resize_mode=mode, width=900, height=300, allow_upscale=upscale, background=background)
    image = apply_plan(landscape, plan, background)
    assert image.size == plan.output_size
    assert plan.peak_pixels >= image.size[0] * image.size[1]
