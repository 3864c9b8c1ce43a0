"""The one place where engine, domain and request errors become HTTP answers.

engine InvalidOptions -> 400, ImageTooLarge -> 413, UnsupportedFormat and InvalidImage (a file we
cannot decode) -> 415;
domain QuotaExceeded -> 429 (jobs per day) or 403 (storage full), UploadTooLarge -> 413,
JobNotCancellable / JobNotFinished -> 409; Django ValidationError -> 400, RequestDataTooBig -> 413,
other SuspiciousOperation (too many fields/files, bad multipart) -> 400;
the database unreachable (OperationalError/InterfaceError, e.g. PostgreSQL restarting) -> 503 with
Retry-After (the dashboard's equivalent is compression/middleware.py).
Classic endpoints (views with `classic_errors = True`) answer {"success": false, "error": "..."}.
"""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from compression import errors as domain_errors
from compression.engine import errors as engine_errors
from compression.middleware import DATABASE_UNAVAILABLE_MESSAGE, RETRY_AFTER_SECONDS

from .exceptions import Conflict, PayloadTooLarge, QuotaExceededError, StorageQuotaExceeded, UnsupportedImage

logger = logging.getLogger(__name__)


class DatabaseUnavailable(exceptions.APIException):
    """The database cannot be reached right now (restart, failover): temporary, so 503 + Retry-After."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DATABASE_UNAVAILABLE_MESSAGE
    default_code = "database_unavailable"


def _message(exc: BaseException, default: str) -> str:
    text = str(exc).strip()
    return text or default


def _engine_error_to_api(exc: BaseException) -> exceptions.APIException | None:
    if isinstance(exc, engine_errors.ImageTooLarge):
        return PayloadTooLarge(_message(exc, "The image has too many pixels."))
    if isinstance(exc, engine_errors.UnsupportedFormat):
        return UnsupportedImage(_message(exc, "This file is not an image format we can read."))
    if isinstance(exc, engine_errors.InvalidOptions):
        return exceptions.ValidationError({"detail": _message(exc, "Invalid options.")}, code="invalid_options")
    if isinstance(exc, engine_errors.InvalidImage):
        return UnsupportedImage(_message(exc, "The file is not a valid image."))
    if isinstance(exc, engine_errors.EngineError):
        return exceptions.ValidationError({"detail": _message(exc, "The image could not be processed.")})
    return None


def _quota_to_api(exc: BaseException) -> exceptions.APIException:
    message = _message(exc, "Quota exceeded.")
    if getattr(exc, "kind", "") == "storage":
        return StorageQuotaExceeded(message)
    return QuotaExceededError(message)


def to_api_exception(exc: BaseException) -> BaseException:
    """Translate a non-DRF exception into a DRF APIException (or return it unchanged)."""
    if isinstance(exc, exceptions.APIException):
        return exc
    api_exc = _engine_error_to_api(exc)
    if api_exc is not None:
        return api_exc
    # Domain errors, most specific first. InvalidUpload keeps the engine error as its cause.
    if isinstance(exc, domain_errors.QuotaExceeded):
        return _quota_to_api(exc)
    if isinstance(exc, domain_errors.InvalidUpload):  # UploadTooLarge is a subclass
        message = _message(exc, "The file is not a valid image.")
        kind = getattr(exc, "kind", "invalid_image")
        if kind in ("file_too_large", "image_too_large"):
            return PayloadTooLarge(message)
        return UnsupportedImage(message)
    if isinstance(exc, (domain_errors.JobNotCancellable, domain_errors.JobNotFinished)):
        return Conflict(_message(exc, "The job is not in a state that allows this."))
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError({"detail": exc.messages})
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge("The request body is too large.")
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError(_message(exc, "The request could not be parsed."))
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s: %s", type(exc).__name__, " ".join(str(exc).split())[:200])
        return DatabaseUnavailable()
    return exc


def _first_message(data) -> str:
    """One readable line out of DRF error data, e.g. "n_colors: Ensure this value is ..."."""
    if isinstance(data, dict):
        if "detail" in data and len(data) == 1:
            return _first_message(data["detail"])
        parts = []
        for field, value in data.items():
            text = _first_message(value)
            parts.append(text if field in ("detail", "non_field_errors") else f"{field}: {text}")
        return "; ".join(parts)
    if isinstance(data, (list, tuple)):
        return " ".join(_first_message(item) for item in data)
    return str(data)


def api_exception_handler(exc, context):
    exc = to_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # DRF re-raises: a 500 (logged by Django), which is a bug by our conventions
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    view = context.get("view")
    if getattr(view, "classic_errors", False):
        data = {"success": False, "error": _first_message(response.data)}
        if response.status_code == status.HTTP_400_BAD_REQUEST and isinstance(response.data, dict):
            data["errors"] = response.data
        response.data = data
    return response
