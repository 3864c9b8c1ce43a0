"""Serving stored files to their owner: as an attachment, or a short-lived presigned redirect.

Callers check ownership first (through a selector) and pass the FieldFile. Whether to redirect is
a property of the URL the storage gives, not of which storage is configured: an absolute URL
(scheme and host, e.g. a presigned S3 URL) is a redirect; a local path is streamed by Django.
"""

import mimetypes
from urllib.parse import urlsplit

from django.http import FileResponse, Http404, HttpResponseRedirect

MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "gif": "image/gif",
              "webp": "image/webp", "bmp": "image/bmp", "tiff": "image/tiff", "tif": "image/tiff",
              "avif": "image/avif"}


def content_type_for(fmt_or_name: str) -> str:
    key = fmt_or_name.rsplit(".", 1)[-1].lower()
    return MIME_TYPES.get(key) or mimetypes.guess_type(fmt_or_name)[0] or "application/octet-stream"


def file_response(field_file, *, filename: str, content_type: str | None = None, as_attachment: bool = True,
                  allow_redirect: bool = True):
    """A response delivering `field_file` to its (already checked) owner.

    Streams through Django with Content-Disposition (attachment by default), the content type and
    `X-Content-Type-Options: nosniff`; or, when the storage hands out absolute URLs and
    `allow_redirect`, a 302 to the presigned URL (asking the store for the same headers).
    """
    if not field_file:
        raise Http404("No file.")
    content_type = content_type or content_type_for(field_file.name)
    if allow_redirect:
        url = _signed_url(field_file, filename=filename, content_type=content_type, as_attachment=as_attachment)
        if url and urlsplit(url).scheme in ("http", "https"):
            if not field_file.storage.exists(field_file.name):
                raise Http404("The file is no longer stored.")
            response = HttpResponseRedirect(url)
            response["Cache-Control"] = "private, no-store"
            return response
    try:
        handle = field_file.storage.open(field_file.name, "rb")
    except FileNotFoundError:
        raise Http404("The file is no longer stored.")
    response = FileResponse(handle, as_attachment=as_attachment, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _signed_url(field_file, *, filename: str, content_type: str, as_attachment: bool) -> str | None:
    disposition = "attachment" if as_attachment else "inline"
    parameters = {
        "ResponseContentDisposition": f'{disposition}; filename="{_ascii(filename)}"',
        "ResponseContentType": content_type,
    }
    storage = field_file.storage
    try:
        # Object stores (django-storages) accept response headers for the signed URL.
        return storage.url(field_file.name, parameters=parameters)
    except TypeError:
        pass
    try:
        return storage.url(field_file.name)
    except Exception:
        return None


def _ascii(name: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name) or "download"
