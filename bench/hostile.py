"""Hostile files against the capped decode: outcome, time and peak memory of caller and child.

    nice -n 10 .venv/bin/python bench/hostile.py                 # every case, both modes (~3 min)
    nice -n 10 .venv/bin/python bench/hostile.py --cases ico_png_13000 --modes caps
    nice -n 10 .venv/bin/python bench/hostile.py --overhead      # capped vs in-process, pipe vs shm

Every file is made here, in code (none is committed; the last two are honest 50 MP JPEGs, which
must decode); `tests/engine/test_prechecks.py` and
`test_decode_capped.py` make the same files small. Each case runs in a fresh subprocess, through
`sandbox.decode_capped` with the default `DecodeLimits` in two modes:

- `prechecks`: the defaults, as the platform runs;
- `caps`: the pre-checks skipped (the child is started directly, `sandbox._run_in_child`), so only
  the decoder's own pixel check and the child's memory, CPU and wall caps stand between the file
  and the machine: what happens to a file the pre-checks do not foresee.

Figures: the outcome (error kind or "decoded"), wall time of the call (forkserver already warm),
the caller's growth (VmHWM after the call minus VmHWM before it, the file already made) and the
decode child's peak (VmHWM of the forkserver's children, polled every 5 ms). Goals (issue 13):
each case a refusal or a success within 30 s; no process grows by more than 1 GB.

`--overhead` times decode + normalise of a 1 MP and a 12 MP JPEG (the corpus's
large/seondol-son-*.jpg and it resized to 1 MP) in process against `decode_capped`, and the
transport of the 12 MP pixels from a child through the socket against a memfd (shared memory).
"""

import argparse
import io
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus import require  # noqa: E402
from compression.engine.errors import EngineError  # noqa: E402
from compression.engine.prechecks import DecodeLimits  # noqa: E402

POLL_S = 0.005


# ------------------------------------------------------------------------------- file makers


def _deflate_zeros(n_bytes: int) -> bytes:
    """zlib stream of n_bytes zero bytes, made in 16 MB pieces."""
    piece = bytes(16 << 20)
    packer, out = zlib.compressobj(6), []
    while n_bytes > 0:
        out.append(packer.compress(piece[: min(n_bytes, len(piece))]))
        n_bytes -= len(piece)
    out.append(packer.flush())
    return b"".join(out)


def _tiff_ifd(entries: list[tuple[int, int, int, int]], next_ifd: int) -> bytes:
    """A little-endian classic IFD; entries (tag, type, count, inline value) sorted by tag."""
    body = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        inline = struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
        body += struct.pack("<HHI", tag, kind, count) + inline
    return body + struct.pack("<I", next_ifd)


def tiff_tiled(width: int = 64, height: int = 64, tile: int = 26752, *, full_tile_data: bool = True) -> bytes:
    """An RGB deflate TIFF of width x height stored in one tile x tile tile (26752: 2.1 GB once
    decoded, a 2 MB file). full_tile_data=False stores only the page's pixels, which is enough for
    the pre-check and takes no time to make."""
    data = _deflate_zeros(tile * tile * 3 if full_tile_data else width * height * 3)
    bits_at, ifd_at = 8, 16  # BitsPerSample's three values, then the IFD
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 3, bits_at), (259, 3, 1, 8), (262, 3, 1, 2),
        (277, 3, 1, 3), (284, 3, 1, 1), (322, 4, 1, tile), (323, 4, 1, tile), (324, 4, 1, 0), (325, 4, 1, len(data)),
    ]
    data_at = ifd_at + len(_tiff_ifd(entries, 0))
    entries[9] = (324, 4, 1, data_at)
    bits = struct.pack("<HHHH", 8, 8, 8, 0)
    return b"II*\x00" + struct.pack("<I", ifd_at) + bits + _tiff_ifd(entries, 0) + data


def tiff_many_pages(pages: int = 200_000) -> bytes:
    """A TIFF of `pages` 1x1 greyscale uncompressed pages, all pointing at the same pixel."""
    pixel_at = 8
    entry_count = 8
    ifd_bytes = 2 + 12 * entry_count + 4
    first_ifd = pixel_at + 2  # the pixel, padded to an even offset
    chunks = [b"II*\x00", struct.pack("<I", first_ifd), b"\x80\x00"]
    for page in range(pages):
        here = first_ifd + page * ifd_bytes
        next_ifd = here + ifd_bytes if page + 1 < pages else 0
        entries = [
            (256, 4, 1, 1), (257, 4, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
            (273, 4, 1, pixel_at), (278, 4, 1, 1), (279, 4, 1, 1),
        ]
        chunks.append(_tiff_ifd(entries, next_ifd))
    return b"".join(chunks)


def jpeg_many_scans(scans: int = 100_000, size: int = 2048) -> bytes:
    """A progressive greyscale JPEG followed by `scans` empty AC scans (10 bytes each) before EOI."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (size, size), 128).save(buffer, "JPEG", progressive=True, quality=90)
    jpeg = buffer.getvalue()
    # Ns=1, component 1, AC table 0, spectral band 1-63, first pass: libjpeg only warns about a
    # band coded twice, so it runs a pass over the image for every one of these scans.
    empty_scan = b"\xff\xda\x00\x08\x01\x01\x00\x01\x3f\x00"
    return jpeg[:-2] + empty_scan * scans + b"\xff\xd9"


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_zeros(width: int, height: int, colour_type: int = 6) -> bytes:
    """A black PNG of width x height (colour type 6: RGBA, 0: grey), deflated from zero rows."""
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    idat = _deflate_zeros(height * (1 + width * channels))  # filter byte 0 and zero samples per row
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def ico_with_png(width: int = 13000, height: int = 13000) -> bytes:
    """An ICO of one entry (its directory says 256x256) whose embedded PNG is width x height RGBA."""
    png = png_zeros(width, height, 6)
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + png


def gif_many_frames(frames: int = 200_000) -> bytes:
    """A 1x1 GIF of `frames` frames, 15 bytes each."""
    header = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    # Image descriptor 1x1, LZW minimum code size 2, codes clear(4), 0, end(5) in one sub-block.
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return header + frame * frames + b"\x3b"


def webp_many_frames(frames: int = 100_000) -> bytes:
    """An animated 1x1 WebP of `frames` frames, each a lossless 1x1 bitstream."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "WEBP", lossless=True)
    still = buffer.getvalue()
    vp8l = still[12:]  # the VP8L chunk of a simple-format WebP, header and all
    anmf_body = b"\x00" * 6 + b"\x00" * 6 + (100).to_bytes(3, "little") + b"\x00" + vp8l
    anmf = b"ANMF" + struct.pack("<I", len(anmf_body)) + anmf_body + b"\x00" * (len(anmf_body) & 1)
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x02\x00\x00\x00" + b"\x00" * 6  # animation flag, 1x1
    anim = b"ANIM" + struct.pack("<I", 6) + b"\x00\x00\x00\x00\x00\x00"
    body = b"WEBP" + vp8x + anim + anmf * frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def png_bomb(side: int = 20000) -> bytes:
    """A greyscale PNG of side x side (400 MP at 20000), about 400 KB."""
    return png_zeros(side, side, 0)


def honest_jpeg(side: int = 7071, mode: str = "RGB") -> bytes:
    """A real (smooth noise) JPEG of side x side in `mode`: 7071 is the 50 MP limit."""
    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 256, (side // 10, side // 10, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).resize((side, side)).convert(mode).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


CASES = {
    "tiff_tile_26752": lambda: tiff_tiled(tile=26752),
    "tiff_tile_16384": lambda: tiff_tiled(tile=16384),
    "tiff_200000_pages": lambda: tiff_many_pages(200_000),
    "jpeg_100000_scans": lambda: jpeg_many_scans(100_000, 2048),
    "ico_png_13000": lambda: ico_with_png(13000, 13000),
    "gif_200000_frames": lambda: gif_many_frames(200_000),
    "webp_100000_frames": lambda: webp_many_frames(100_000),
    "png_bomb_20000": lambda: png_bomb(20000),
    # Honest files at the pixel limit, which the caps must let through.
    "honest_jpeg_50mp": lambda: honest_jpeg(7071, "RGB"),
    "honest_cmyk_jpeg_50mp": lambda: honest_jpeg(7071, "CMYK"),
}


# ------------------------------------------------------------------------------ measurement


def _vm_hwm_kb(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class ChildPeakWatcher:
    """The largest VmHWM seen among the forkserver's children, polled while a decode runs."""

    def __init__(self, forkserver_pid: int):
        self.forkserver_pid, self.peak_kb, self._stop = forkserver_pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _children(self) -> list[str]:
        with open(f"/proc/{self.forkserver_pid}/task/{self.forkserver_pid}/children") as children:
            return children.read().split()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self._children():
                self.peak_kb = max(self.peak_kb, _vm_hwm_kb(pid))
            time.sleep(POLL_S)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_case(name: str, mode: str) -> dict:
    """One case in this (fresh) process; returns the figures."""
    from multiprocessing import forkserver

    from compression.engine.sandbox import _run_in_child, decode_capped

    limits = DecodeLimits()
    decode_capped(gif_many_frames(1), limits)  # starts the forkserver, so its start is not in the figures
    data = CASES[name]()
    before_kb = _vm_hwm_kb()
    started = time.perf_counter()
    with ChildPeakWatcher(forkserver._forkserver._forkserver_pid) as watcher:
        try:
            if mode == "caps":
                _, pixels = _run_in_child(data, limits, want_pixels=True)
            else:
                pixels = decode_capped(data, limits).pixels
            outcome, message = "decoded", f"{pixels.shape[1]}x{pixels.shape[0]}"
        except EngineError as exc:
            outcome, message = type(exc).__name__, str(exc)
    seconds = time.perf_counter() - started
    return {
        "case": name, "mode": mode, "file_bytes": len(data), "outcome": outcome, "message": message,
        "seconds": round(seconds, 3), "caller_growth_mb": round((_vm_hwm_kb() - before_kb) / 1024, 1),
        "child_peak_mb": round(watcher.peak_kb / 1024, 1),
    }


def hostile_table(cases: list[str], modes: list[str]) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f}; limits: {DecodeLimits()}\n")
    print("| file | size | mode | outcome | time (s) | caller growth (MB) | child peak (MB) |")
    print("|---|---:|---|---|---:|---:|---:|")
    for name in cases:
        for mode in modes:
            completed = subprocess.run(
                [sys.executable, __file__, "--one", name, mode], capture_output=True, text=True, timeout=600
            )
            if completed.returncode:
                print(f"| {name} | | {mode} | bench failed: {completed.stderr.strip()[-300:]} | | | |")
                continue
            row = json.loads(completed.stdout.strip().splitlines()[-1])
            print(
                f"| {name} | {row['file_bytes'] / 1024:,.0f} KB | {mode} | {row['outcome']}: {row['message']} "
                f"| {row['seconds']:.2f} | {row['caller_growth_mb']:.0f} | {row['child_peak_mb']:.0f} |",
                flush=True,
            )


# --------------------------------------------------------------------------------- overhead


def _fill_in_child(conn, n_bytes: int, via: str) -> None:
    import mmap

    import numpy as np
    from multiprocessing.reduction import send_handle

    if via == "pipe":
        pixels = np.full(n_bytes, 7, np.uint8)
        conn.send_bytes(memoryview(pixels))
    else:  # as sandbox.py does: a memfd, filled in place, its descriptor sent over the socket
        fd = os.memfd_create("bench-pixels")
        os.ftruncate(fd, n_bytes)
        with mmap.mmap(fd, n_bytes) as mapping:
            np.frombuffer(mapping, np.uint8)[:] = 7
        send_handle(conn, fd, None)
        os.close(fd)


def transfer_seconds(n_bytes: int, via: str) -> float:
    """A forkserver child fills n_bytes and hands them to this process through `via`; the parent
    then touches every page, so both ways end with the pixels in this process's memory."""
    import mmap
    import multiprocessing

    import numpy as np
    from multiprocessing.reduction import recv_handle

    context = multiprocessing.get_context("forkserver")
    started = time.perf_counter()
    parent, child_end = context.Pipe(duplex=True)
    child = context.Process(target=_fill_in_child, args=(child_end, n_bytes, via))
    child.start()
    if via == "pipe":
        out = np.empty(n_bytes, np.uint8)
        parent.recv_bytes_into(memoryview(out))
    else:
        fd = recv_handle(parent)
        out = np.frombuffer(mmap.mmap(fd, n_bytes, trackfd=False), np.uint8)
        os.close(fd)
    assert int(out[::4096].sum()) == 7 * len(range(0, n_bytes, 4096))
    child.join()
    return time.perf_counter() - started


def _median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def overhead_table(repeats: int) -> None:
    from PIL import Image

    from compression.engine.decode import decode, normalize
    from compression.engine.sandbox import decode_capped

    (photo,) = require("large/seondol-son-*.jpg")
    data_12 = photo.read_bytes()
    with Image.open(io.BytesIO(data_12)) as image:
        small = image.resize((1155, 866), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=90)
    data_1 = buffer.getvalue()
    limits = DecodeLimits()
    decode_capped(data_1, limits)  # forkserver start
    print(f"load average at start: {os.getloadavg()[0]:.2f}; median of {repeats}\n")
    print("| input | in process (ms) | decode_capped (ms) | overhead (ms) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for label, data in (("1 MP JPEG (1155x866)", data_1), ("12 MP JPEG (3984x2988)", data_12)):
        inline = _median_seconds(lambda: normalize(decode(data, max_pixels=limits.max_pixels)), repeats)
        capped = _median_seconds(lambda: decode_capped(data, limits), repeats)
        figures = (inline * 1000, capped * 1000, (capped - inline) * 1000)
        print(f"| {label} | {figures[0]:.0f} | {figures[1]:.0f} | {figures[2]:.0f} | {capped / inline:.2f} |")
    n_bytes = 3984 * 2988 * 3
    transfer_seconds(1, "pipe")
    pipe = _median_seconds(lambda: transfer_seconds(n_bytes, "pipe"), repeats)
    memfd = _median_seconds(lambda: transfer_seconds(n_bytes, "memfd"), repeats)
    print(f"\n12 MP pixels ({n_bytes / 1e6:.1f} MB) from a forkserver child, child start and fill included:")
    print(f"socket {pipe * 1000:.0f} ms, memfd {memfd * 1000:.0f} ms (memfd / socket = {memfd / pipe:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    parser.add_argument("--modes", default="prechecks,caps", help="prechecks, caps or both")
    parser.add_argument("--overhead", action="store_true", help="the overhead table instead")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--one", nargs=2, metavar=("CASE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(*args.one)))
    elif args.overhead:
        overhead_table(args.repeats)
    else:
        hostile_table(args.cases.split(","), args.modes.split(","))


if __name__ == "__main__":
    main()
