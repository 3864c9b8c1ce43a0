"""PSNR and SSIM: hand-computed cases, a direct formula, and scikit-image as the reference."""

import math

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from compression.engine import metrics
from tests.helpers import gradient, noise, solid


def direct_psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255**2 / mse)


def test_psnr_hand_computed():
    a = solid(10, 10, (100, 100, 100))
    b = solid(10, 10, (101, 99, 100))  # squared errors 1, 1, 0 -> MSE 2/3
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / (2 / 3)), abs=1e-12)
    assert metrics.psnr(a, a) == math.inf


def test_ssim_of_identical_images_is_one():
    image = noise(20, 15)
    assert metrics.ssim(image, image) == pytest.approx(1.0, abs=1e-6)


def test_psnr_matches_the_direct_formula():
    a, b = noise(50, 37, seed=1), noise(50, 37, seed=2)
    assert metrics.psnr(a, b) == pytest.approx(direct_psnr(a, b), abs=1e-9)


@pytest.mark.parametrize("name", ["photos/kodim03.png", "photos/kodim23.png", "photos/kodim05.png"])
def test_ssim_agrees_with_scikit_image_on_the_corpus(corpus_image, name):
    image = Image.open(corpus_image(name)).reduce(3)  # 256x171: fast, still a real photo
    a = np.asarray(image)
    b = np.asarray(image.quantize(8).convert("RGB"))
    ours_psnr, ours_ssim = metrics.psnr(a, b), metrics.ssim(a, b)
    reference = structural_similarity(a, b, channel_axis=-1, data_range=255)
    assert abs(ours_ssim - reference) < 0.005
    assert abs(ours_ssim - reference) < 1e-5  # in practice it is exact to float32 rounding
    assert ours_psnr == pytest.approx(direct_psnr(a, b), abs=1e-9)


def test_strips_do_not_change_the_result(monkeypatch):
    a, b = gradient(40, 53), noise(40, 53, seed=3)
    whole = metrics.ssim(a, b)
    monkeypatch.setattr(metrics, "STRIP_ROWS", 5)
    assert metrics.ssim(a, b) == pytest.approx(whole, abs=1e-9)
    assert whole == pytest.approx(structural_similarity(a, b, channel_axis=-1, data_range=255), abs=1e-5)


@pytest.mark.parametrize("channels", [3, 4])
def test_tiles_do_not_change_the_result(monkeypatch, channels):
    rng = np.random.default_rng(6)
    a = rng.integers(0, 256, (41, 67, channels), dtype=np.uint8)
    palette = rng.integers(0, 256, (5, channels), dtype=np.uint8)
    indices = rng.integers(0, 5, (41, 67), dtype=np.uint8)
    whole = metrics.psnr_ssim(a, indices, palette)
    # Tiny strips and column tiles: every tile edge, the overlap and the last narrow tile are hit.
    monkeypatch.setattr(metrics, "STRIP_ROWS", 4)
    monkeypatch.setattr(metrics, "TILE_COLUMNS", 9)
    tiled = metrics.psnr_ssim(a, indices, palette)
    assert tiled[0] == whole[0]
    assert tiled[1] == pytest.approx(whole[1], abs=1e-12)
    assert metrics.psnr_ssim(a, indices, palette, want_ssim=False)[0] == whole[0]


def test_threads_do_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(9)
    original = rng.integers(0, 256, (53, 40, 3), dtype=np.uint8)
    palette = rng.integers(0, 256, (9, 3), dtype=np.uint8)
    indices = rng.integers(0, 9, (53, 40), dtype=np.uint8)
    monkeypatch.setattr(metrics, "STRIP_ROWS", 6)
    monkeypatch.setattr(metrics, "THREADS", 1)
    single = metrics.psnr_ssim(original, indices, palette)
    monkeypatch.setattr(metrics, "THREADS", 2)
    monkeypatch.setattr(metrics, "THREAD_MIN_PIXELS", 0)
    threaded = metrics.psnr_ssim(original, indices, palette)
    assert threaded[0] == single[0]
    assert threaded[1] == pytest.approx(single[1], abs=1e-12)
    reference = structural_similarity(original, palette[indices], channel_axis=-1, data_range=255)
    assert threaded[1] == pytest.approx(reference, abs=1e-5)


def test_ssim_agrees_with_scikit_image_on_wide_tiled_images(monkeypatch):
    a, b = gradient(30, 700), noise(30, 700, seed=7)
    monkeypatch.setattr(metrics, "TILE_COLUMNS", 100)
    reference = structural_similarity(a, b, channel_axis=-1, data_range=255)
    assert metrics.ssim(a, b) == pytest.approx(reference, abs=1e-5)
    assert metrics.psnr(a, b) == pytest.approx(direct_psnr(a, b), abs=1e-9)


def test_psnr_from_squared_error_by_hand():
    # 3 values, squared errors 1 + 1 + 0 -> MSE 2/3
    assert metrics.psnr_from_squared_error(2, 3) == pytest.approx(10 * math.log10(255**2 / (2 / 3)), abs=1e-12)
    assert metrics.psnr_from_squared_error(0, 3) == math.inf


def test_rgba_palette_form_equals_the_materialised_image():
    rng = np.random.default_rng(8)
    palette = rng.integers(0, 256, (7, 4), dtype=np.uint8)
    palette[0, 3], palette[1, 3] = 0, 255
    indices = rng.integers(0, 7, (20, 31), dtype=np.uint8)
    original = rng.integers(0, 256, (20, 31, 4), dtype=np.uint8)
    psnr, ssim = metrics.psnr_ssim(original, indices, palette)
    assert psnr == metrics.psnr(original, palette[indices])
    assert ssim == pytest.approx(metrics.ssim(original, palette[indices]), abs=1e-12)


def test_palette_form_equals_the_materialised_image():
    rng = np.random.default_rng(4)
    palette = rng.integers(0, 256, (6, 3), dtype=np.uint8)
    indices = rng.integers(0, 6, (33, 29), dtype=np.uint8)
    original = noise(29, 33, seed=5)
    psnr, ssim = metrics.psnr_ssim(original, indices, palette)
    assert psnr == pytest.approx(metrics.psnr(original, palette[indices]), abs=1e-12)
    assert ssim == pytest.approx(metrics.ssim(original, palette[indices]), abs=1e-12)
    assert metrics.psnr_ssim(original, indices, palette, want_ssim=False)[1] is None


def test_rgba_is_compared_composited_so_hidden_colours_do_not_count():
    a = np.zeros((8, 8, 4), dtype=np.uint8)
    b = a.copy()
    b[..., :3] = 255  # different colour, but fully transparent in both
    assert metrics.psnr(a, b) == math.inf
    b[0, 0, 3] = 255  # one pixel now visible white over the grey background
    expected = 10 * math.log10(255**2 / (3 * (255 - metrics.ALPHA_BACKGROUND) ** 2 / (8 * 8 * 3)))
    assert metrics.psnr(a, b) == pytest.approx(expected)


def test_images_smaller_than_the_window():
    a = noise(5, 5)
    assert metrics.ssim(a, a) == 1.0
    assert math.isnan(metrics.ssim(a, noise(5, 5, seed=9)))


def test_size_helpers():
    assert metrics.file_ratio(1000, 250) == 4.0
    assert metrics.bytes_saved(1000, 1250) == -250
    assert metrics.bits_per_pixel(1000, 100, 10) == 8.0
    assert metrics.theoretical_ratio(16, 1000, 1000) == pytest.approx(24 / (4 + 16 * 24 / 1e6))
    assert metrics.theoretical_ratio(2, 10, 10, has_alpha=True) == pytest.approx(32 / (1 + 2 * 32 / 100))
