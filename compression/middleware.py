"""A database outage answers 503 "try again shortly", not 500 "something is broken".

While PostgreSQL restarts (or fails over) every query raises OperationalError/InterfaceError;
the connection is reopened by the next request (CONN_HEALTH_CHECKS), so this is temporary.
The REST API maps the same errors in api/exception_handler.py; this middleware covers the
dashboard: JSON `{"error": ...}` for its fetch() calls (`Accept: application/json`), otherwise
templates/503.html, rendered without the request so that nothing touches the database (no
user, session, messages or CSRF lookups).
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_UNAVAILABLE_MESSAGE = (
    "The database is temporarily unavailable (it may be restarting). Try again in a few seconds."
)
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        logger.warning("%s %s: database unavailable (%s: %s)", request.method, request.path,
                       type(exception).__name__, " ".join(str(exception).split())[:200])
        if "application/json" in request.headers.get("Accept", ""):
            response = JsonResponse({"error": DATABASE_UNAVAILABLE_MESSAGE}, status=503)
        else:
            retry_url = None
            if request.method in ("GET", "HEAD") and not request.path.startswith("//"):  # no off-site link
                retry_url = request.get_full_path()
            html = render_to_string("503.html", {
                "message": DATABASE_UNAVAILABLE_MESSAGE, "retry_url": retry_url, "retry_after": RETRY_AFTER_SECONDS,
            })
            response = HttpResponse(html, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
