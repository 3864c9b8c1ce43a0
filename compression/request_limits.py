"""Request-body limits for the dashboard, applied before anything reads the body.

Django parses a POST body the first time `request.POST`/`FILES` is touched, which for a form post
is CsrfViewMiddleware, before the view: a view's own size check comes after the whole multipart
body has been spooled to disk. This middleware sits before CsrfViewMiddleware and
- refuses a body whose Content-Length exceeds MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES (413),
  on every path outside the REST API (whose parser does the same check, with its own error shape);
- parses the dashboard upload's body itself, so an unreadable multipart body (e.g. a 10 KB file
  name) answers the upload's JSON error (400) instead of Django's HTML 400 page.
"""

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse

# Room for the multipart boundaries and the small option fields around one file (as api/parsers.py).
MULTIPART_OVERHEAD_BYTES = 1024 * 1024


def body_too_large_response(length: int) -> JsonResponse:
    megabytes = settings.MAX_UPLOAD_BYTES / (1024 * 1024)
    return JsonResponse(
        {"error": f"The upload is too large ({length:,} bytes); files are limited to {megabytes:.0f} MB "
                  f"({settings.MAX_UPLOAD_BYTES:,} bytes)."},
        status=413,
    )


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("POST", "PUT", "PATCH") and not request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return JsonResponse({"error": "The Content-Length header is not a number."}, status=400)
            if length > settings.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES:
                return body_too_large_response(length)
            if request.path == reverse("upload"):
                try:
                    request.FILES  # noqa: B018  (parse now, where the error can be answered in JSON)
                except (MultiPartParserError, SuspiciousOperation) as exc:
                    return JsonResponse(
                        {"error": f"The upload could not be read ({exc}); check the file name is not "
                                  "extremely long and try again."},
                        status=400,
                    )
        return self.get_response(request)
