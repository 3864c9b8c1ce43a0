"""Decode untrusted bytes in a child process under a memory, CPU-time and wall-clock cap.

Why a child process: the costly part of a decode happens inside C libraries (libtiff, libjpeg,
libwebp, zlib) that allocate and compute on their own. Python cannot interrupt them or count their
`malloc`s, and a thread cannot be killed. Only the kernel can bound them: `RLIMIT_AS` makes any
allocation past the cap fail (Pillow then raises MemoryError or "out of memory"), `RLIMIT_CPU` sends
SIGXCPU when the CPU time is used up, and the parent kills the child when the wall-clock time runs
out. A breach fails that one decode with a clear error; the caller's process never holds the
decode's memory (it receives only the final pixels), so it does not grow with a bomb.

The child comes from multiprocessing's forkserver, not from `fork()` of the caller: the web and
worker processes are multi-threaded (forking them can copy a lock held by another thread) and
large (`RLIMIT_AS` bounds the whole address space, so it must start small). The forkserver is a
fresh interpreter started once per calling process, with the engine's decoder imported, and forks
a child per decode in a few milliseconds.

The child answers in JSON (never pickle), and the parent checks the pixel shape against the memory
file, so a decoder subverted by a file cannot make the caller run code or crash through the answer.
The caps bound resources; they are not a security sandbox (the child is the same user, with the
same files and environment: seccomp or a separate user would be the next step).

There is no in-process path for small files: a few kilobytes can be the bomb (a 64x64 TIFF with a
26752x26752 tile), and the child costs little next to a decode (docs/hardening.md, "Decoding
under caps", measured by bench/hostile.py).

The pixels come back through shared memory: the child writes them into an anonymous memory file
(memfd) and passes its descriptor over the socket, so the array the caller gets is that mapping
(no copy), and nothing is left behind whoever dies when (the memory goes with the last mapping).
For 12 MP this took half the time of sending the pixels through the socket (same section).
"""

from __future__ import annotations

import base64
import json
import math
import mmap
import multiprocessing
import os
import resource
import signal
import time
import traceback
from dataclasses import asdict, dataclass, field
from functools import cache
from multiprocessing.reduction import recv_handle, send_handle

import numpy as np

from .decode import ImageInfo, decode, normalize_image, output_exif, probe, read_source, to_array
from .errors import EngineError, ImageTooCostly, ImageTooLarge, InvalidImage, UnsupportedFormat
from .prechecks import DecodeLimits, precheck

_ERROR_KINDS = {kind.__name__: kind for kind in (InvalidImage, UnsupportedFormat, ImageTooLarge, ImageTooCostly)}
CPU_HARD_LIMIT_GRACE_S = 1  # SIGKILL this long after SIGXCPU, should the child survive it
CHILD_EXIT_WAIT_S = 5.0  # for a child that has sent its answer to exit
MAX_ANSWER_BYTES = 64 << 20  # the child's JSON answer (its EXIF, base64, is the only large part)


@dataclass
class CappedDecode:
    """The first frame of an untrusted image, decoded and normalised under caps.

    `pixels` are sRGB, EXIF orientation applied, shape (H, W, 3) when fully opaque else (H, W, 4),
    uint8, writable and owned by the caller. The rest is what `compress` reports about its input.
    """

    pixels: np.ndarray
    format: str  # Pillow's format name, e.g. "JPEG"
    mode: str  # the mode Pillow decoded, e.g. "CMYK"
    n_frames: int
    input_bytes: int
    exif: bytes | None  # the input's EXIF with the orientation reset, or None
    warnings: list[str] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)


def decode_capped(source: bytes | bytearray | memoryview, limits: DecodeLimits) -> CappedDecode:
    """Pre-check, then decode and normalise `source` in a child process under `limits`.

    Parameters
    ----------
    source : bytes-like or binary file object
        The encoded image.
    limits : DecodeLimits

    Returns
    -------
    CappedDecode

    Raises
    ------
    InvalidImage, UnsupportedFormat
        As `decode.decode`, or the decoder died of a signal.
    ImageTooLarge
        More than `limits.max_pixels` pixels, or the decode needed more than `limits.memory_cap_mb`.
    ImageTooCostly
        Refused by `prechecks.precheck`, or the decode ran out of its CPU or wall-clock time.
    """
    data = read_source(source)
    precheck(data, limits)
    meta, pixels = _run_in_child(data, limits, want_pixels=True)
    return CappedDecode(
        pixels=pixels,
        format=str(meta["format"]),
        mode=str(meta["mode"]),
        n_frames=int(meta["n_frames"]),
        input_bytes=len(data),
        exif=None if meta["exif"] is None else base64.b64decode(meta["exif"]),
        warnings=[str(note) for note in meta["warnings"]],
        operations=[str(step) for step in meta["operations"]],
    )


def probe_capped(source: bytes | bytearray | memoryview, limits: DecodeLimits) -> ImageInfo:
    """`decode.probe` (format and displayed size, first frame decoded in full) under `limits`.

    Pre-checks first, then decodes in a child process as `decode_capped` does; only the ImageInfo
    comes back. Raises as `decode_capped`.
    """
    data = read_source(source)
    precheck(data, limits)
    info, _ = _run_in_child(data, limits, want_pixels=False)
    return info


# ------------------------------------------------------------------------------- the parent


@cache
def _context() -> multiprocessing.context.BaseContext:
    """The forkserver context, set up on first use (importing the engine changes nothing).

    The forkserver imports the decoder (numpy, Pillow) and the caller's main module once, so a
    child imports nothing after its fork (multiprocessing would otherwise re-run the main module
    in each). As with any multiprocessing use, the main module must be safe to import (the
    `if __name__ == "__main__":` idiom): manage.py, gunicorn and pytest are.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__])
    return context


def _run_in_child(data: bytes, limits: DecodeLimits, *, want_pixels: bool):
    context = _context()
    parent_end, child_end = context.Pipe(duplex=True)  # a Unix socket: it carries the pixels' fd
    child = context.Process(target=_child_main, args=(child_end, limits, want_pixels), daemon=True)
    child.start()
    child_end.close()
    try:
        deadline = time.monotonic() + limits.wall_cap_s
        parent_end.send_bytes(data)
        answer = _receive(parent_end, child, deadline, limits)
        if answer["status"] == "error":
            raise _rebuild_error(answer["kind"], answer["message"], limits)
        if not want_pixels:
            info = answer["info"]
            return ImageInfo(str(info["format"]), int(info["width"]), int(info["height"]), int(info["n_frames"])), None
        if not parent_end.poll(max(0.0, deadline - time.monotonic())):
            child.kill()
            raise _timeout_error(limits)
        return answer["meta"], _map_pixels(recv_handle(parent_end), answer["meta"]["shape"], limits)
    except (EOFError, ConnectionError, BrokenPipeError):
        raise _death_error(child, limits) from None
    finally:
        parent_end.close()
        child.join(CHILD_EXIT_WAIT_S)
        if child.is_alive():
            child.kill()
            child.join()
        child.close()


def _map_pixels(fd: int, shape: list[int], limits: DecodeLimits) -> np.ndarray:
    """The child's pixels as a writable array over its memory file (closed here; the mapping
    lives as long as the array). The shape is checked against the file: a mapping longer than its
    file would crash this process (SIGBUS) when read."""
    try:
        height, width, channels = shape
        size = os.fstat(fd).st_size
        if not (0 < width * height <= limits.max_pixels and channels in (3, 4) and size == width * height * channels):
            raise RuntimeError(f"The decode child answered a shape {shape} that does not fit its {size}-byte pixels.")
        mapping = mmap.mmap(fd, size, trackfd=False)  # keeps no copy of the descriptor
    finally:
        os.close(fd)
    return np.frombuffer(mapping, dtype=np.uint8).reshape(height, width, channels)


def _receive(conn, child, deadline: float, limits: DecodeLimits) -> dict:
    """The child's answer: JSON, never pickle, so a decoder subverted by a file cannot make this
    process run code through it."""
    if not conn.poll(max(0.0, deadline - time.monotonic())):
        child.kill()
        raise _timeout_error(limits)
    return json.loads(conn.recv_bytes(MAX_ANSWER_BYTES))


def _timeout_error(limits: DecodeLimits) -> ImageTooCostly:
    return ImageTooCostly(f"Decoding this image took longer than {limits.wall_cap_s:g} s; it was stopped.")


def _death_error(child, limits: DecodeLimits) -> Exception:
    """The error for a child that ended before answering, from how it ended."""
    child.join(CHILD_EXIT_WAIT_S)
    code = child.exitcode
    if code == -signal.SIGXCPU:
        return ImageTooCostly(
            f"Decoding this image needed more than {math.ceil(limits.time_cap_s)} s of CPU time; it was stopped."
        )
    if code == -signal.SIGKILL:  # the CPU hard limit, or the kernel's OOM killer
        return ImageTooCostly("Decoding this image used up its CPU time or the machine's memory; it was stopped.")
    if code is not None and code < 0:
        return InvalidImage(f"The image decoder crashed on this file ({signal.Signals(-code).name}).")
    # _child_main answers every exception, so an exit without an answer is the child's start-up
    # failing (e.g. the caller's main module cannot be imported): not the file's fault.
    return RuntimeError(f"The decode child exited with code {code} before answering; its stderr says why.")


def _rebuild_error(kind: str, message: str, limits: DecodeLimits) -> Exception:
    if kind == "memory":
        return ImageTooLarge(
            f"Decoding this image needs more than the {limits.memory_cap_mb:,} MB of memory allowed."
        )
    if kind in _ERROR_KINDS:
        return _ERROR_KINDS[kind](message)
    return RuntimeError(f"The decode child failed unexpectedly:\n{message}")


# -------------------------------------------------------------------------------- the child


def _apply_caps(limits: DecodeLimits) -> None:
    address_space = limits.memory_cap_mb * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    cpu = math.ceil(limits.time_cap_s)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + CPU_HARD_LIMIT_GRACE_S))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a capped child killed by a signal dumps no core


# How Pillow words a decoder's failed allocation (IMAGING_CODEC_MEMORY is -9).
_OUT_OF_MEMORY_TEXTS = ("out of memory", "decoder error -9")


def _ran_out_of_memory(exc: BaseException) -> bool:
    """MemoryError anywhere in the chain, or Pillow's out-of-memory decoder status."""
    while exc is not None:
        if isinstance(exc, MemoryError) or any(text in str(exc).lower() for text in _OUT_OF_MEMORY_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _child_main(conn, limits: DecodeLimits, want_pixels: bool) -> None:
    """Decode the bytes received on `conn` under `limits` and answer in JSON: {"status": "ok",
    "meta"/"info": ...} or {"status": "error", "kind", "message"}. With `want_pixels`, decode and
    normalise, and send the pixels' memory file after the answer; else probe. Runs in the
    forkserver's child."""
    try:
        _apply_caps(limits)
        data = conn.recv_bytes()
        # What the cap leaves once this process (the interpreter, numpy, Pillow, the file) is counted.
        budget = limits.memory_cap_mb * (1 << 20) - _address_space_bytes()
        if want_pixels:
            meta, pixels_fd = _decode_to_memory_file(data, limits.max_pixels, budget)
        else:
            meta, pixels_fd = probe(data, max_pixels=limits.max_pixels, max_decode_bytes=budget), None
        del data
    except BaseException as exc:  # noqa: BLE001 - every failure is reported to the parent
        if _ran_out_of_memory(exc):
            kind, message = "memory", ""
        elif isinstance(exc, EngineError):
            kind, message = type(exc).__name__, str(exc)
        else:
            kind, message = "bug", "".join(traceback.format_exception(exc))
        conn.send_bytes(json.dumps({"status": "error", "kind": kind, "message": message}).encode())
        return
    answer = {"status": "ok", "meta": meta} if want_pixels else {"status": "ok", "info": asdict(meta)}
    conn.send_bytes(json.dumps(answer).encode())
    if pixels_fd is not None:
        send_handle(conn, pixels_fd, None)
        os.close(pixels_fd)
    conn.close()


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _decode_to_memory_file(data: bytes, max_pixels: int, max_decode_bytes: int) -> tuple[dict, int]:
    """Decode and normalise; the facts, and a memory file (fd) holding the pixels."""
    decoded = decode(data, max_pixels=max_pixels, max_decode_bytes=max_decode_bytes)
    image = normalize_image(decoded)
    exif = output_exif(decoded)
    meta = {
        "format": decoded.format,
        "mode": decoded.mode,
        "n_frames": decoded.n_frames,
        "exif": None if exif is None else base64.b64encode(exif).decode("ascii"),
        "warnings": decoded.warnings,
        "operations": decoded.operations,
    }
    del decoded
    width, height = image.size
    shape = (height, width, len(image.getbands()))
    fd = os.memfd_create("engine-decode-pixels")
    os.ftruncate(fd, math.prod(shape))
    with mmap.mmap(fd, math.prod(shape)) as mapping:
        to_array(image, out=np.frombuffer(mapping, dtype=np.uint8).reshape(shape))
    meta["shape"] = list(shape)
    return meta, fd
