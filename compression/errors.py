"""Domain errors of the platform core. Messages are written for the person who sees them.

`http_status` is the one table from these errors (and the engine's) to HTTP statuses: the API's
exception handler and the dashboard both answer with it, `str(exc)` being the message.
Engine errors raised while inspecting an upload are wrapped in `InvalidUpload` (the engine error
stays available as `__cause__`); engine `InvalidOptions` (a ValueError) passes through as is.
"""

from compression.engine import errors as engine_errors


class CompressionError(Exception):
    """Base class of the domain errors below."""


class QuotaExceeded(CompressionError):
    """A per-user quota is used up. `kind` is "jobs_per_day" (API: 429) or "storage" (API: 403/413)."""

    def __init__(self, message: str, *, kind: str):
        super().__init__(message)
        self.kind = kind


class InvalidUpload(CompressionError):
    """The uploaded file cannot be accepted.

    `kind` tells the API and the dashboard which status to use:
    "invalid_image" and "unsupported_format" (415: a file we cannot decode), "image_too_large" (413, too many pixels),
    "image_too_costly" (422: tiles, pages, frames or scans beyond the limits, or a decode past its time cap),
    "file_too_large" (413, too many bytes; raised as the `UploadTooLarge` subclass). Bad options are 400.
    """

    def __init__(self, message: str, *, kind: str = "invalid_image"):
        super().__init__(message)
        self.kind = kind


class UploadTooLarge(InvalidUpload):
    """More bytes than MAX_UPLOAD_BYTES."""

    def __init__(self, message: str):
        super().__init__(message, kind="file_too_large")


class JobNotCancellable(CompressionError):
    """The job already finished (succeeded, failed or cancelled)."""


class JobNotFinished(CompressionError):
    """The job has no result yet (queued, running) or did not succeed; e.g. a download or a re-run."""


class SyncWorkLimit(CompressionError):
    """The user's synchronous-work slots are all taken (429 with Retry-After: `retry_after` s)."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class NotFound(CompressionError):
    """No such object among the caller's own: another user's objects are the same 404 as a random id."""


# (error class, kind or None for any kind, HTTP status); the first match wins, so subclasses first.
STATUS_TABLE = (
    (NotFound, None, 404),
    (QuotaExceeded, "jobs_per_day", 429),
    (QuotaExceeded, "storage", 403),
    (SyncWorkLimit, None, 429),
    (InvalidUpload, "file_too_large", 413),
    (InvalidUpload, "image_too_large", 413),
    (InvalidUpload, "image_too_costly", 422),
    (InvalidUpload, None, 415),
    (JobNotCancellable, None, 409),
    (JobNotFinished, None, 409),
    (engine_errors.InvalidOptions, None, 400),
    (engine_errors.ImageTooLarge, None, 413),
    (engine_errors.UnsupportedFormat, None, 415),
    (engine_errors.ImageTooCostly, None, 422),
    (engine_errors.InvalidImage, None, 415),
    (engine_errors.EngineError, None, 400),
)


def http_status(exc: BaseException) -> int | None:
    """The HTTP status for a domain or engine error, or None if `exc` is neither."""
    for error_class, kind, status in STATUS_TABLE:
        if isinstance(exc, error_class) and (kind is None or getattr(exc, "kind", None) == kind):
            return status
    return None
