"""Remap: nearest colour, and the options. The dithering rule is tested in test_dither.py."""

import numpy as np
import pytest

from compression.engine.errors import InvalidOptions
from compression.engine.kmeans import quantize
from compression.engine.remap import remap

CUBE_CORNERS = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], dtype=np.uint8)


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
