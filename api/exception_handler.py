"""The one place where engine, domain and request errors become HTTP answers.

Engine and domain errors take their status from the core's one table (compression.errors.
http_status, which the dashboard uses too); an engine InvalidOptions that names its field is a
400 on that field. Django ValidationError -> 400, RequestDataTooBig -> 413, other
SuspiciousOperation (too many fields/files, bad multipart) -> 400; the database unreachable
(OperationalError/InterfaceError, e.g. PostgreSQL restarting) -> 503 with Retry-After (the
dashboard's equivalent is compression/middleware.py).
Classic endpoints (views with `classic_errors = True`) answer {"success": false, "error": "..."}.
"""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from compression.errors import http_status
from compression.middleware import DATABASE_UNAVAILABLE_MESSAGE, RETRY_AFTER_SECONDS

from .exceptions import Conflict, ImageTooCostly, PayloadTooLarge, QuotaExceededError, StorageQuotaExceeded, UnsupportedImage

logger = logging.getLogger(__name__)


class DatabaseUnavailable(exceptions.APIException):
    """The database cannot be reached right now (restart, failover): temporary, so 503 + Retry-After."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DATABASE_UNAVAILABLE_MESSAGE
    default_code = "database_unavailable"


def _message(exc: BaseException, default: str) -> str:
    text = str(exc).strip()
    return text or default


# The API exception for each status of the core's table, with its default message.
_API_ERRORS = {
    404: (exceptions.NotFound, "Not found."),
    403: (StorageQuotaExceeded, "Your storage is full."),
    409: (Conflict, "The job is not in a state that allows this."),
    413: (PayloadTooLarge, "The file is too large."),
    415: (UnsupportedImage, "The file is not a valid image."),
    422: (ImageTooCostly, "This image would cost too much to decode."),
    429: (QuotaExceededError, "Quota exceeded."),
}


def _domain_error_to_api(exc: BaseException, status_code: int) -> exceptions.APIException:
    if status_code == status.HTTP_400_BAD_REQUEST:
        field = getattr(exc, "field", None) or "detail"
        return exceptions.ValidationError({field: [_message(exc, "Invalid options.")]}, code="invalid_options")
    if getattr(exc, "retry_after", None) is not None:  # a busy moment, not a used-up quota
        return exceptions.Throttled(wait=exc.retry_after, detail=_message(exc, "Too many requests at once."))
    api_error, default = _API_ERRORS[status_code]
    return api_error(_message(exc, default))


def to_api_exception(exc: BaseException) -> BaseException:
    """Translate a non-DRF exception into a DRF APIException (or return it unchanged)."""
    if isinstance(exc, exceptions.APIException):
        return exc
    status_code = http_status(exc)
    if status_code is not None:
        return _domain_error_to_api(exc, status_code)
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
