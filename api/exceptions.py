"""HTTP errors the API raises itself (the domain and engine errors are mapped in exception_handler)."""

from rest_framework import status
from rest_framework.exceptions import APIException


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is too large."
    default_code = "too_large"


class UnsupportedImage(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = "This file is not an image format we can read."
    default_code = "unsupported_format"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is not in a state that allows this."
    default_code = "conflict"


class QuotaExceededError(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Quota exceeded."
    default_code = "quota_exceeded"


class JobFailed(APIException):
    """A synchronous (classic) compression ended failed: the job's own message, as a 422."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The compression failed."
    default_code = "job_failed"


class StorageQuotaExceeded(APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Your storage quota is used up."
    default_code = "storage_quota_exceeded"


class ImageTooCostly(APIException):
    """A file whose decode would cost more than the platform allows (structure or time)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This image would cost too much to decode."
    default_code = "image_too_costly"
