"""compress(): options validation, stages, statistics, target size and target quality."""

import io
import math

import numpy as np
import pytest
from PIL import Image

from compression.engine import (
    CompressOptions,
    CropBox,
    InvalidImage,
    InvalidOptions,
    compress,
)
from compression.engine import target_size
from compression.engine import BOUNDS, validate_options
from compression.engine.pipeline import STAGES
from tests.helpers import encode_png, gradient, png_ihdr, stripes


@pytest.fixture(scope="module")
def small_photo(corpus_dir):
    """kodim23 at 192x128 as PNG bytes: a real photo, fast to search."""
    image = Image.open(corpus_dir / "photos/kodim23.png").reduce(4)
    return encode_png(image)


def decoded(result):
    return Image.open(io.BytesIO(result.data))


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"n_colors": 1}, "n_colors", "from 2 to 256"),
        ({"n_colors": 257}, "n_colors", "must be"),
        ({"n_colors": 16.5}, "n_colors", "whole number"),
        ({"color_space": "lab"}, "color_space", "'lab'"),
        ({"dither": 1.5}, "dither", "must be"),
        ({"dither": -0.1}, "dither", "must be"),
        ({"width": 0, "resize_mode": "fit", "height": 10}, "width", "must be"),
        ({"height": 20001}, "height", "from 1 to 20000 pixels"),
        ({"scale_percent": 0}, "scale_percent", "must be"),
        ({"scale_percent": 1001}, "scale_percent", "must be"),
        ({"scale_percent": 50, "width": 100}, "scale_percent", "not both"),
        ({"crop_box": CropBox(-1, 0, 10, 10)}, "crop", "x=-1"),
        ({"crop_box": CropBox(0, 0, 0, 10)}, "crop", "width=0"),
        ({"target_size_bytes": 10}, "target_size_bytes", "must be"),
        ({"target_psnr": 0}, "target_psnr", "must be"),
        ({"target_psnr": 101}, "target_psnr", "must be"),
        ({"target_ssim": 1.5}, "target_ssim", "must be"),
        ({"target_psnr": 30, "target_ssim": 0.9}, "target_ssim", "target_psnr, target_ssim"),
        ({"target_size_bytes": 5000, "target_psnr": 30}, "target_psnr", "target_size_bytes, target_psnr"),
        ({"output_format": "jpeg"}, "output_format", "'jpeg'"),
        ({"png_optimize_level": 7}, "png_optimize_level", "must be"),
        ({"png_optimize_level": 2, "output_format": "gif"}, "png_optimize_level", "output_format='gif'"),
        ({"resize_mode": "zoom", "width": 10, "height": 10}, "resize_mode", "'zoom'"),
        ({"resize_mode": "fill", "width": 10}, "resize_mode", "needs both a width and a height"),
        ({"background": (0, 0, 300)}, "background", "background="),
        ({"max_iter": 0}, "max_iter", "must be"),
    ],
)
def test_invalid_options_name_the_field_and_the_value(changes, field, words):
    with pytest.raises(InvalidOptions) as excinfo:
        validate_options(CompressOptions(**changes))
    assert excinfo.value.field == field
    assert words in str(excinfo.value)
    if words == "must be":  # a plain range: the one message every face shows for this bound
        assert str(excinfo.value) == BOUNDS[field].message


def test_validate_options_against_known_dimensions():
    options = CompressOptions(crop_box=CropBox(100, 50, 300, 200))
    validate_options(options, image_width=400, image_height=250)
    with pytest.raises(InvalidOptions, match=r"outside the 399x250 image"):
        validate_options(options, image_width=399, image_height=250)
    with pytest.raises(InvalidOptions, match="limit"):
        validate_options(
            CompressOptions(scale_percent=1000, allow_upscale=True, max_pixels=1_000_000),
            image_width=1000,
            image_height=1000,
        )


def test_compress_validates_before_decoding():
    with pytest.raises(InvalidOptions):
        compress(b"not even an image", CompressOptions(n_colors=1000))
    with pytest.raises(InvalidImage):
        compress(b"not even an image", CompressOptions())


def test_crop_box_outside_the_image_fails_with_values(small_photo):
    with pytest.raises(InvalidOptions, match="x=150.*192x128"):
        compress(small_photo, CompressOptions(crop_box=CropBox(150, 0, 100, 10)))


# ----------------------------------------------------------------------------- stages and stats


def test_progress_reports_every_stage_in_order(small_photo):
    calls = []
    compress(small_photo, CompressOptions(n_colors=8), progress=lambda stage, pct: calls.append((stage, pct)))
    assert calls == list(STAGES)
    assert [stage for stage, _ in calls] == ["decode", "geometry", "quantize", "remap", "encode", "metrics", "verdict"]


def test_progress_exception_propagates_and_stops_the_work(small_photo):
    class Cancelled(Exception):
        pass

    seen = []

    def progress(stage, percent):
        seen.append(stage)
        if stage == "geometry":
            raise Cancelled

    with pytest.raises(Cancelled):
        compress(small_photo, CompressOptions(), progress=progress)
    assert seen == ["decode", "geometry"]


def test_stats_are_complete_and_consistent(small_photo):
    result = compress(io.BytesIO(small_photo), CompressOptions(n_colors=16))
    stats = result.stats
    image = decoded(result)
    assert image.mode == "P" and image.size == (192, 128) == (result.width, result.height)
    assert png_ihdr(result.data)["bit_depth"] == 4 == stats.png_bit_depth
    assert len(image.getcolors()) <= 16
    assert stats.input_bytes == len(small_photo) and stats.output_bytes == len(result.data)
    assert stats.file_ratio == pytest.approx(len(small_photo) / len(result.data))
    assert stats.bytes_saved == len(small_photo) - len(result.data)
    assert stats.bits_per_pixel == pytest.approx(len(result.data) * 8 / (192 * 128))
    k = stats.n_colors_used
    assert stats.theoretical_ratio == pytest.approx(24 / (math.log2(k) + k * 24 / (192 * 128)))
    assert 2 <= k <= 16 and stats.unique_colors_after <= k < stats.unique_colors_before
    assert sum(entry.share for entry in stats.palette) == pytest.approx(1.0)
    assert all(len(entry.color) == 7 and entry.color.startswith("#") for entry in stats.palette)
    assert set(stats.timings_ms) == {"decode", "geometry", "quantize", "remap", "encode", "metrics", "verdict", "total"}
    assert stats.timings_ms["total"] >= stats.timings_ms["quantize"]
    assert 15 < stats.psnr < 60 and 0 < stats.ssim < 1
    assert stats.history and stats.n_iter >= 1 and stats.inertia > 0
    assert (stats.original_width, stats.original_height, stats.input_format) == (192, 128, "PNG")
    assert result.mime_type == "image/png"
    stats.to_dict()  # JSON-ready


def test_palette_shares_match_the_output_pixels(small_photo):
    result = compress(small_photo, CompressOptions(n_colors=4))
    pixels = np.asarray(decoded(result).convert("RGB")).reshape(-1, 3)
    for entry in result.stats.palette:
        color = np.frombuffer(bytes.fromhex(entry.color[1:]), dtype=np.uint8)
        assert (pixels == color).all(axis=1).mean() == pytest.approx(entry.share)


def test_png_encoded_beside_the_metrics_gives_the_same_figures(small_photo):
    # PNG output encodes in a thread while the metrics run; WebP runs the stages one after the other.
    png = compress(small_photo, CompressOptions(n_colors=8))
    webp = compress(small_photo, CompressOptions(n_colors=8, output_format="webp"))
    assert (png.stats.psnr, png.stats.ssim) == (webp.stats.psnr, webp.stats.ssim)
    assert png.stats.timings_ms["encode"] > 0 and png.stats.timings_ms["metrics"] > 0
    assert np.array_equal(np.asarray(decoded(png).convert("RGB")), np.asarray(decoded(webp).convert("RGB")))


def test_dithered_palette_shares_count_the_remapped_pixels(small_photo):
    # Dithering replaces the quantizer's indices, so its counts no longer apply.
    result = compress(small_photo, CompressOptions(n_colors=4, dither=1.0))
    image = decoded(result)
    counts = np.bincount(np.asarray(image).reshape(-1), minlength=len(result.stats.palette))
    shares = [entry.share for entry in result.stats.palette]
    assert shares == pytest.approx(list(counts / counts.sum()))


def test_few_colours_come_back_losslessly():
    pixels = stripes(30, 20, [(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    result = compress(encode_png(pixels), CompressOptions(n_colors=16))
    assert np.array_equal(np.asarray(decoded(result).convert("RGB")), pixels)
    assert result.stats.psnr == math.inf and result.stats.to_dict()["psnr"] is None
    assert png_ihdr(result.data)["bit_depth"] == 2


def test_transparency_survives(corpus_image):
    source = corpus_image("alpha/noto_emoji_u1f600_grinning_face.png")
    original = np.asarray(Image.open(source).reduce(4))
    result = compress(encode_png(original), CompressOptions(n_colors=16))
    out = np.asarray(decoded(result).convert("RGBA"))
    assert result.stats.has_alpha
    assert (out[original[..., 3] == 0, 3] == 0).all()
    assert (out[original[..., 3] == 255, 3] > 0).all()
    assert all(len(entry.color) == 9 for entry in result.stats.palette)


@pytest.mark.parametrize("fmt, pil_format", [("webp", "WEBP"), ("gif", "GIF")])
def test_other_output_formats(small_photo, fmt, pil_format):
    result = compress(small_photo, CompressOptions(n_colors=8, output_format=fmt))
    assert decoded(result).format == pil_format and result.mime_type == f"image/{fmt}"


def test_geometry_is_applied_and_reported(small_photo):
    result = compress(small_photo, CompressOptions(resize_mode="fill", width=50, height=50))
    assert (result.width, result.height) == (50, 50)
    assert result.stats.operations[0].startswith("resized 192x128")


def test_dither_and_oklab_are_used(small_photo):
    plain = compress(small_photo, CompressOptions(n_colors=4))
    dithered = compress(small_photo, CompressOptions(n_colors=4, dither=1.0, color_space="oklab"))
    assert dithered.stats.dither == 1.0 and dithered.stats.color_space == "oklab"
    assert dithered.data != plain.data


# ----------------------------------------------------------------------------- target size


def test_target_size_picks_the_largest_k_that_fits(small_photo):
    budget = 6_000  # K=32 gives about 5.8 kB, K=64 about 7.9 kB at this size
    result = compress(small_photo, CompressOptions(n_colors=64, target_size_bytes=budget))
    stats = result.stats
    assert stats.target_met is True and len(result.data) <= budget
    chosen = max(a.n_colors for a in stats.attempts if a.output_bytes <= budget)
    assert chosen < 64
    above = [a for a in stats.attempts if a.n_colors == chosen + 1]
    assert above and above[0].output_bytes > budget  # K+1 was tried and did not fit
    assert len(compress(small_photo, CompressOptions(n_colors=chosen)).data) == len(result.data)


def test_target_size_scales_down_only_when_two_colours_are_too_big(small_photo):
    budget = 600  # K=2 at full size is about 1 kB
    result = compress(small_photo, CompressOptions(n_colors=16, target_size_bytes=budget))
    stats = result.stats
    assert stats.target_met and len(result.data) <= budget
    assert stats.attempts[1].n_colors == 2 and stats.attempts[1].output_bytes > budget
    assert stats.scale_percent_applied is not None and stats.scale_percent_applied < 100
    assert result.width < 192 and any("to meet the target size" in op for op in stats.operations)


def test_target_size_met_at_full_k_does_no_search(small_photo):
    result = compress(small_photo, CompressOptions(n_colors=8, target_size_bytes=10_000_000))
    assert [a.n_colors for a in result.stats.attempts] == [8] and result.stats.target_met


def test_target_size_not_met_reports_the_honest_smallest_size():
    # Kept metadata larger than the budget makes every attempt too big, even at 1% scale.
    exif = Image.Exif()
    exif[0x010E] = "x" * 3000  # ImageDescription
    data = encode_png(Image.fromarray(gradient(64, 48)), exif=exif.tobytes())
    budget = 2_000
    result = compress(data, CompressOptions(n_colors=8, target_size_bytes=budget, strip_metadata=False))
    stats = result.stats
    assert stats.target_met is False
    assert len(result.data) == stats.output_bytes > budget
    assert stats.output_bytes == min(a.output_bytes for a in stats.attempts)
    assert min(a.scale_percent for a in stats.attempts) == target_size.MIN_SCALE_PERCENT


def test_size_search_reports_honestly_when_nothing_fits():
    sizes = {1.0: 500, 50.5: 900}
    percent, tried = target_size.largest_scale_within(lambda p: (sizes.get(p, 1000), p), 400)
    assert percent is None and list(tried) == [1.0]
    k, tried = target_size.largest_k_within(16, lambda k: (100 * k, k), 150)
    assert k is None and sorted(tried) == [2, 16]


def test_size_search_strategy_by_hand():
    k, tried = target_size.largest_k_within(64, lambda k: (10 * k, k), 375)
    assert k == 37 and 38 in tried
    percent, _ = target_size.largest_scale_within(lambda p: (int(p * 10), p), 420)
    assert 40 <= percent <= 42


# ----------------------------------------------------------------------------- target quality


def test_target_psnr_picks_the_smallest_k(small_photo):
    target = 30.0
    result = compress(small_photo, CompressOptions(n_colors=64, target_psnr=target))
    stats = result.stats
    assert stats.target_met and stats.psnr >= target
    reaching = [a.n_colors for a in stats.attempts if a.psnr >= target]
    chosen = min(reaching)
    below = [a for a in stats.attempts if a.n_colors == chosen - 1]
    assert below and below[0].psnr < target  # K-1 was tried and falls short
    assert compress(small_photo, CompressOptions(n_colors=chosen - 1)).stats.psnr < target


def test_psnr_search_attempts_equal_the_full_metric(small_photo, monkeypatch):
    # Searches take PSNR from the quantizer's inertia; it must equal the pixel-by-pixel figure.
    from compression.engine import metrics

    passes = []
    full_metrics = metrics.score
    monkeypatch.setattr(metrics, "score", lambda *a, **kw: passes.append(kw) or full_metrics(*a, **kw))
    result = compress(small_photo, CompressOptions(n_colors=32, target_psnr=28.0, with_verdict=False))
    assert len(result.stats.attempts) >= 3
    assert passes == [{"want_ssim": True}]  # only the chosen result's SSIM reads the pixels
    monkeypatch.undo()
    for attempt in result.stats.attempts:
        full = compress(small_photo, CompressOptions(n_colors=attempt.n_colors)).stats.psnr
        assert attempt.psnr == pytest.approx(full, abs=1e-9)


def test_target_ssim_and_unreachable_target(small_photo):
    result = compress(small_photo, CompressOptions(n_colors=8, target_ssim=0.999))
    assert result.stats.target_met is False
    assert [a.n_colors for a in result.stats.attempts] == [8]
    assert result.stats.ssim < 0.999 and result.stats.n_colors_used <= 8


def test_quality_strategy_by_hand():
    k, tried = target_size.smallest_k_reaching(256, lambda k: (float(k), k), 100.0)
    assert k == 100 and 99 in tried


def test_gradient_file_object_and_bytes_agree():
    data = encode_png(gradient(64, 48))
    assert compress(data, CompressOptions(n_colors=8)).data == compress(io.BytesIO(data), CompressOptions(n_colors=8)).data


def test_metadata_is_stripped_by_default_and_kept_on_request(corpus_image):
    data = corpus_image("formats/exif_orientation_6.jpg").read_bytes()
    options = {"n_colors": 4, "resize_mode": "fit", "width": 90, "height": 90}
    stripped = decoded(compress(data, CompressOptions(**options)))
    assert not stripped.getexif() and not {"icc_profile", "exif"} & set(stripped.info)
    kept = decoded(compress(data, CompressOptions(strip_metadata=False, **options)))
    assert kept.size == (90, 60) and kept.getexif().get(0x0112) == 1  # pixels already rotated
