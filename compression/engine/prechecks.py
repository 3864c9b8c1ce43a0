"""Structural pre-checks: refuse files whose headers promise a ruinous decode, before decoding.

A small file can ask a decoder for gigabytes or minutes: a 64x64 TIFF whose one compressed tile is
26752x26752 pixels (libtiff allocates the whole tile), a TIFF of 200,000 pages (Pillow walks every
page to count them), a progressive JPEG of 100,000 empty scans (libjpeg runs a pass per scan), an
ICO whose embedded PNG is 13000x13000 (Pillow decodes it inside `Image.open`), a WebP whose canvas
libwebp allocates when the file is opened. `precheck` reads only headers and markers, never pixel
data, with every walk bounded by the limits, so refusing such a file costs milliseconds.

The checks are a first line only: `sandbox.decode_capped` still decodes under a memory and CPU cap,
because no header check can foresee every costly path inside libtiff, libjpeg or libwebp.

A header we cannot parse is left to the decoder (which refuses it with its own message): these
checks refuse only what they can read and measure.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from .errors import ImageTooCostly, ImageTooLarge

MIB = 1 << 20
DEFAULT_MAX_PIXELS = 50_000_000  # as CompressOptions.max_pixels and settings.MAX_IMAGE_PIXELS
# A 4096x4096 RGBA tile; real files use 256-1024 px tiles. A tile no bigger than the image itself
# is always allowed (see _check_tiff_page).
DEFAULT_MAX_TILE_BYTES = 64 * MIB
# Only the first page or frame is decoded, but Pillow walks them all to count them: a TIFF page
# costs it ~0.3 ms (200,000 pages: minutes), an animation frame ~2 us.
DEFAULT_MAX_PAGES = 1_000  # TIFF pages, images in an ICO/CUR
DEFAULT_MAX_FRAMES = 10_000  # GIF and WebP animation frames
# Real progressive JPEGs have 10-20 scans; libjpeg makes a pass over the image for each one.
DEFAULT_MAX_JPEG_SCANS = 256
DEFAULT_MEMORY_CAP_MB = 1024
# An honest 50 MP JPEG decodes in about 1 s here (bench/hostile.py); the caps keep every refusal
# inside issue 13's 30 s goal.
DEFAULT_TIME_CAP_S = 15.0
DEFAULT_WALL_CAP_S = 25.0


@dataclass(frozen=True)
class DecodeLimits:
    """What one decode of untrusted bytes may cost.

    `max_pixels`, `max_tile_bytes`, `max_pages`, `max_frames` and `max_jpeg_scans` are checked
    from the headers by `precheck`; `memory_cap_mb` (the decoding process's whole address space),
    `time_cap_s` (its CPU time) and `wall_cap_s` (its wall-clock time) are enforced on the child
    process by `sandbox.decode_capped`. The memory cap includes the child's own interpreter, numpy and Pillow
    (150-200 MB here), so caps below ~250 MB refuse everything.
    """

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_tile_bytes: int = DEFAULT_MAX_TILE_BYTES
    max_pages: int = DEFAULT_MAX_PAGES
    max_frames: int = DEFAULT_MAX_FRAMES
    max_jpeg_scans: int = DEFAULT_MAX_JPEG_SCANS
    memory_cap_mb: int = DEFAULT_MEMORY_CAP_MB
    time_cap_s: float = DEFAULT_TIME_CAP_S
    wall_cap_s: float = DEFAULT_WALL_CAP_S

    def __post_init__(self) -> None:
        for name in ("max_pixels", "max_tile_bytes", "max_pages", "max_frames", "max_jpeg_scans", "memory_cap_mb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        for name in ("time_cap_s", "wall_cap_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name}={value!r} must be a positive number of seconds")


class _Unreadable(Exception):
    """The structure is cut short or points outside the file: leave the verdict to the decoder."""


def _size(n_bytes: int) -> str:
    if n_bytes >= 1 << 30:
        return f"{n_bytes / (1 << 30):.1f} GB"
    return f"{n_bytes / MIB:.0f} MB" if n_bytes >= MIB else f"{n_bytes / 1024:.0f} KB"


def _check_pixels(kind: str, width: int, height: int, limits: DecodeLimits) -> None:
    if width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"{kind} is {width}x{height} = {width * height:,} pixels; the limit is {limits.max_pixels:,} pixels."
        )


def _too_many(what: str, limit: int) -> ImageTooCostly:
    return ImageTooCostly(f"This file has more than {limit:,} {what}; the limit is {limit:,}.")


def precheck(data: bytes, limits: DecodeLimits) -> None:
    """Refuse `data` if its headers promise a decode beyond `limits`; read headers only.

    Parameters
    ----------
    data : bytes
        The whole encoded file.
    limits : DecodeLimits

    Raises
    ------
    ImageTooLarge
        An embedded image, frame or canvas has more than `limits.max_pixels` pixels.
    ImageTooCostly
        A TIFF tile or strip decodes to more than `limits.max_tile_bytes` (and more than the image
        itself), more than `limits.max_pages` TIFF pages or icon images, more than
        `limits.max_frames` GIF or WebP frames, more than `limits.max_jpeg_scans` JPEG scans, or
        a flood of empty structures beyond the walks' own bounds.
    """
    check = _checker_for(data[:12])
    if check is None:
        return
    try:
        check(data, limits)
    except (_Unreadable, struct.error, IndexError):
        return  # cut short or corrupt: the decoder refuses it with its own message


def _checker_for(head: bytes):
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _check_tiff
    if head[:3] == b"\xff\xd8\xff":
        return _check_jpeg
    if head[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00"):
        return _check_ico
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _check_gif
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _check_webp
    return None


# --------------------------------------------------------------------------------------- TIFF

# Bytes per value of each TIFF field type, and the struct format of the integer ones.
_TIFF_TYPE_BYTES = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8,
}
_TIFF_INT_FORMATS = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I", 16: "Q", 17: "q", 18: "Q"}
TAG_WIDTH, TAG_LENGTH, TAG_BITS, TAG_SAMPLES, TAG_ROWS_PER_STRIP = 256, 257, 258, 277, 278
TAG_TILE_WIDTH, TAG_TILE_LENGTH = 322, 323
# Directory entries read in all, across pages: real files have ~10-30 a page. Without a bound, 1,000
# pages of 65,535 overlapping entries each would cost this walk minutes.
TIFF_MAX_ENTRIES = 100_000
TIFF_MAX_VALUES = 1024  # values read of one tag (BitsPerSample has one per sample)
TIFF_MAX_BYTES_PER_PIXEL = 16  # four 32-bit samples: the most a page Pillow decodes can need
_TIFF_SIZE_TAGS = {TAG_WIDTH, TAG_LENGTH, TAG_BITS, TAG_SAMPLES, TAG_ROWS_PER_STRIP, TAG_TILE_WIDTH, TAG_TILE_LENGTH}


class _TiffReader:
    """Reads IFDs of a classic or BigTIFF file, only the tags that size the decoded data."""

    def __init__(self, data: bytes):
        self.data = data
        self.entries_left = TIFF_MAX_ENTRIES
        self.order = "<" if data[:2] == b"II" else ">"
        self.big = self._unpack("H", 2) == 43
        if self.big:
            self.first_ifd = self._unpack("Q", 8)
            self.count_format, self.entry_bytes, self.offset_format, self.inline_bytes = "Q", 20, "Q", 8
        else:
            self.first_ifd = self._unpack("I", 4)
            self.count_format, self.entry_bytes, self.offset_format, self.inline_bytes = "H", 12, "I", 4

    def _unpack(self, fmt: str, offset: int) -> int:
        size = struct.calcsize(fmt)
        if offset < 0 or offset + size > len(self.data):
            raise _Unreadable
        return struct.unpack_from(self.order + fmt, self.data, offset)[0]

    def ifd(self, offset: int) -> tuple[dict[int, list[int]], int]:
        """The size tags of the IFD at `offset` (tag -> values) and the offset of the next IFD."""
        count = self._unpack(self.count_format, offset)
        self.entries_left -= count
        if self.entries_left < 0:
            raise ImageTooCostly(f"This TIFF's directories hold more than {TIFF_MAX_ENTRIES:,} entries.")
        entries = offset + struct.calcsize(self.count_format)
        tags: dict[int, list[int]] = {}
        for index in range(count):
            entry = entries + index * self.entry_bytes
            tag = self._unpack("H", entry)
            if tag not in _TIFF_SIZE_TAGS:
                continue
            kind = self._unpack("H", entry + 2)
            n_values = self._unpack("Q" if self.big else "I", entry + 4)
            fmt = _TIFF_INT_FORMATS.get(kind)
            if fmt is None or n_values < 1 or n_values > TIFF_MAX_VALUES:
                continue  # not an integer tag we can size: the decoder judges it
            value_at = entry + (12 if self.big else 8)
            if n_values * _TIFF_TYPE_BYTES[kind] > self.inline_bytes:
                value_at = self._unpack(self.offset_format, value_at)
            tags[tag] = [self._unpack(fmt, value_at + i * _TIFF_TYPE_BYTES[kind]) for i in range(n_values)]
        return tags, self._unpack(self.offset_format, entries + count * self.entry_bytes)


def _check_tiff(data: bytes, limits: DecodeLimits) -> None:
    reader = _TiffReader(data)
    offset, seen = reader.first_ifd, set()
    while offset and offset not in seen:  # a loop in the chain ends it, as in Pillow
        if len(seen) == limits.max_pages:
            raise _too_many("pages", limits.max_pages)
        seen.add(offset)
        tags, offset = reader.ifd(offset)
        _check_tiff_page(tags, len(seen), limits)


def _check_tiff_page(tags: dict[int, list[int]], page: int, limits: DecodeLimits) -> None:
    """Refuse a page whose one tile or strip decodes to more than max_tile_bytes and more than a
    page of its size can need.

    libtiff allocates a whole tile however small the page (a 64x64 page in 26752x26752 tiles), so
    tiles are the usual bomb. Strips are clipped to the page, so a strip exceeds only through an
    absurd sample layout (hundreds of samples per pixel), which is checked all the same.
    """
    width, height = tags.get(TAG_WIDTH, [0])[0], tags.get(TAG_LENGTH, [0])[0]
    samples = max(1, tags.get(TAG_SAMPLES, [1])[0])
    bits = max(1, *tags.get(TAG_BITS, [1]))
    bytes_per_pixel = samples * bits / 8
    allowed = max(limits.max_tile_bytes, width * height * TIFF_MAX_BYTES_PER_PIXEL)
    if TAG_TILE_WIDTH in tags and TAG_TILE_LENGTH in tags:
        tile_w, tile_h = tags[TAG_TILE_WIDTH][0], tags[TAG_TILE_LENGTH][0]
        unit, unit_bytes = f"tiles of {tile_w}x{tile_h} pixels", tile_w * tile_h * bytes_per_pixel
    else:
        rows = min(tags.get(TAG_ROWS_PER_STRIP, [height])[0], height)  # libtiff clips strips to the page
        unit, unit_bytes = f"strips of {width}x{rows} pixels", width * rows * bytes_per_pixel
    if unit_bytes > allowed:
        raise ImageTooCostly(
            f"This TIFF stores page {page} ({width}x{height} pixels) in {unit}, {_size(int(unit_bytes))} "
            f"each once decoded; the limit is {_size(limits.max_tile_bytes)} per tile or strip."
        )


# --------------------------------------------------------------------------------------- JPEG

# A marker inside entropy-coded data: 0xFF followed by neither a stuffed 0x00, a restart marker
# (0xD0-0xD7) nor a fill byte 0xFF.
_JPEG_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}
JPEG_SOS, JPEG_EOI = 0xDA, 0xD9
# Markers and fill bytes read outside scan data; real files have well under 1,000. The bound keeps
# this walk itself cheap on a file of millions of empty segments.
JPEG_MAX_MARKERS = 100_000


def _check_jpeg(data: bytes, limits: DecodeLimits) -> None:
    """Count the scans (SOS markers) of the main image, skipping segments by their lengths."""
    pos, scans = 2, 0
    for _ in range(JPEG_MAX_MARKERS):
        if pos + 1 >= len(data):
            return
        if data[pos] != 0xFF:
            raise _Unreadable
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == JPEG_EOI:
            return
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if pos + 4 > len(data):
            raise _Unreadable
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
        if marker == JPEG_SOS:
            scans += 1
            if scans > limits.max_jpeg_scans:
                raise ImageTooCostly(
                    f"This JPEG has more than {limits.max_jpeg_scans:,} scans (progressive passes); "
                    f"the limit is {limits.max_jpeg_scans:,}. Re-save it as a normal JPEG."
                )
            found = _JPEG_MARKER_IN_SCAN.search(data, pos)
            if found is None:
                return
            pos = found.start()
    raise ImageTooCostly(f"This JPEG has more than {JPEG_MAX_MARKERS:,} markers.")


# ------------------------------------------------------------------------------------ ICO/CUR

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_ico(data: bytes, limits: DecodeLimits) -> None:
    """Check every directory entry's embedded image (PNG IHDR or BMP header), not the entry's
    one-byte sizes, which cannot say more than 256."""
    (count,) = struct.unpack_from("<H", data, 4)
    if count > limits.max_pages:
        raise _too_many("images in the icon", limits.max_pages)
    for index in range(count):
        (offset,) = struct.unpack_from("<I", data, 6 + 16 * index + 12)
        if data[offset : offset + 8] == PNG_SIGNATURE:
            width, height = struct.unpack_from(">II", data, offset + 16)  # IHDR: the first chunk
        else:
            (header_size,) = struct.unpack_from("<I", data, offset)
            if header_size == 12:  # BITMAPCOREHEADER
                width, height = struct.unpack_from("<HH", data, offset + 4)
            else:
                width, height = struct.unpack_from("<ii", data, offset + 4)
            height = abs(height) // 2  # the colour image and its AND mask, stacked
        _check_pixels(f"Image {index + 1} inside this icon", abs(width), height, limits)


# ---------------------------------------------------------------------------------------- GIF


# Data sub-blocks and extensions read in all: a 25 MB GIF of full 255-byte sub-blocks has ~100,000.
# The bound keeps this walk itself cheap on a file of millions of 1-byte sub-blocks.
GIF_MAX_BLOCKS = 500_000


class _BlockBudget:
    def __init__(self):
        self.left = GIF_MAX_BLOCKS

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise ImageTooCostly(f"This GIF has more than {GIF_MAX_BLOCKS:,} data blocks.")


def _skip_sub_blocks(data: bytes, pos: int, budget: _BlockBudget) -> int:
    while True:
        budget.spend()
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _check_gif(data: bytes, limits: DecodeLimits) -> None:
    """Count the frames (image descriptors) and check each frame's extent on the canvas."""
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    _check_pixels("The GIF canvas", width, height, limits)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames, budget = 0, _BlockBudget()
    while True:
        budget.spend()
        block = data[pos]
        if block == 0x3B:  # trailer
            return
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _skip_sub_blocks(data, pos + 2, budget)
        elif block == 0x2C:  # image descriptor
            frames += 1
            if frames > limits.max_frames:
                raise _too_many("frames", limits.max_frames)
            left, top, frame_w, frame_h, frame_flags = struct.unpack_from("<HHHHB", data, pos + 1)
            _check_pixels(f"Frame {frames} of this GIF", left + frame_w, top + frame_h, limits)
            pos += 10 + (3 << ((frame_flags & 7) + 1) if frame_flags & 0x80 else 0)
            pos = _skip_sub_blocks(data, pos + 1, budget)  # after the LZW minimum code size
        else:
            raise _Unreadable


# --------------------------------------------------------------------------------------- WebP

# Non-frame chunks a WebP may have besides its frames (VP8X, ICCP, ANIM, EXIF, XMP, ALPH, ...):
# more than this many is not a real file, and each costs the demuxer a step.
WEBP_MAX_OTHER_CHUNKS = 64


def _u24(data: bytes, pos: int) -> int:
    if pos + 3 > len(data):
        raise _Unreadable
    return int.from_bytes(data[pos : pos + 3], "little")


def _check_webp(data: bytes, limits: DecodeLimits) -> None:
    """Check the canvas (VP8X), every frame (ANMF) and a still image's VP8/VP8L size.

    libwebp allocates the canvas when the file is opened, before Pillow can check the size.
    """
    pos, frames, others = 12, 0, 0
    while pos + 8 <= len(data):
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if fourcc == b"ANMF":
            frames += 1
            if frames > limits.max_frames:
                raise _too_many("frames", limits.max_frames)
            left, top = 2 * _u24(data, body), 2 * _u24(data, body + 3)
            frame_w, frame_h = _u24(data, body + 6) + 1, _u24(data, body + 9) + 1
            _check_pixels(f"Frame {frames} of this WebP", left + frame_w, top + frame_h, limits)
        else:
            others += 1
            if others > WEBP_MAX_OTHER_CHUNKS:
                raise ImageTooCostly(f"This WebP has more than {WEBP_MAX_OTHER_CHUNKS} non-frame chunks.")
            if fourcc == b"VP8X":
                _check_pixels("The WebP canvas", _u24(data, body + 4) + 1, _u24(data, body + 7) + 1, limits)
            elif fourcc == b"VP8 " and data[body + 3 : body + 6] == b"\x9d\x01\x2a":
                width, height = struct.unpack_from("<HH", data, body + 6)
                _check_pixels("The WebP image", width & 0x3FFF, height & 0x3FFF, limits)
            elif fourcc == b"VP8L" and data[body] == 0x2F:
                (bits,) = struct.unpack_from("<I", data, body + 1)
                _check_pixels("The WebP image", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, limits)
        pos = body + size + (size & 1)
