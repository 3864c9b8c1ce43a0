"""Uploads: stored once per user and content, checked (bytes, type, pixels) before they are kept."""

import hashlib
import posixpath
import unicodedata

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat

from compression.decoding import decode_limits
from compression.errors import InvalidUpload, UploadTooLarge
from compression.models import Upload
from compression.stored_files import delete_files, job_file_names

from .quotas import check_storage_quota, lock_user


def upload_create(*, owner, file, original_name: str | None = None) -> Upload:
    """Store an uploaded image after checking its size, type and pixel count.

    `file` is a Django UploadedFile/File, a file object or bytes. The same user uploading the same
    bytes again gets the existing Upload back, found by its hash before anything is decoded (no
    second copy is stored, no second decode). A new file is checked from its headers (pixels,
    tiles, pages, frames, scans), then decoded in a child process under the decode caps.
    """
    upload, _created = upload_get_or_create(owner=owner, file=file, original_name=original_name)
    return upload


def upload_get_or_create(*, owner, file, original_name: str | None = None) -> tuple[Upload, bool]:
    """`upload_create`, also saying whether this call stored the upload (False: the user had it)."""
    data = _read_limited(file)
    if original_name is None:
        original_name = getattr(file, "name", "") or ""
    original_name = _display_name(original_name)
    digest = hashlib.sha256(data).hexdigest()
    existing = Upload.objects.filter(owner=owner, sha256=digest).first()
    if existing is not None:
        return existing, False
    fmt, width, height = _inspect_image(data)

    with transaction.atomic():
        lock_user(owner)
        existing = Upload.objects.filter(owner=owner, sha256=digest).first()
        if existing is not None:
            return existing, False
        check_storage_quota(owner, extra_bytes=len(data))
        upload = Upload(
            owner=owner,
            original_name=original_name,
            format=fmt,
            width=width,
            height=height,
            size_bytes=len(data),
            sha256=digest,
        )
        upload.file.save("upload", ContentFile(data), save=False)
        try:
            upload.full_clean()
            with transaction.atomic():
                upload.save(force_insert=True)
        except IntegrityError:
            # The same bytes arrived concurrently: keep the other row.
            delete_files([upload.file.name])
            return Upload.objects.get(owner=owner, sha256=digest), False
        except BaseException:
            delete_files([upload.file.name])
            raise
    return upload, True


def upload_delete(*, upload: Upload) -> None:
    """Delete an upload, its jobs and all their files."""
    names = [upload.file.name] + job_file_names(upload.jobs.all())
    with transaction.atomic():
        upload.delete()
    delete_files(names)


def _read_limited(file) -> bytes:
    limit = settings.MAX_UPLOAD_BYTES
    too_large = UploadTooLarge(
        f"The file is larger than the {filesizeformat(limit)} limit; upload a smaller image."
    )
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = bytes(file)
    else:
        size = getattr(file, "size", None)
        if isinstance(size, int) and size > limit:
            raise too_large
        if hasattr(file, "seek"):
            try:
                file.seek(0)
            except (OSError, ValueError):
                pass
        data = file.read(limit + 1)
    if len(data) > limit:
        raise too_large
    if not data:
        raise InvalidUpload("The file is empty.", kind="invalid_image")
    return data


def _display_name(name: str) -> str:
    """The file name for display: last path component, no control characters, at most 255 chars."""
    name = str(name).replace("\\", "/")
    name = posixpath.basename(name)
    # No control characters, and no leading dot: a download named after it must not be hidden.
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".").strip()
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:255]
    return name


def _inspect_image(data: bytes) -> tuple[str, int, int]:
    """(format, displayed width, height) of an upload, through the engine's capped decoder.

    The headers are checked before any pixel is decoded; then the first frame is decoded in a
    child process under the decode caps, so truncated, corrupt or costly files are refused at
    upload time, not in the worker.
    """
    from compression.engine import EngineError, ImageTooCostly, ImageTooLarge, UnsupportedFormat, probe_capped

    try:
        info = probe_capped(data, decode_limits())
    except ImageTooCostly as exc:
        raise InvalidUpload(str(exc), kind="image_too_costly") from exc
    except ImageTooLarge as exc:
        raise InvalidUpload(str(exc), kind="image_too_large") from exc
    except UnsupportedFormat as exc:
        raise InvalidUpload(str(exc), kind="unsupported_format") from exc
    except EngineError as exc:
        raise InvalidUpload(str(exc), kind="invalid_image") from exc
    return info.format, info.width, info.height
