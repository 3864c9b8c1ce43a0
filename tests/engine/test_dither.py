"""Dithering (remap.c): the C scan against a slow Python reference of the same rule, pixel for
pixel; thread-count independence; what the rule promises (damping, limits, alpha)."""

import math

import numpy as np
import pytest

from compression.engine import native, threads
from compression.engine.colorspace import _LINEAR_LUT, _LMS_TO_LAB, _RGB_TO_LMS
from compression.engine.kmeans import quantize
from compression.engine.remap import (
    _DAMPING_TABLE, DAMPING_FLOOR, ERROR_KEPT, MAX_ERROR_GAPS, MIN_ERROR, _palette_spacing, remap,
)

CUBE_CORNERS = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], dtype=np.uint8)
FS_WEIGHTS = ((7 / 16, "ahead"), (3 / 16, "below_behind"), (5 / 16, "below"), (1 / 16, "below_ahead"))


# --------------------------------------------------------------------------- the reference


def reference_levels(pixels):
    """Damping level per pixel: the table at the largest second difference in the 3×3 neighbourhood."""
    height, width, channels = pixels.shape
    p = pixels.astype(np.int64)
    if channels == 4:  # colour as seen: premultiplied by alpha, rounded
        p[..., :3] = (p[..., :3] * p[..., 3:] + 127) // 255

    def at(y, x):
        return p[min(max(y, 0), height - 1), min(max(x, 0), width - 1)]

    contrast = np.zeros((height, width), dtype=np.int64)
    for y in range(height):
        for x in range(width):
            horizontal = np.abs(at(y, x - 1) + at(y, x + 1) - 2 * at(y, x))
            vertical = np.abs(at(y - 1, x) + at(y + 1, x) - 2 * at(y, x))
            contrast[y, x] = max(horizontal.max(), vertical.max())
    levels = np.zeros((height, width), dtype=np.uint8)
    for y in range(height):
        for x in range(width):
            window = contrast[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2]
            levels[y, x] = _DAMPING_TABLE[window.max()]
    return levels


def reference_feature(p, color_space):
    """A pixel's clustering coordinates, in the order of operations remap.c uses (Python floats)."""
    alpha = int(p[3]) * (1.0 / 255.0) if len(p) == 4 else 1.0
    if color_space == "rgb":
        out = [int(v) * alpha for v in p[:3]]
    else:
        linear = [float(_LINEAR_LUT[int(v)]) for v in p[:3]]
        lms = [math.cbrt(float(m[0]) * linear[0] + float(m[1]) * linear[1] + float(m[2]) * linear[2]) for m in _RGB_TO_LMS]
        out = [(float(m[0]) * lms[0] + float(m[1]) * lms[1] + float(m[2]) * lms[2]) * alpha for m in _LMS_TO_LAB]
    if len(p) == 4:
        out.append(float(p[3]) if color_space == "rgb" else alpha)
    return out


def squared_distance(a, b):
    out = (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2])
    if len(a) == 4:
        out += (a[3] - b[3]) * (a[3] - b[3])
    return out


def reference_dither(pixels, palette, strength, color_space):
    """The rule of remap.py's docstring, written plainly: one pixel at a time, a full palette scan."""
    height, width, d = pixels.shape
    levels = reference_levels(pixels)
    min_error = MIN_ERROR[color_space]
    max_error = MAX_ERROR_GAPS * _palette_spacing(palette, color_space)
    centers = [reference_feature(c, color_space) for c in palette]
    low = [min(c[j] for c in centers) for j in range(d)]
    high = [max(c[j] for c in centers) for j in range(d)]
    transparent = int(np.argmin(palette[:, 3])) if d == 4 else None
    pending = [[[0.0] * d for _ in range(width + 2)] for _ in range(height + 1)]  # one padding cell each side
    out = np.zeros((height, width), dtype=np.uint8)
    for y in range(height):
        step = 1 if y % 2 == 0 else -1
        for x in range(width) if step > 0 else range(width - 1, -1, -1):
            p = pixels[y, x]
            if d == 4 and p[3] == 0:
                out[y, x] = transparent
                continue
            opaque = d == 4 and p[3] == 255
            scale = strength * (int(levels[y, x]) / 255.0)
            error = [0.0 if (j == 3 and opaque) else pending[y][x + 1][j] * scale for j in range(d)]
            length2 = 0.0
            for e in error:
                length2 += e * e
            if length2 < min_error * min_error:
                error = [0.0] * d
            elif length2 > max_error * max_error:
                shrink = max_error / math.sqrt(length2)
                error = [e * shrink for e in error]
            feature = reference_feature(p, color_space)
            wanted = [min(max(feature[j] + error[j], low[j]), high[j]) for j in range(d)]
            distances = [squared_distance(wanted, c) for c in centers]
            choice = min(range(len(centers)), key=lambda c: (distances[c], c))
            out[y, x] = choice
            sent = [0.0 if (j == 3 and opaque) else wanted[j] - centers[choice][j] for j in range(d)]
            targets = {
                "ahead": pending[y][x + 1 + step], "below_behind": pending[y + 1][x + 1 - step],
                "below": pending[y + 1][x + 1], "below_ahead": pending[y + 1][x + 1 + step],
            }
            for j in range(d):
                for weight, name in FS_WEIGHTS:
                    targets[name][j] += sent[j] * weight
    return out


# --------------------------------------------------------------------------- images


def smooth_and_busy(shape, channels, seed):
    """A gradient (where dithering matters) with a noisy band and a hard edge (where it is damped)."""
    height, width = shape
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.zeros((height, width, channels), dtype=np.float64)
    image[..., 0] = 255 * x / max(width - 1, 1)
    image[..., 1] = 255 * y / max(height - 1, 1)
    image[..., 2] = 128 + 60 * np.sin(x / 3.0)
    image[height // 3 : height // 2] += rng.normal(0, 40, (height // 2 - height // 3, width, channels))
    image[:, (2 * width) // 3 :, :3] = 255 - image[:, (2 * width) // 3 :, :3]
    if channels == 4:
        image[..., 3] = rng.choice([0, 255, 255, 90, 200], size=(height, width))
        image[: height // 4, ..., 3] = 255
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def palette_for(pixels, k, seed):
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (k, pixels.shape[2]), dtype=np.uint8)
    if pixels.shape[2] == 4:
        palette[0] = 0
        palette[1:, 3] = rng.choice([255, 255, 128, 60], size=k - 1)
    return palette


# --------------------------------------------------------------------------- C against the reference


@pytest.mark.parametrize("color_space", ["rgb", "oklab"])
@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("strength", [1.0, 0.5, 0.2])
@pytest.mark.parametrize("shape", [(19, 23), (9, 31), (1, 12), (12, 1)])
def test_c_dither_equals_the_reference_pixel_for_pixel(color_space, channels, strength, shape):
    pixels = smooth_and_busy(shape, channels, seed=sum(shape) + channels)
    palette = palette_for(pixels, 12, seed=channels)
    expected = reference_dither(pixels, palette, strength, color_space)
    np.testing.assert_array_equal(remap(pixels, palette, dither=strength, color_space=color_space), expected)


@pytest.mark.parametrize("color_space", ["rgb", "oklab"])
def test_c_dither_equals_the_reference_with_a_large_quantized_palette(color_space):
    pixels = smooth_and_busy((24, 40), 3, seed=5)
    palette = quantize(pixels, 256, color_space=color_space).palette
    expected = reference_dither(pixels, palette, 1.0, color_space)
    np.testing.assert_array_equal(remap(pixels, palette, dither=1.0, color_space=color_space), expected)


def test_exact_ties_go_to_the_lower_index_like_the_reference():
    # 64 is exactly halfway between 0 and 128, and both repeat: exact ties everywhere.
    palette = np.array([[0, 0, 0], [255, 255, 255], [0, 0, 0], [128, 128, 128], [128, 128, 128]], dtype=np.uint8)
    pixels = np.full((10, 14, 3), 64, dtype=np.uint8)
    pixels[:, 7:] = 192
    expected = reference_dither(pixels, palette, 1.0, "rgb")
    out = remap(pixels, palette, dither=1.0)
    np.testing.assert_array_equal(out, expected)
    assert not np.isin(out, [2, 4]).any()  # a duplicate never wins over its lower twin


def test_contrast_levels_equal_the_reference():
    for channels in (3, 4):
        pixels = smooth_and_busy((70, 33), channels, seed=channels)  # more than one 64-row band
        np.testing.assert_array_equal(native.contrast_levels(pixels, _DAMPING_TABLE, 2), reference_levels(pixels))


# --------------------------------------------------------------------------- threads


def test_the_result_does_not_depend_on_the_thread_count(monkeypatch):
    pixels = smooth_and_busy((300, 170), 4, seed=9)  # several bands of the contrast map
    palette = palette_for(pixels, 40, seed=3)
    one_thread_levels = native.contrast_levels(pixels, _DAMPING_TABLE, 1)
    monkeypatch.setattr(threads, "THREADS", 1)
    one_thread = remap(pixels, palette, dither=0.8)
    for count in (2, 3, 7):
        np.testing.assert_array_equal(native.contrast_levels(pixels, _DAMPING_TABLE, count), one_thread_levels)
        monkeypatch.setattr(threads, "THREADS", count)
        np.testing.assert_array_equal(remap(pixels, palette, dither=0.8), one_thread)


# --------------------------------------------------------------------------- what the rule promises


def test_a_flat_area_is_dithered_to_its_true_colour():
    colour = np.array([100, 150, 200], dtype=np.uint8)
    pixels = np.broadcast_to(colour, (64, 64, 3)).copy()
    out = CUBE_CORNERS[remap(pixels, CUBE_CORNERS, dither=1.0)]
    assert len(np.unique(out.reshape(-1, 3), axis=0)) > 2
    # Within 1/16 of the palette's spacing: the share of error not passed on (ERROR_KEPT) biases
    # the mean towards the chosen entries.
    np.testing.assert_allclose(out.reshape(-1, 3).mean(axis=0), colour, atol=255 * (1 - ERROR_KEPT))
    assert len(np.unique(CUBE_CORNERS[remap(pixels, CUBE_CORNERS)].reshape(-1, 3), axis=0)) == 1


def test_strength_scales_the_diffused_error():
    pixels = np.full((32, 32, 3), 90, dtype=np.uint8)
    palette = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    full = (remap(pixels, palette, dither=1.0) == 1).mean()
    half = (remap(pixels, palette, dither=0.5) == 1).mean()
    assert abs(full - 90 / 255) < 0.02
    assert 0 < half < full


def test_edges_and_texture_are_damped_and_smooth_areas_are_not():
    pixels = np.full((12, 12, 3), 100, dtype=np.uint8)
    pixels[:, 6:] = 200  # a hard edge between columns 5 and 6
    levels = native.contrast_levels(pixels, _DAMPING_TABLE, 1)
    smooth = round(255 * ERROR_KEPT)
    assert (levels[:, :4] == smooth).all() and (levels[:, 8:] == smooth).all()
    assert (levels[:, 4:8] == round(255 * DAMPING_FLOOR)).all()  # within one pixel of the edge
    # So a ramp crossing a textured band is dithered much less inside the band.
    rng = np.random.default_rng(0)
    ramp = np.broadcast_to(np.linspace(0, 255, 96)[None, :, None], (96, 96, 3)).copy()
    ramp[32:64] += rng.normal(0, 30, (32, 96, 3))
    ramp = np.clip(np.rint(ramp), 0, 255).astype(np.uint8)
    palette = np.array([[v, v, v] for v in range(0, 256, 51)], dtype=np.uint8)
    changed = remap(ramp, palette, dither=1.0) != remap(ramp, palette)
    assert changed[32:64].mean() < 0.5 * changed[:32].mean()


def test_a_small_error_is_dropped_so_a_near_match_stays_flat():
    palette = np.array([[0, 0, 0], [100, 100, 100], [255, 255, 255]], dtype=np.uint8)
    pixels = np.full((40, 40, 3), 100, dtype=np.uint8)
    pixels[..., 0] = 101  # off by one unit: below MIN_ERROR once diffused
    assert (remap(pixels, palette, dither=1.0) == 1).all()


def test_transparent_pixels_take_the_transparent_entry_and_send_no_error():
    palette = np.array([[0, 0, 0, 0], [0, 0, 0, 255], [255, 255, 255, 255]], dtype=np.uint8)
    pixels = np.zeros((20, 20, 4), dtype=np.uint8)
    pixels[:, :10] = [128, 128, 128, 255]
    pixels[:, 10:] = [255, 255, 255, 0]  # invisible white: must not push error anywhere
    out = remap(pixels, palette, dither=1.0)
    assert (out[:, 10:] == 0).all()
    assert set(np.unique(out[:, :10])) == {1, 2}
    np.testing.assert_array_equal(out[:, :10], remap(pixels[:, :10].copy(), palette, dither=1.0))


def test_opaque_pixels_carry_no_alpha_error():
    # Translucent rows above opaque ones send alpha error down; an opaque pixel that accepted it
    # would pick the translucent entry (alpha 191) instead of the opaque greys on either side.
    palette = np.array([[0, 0, 0, 0], [30, 30, 30, 255], [110, 110, 110, 255], [70, 70, 70, 191]], dtype=np.uint8)
    pixels = np.zeros((16, 16, 4), dtype=np.uint8)
    pixels[:8] = [70, 70, 70, 117]
    pixels[8:] = [70, 70, 70, 255]
    out = remap(pixels, palette, dither=1.0)
    assert (palette[out[8:], 3] == 255).all()
    assert (palette[out[:8], 3] == 191).any()


def test_partial_alpha_is_dithered_to_its_mean():
    palette = np.array([[0, 0, 0, 0], [200, 200, 200, 255]], dtype=np.uint8)
    pixels = np.full((40, 40, 4), [200, 200, 200, 128], dtype=np.uint8)
    alpha = palette[remap(pixels, palette, dither=1.0), 3].astype(float)
    assert abs(alpha.mean() - 128) < 6
