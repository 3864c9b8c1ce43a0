"""The caps every decode of user bytes runs under, from the settings (see engine/sandbox.py)."""

from django.conf import settings

from compression.engine import DecodeLimits


def decode_limits() -> DecodeLimits:
    """Pixels, structure (tiles, pages, frames, scans) and the decoding child's memory and time."""
    return DecodeLimits(
        max_pixels=settings.MAX_IMAGE_PIXELS,
        memory_cap_mb=settings.DECODE_MEMORY_MB,
        time_cap_s=settings.DECODE_CPU_SECONDS,
        wall_cap_s=settings.DECODE_WALL_SECONDS,
    )
