"""Structural pre-checks: each hostile structure is refused from its headers, real files pass.

The hostile files are made by bench/hostile.py's makers, small; the limits are lowered to match.
"""

import io
import struct
import time

import numpy as np
import pytest
from PIL import Image

from bench.hostile import (
    _tiff_ifd, gif_many_frames, ico_with_png, jpeg_many_scans, png_bomb, tiff_many_pages, tiff_tiled,
    webp_many_frames,
)
from compression.engine.errors import ImageTooCostly, ImageTooLarge, InvalidImage
from compression.engine.prechecks import DecodeLimits, precheck
from tests.conftest import REPO_ROOT

FORMATS = sorted((REPO_ROOT / "tests" / "images" / "formats").glob("*.*"))
PHOTOS = sorted((REPO_ROOT / "tests" / "images" / "photos").glob("*.png"))


def _count_scans(jpeg: bytes) -> int:
    """Scans of a Pillow-made JPEG (no APP segment holds another JPEG there)."""
    return jpeg.count(b"\xff\xda")


@pytest.mark.parametrize("path", FORMATS + PHOTOS, ids=lambda path: path.name)
def test_real_files_pass_with_the_default_limits(path):
    started = time.perf_counter()
    precheck(path.read_bytes(), DecodeLimits())
    assert time.perf_counter() - started < 0.5


# ------------------------------------------------------------------------------------ TIFF


def test_refuses_a_tiff_tile_far_bigger_than_its_page():
    data = tiff_tiled(64, 64, 26752, full_tile_data=False)
    with pytest.raises(ImageTooCostly, match=r"26752x26752 pixels, 2\.0 GB each once decoded; the limit is 64 MB"):
        precheck(data, DecodeLimits())


def test_accepts_tiles_under_the_tile_limit_and_decodes_them():
    data = tiff_tiled(64, 64, 256, full_tile_data=True)  # a 256 px tile padding a 64 px page: normal
    precheck(data, DecodeLimits())
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.size == (64, 64)
    with pytest.raises(ImageTooCostly, match="256x256"):
        precheck(data, DecodeLimits(max_tile_bytes=100_000))  # 196,608 bytes per tile


def test_a_tile_no_bigger_than_its_page_is_always_allowed():
    precheck(tiff_tiled(512, 512, 512, full_tile_data=False), DecodeLimits(max_tile_bytes=1))


def _tiff_strip_page(width: int, height: int, rows: int, samples: int, bits: int) -> bytes:
    bits_at, ifd_at = 8, 8 + 2 * samples + (2 * samples) % 4
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, samples, bits_at), (259, 3, 1, 1), (262, 3, 1, 1),
        (273, 4, 1, 0), (277, 3, 1, samples), (278, 4, 1, rows), (279, 4, 1, 1),
    ]
    header = b"II*\x00" + struct.pack("<I", ifd_at) + struct.pack(f"<{samples}H", *[bits] * samples)
    return header.ljust(ifd_at, b"\x00") + _tiff_ifd(entries, 0)


def test_refuses_a_strip_of_absurd_samples():
    # 64x64 pixels of 100 samples of 32 bits: 1.6 MB per strip, 400 bytes a pixel.
    with pytest.raises(ImageTooCostly, match="strips of 64x64"):
        precheck(_tiff_strip_page(64, 64, 64, 100, 32), DecodeLimits(max_tile_bytes=1 << 16))
    precheck(_tiff_strip_page(64, 64, 64, 4, 32), DecodeLimits(max_tile_bytes=1))  # RGBA float: fine


def test_refuses_more_pages_than_the_limit_fast():
    limits = DecodeLimits(max_pages=50)
    precheck(tiff_many_pages(50), limits)
    data = tiff_many_pages(20_000)
    started = time.perf_counter()
    with pytest.raises(ImageTooCostly, match="more than 50 pages"):
        precheck(data, limits)
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize("big_tiff", [False, True], ids=["classic", "BigTIFF"])
def test_counts_the_pages_of_a_tiff_written_by_pillow(big_tiff):
    pages = [Image.new("RGB", (8, 8), (index, 0, 0)) for index in range(3)]
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:], big_tiff=big_tiff)
    data = buffer.getvalue()
    assert data[2] == (43 if big_tiff else 42)
    precheck(data, DecodeLimits(max_pages=3))
    with pytest.raises(ImageTooCostly, match="more than 2 pages"):
        precheck(data, DecodeLimits(max_pages=2))


@pytest.mark.parametrize("byte_order", ["<", ">"], ids=["II", "MM"])
def test_reads_tiles_of_a_tiff_written_by_tifffile_in_either_byte_order(byte_order):
    tifffile = pytest.importorskip("tifffile")  # comes with scikit-image (requirements-dev.txt)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((64, 64, 3), np.uint8), byteorder=byte_order, tile=(256, 256))
    data = buffer.getvalue()
    assert data[:2] == (b"II" if byte_order == "<" else b"MM")
    precheck(data, DecodeLimits())
    with pytest.raises(ImageTooCostly, match="tiles of 256x256 pixels, 192 KB each"):
        precheck(data, DecodeLimits(max_tile_bytes=100_000))


def test_refuses_directories_of_too_many_entries_fast():
    # 1,000 overlapping directories of 65,535 entries each, 4 bytes apart, each pointing at the next.
    pages, entries_bytes = 1000, 65535 * 12
    data = bytearray(b"II*\x00" + struct.pack("<I", 8)) + bytearray(8 + 4 * pages + entries_bytes + 4 * pages)
    for page in range(pages):
        struct.pack_into("<H", data, 8 + 4 * page, 65535)
        next_ifd = 8 + 4 * (page + 1) if page + 1 < pages else 0
        struct.pack_into("<I", data, 8 + 4 * page + 2 + entries_bytes, next_ifd)
    started = time.perf_counter()
    with pytest.raises(ImageTooCostly, match="more than 100,000 entries"):
        precheck(bytes(data), DecodeLimits())
    assert time.perf_counter() - started < 0.5


def test_a_loop_in_the_page_chain_ends_the_walk():
    data = bytearray(tiff_many_pages(2))
    first_ifd = struct.unpack_from("<I", data, 4)[0]
    ifd_bytes = 2 + 12 * 8 + 4
    struct.pack_into("<I", data, first_ifd + 2 * ifd_bytes - 4, first_ifd)  # page 2 points back at page 1
    precheck(bytes(data), DecodeLimits(max_pages=3))


def test_truncated_headers_are_left_to_the_decoder():
    for data in (b"II*\x00\xff\xff\xff\x00", tiff_many_pages(3)[:40], b"\xff\xd8\xff\xe0\x00", b"GIF89a\x01"):
        precheck(data, DecodeLimits(max_pages=1, max_frames=1, max_jpeg_scans=1))


# ------------------------------------------------------------------------------------ JPEG


def test_refuses_more_jpeg_scans_than_the_limit_fast():
    base = _count_scans(jpeg_many_scans(0, 16))
    limits = DecodeLimits(max_jpeg_scans=base + 10)
    precheck(jpeg_many_scans(10, 16), limits)
    data = jpeg_many_scans(100_000, 16)
    started = time.perf_counter()
    with pytest.raises(ImageTooCostly, match=f"more than {base + 10} scans"):
        precheck(data, limits)
    assert time.perf_counter() - started < 0.1


def test_jpeg_scan_count_skips_marker_bytes_inside_segments_and_scan_data():
    # A noisy photo: its entropy data is full of 0xFF bytes, its COM segment holds fake SOS markers.
    photo = Image.open(PHOTOS[0]).convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", progressive=True, quality=95, comment=b"\xff\xda" * 500)
    data = buffer.getvalue()
    assert data.count(b"\xff\xda") > 500
    precheck(data, DecodeLimits(max_jpeg_scans=20))


def test_a_jpeg_of_millions_of_empty_segments_is_refused_fast():
    data = jpeg_many_scans(0, 16)
    flood = data[:2] + b"\xff\xfe\x00\x02" * 2_000_000 + data[2:]  # 2,000,000 empty comments, 8 MB
    started = time.perf_counter()
    with pytest.raises(ImageTooCostly, match="more than 100,000 markers"):
        precheck(flood, DecodeLimits())
    assert time.perf_counter() - started < 0.5


# --------------------------------------------------------------------------------- ICO / CUR


def test_refuses_an_icon_whose_embedded_png_is_too_big():
    data = ico_with_png(1200, 1000)  # its directory entry says 256x256
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="Image 1 inside this icon is 1200x1000 = 1,200,000 pixels"):
        precheck(data, DecodeLimits(max_pixels=1_000_000))
    assert time.perf_counter() - started < 0.1
    precheck(data, DecodeLimits(max_pixels=1_200_000))


def test_refuses_an_icon_whose_embedded_bmp_is_too_big():
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64)).save(buffer, "ICO", sizes=[(64, 64)], bitmap_format="bmp")
    data = buffer.getvalue()
    assert data[22:26] != b"\x89PNG"
    with pytest.raises(ImageTooLarge, match="64x64"):
        precheck(data, DecodeLimits(max_pixels=4095))
    precheck(data, DecodeLimits(max_pixels=4096))
    cursor = data[:2] + b"\x02\x00" + data[4:]  # the same entry as a CUR file
    with pytest.raises(ImageTooLarge, match="64x64"):
        precheck(cursor, DecodeLimits(max_pixels=4095))


def test_refuses_an_icon_with_more_images_than_the_page_limit():
    data = ico_with_png(2, 2)
    many = data[:4] + struct.pack("<H", 5) + data[6:22] * 5 + data[22:]
    with pytest.raises(ImageTooCostly, match="more than 4 images in the icon"):
        precheck(many, DecodeLimits(max_pages=4))


# -------------------------------------------------------------------------------- GIF / WebP


def test_refuses_a_gif_with_more_frames_than_the_limit():
    precheck(gif_many_frames(100), DecodeLimits(max_frames=100))
    with pytest.raises(ImageTooCostly, match="more than 100 frames"):
        precheck(gif_many_frames(101), DecodeLimits(max_frames=100))


def test_a_gif_of_millions_of_tiny_blocks_is_refused_fast():
    data = gif_many_frames(1)
    comment = b"\x21\xfe" + b"\x01\x00" * 4_000_000 + b"\x00"  # one comment of 4,000,000 1-byte sub-blocks
    flood = data[:19] + comment + data[19:]
    started = time.perf_counter()
    with pytest.raises(ImageTooCostly, match="more than 500,000 data blocks"):
        precheck(flood, DecodeLimits())
    assert time.perf_counter() - started < 1


def test_refuses_a_gif_frame_reaching_beyond_the_pixel_limit():
    data = bytearray(gif_many_frames(2))
    second = 13 + 6 + 15  # header, colour table, first frame
    struct.pack_into("<HH", data, second + 5, 3000, 2000)  # the second frame's size
    with pytest.raises(ImageTooLarge, match="Frame 2 of this GIF is 3000x2000"):
        precheck(bytes(data), DecodeLimits(max_pixels=5_000_000))


def test_refuses_a_webp_with_more_frames_than_the_limit():
    precheck(webp_many_frames(100), DecodeLimits(max_frames=100))
    with pytest.raises(ImageTooCostly, match="more than 100 frames"):
        precheck(webp_many_frames(101), DecodeLimits(max_frames=100))


def test_refuses_a_webp_canvas_or_frame_beyond_the_pixel_limit():
    data = bytearray(webp_many_frames(1))
    vp8x = data.index(b"VP8X") + 8
    data[vp8x + 4 : vp8x + 10] = (3999).to_bytes(3, "little") + (2999).to_bytes(3, "little")
    with pytest.raises(ImageTooLarge, match="The WebP canvas is 4000x3000"):
        precheck(bytes(data), DecodeLimits(max_pixels=10_000_000))
    data = bytearray(webp_many_frames(1))
    anmf = data.index(b"ANMF") + 8
    data[anmf + 6 : anmf + 12] = (3999).to_bytes(3, "little") + (2999).to_bytes(3, "little")
    with pytest.raises(ImageTooLarge, match="Frame 1 of this WebP is 4000x3000"):
        precheck(bytes(data), DecodeLimits(max_pixels=10_000_000))


@pytest.mark.parametrize("lossless", [True, False], ids=["VP8L", "VP8"])
def test_refuses_a_still_webp_beyond_the_pixel_limit(lossless):
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200)).save(buffer, "WEBP", lossless=lossless)
    data = buffer.getvalue()
    with pytest.raises(ImageTooLarge, match="The WebP image is 300x200 = 60,000 pixels"):
        precheck(data, DecodeLimits(max_pixels=59_999))
    precheck(data, DecodeLimits(max_pixels=60_000))


def test_many_other_webp_chunks_are_refused():
    data = webp_many_frames(1)
    junk = b"JUNK" + struct.pack("<I", 0)
    body = data[12:] + junk * 100
    with pytest.raises(ImageTooCostly, match="non-frame chunks"):
        precheck(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body, DecodeLimits())


# -------------------------------------------------------------------------------------- misc


def test_the_png_bomb_is_the_decoders_header_check():
    # PNG needs no pre-check: decode refuses it from IHDR before any pixel (tests/engine/test_codec.py).
    precheck(png_bomb(2000), DecodeLimits(max_pixels=1))


@pytest.mark.parametrize(
    "field, value",
    [
        ("max_pixels", 0), ("max_tile_bytes", -1), ("max_pages", 1.5), ("max_frames", True),
        ("time_cap_s", 0), ("wall_cap_s", "1"),
    ],
)
def test_limits_refuse_nonsense(field, value):
    with pytest.raises(ValueError, match=field):
        DecodeLimits(**{field: value})


def test_too_costly_is_an_invalid_image_for_code_that_knows_only_that():
    assert issubclass(ImageTooCostly, InvalidImage)
