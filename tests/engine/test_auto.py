"""n_colors="auto": the smallest file (K, dithering, PNG or lossless WebP) that meets a quality target."""

import io

import numpy as np
import pytest
from PIL import Image

from compression.engine import CompressOptions, InvalidOptions, compress, metrics
from compression.engine.options import AUTO_DITHERS, AUTO_FORMATS, AUTO_TARGET_SSIM
from tests.helpers import encode_png


@pytest.fixture(scope="module")
def emoji(corpus_dir):
    """A 128x128 alpha graphic: small enough to try every K, dithering and format."""
    return encode_png(Image.open(corpus_dir / "alpha/noto_emoji_u1f525_fire.png").convert("RGBA").reduce(4))


def decoded_ssim(original: bytes, data: bytes) -> float:
    """SSIM of the written file against the input, as a viewer sees it (worse over black and white)."""
    a = np.asarray(Image.open(io.BytesIO(original)).convert("RGBA"))
    b = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
    return metrics.ssim(a, b)


def every_file(source: bytes, k_max: int):
    """(bytes, ssim, k, dither, format) for every choice auto has, up to k_max, measured on the files."""
    for dither in AUTO_DITHERS:
        for k in range(2, k_max + 1):
            for output_format in AUTO_FORMATS:
                result = compress(source, CompressOptions(n_colors=k, dither=dither, output_format=output_format,
                                                          with_verdict=False))
                yield len(result.data), decoded_ssim(source, result.data), k, dither, output_format


def test_auto_meets_the_default_target_and_no_smaller_choice_does(emoji):
    result = compress(emoji, CompressOptions(n_colors="auto", with_verdict=False))
    stats = result.stats
    assert stats.target_met is True and stats.n_colors_requested == "auto"
    assert decoded_ssim(emoji, result.data) >= AUTO_TARGET_SSIM
    assert result.format in AUTO_FORMATS and stats.dither in AUTO_DITHERS
    k_chosen = stats.n_colors_used
    # Brute force over every K (well past the chosen one), strength and format, on the written files:
    # no file that meets the target is smaller than what auto returned.
    meeting = [choice for choice in every_file(emoji, k_max=k_chosen + 8) if choice[1] >= AUTO_TARGET_SSIM]
    assert meeting
    smallest = min(meeting)
    assert len(result.data) <= smallest[0], f"auto gave {len(result.data)} bytes, {smallest} is smaller"


def test_auto_reports_both_formats_and_keeps_the_smaller(emoji):
    result = compress(emoji, CompressOptions(n_colors="auto", with_verdict=False))
    stats = result.stats
    other = compress(emoji, CompressOptions(n_colors=stats.n_colors_used, dither=stats.dither,
                                            output_format="png" if result.format == "webp" else "webp",
                                            with_verdict=False))
    assert len(result.data) <= len(other.data)
    webp_bytes = len(result.data) if result.format == "webp" else len(other.data)
    assert stats.lossless_webp_bytes == webp_bytes


def test_auto_with_an_unreachable_target_says_so(emoji):
    result = compress(emoji, CompressOptions(n_colors="auto", target_ssim=0.99999, with_verdict=False))
    assert result.stats.target_met is False
    at_most = [a for a in result.stats.attempts if a.n_colors == 256]
    assert sorted(a.dither for a in at_most) == sorted(AUTO_DITHERS)  # every strength tried at K=256
    assert all(a.ssim < 0.99999 for a in at_most)
    assert decoded_ssim(emoji, result.data) == pytest.approx(max(a.ssim for a in at_most), abs=1e-9)


def test_auto_takes_a_psnr_target(emoji):
    result = compress(emoji, CompressOptions(n_colors="auto", target_psnr=30.0, with_verdict=False))
    assert result.stats.target_met is True and result.stats.psnr >= 30.0
    same_strength = {a.n_colors: a.psnr for a in result.stats.attempts if a.dither == result.stats.dither}
    k_star = min(k for k, psnr in same_strength.items() if psnr >= 30.0)
    assert k_star == 2 or same_strength[k_star - 1] < 30.0  # one colour fewer was tried and fell short


@pytest.mark.parametrize("options, field", [
    ({"target_size_bytes": 10_000}, "target_size_bytes"),
    ({"output_format": "gif"}, "output_format"),
    ({"dither": 0.5}, "dither"),
])
def test_auto_refuses_what_it_would_override(emoji, options, field):
    with pytest.raises(InvalidOptions) as error:
        compress(emoji, CompressOptions(n_colors="auto", **options))
    assert error.value.field == field


def test_other_words_for_k_are_refused_naming_auto(emoji):
    with pytest.raises(InvalidOptions) as error:
        compress(emoji, CompressOptions(n_colors="lots"))
    assert error.value.field == "n_colors" and '"auto"' in str(error.value)
