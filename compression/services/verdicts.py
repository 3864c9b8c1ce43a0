"""Advice before a job: is a palette the right format for this upload (engine verdict)?"""

from compression.decoding import decode_limits
from compression.models import Upload

from .jobs import job_options_checked
from .sync_work import sync_work_slot


def upload_verdict(*, owner, upload: Upload, options: dict | None = None):
    """The engine's Verdict (or None for an image smaller than SSIM's window) for `upload` with the
    job `options` it would get: palette PNG, or lossy WebP N times smaller at the same SSIM. The
    upload is decoded under the decode caps; the work takes one of the owner's sync-work slots."""
    from compression.engine import decode_capped, format_verdict

    engine_options = job_options_checked(owner=owner, upload=upload, options=options or {}).to_compress_options()
    with sync_work_slot(owner, kind="verdict"):
        with upload.file.open("rb") as handle:
            pixels = decode_capped(handle.read(), decode_limits())
        return format_verdict(pixels, engine_options)
