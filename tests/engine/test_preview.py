"""engine/preview.py: prepared once, rendered many times, the same palette as `compress`, honest sizes."""

import io

import numpy as np
import pytest
from PIL import Image

from compression.engine import CompressOptions, InvalidOptions, compress, prepare_preview, render_preview
from compression.engine.preview import HEATMAP_PALETTE, ESTIMATE_SAMPLE_PIXELS


def _image(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA" if "transparency" in image.info else "RGB"))


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def kodim23(corpus_dir) -> bytes:
    return (corpus_dir / "photos" / "kodim23.png").read_bytes()


@pytest.fixture(scope="module")
def kodim23_source(kodim23):
    return prepare_preview(kodim23, CompressOptions(), preview_pixels=100_000)


def test_the_preview_is_the_output_shrunk_to_preview_pixels(kodim23_source):
    source = kodim23_source
    assert (source.output_width, source.output_height) == (768, 512)
    height, width = source.pixels.shape[:2]
    assert width * height <= 100_000 and abs(width / height - 1.5) < 0.01


def test_rendering_is_deterministic(kodim23_source):
    options = CompressOptions(n_colors=12, seed=3)
    first, second = render_preview(kodim23_source, options), render_preview(kodim23_source, options)
    assert first.image_png == second.image_png
    assert first.palette == second.palette and first.estimated_bytes == second.estimated_bytes


def test_the_palette_is_compress_s_on_the_same_downscaled_pixels(kodim23_source):
    for options in (CompressOptions(n_colors=8), CompressOptions(n_colors=20, color_space="oklab", seed=5)):
        preview = render_preview(kodim23_source, options)
        job = compress(_png(kodim23_source.pixels), options)
        assert sorted((e.color, round(e.share, 9)) for e in preview.palette) == sorted(
            (e.color, round(e.share, 9)) for e in job.stats.palette
        )
        assert preview.psnr == pytest.approx(job.stats.psnr) and preview.ssim == pytest.approx(job.stats.ssim)
        # The preview image is that palette image.
        shown = _image(preview.image_png)
        assert shown.shape[:2] == (preview.height, preview.width)
        assert np.array_equal(shown, _image(job.data))


def test_palette_is_most_used_first_and_shares_sum_to_one(kodim23_source):
    preview = render_preview(kodim23_source, CompressOptions(n_colors=16, dither=0.7))
    shares = [entry.share for entry in preview.palette]
    assert shares == sorted(shares, reverse=True) and sum(shares) == pytest.approx(1)
    assert preview.n_colors_used == len(preview.palette) <= 16


def test_the_heat_map_shows_each_pixel_s_distance_to_its_colour(kodim23_source):
    for dither in (0.0, 1.0):
        preview = render_preview(kodim23_source, CompressOptions(n_colors=6, dither=dither), views=("heatmap",))
        shown = _image(preview.image_png).astype(np.float64)
        error = np.sqrt(((kodim23_source.pixels.astype(np.float64) - shown) ** 2).sum(axis=2))
        assert preview.heatmap_max_error == pytest.approx(error.max(), rel=1e-4)
        heat = _image(preview.heatmap_png)
        assert heat.shape[:2] == error.shape
        expected = HEATMAP_PALETTE[np.rint(error * 255 / error.max()).astype(np.uint8)]
        assert np.mean(np.all(heat == expected, axis=2)) > 0.999  # float32 rounding at level edges


def test_the_cluster_map_paints_each_cluster_a_distinct_colour(kodim23_source):
    preview = render_preview(kodim23_source, CompressOptions(n_colors=10), views=("clusters",))
    shown, clusters = _image(preview.image_png), _image(preview.clusters_png)
    assert clusters.shape == shown.shape
    pairs = {(tuple(a), tuple(b)) for a, b in zip(shown.reshape(-1, 3), clusters.reshape(-1, 3))}
    assert len(pairs) == preview.n_colors_used  # one cluster colour per palette colour, and back
    assert len({b for _a, b in pairs}) == preview.n_colors_used
    assert preview.heatmap_png is None


def test_a_small_output_s_estimate_is_exact(corpus_dir):
    data = (corpus_dir / "alpha" / "noto_emoji_u1f525_fire.png").read_bytes()
    options = CompressOptions(n_colors=16, width=256, output_format="webp")
    preview = render_preview(prepare_preview(data, options), options)
    assert preview.estimate_exact and 256 * 256 <= ESTIMATE_SAMPLE_PIXELS
    assert preview.estimated_bytes == compress(data, options).stats.output_bytes


@pytest.mark.parametrize(
    ("relative", "output_format", "k"),
    [("photos/kodim05.png", "png", 16), ("photos/kodim15.png", "webp", 4), ("alpha/rose_feathered_alpha.png", "gif", 4),
     ("alpha/noto_emoji_u1f30d_globe.png", "png", 64)],
)
def test_a_sampled_estimate_is_within_a_quarter_of_the_real_size(corpus_dir, relative, output_format, k):
    data = (corpus_dir / relative).read_bytes()
    options = CompressOptions(n_colors=k, output_format=output_format)
    preview = render_preview(prepare_preview(data, options), options)
    real = compress(data, options).stats.output_bytes
    assert not preview.estimate_exact
    assert abs(preview.estimated_bytes / real - 1) <= 0.25, (preview.estimated_bytes, real)
    assert preview.estimated_ratio == pytest.approx(len(data) / preview.estimated_bytes)
    assert preview.not_worth_it is (preview.estimated_bytes > len(data))


def test_geometry_is_compress_s(kodim23):
    options = CompressOptions(resize_mode="fit", width=300, height=300, background=(255, 0, 0))
    source = prepare_preview(kodim23, options)
    job = compress(kodim23, options)
    assert (source.output_width, source.output_height) == (job.width, job.height) == (300, 300)


@pytest.mark.parametrize(
    ("options", "kwargs", "field"),
    [
        (CompressOptions(target_psnr=30), {}, "target_psnr"),
        (CompressOptions(target_size_bytes=10_000), {}, "target_size_bytes"),
        (CompressOptions(n_colors=300), {}, "n_colors"),
        (CompressOptions(), {"views": ("histogram",)}, "views"),
    ],
)
def test_render_refuses_what_a_preview_cannot_do(kodim23_source, options, kwargs, field):
    with pytest.raises(InvalidOptions) as caught:
        render_preview(kodim23_source, options, **kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize("preview_pixels", [1_000, 5_000_000, 20_000.5])
def test_preview_pixels_is_bounded(kodim23, preview_pixels):
    with pytest.raises(InvalidOptions, match="The preview size must be") as caught:
        prepare_preview(kodim23, CompressOptions(), preview_pixels=preview_pixels)
    assert caught.value.field == "preview_pixels"


def test_a_crop_outside_the_image_is_refused_before_any_work(kodim23):
    from compression.engine import CropBox

    with pytest.raises(InvalidOptions):
        prepare_preview(kodim23, CompressOptions(crop_box=CropBox(700, 0, 200, 100)))
