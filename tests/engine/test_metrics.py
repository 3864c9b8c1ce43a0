"""PSNR and SSIM: hand-computed cases, a direct formula, and scikit-image as the reference."""

import io
import math

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from compression.engine import metrics, threads
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
    assert abs(ours_ssim - reference) < 1e-10  # in practice it is exact to double rounding
    assert ours_psnr == pytest.approx(direct_psnr(a, b), abs=1e-9)


BACKGROUNDS = (0, 255)  # black and white, written out independently of metrics.py


def composited(image, background):
    """RGB as seen: RGBA over `background` with round-half-up."""
    if image.shape[-1] == 3:
        return image
    rgb, alpha = image[..., :3].astype(np.float64), image[..., 3:].astype(np.float64)
    return np.floor((rgb * alpha + background * (255 - alpha)) / 255 + 0.5).astype(np.uint8)


def exact_squared_error(a, b, background=0):
    return int(np.sum((composited(a, background).astype(np.int64) - composited(b, background).astype(np.int64)) ** 2))


def worst_psnr(a, b):
    """The PSNR a viewer may see: the worse over black and over white (RGB: the plain PSNR)."""
    return min(metrics.psnr_from_squared_error(exact_squared_error(a, b, bg), a.shape[0] * a.shape[1] * 3)
               for bg in BACKGROUNDS)


def worst_ssim(a, b):
    return min(structural_similarity(composited(a, bg), composited(b, bg), channel_axis=-1, data_range=255)
               for bg in BACKGROUNDS)


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("shape", [(7, 7), (8, 9), (9, 8), (7, 40), (40, 7), (13, 301), (301, 13), (61, 47)])
def test_random_images_match_scikit_image_and_the_exact_psnr(shape, channels, monkeypatch):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1] + channels)
    original = rng.integers(0, 256, (*shape, channels), dtype=np.uint8)
    palette = rng.integers(0, 256, (11, channels), dtype=np.uint8)
    if channels == 4:
        palette[0, 3] = 0  # one fully transparent entry
    indices = rng.integers(0, 11, shape, dtype=np.uint8)
    quantized = palette[indices]
    reference = worst_ssim(original, quantized)
    exact_psnr = worst_psnr(original, quantized)
    for band_rows in (1, 2, 3, 5, 7, 256):  # bands thinner than, equal to and beyond the window
        monkeypatch.setattr(metrics, "BAND_ROWS", band_rows)
        psnr, ssim = metrics.psnr_ssim(original, indices, palette)
        assert psnr == exact_psnr
        assert ssim == pytest.approx(reference, abs=1e-10)
        assert metrics.psnr(original, quantized) == exact_psnr
        assert metrics.ssim(original, quantized) == pytest.approx(reference, abs=1e-10)
    assert exact_psnr == pytest.approx(
        min(direct_psnr(composited(original, bg), composited(quantized, bg)) for bg in BACKGROUNDS), abs=1e-9
    )


@pytest.mark.parametrize("channels", [3, 4])
def test_a_full_size_photo_matches_scikit_image(corpus_image, channels):
    # 768x512: several bands of the default height, on the default threads.
    rgb = np.asarray(Image.open(corpus_image("photos/kodim23.png")).convert("RGB"))
    if channels == 4:
        alpha = np.linspace(0, 255, rgb.shape[1]).astype(np.uint8)[None, :, None]
        rgb = np.concatenate([rgb, np.broadcast_to(alpha, (*rgb.shape[:2], 1))], axis=-1)
    image = Image.fromarray(rgb)
    quantized = image.quantize(16) if channels == 3 else image.quantize(16, method=Image.Quantize.FASTOCTREE)
    indices = np.asarray(quantized)
    palette = np.asarray(quantized.getpalette(rawmode="RGBA" if channels == 4 else "RGB"), dtype=np.uint8)
    palette = palette.reshape(-1, channels)
    assert metrics.BAND_ROWS < rgb.shape[0]
    psnr, ssim = metrics.psnr_ssim(rgb, indices, palette)
    assert ssim == pytest.approx(worst_ssim(rgb, palette[indices]), abs=1e-10)
    assert psnr == worst_psnr(rgb, palette[indices])


def test_threads_do_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(9)
    original = rng.integers(0, 256, (53, 40, 3), dtype=np.uint8)
    palette = rng.integers(0, 256, (9, 3), dtype=np.uint8)
    indices = rng.integers(0, 9, (53, 40), dtype=np.uint8)
    monkeypatch.setattr(metrics, "BAND_ROWS", 6)
    results = []
    for n_threads in (1, 2, 3, 16):
        monkeypatch.setattr(threads, "THREADS", n_threads)
        results.append(metrics.psnr_ssim(original, indices, palette))
    assert all(result == results[0] for result in results)  # bit for bit
    reference = structural_similarity(original, palette[indices], channel_axis=-1, data_range=255)
    assert results[0][1] == pytest.approx(reference, abs=1e-10)


def test_ssim_agrees_with_scikit_image_on_wide_images():
    a, b = gradient(30, 700), noise(30, 700, seed=7)
    reference = structural_similarity(a, b, channel_axis=-1, data_range=255)
    assert metrics.ssim(a, b) == pytest.approx(reference, abs=1e-10)
    assert metrics.psnr(a, b) == pytest.approx(direct_psnr(a, b), abs=1e-9)


def test_views_and_unused_palette_entries():
    rng = np.random.default_rng(12)
    big = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    original = big[2:25, 3:37, :3]  # a view with strided rows and pixels
    palette = rng.integers(0, 256, (3, 3), dtype=np.uint8)
    indices = rng.integers(0, 5, (46, 34), dtype=np.uint8)[::2]  # 3 and 4 are past the palette: black
    shown = np.concatenate([palette, np.zeros((253, 3), dtype=np.uint8)])[indices]
    reference = structural_similarity(np.ascontiguousarray(original), shown, channel_axis=-1, data_range=255)
    psnr, ssim = metrics.psnr_ssim(original, indices, palette)
    assert ssim == pytest.approx(reference, abs=1e-10)
    assert psnr == worst_psnr(np.ascontiguousarray(original), shown)


def test_metrics_reject_what_they_cannot_read():
    with pytest.raises(ValueError):
        metrics.psnr(np.zeros((8, 8, 3), dtype=np.uint8), np.zeros((8, 9, 3), dtype=np.uint8))
    palette = np.zeros((2, 3), dtype=np.uint8)
    with pytest.raises(ValueError):
        metrics.psnr_ssim(np.zeros((8, 8, 3), dtype=np.uint8), np.zeros((8, 9), dtype=np.uint8), palette)
    with pytest.raises(ValueError):
        metrics.psnr_ssim(np.zeros((8, 8, 3), dtype=np.int32), np.zeros((8, 8), dtype=np.uint8), palette)


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
    b[0, 0, 3] = 255  # one pixel now visible: white, invisible over white, 255 off over black
    expected = 10 * math.log10(255**2 / (3 * 255**2 / (8 * 8 * 3)))
    assert metrics.psnr(a, b) == pytest.approx(expected)


def test_alpha_scores_are_the_worse_over_black_and_white():
    # A dark translucent edge: wrong over white, nearly right over black. Grey 128 would average it out.
    original = np.zeros((16, 16, 4), dtype=np.uint8)
    original[..., 3] = 128  # half-transparent black
    palette = np.array([[0, 0, 0, 0]], dtype=np.uint8)  # quantized to fully transparent
    indices = np.zeros((16, 16), dtype=np.uint8)
    result = metrics.score(original, indices, palette)
    over_black, over_white = result.by_background["black"], result.by_background["white"]
    assert over_black[0] == math.inf  # black over black is black either way
    # over white: 255 against (255*127 + 127) // 255 = 127 on every channel value
    assert over_white[0] == pytest.approx(10 * math.log10(255**2 / 128**2))
    assert (result.psnr, result.ssim) == (over_white[0], min(over_black[1], over_white[1]))
    assert metrics.psnr_ssim(original, indices, palette) == (result.psnr, result.ssim)
    assert metrics.score(original[..., :3], indices, palette[:, :3]).by_background == {}


@pytest.mark.parametrize("shape", [(5, 5), (6, 20), (20, 6), (1, 1), (1, 9)])
def test_images_smaller_than_the_window(shape):
    a = noise(shape[1], shape[0])
    b = noise(shape[1], shape[0], seed=9)
    assert metrics.ssim(a, a) == 1.0
    assert math.isnan(metrics.ssim(a, b))
    assert metrics.psnr(a, b) == metrics.psnr_from_squared_error(exact_squared_error(a, b), a.size)
    palette = np.array([[1, 2, 3], [250, 128, 0]], dtype=np.uint8)
    indices = (np.arange(shape[0] * shape[1]) % 2).astype(np.uint8).reshape(shape)
    psnr, ssim = metrics.psnr_ssim(palette[indices], indices, palette)
    assert (psnr, ssim) == (math.inf, 1.0)


def test_size_helpers():
    assert metrics.file_ratio(1000, 250) == 4.0
    assert metrics.bytes_saved(1000, 1250) == -250
    assert metrics.bits_per_pixel(1000, 100, 10) == 8.0
    assert metrics.theoretical_ratio(16, 1000, 1000) == pytest.approx(24 / (4 + 16 * 24 / 1e6))
    assert metrics.theoretical_ratio(2, 10, 10, has_alpha=True) == pytest.approx(32 / (1 + 2 * 32 / 100))


@pytest.mark.parametrize("target", [0.90, 0.97])
def test_alpha_quality_targets_hold_over_black_and_over_white(corpus_image, target):
    # The promise a search makes must hold on whatever page the image is shown: check it on the
    # written file, decoded, against the input over both backgrounds with scikit-image.
    from compression.engine import CompressOptions, compress

    data = corpus_image("alpha/noto_emoji_u1f525_fire.png").read_bytes()
    result = compress(data, CompressOptions(n_colors=64, target_ssim=target))
    assert result.stats.target_met is True
    original = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
    shown = np.asarray(Image.open(io.BytesIO(result.data)).convert("RGBA"))
    assert worst_ssim(original, shown) >= target
    assert result.stats.ssim == pytest.approx(worst_ssim(original, shown), abs=1e-9)
    assert result.stats.ssim == min(result.stats.ssim_over_black, result.stats.ssim_over_white)
    assert result.stats.psnr == pytest.approx(worst_psnr(original, shown), abs=1e-9)
