"""The API's root (/api/: every endpoint, browsable) and its answer for paths it does not have."""

from django.http import HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

# What /api/ lists: (name, URL name); the ones with an id show their pattern.
ENDPOINTS = [
    ("schema", "api:schema"), ("docs", "api:docs"), ("health", "api:health"),
    ("token", "api:token-obtain"), ("tokens", "api:token-list"), ("usage", "api:usage"),
    ("uploads", "api:upload-list"), ("jobs", "api:job-list"), ("jobs_batch", "api:job-batch"), ("jobs_zip", "api:job-zip"),
    ("upload", "api:classic-upload"), ("compress", "api:classic-compress"),
    ("compress_advanced", "api:classic-compress-advanced"), ("compress_direct", "api:classic-compress-direct"),
    ("presets", "api:classic-presets"), ("resize_modes", "api:classic-resize-modes"),
    ("dimension_presets", "api:classic-dimension-presets"),
]
PATTERNS = {
    "upload": "/api/uploads/{upload_id}/", "job": "/api/jobs/{job_id}/", "download": "/api/download/{job_id}",
}


class ApiRootView(APIView):
    """Every endpoint of the API. Sign in (session, token or HTTP Basic) to use the others."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request):
        links = {name: request.build_absolute_uri(reverse(url_name)) for name, url_name in ENDPOINTS}
        return Response({**links, "patterns": PATTERNS})


class NotFoundView(APIView):
    """Any other path under /api/: a JSON 404 (or the same path with a trailing slash, if that exists)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []
    schema = None

    def _answer(self, request, *args, **kwargs):
        if not request.path.endswith("/") and _is_endpoint(request.path + "/"):
            # What APPEND_SLASH did before this catch-all; 308 keeps the method and the body.
            query = request.META.get("QUERY_STRING", "")
            response = HttpResponseRedirect(request.path + "/" + (f"?{query}" if query else ""))
            response.status_code = 308
            return response
        raise NotFound(f"No such endpoint or object: {request.path}. The endpoints are listed at /api/.")

    get = post = put = patch = delete = head = options = _answer


def _is_endpoint(path: str) -> bool:
    try:
        return resolve(path).url_name != "not-found"
    except Resolver404:
        return False
