"""The colour histograms against np.unique of the packed codes: the same distinct colours in the
same order, the same counts and the same inverse index, for RGB and RGBA."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from compression.engine import threads
from compression.engine.kmeans import build_histogram

IMAGES = Path(__file__).resolve().parents[1] / "images"


def unique_reference(pixels):
    """(colors, counts, inverse) by sorting the packed codes; every alpha-0 pixel counts as (0, 0, 0, 0)."""
    flat = pixels.reshape(-1, pixels.shape[2]).astype(np.uint32)
    codes = np.zeros(len(flat), dtype=np.uint32)
    for channel in range(pixels.shape[2]):
        codes = (codes << np.uint32(8)) | flat[:, channel]
    if pixels.shape[2] == 4:
        codes[flat[:, 3] == 0] = 0
    distinct, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    colors = np.stack([(distinct >> np.uint32(8 * (pixels.shape[2] - 1 - c))) & np.uint32(255) for c in range(pixels.shape[2])], axis=1)
    return colors.astype(np.uint8), counts, inverse.reshape(pixels.shape[:2])


def assert_matches_unique(pixels):
    histogram = build_histogram(pixels)
    colors, counts, inverse = unique_reference(pixels)
    np.testing.assert_array_equal(histogram.colors, colors)
    np.testing.assert_array_equal(histogram.counts, counts)
    np.testing.assert_array_equal(histogram.inverse, inverse)
    assert histogram.inverse.dtype == np.int32 and histogram.counts.dtype == np.int64
    has_transparent = pixels.shape[2] == 4 and (pixels[..., 3] == 0).any()
    assert histogram.transparent_index == (0 if has_transparent else None)
    return histogram


def random_rgba(shape, seed, alphas=(0, 255, 1, 128, 254)):
    """Random RGBA with few enough colours to repeat, alpha drawn from `alphas`."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 4, (*shape, 4), dtype=np.uint8) * 85
    pixels[..., 3] = rng.choice(alphas, size=shape)
    return pixels


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (64, 80), (700, 600)])
def test_random_rgba_matches_np_unique(shape):
    assert_matches_unique(random_rgba(shape, seed=shape[0]))


@pytest.mark.parametrize("alphas", [(255,), (0,), (37,), (0, 255), (1, 254)])
def test_rgba_with_only_opaque_transparent_or_translucent_pixels_matches_np_unique(alphas):
    assert_matches_unique(random_rgba((90, 70), seed=len(alphas), alphas=alphas))


def test_rgba_with_many_distinct_translucent_colours_matches_np_unique():
    # Every pixel its own colour, so the hash table is as full as it gets.
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (400, 500, 4), dtype=np.uint8)
    pixels[..., 3] = rng.integers(1, 255, (400, 500))
    assert_matches_unique(pixels)


@pytest.mark.parametrize("name", ["rose_feathered_alpha.png", "noto_emoji_u1f98b_butterfly.png", "PNG_transparency_demonstration_1.png"])
def test_real_rgba_images_match_np_unique(name):
    with Image.open(IMAGES / "alpha" / name) as image:
        pixels = np.asarray(image.convert("RGBA"))
    histogram = assert_matches_unique(pixels)
    # Fully transparent pixels, whatever their hidden colour, are one colour: (0, 0, 0, 0).
    clear = pixels[..., 3] == 0
    assert clear.any() and (histogram.inverse[clear] == 0).all()
    np.testing.assert_array_equal(histogram.colors[0], [0, 0, 0, 0])


def test_rgb_photo_matches_np_unique():
    with Image.open(IMAGES / "photos" / "kodim23.png") as image:
        assert_matches_unique(np.asarray(image.convert("RGB")))


def test_rgba_histogram_does_not_depend_on_the_thread_count(monkeypatch):
    pixels = random_rgba((1200, 500), seed=11)  # several parts of 2^18 pixels
    results = []
    for count in (1, 2, 5):
        monkeypatch.setattr(threads, "THREADS", count)
        h = build_histogram(pixels)
        results.append((h.colors, h.counts, h.inverse))
    for colors, counts, inverse in results[1:]:
        np.testing.assert_array_equal(colors, results[0][0])
        np.testing.assert_array_equal(counts, results[0][1])
        np.testing.assert_array_equal(inverse, results[0][2])
