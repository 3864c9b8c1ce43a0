"""Previews: what a job with these options would make of an upload, at preview size, without a job.

No job row, no stored file: the upload is decoded (under the decode caps) once per geometry into
the process's preview cache (compression/previews.py), and each call clusters, remaps and encodes
the cached preview (engine/preview.py). A call holds one of the user's synchronous-work slots.
"""

from dataclasses import dataclass

from compression.decoding import decode_limits
from compression.engine import InvalidOptions, decode_capped
from compression.engine.options import BOUNDS, TARGET_FIELDS
from compression.engine.preview import (
    DEFAULT_PREVIEW_PIXELS, FIXED_K_MESSAGE, PreviewResult, prepare_preview, preview_source_key, render_preview,
)
from compression.errors import NotFound
from compression.models import Upload
from compression.previews import preview_cache

from .jobs import job_options_check
from .sync_work import sync_work_slot

@dataclass(frozen=True)
class Preview:
    result: PreviewResult
    source_cached: bool  # the prepared source came from the cache (no decode in this call)


def preview_create(
    *, owner, upload: Upload, options: dict, preview_pixels: int = DEFAULT_PREVIEW_PIXELS, views=()
) -> Preview:
    """Preview `upload` with job `options` (as `job_create` takes them; targets refused).

    Raises NotFound (not the owner's upload), engine InvalidOptions (as job creation, plus
    "previews take a fixed K" and the preview_pixels bound), SyncWorkLimit, and the decode errors
    (InvalidImage, UnsupportedFormat, ImageTooLarge, ImageTooCostly).
    """
    if upload.owner_id != owner.pk:
        raise NotFound("No upload matches the given query.")
    for name in TARGET_FIELDS:
        if options.get(name) is not None:
            raise InvalidOptions(FIXED_K_MESSAGE, field=name)
    BOUNDS["preview_pixels"].check(preview_pixels)
    _values, engine_options = job_options_check(upload=upload, options=options)
    key = (upload.id, upload.sha256, preview_source_key(engine_options, preview_pixels))

    def build():
        with upload.file.open("rb") as handle:
            data = handle.read()
        return prepare_preview(decode_capped(data, decode_limits()), engine_options, preview_pixels=preview_pixels)

    with sync_work_slot(owner, kind="preview"):
        source, cached = preview_cache.get_or_build(key, build)
        return Preview(render_preview(source, engine_options, views=tuple(views)), cached)
