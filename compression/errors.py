"""Domain errors of the platform core. Messages are written for the person who sees them.

The API maps them once (api/exception_handler.py); the dashboard upload answers the same status
codes (compression/views.py INVALID_UPLOAD_STATUS) with `str(exc)` as the message.
Engine errors raised while inspecting an upload are wrapped in `InvalidUpload` (the engine error
stays available as `__cause__`); engine `InvalidOptions` (a ValueError) passes through as is.
"""


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
