"""Remap: nearest colour, and Floyd-Steinberg by wavefronts against a plain sequential scan."""

import numpy as np
import pytest

from compression.engine.errors import InvalidOptions
from compression.engine.kmeans import quantize
from compression.engine.remap import remap

CUBE_CORNERS = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], dtype=np.uint8)


def sequential_floyd_steinberg(pixels, palette, strength):
    """The textbook row-by-row scan (float64), with the engine's clamp to the palette's box."""
    height, width, _ = pixels.shape
    work = pixels.astype(np.float64).copy()
    pal = palette.astype(np.float64)
    low, high = pal.min(axis=0), pal.max(axis=0)
    out = np.zeros((height, width), dtype=np.uint8)
    for y in range(height):
        for x in range(width):
            wanted = np.clip(work[y, x], low, high)
            best = int(((pal - wanted) ** 2).sum(axis=1).argmin())
            out[y, x] = best
            err = (wanted - pal[best]) * strength
            for dy, dx, w in ((0, 1, 7), (1, -1, 3), (1, 0, 5), (1, 1, 1)):
                if 0 <= y + dy < height and 0 <= x + dx < width:
                    work[y + dy, x + dx] += err * w / 16
    return out


def test_no_dither_is_the_nearest_palette_colour():
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    palette = rng.integers(0, 256, (13, 3), dtype=np.uint8)
    out = remap(px, palette)
    dist = ((px.reshape(-1, 1, 3).astype(float) - palette[None].astype(float)) ** 2).sum(axis=2)
    chosen = dist[np.arange(len(dist)), out.ravel()]
    np.testing.assert_array_equal(chosen, dist.min(axis=1))
    assert out.dtype == np.uint8 and out.shape == (40, 50)


def test_no_dither_reproduces_the_quantization_indices():
    px = np.random.default_rng(1).integers(0, 256, (30, 30, 3), dtype=np.uint8)
    q = quantize(px, 16)
    np.testing.assert_array_equal(remap(px, q.palette), q.indices)


@pytest.mark.parametrize("strength", [1.0, 0.5])
@pytest.mark.parametrize("shape", [(17, 23), (23, 9), (1, 12), (12, 1)])
def test_wavefront_dither_equals_the_sequential_scan(strength, shape):
    rng = np.random.default_rng(sum(shape))
    px = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    palette = rng.integers(0, 256, (6, 3), dtype=np.uint8)
    expected = sequential_floyd_steinberg(px, palette, strength)
    out = remap(px, palette, dither=strength)
    # float32 vs float64 may resolve an exact near-tie differently; nothing more.
    assert (out == expected).mean() >= 0.99


def test_dithered_flat_area_averages_to_its_true_colour():
    colour = np.array([100, 150, 200], dtype=np.uint8)
    px = np.broadcast_to(colour, (64, 64, 3)).copy()
    out = CUBE_CORNERS[remap(px, CUBE_CORNERS, dither=1.0)]
    assert len(np.unique(out.reshape(-1, 3), axis=0)) > 2  # actually dithered
    np.testing.assert_allclose(out.reshape(-1, 3).mean(axis=0), colour, atol=3.0)
    # Without dithering the area is one flat, wrong colour.
    flat = CUBE_CORNERS[remap(px, CUBE_CORNERS)]
    assert len(np.unique(flat.reshape(-1, 3), axis=0)) == 1


def test_half_strength_dithers_less_than_full():
    px = np.broadcast_to(np.array([90, 90, 90], np.uint8), (32, 32, 3)).copy()
    palette = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    full = (remap(px, palette, dither=1.0) == 1).mean()
    half = (remap(px, palette, dither=0.5) == 1).mean()
    assert abs(full - 90 / 255) < 0.02
    assert half < full


def test_dither_indices_are_valid_on_a_photo_sized_input():
    px = np.random.default_rng(2).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    q = quantize(px, 32)
    out = remap(px, q.palette, dither=1.0)
    assert out.shape == (120, 160) and out.max() < len(q.palette)


def test_oklab_dither_gives_valid_indices_and_tracks_the_mean():
    colour = np.array([120, 60, 30], dtype=np.uint8)
    px = np.broadcast_to(colour, (48, 48, 3)).copy()
    out = remap(px, CUBE_CORNERS, dither=1.0, color_space="oklab")
    assert out.max() < len(CUBE_CORNERS)
    assert len(np.unique(out)) > 1


def test_transparent_pixels_keep_the_transparent_entry_and_send_no_error():
    palette = np.array([[0, 0, 0, 0], [0, 0, 0, 255], [255, 255, 255, 255]], dtype=np.uint8)
    px = np.zeros((20, 20, 4), dtype=np.uint8)
    px[:, :10] = [128, 128, 128, 255]
    px[:, 10:] = [255, 255, 255, 0]  # invisible white: must not push error anywhere
    out = remap(px, palette, dither=1.0)
    assert (out[:, 10:] == 0).all()
    assert set(np.unique(out[:, :10])) == {1, 2}
    nearest = remap(px, palette)
    assert (nearest[:, 10:] == 0).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dither": 1.5}, "dither=1.5 must be a number between 0 and 1"),
        ({"dither": -0.1}, "dither=-0.1"),
        ({"color_space": "lab"}, "color_space='lab'"),
    ],
)
def test_rejects_bad_options(kwargs, message):
    px = np.zeros((4, 4, 3), dtype=np.uint8)
    with pytest.raises(InvalidOptions, match=message):
        remap(px, CUBE_CORNERS, **kwargs)


def test_rejects_a_palette_with_the_wrong_channel_count():
    with pytest.raises(InvalidOptions, match="palette has 3 channels but pixels have 4"):
        remap(np.zeros((4, 4, 4), dtype=np.uint8), CUBE_CORNERS)
