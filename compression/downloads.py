"""Serving stored files to their (already checked) owner, and the names they are served under.

Every download streams through Django, on every storage backend: the response always carries
Content-Disposition, the content type of the *detected* format and `X-Content-Type-Options:
nosniff`. (Presigned redirects to an object store were dropped: the store cannot add nosniff, and
one code path is one set of guaranteed headers.) The file is read in chunks from the storage's
file object; S3 objects spool to a temporary file past `max_memory_size` (settings), never whole
into memory.
"""

import mimetypes
from pathlib import PurePath

from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404
from django.utils.text import get_valid_filename

from compression.storage_names import extension_for

MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "gif": "image/gif",
              "webp": "image/webp", "bmp": "image/bmp", "tiff": "image/tiff", "tif": "image/tiff",
              "avif": "image/avif"}
STEM_MAX_CHARS = 80


def content_type_for(fmt_or_name: str) -> str:
    key = fmt_or_name.rsplit(".", 1)[-1].lower()
    return MIME_TYPES.get(key) or mimetypes.guess_type(fmt_or_name)[0] or "application/octet-stream"


def download_filename(original_name: str | None, fmt: str, *, suffix: str = "") -> str:
    """`<stem of the client's name><suffix>.<extension of the detected format>`.

    The client's extension is dropped: a PNG uploaded as "evil.html" downloads as "evil.png".
    The stem is reduced to safe characters; "image" when nothing is left.
    """
    stem = PurePath((original_name or "").replace("\\", "/")).stem[:STEM_MAX_CHARS]
    try:
        stem = get_valid_filename(stem)
    except SuspiciousFileOperation:  # "", "." or ".."
        stem = ""
    return f"{stem or 'image'}{suffix}.{extension_for(fmt)}"


def job_download_filename(job, *, fmt: str | None = None, with_id: bool = False, extra: str = "") -> str:
    """A file of a job: `<stem>-k<K used><extra>[-<id prefix>].<format>` (the result's format by default).

    K is the number of colours the result holds (a quality target or an image with few colours
    uses fewer than requested); the requested K only while the job has not run.
    """
    k = job.n_colors_used or job.n_colors
    suffix = f"-k{k}{extra}" + (f"-{str(job.id)[:8]}" if with_id else "")
    return download_filename(job.upload.original_name, fmt or job.result_format or job.output_format, suffix=suffix)


def file_response(field_file, *, filename: str, content_type: str | None = None, as_attachment: bool = True):
    """A streamed response delivering `field_file`.

    Content-Disposition (attachment by default, inline for previews), the content type,
    `X-Content-Type-Options: nosniff` and `Cache-Control: private, no-store`. 404 when the file is
    no longer stored.
    """
    if not field_file:
        raise Http404("No file.")
    content_type = content_type or content_type_for(field_file.name)
    try:
        handle = field_file.storage.open(field_file.name, "rb")  # S3 checks the object exists here
    except FileNotFoundError:
        raise Http404("The file is no longer stored.")
    response = FileResponse(handle, as_attachment=as_attachment, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
