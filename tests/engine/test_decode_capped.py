"""Decoding in a capped child: same result as in process, and each cap breach is the right error.

The hostile files come from bench/hostile.py's makers, small enough to make in milliseconds.
"""

import os
import threading
import time

import numpy as np
import pytest

from bench.hostile import gif_many_frames, jpeg_many_scans, png_zeros, tiff_tiled
from compression.engine import CompressOptions, compress
from compression.engine.decode import decode, normalize, output_exif, probe
from compression.engine.errors import ImageTooCostly, ImageTooLarge, InvalidImage, UnsupportedFormat
from compression.engine.prechecks import DecodeLimits
from compression.engine.sandbox import decode_capped, probe_capped

LOOSE_STRUCTURE = {"max_tile_bytes": 1 << 40, "max_jpeg_scans": 1 << 40}


def _reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # resets VmHWM to the current RSS


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


@pytest.mark.parametrize(
    "name", ["photos/kodim23.png", "formats/exif_orientation_6.jpg", "formats/cmyk_with_swop_profile.jpg",
             "formats/palette_trns_pngsuite_tbbn3p08.png", "formats/animated_3_frames.gif"],
)
def test_same_pixels_and_facts_as_the_in_process_decode(corpus_image, name):
    data = corpus_image(name).read_bytes()
    expected = decode(data, max_pixels=50_000_000)
    expected_pixels = normalize(expected)
    expected_exif = output_exif(expected)  # after normalising, as the pipeline does: it resets the orientation

    result = decode_capped(data, DecodeLimits())

    np.testing.assert_array_equal(result.pixels, expected_pixels)
    assert result.pixels.flags.writeable and result.pixels.flags.c_contiguous
    assert (result.format, result.mode, result.n_frames) == (expected.format, expected.mode, expected.n_frames)
    assert (result.warnings, result.operations) == (expected.warnings, expected.operations)
    assert result.exif == expected_exif
    assert result.input_bytes == len(data)


@pytest.mark.parametrize("strip_metadata", [False, True])
def test_compress_from_a_capped_decode_is_compress_from_the_bytes(corpus_image, strip_metadata):
    data = corpus_image("formats/exif_orientation_6.jpg").read_bytes()
    options = CompressOptions(n_colors=16, seed=1, strip_metadata=strip_metadata, output_format="png")
    from_bytes = compress(data, options)
    from_capped = compress(decode_capped(data, DecodeLimits()), options)
    assert from_capped.data == from_bytes.data
    facts = ("input_bytes", "input_format", "original_width", "original_height", "operations", "warnings")
    assert [getattr(from_capped.stats, fact) for fact in facts] == [getattr(from_bytes.stats, fact) for fact in facts]


def test_size_curve_from_a_capped_decode_is_the_curve_from_the_bytes(corpus_image):
    from compression.engine.curves import size_curve

    data = corpus_image("photos/kodim23.png").read_bytes()
    options = CompressOptions(seed=1)
    from_bytes = size_curve(data, [4, 16], options=options)
    assert size_curve(decode_capped(data, DecodeLimits()), [4, 16], options=options) == from_bytes


def test_probe_capped_says_what_probe_says(corpus_image):
    data = corpus_image("formats/exif_orientation_6.jpg").read_bytes()
    assert probe_capped(data, DecodeLimits()) == probe(data, max_pixels=50_000_000)


@pytest.mark.parametrize(
    "data, error, words",
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", UnsupportedFormat, "SVG"),
        (png_zeros(64, 64)[:60], InvalidImage, "truncated"),
        (png_zeros(3000, 2000, 0), ImageTooLarge, "3000x2000 = 6,000,000 pixels"),
    ],
    ids=["svg", "truncated", "pixels"],
)
def test_the_childs_engine_errors_keep_their_kind_and_message(data, error, words):
    with pytest.raises(error, match=words):
        decode_capped(data, DecodeLimits(max_pixels=5_000_000))


def test_the_capped_decodes_run_the_pre_checks():
    # Both files decode fine without the pre-checks (the tile one has only its page's data).
    many_frames = gif_many_frames(11)
    big_tile = tiff_tiled(64, 64, 26752, full_tile_data=False)
    assert decode_capped(many_frames, DecodeLimits(max_frames=11)).n_frames == 11
    with pytest.raises(ImageTooCostly, match="more than 10 frames"):
        decode_capped(many_frames, DecodeLimits(max_frames=10))
    with pytest.raises(ImageTooCostly, match="26752x26752"):
        probe_capped(big_tile, DecodeLimits())


def test_an_image_too_big_for_the_memory_cap_is_refused_from_its_header():
    data = png_zeros(4000, 4000, 2)  # 16 MP: about 190 MB to decode and normalise
    with pytest.raises(ImageTooLarge, match=r"4000x4000 image needs about 183 MB; \d+ MB are allowed"):
        probe_capped(data, DecodeLimits(memory_cap_mb=300))
    assert probe_capped(data, DecodeLimits(memory_cap_mb=1024)).width == 4000


def test_a_decoder_allocation_beyond_the_cap_fails_only_the_child():
    # A 64x64 TIFF whose one tile is 8192x8192 RGB: libtiff allocates 192 MB for the tile, which
    # the header estimate (64x64 pixels) cannot see; the address-space cap stops it.
    data = tiff_tiled(64, 64, 8192)
    limits = DecodeLimits(memory_cap_mb=330, **LOOSE_STRUCTURE)
    assert decode_capped(tiff_tiled(64, 64, 64), limits).pixels.shape == (64, 64, 3)  # the cap fits a decoder
    _reset_peak_rss()
    before = _peak_rss_mb()
    with pytest.raises(ImageTooLarge, match="more than the 330 MB of memory allowed"):
        decode_capped(data, limits)
    assert _peak_rss_mb() - before < 20  # the caller never held the tile
    assert decode_capped(data, DecodeLimits(memory_cap_mb=1024, **LOOSE_STRUCTURE)).pixels.shape == (64, 64, 3)


def test_the_cpu_cap_stops_a_costly_decode():
    data = jpeg_many_scans(20_000, 2048)  # about 5 s of libjpeg passes
    started = time.perf_counter()
    with pytest.raises(ImageTooCostly, match="more than 1 s of CPU time"):
        decode_capped(data, DecodeLimits(time_cap_s=1, wall_cap_s=20, **LOOSE_STRUCTURE))
    # The message says the CPU cap fired; the wall time only has to stay clear of the wall cap
    # (a loaded machine stretches 1 s of CPU).
    assert time.perf_counter() - started < 15


def test_the_wall_clock_cap_stops_a_slow_decode():
    data = jpeg_many_scans(20_000, 2048)
    started = time.perf_counter()
    with pytest.raises(ImageTooCostly, match="took longer than 0.5 s"):
        decode_capped(data, DecodeLimits(time_cap_s=20, wall_cap_s=0.5, **LOOSE_STRUCTURE))
    assert time.perf_counter() - started < 2


def test_no_descriptor_is_left_open_by_success_or_breach(corpus_image):
    # Each decode opens a socket pair and receives the pixels' memory file: all must be closed,
    # or a long-running worker would run out of descriptors (and keep the memory).
    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    data = corpus_image("photos/kodim03.png").read_bytes()
    result = decode_capped(data, DecodeLimits())  # warm: the forkserver's own descriptors
    before = open_descriptors()
    results = [decode_capped(data, DecodeLimits()) for _ in range(3)]
    with pytest.raises(ImageTooCostly):
        decode_capped(jpeg_many_scans(20_000, 2048), DecodeLimits(wall_cap_s=0.3, **LOOSE_STRUCTURE))
    with pytest.raises(ImageTooLarge):
        decode_capped(tiff_tiled(64, 64, 8192), DecodeLimits(memory_cap_mb=330, **LOOSE_STRUCTURE))
    assert open_descriptors() == before
    np.testing.assert_array_equal(results[-1].pixels, result.pixels)  # still mapped, still right


def test_concurrent_decodes_from_threads_each_get_their_own_result(corpus_image):
    sources = [corpus_image(name).read_bytes() for name in ("photos/kodim03.png", "photos/kodim15.png")]
    shapes: dict[int, tuple] = {}

    def run(index: int) -> None:
        shapes[index] = decode_capped(sources[index % 2], DecodeLimits()).pixels.shape

    threads = [threading.Thread(target=run, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [normalize(decode(source, max_pixels=50_000_000)).shape for source in sources]
    assert [shapes[index] for index in range(4)] == [expected[0], expected[1], expected[0], expected[1]]
