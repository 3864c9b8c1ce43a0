"""The verdict: palette PNG or lossy WebP at the same SSIM, measured on a preview-sized copy."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from compression.engine import CompressOptions, compress, format_verdict, metrics, quantize
from compression.engine.encode import encode
from compression.engine.remap import remap
from compression.engine.verdict import VERDICT_PIXELS, judge
from tests.helpers import encode_png


def flat_graphic(width=400, height=300) -> np.ndarray:
    """A chart-like image: flat fills, thin lines and sharp edges in six colours."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    colours = [(220, 40, 40), (40, 120, 220), (250, 200, 30), (30, 160, 80), (20, 20, 20)]
    for i, colour in enumerate(colours):
        draw.rectangle([30 + i * 70, height - 40 - i * 40, 80 + i * 70, height - 30], fill=colour)
    for y in range(20, height - 30, 25):
        draw.line([(20, y), (width - 10, y)], fill=(20, 20, 20), width=1)
    return np.asarray(image)


@pytest.fixture
def photo(corpus_dir):
    return np.asarray(Image.open(corpus_dir / "photos/kodim05.png").convert("RGB"))


def test_a_photo_is_judged_a_photo_and_the_claim_holds(photo):
    result = judge(photo, n_colors=32, max_pixels=photo.size)  # the whole photo is the preview
    assert result.kind == "photo" and result.webp_bytes_ratio > 1
    assert result.webp_bytes_ratio == pytest.approx(result.palette_bytes / result.webp_bytes)
    # The claim, checked from scratch: WebP at that quality (libwebp's default method) reaches the
    # palette's SSIM in the stated number of bytes.
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "WEBP", quality=result.webp_quality, method=4)
    shown = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    assert len(buffer.getvalue()) == result.webp_bytes
    assert metrics.ssim(photo, shown) >= result.ssim
    assert result.message == (
        f"This looks like a photo: WebP at quality {result.webp_quality} would be "
        f"{result.webp_bytes_ratio:.1f}× smaller at the same SSIM."
    )


def test_the_palette_side_is_the_palette_result_on_the_preview(photo):
    q = quantize(photo, 16)
    result = judge(photo, n_colors=16, palette=q.palette, dither=0.5, max_pixels=photo.size)
    indices = remap(photo, q.palette, dither=0.5)
    assert result.palette_bytes == len(encode(indices, q.palette))
    assert result.ssim == metrics.ssim(photo, q.palette[indices])


def test_a_flat_graphic_is_judged_a_graphic():
    result = judge(flat_graphic(), n_colors=8)
    assert result.kind == "graphic"
    assert result.message.startswith("Palette PNG is the right format here")
    if result.webp_bytes is not None:  # WebP reached the SSIM, but only in more bytes
        assert result.webp_bytes >= result.palette_bytes


def test_the_verdict_works_on_a_preview_of_at_most_a_quarter_megapixel():
    large = np.asarray(Image.fromarray(flat_graphic()).resize((1600, 1200), Image.Resampling.NEAREST))
    result = judge(large, n_colors=8)
    assert result.width * result.height <= VERDICT_PIXELS
    assert result.width / result.height == pytest.approx(1600 / 1200, rel=0.01)


def test_public_verdict_takes_bytes_and_options_before_a_job(corpus_dir):
    data = (corpus_dir / "photos/kodim23.png").read_bytes()
    result = format_verdict(data, CompressOptions(n_colors=24, scale_percent=50))
    assert result.kind == "photo"
    assert (result.width, result.height) == (384, 256)  # the job's geometry, under the preview size


def test_every_job_carries_the_verdict_unless_asked_not_to(corpus_dir):
    data = encode_png(Image.fromarray(flat_graphic()))
    stats = compress(data, CompressOptions(n_colors=8)).stats
    assert stats.verdict is not None and stats.verdict.kind == "graphic"
    assert stats.to_dict()["verdict"]["kind"] == "graphic"
    assert compress(data, CompressOptions(n_colors=8, with_verdict=False)).stats.verdict is None


def test_no_verdict_below_ssims_window():
    tiny = encode_png(Image.fromarray(flat_graphic(6, 40)))
    assert compress(tiny, CompressOptions(n_colors=4)).stats.verdict is None


def test_alpha_images_are_judged_over_black_and_white(corpus_dir):
    pixels = np.asarray(Image.open(corpus_dir / "alpha/rose_feathered_alpha.png").convert("RGBA").reduce(2))
    result = judge(pixels, n_colors=16, max_pixels=pixels.size)
    q = quantize(pixels, 16)
    assert result.ssim == metrics.score(pixels, remap(pixels, q.palette), q.palette).ssim
    if result.webp_bytes is not None:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "WEBP", quality=result.webp_quality, method=4)
        shown = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGBA"))
        assert metrics.ssim(pixels, shown) >= result.ssim  # the worse over black and white
