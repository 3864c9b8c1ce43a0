"""/api/health: public, for load balancers and container health checks (compression.health)."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from compression.engine import ENGINE_VERSION
from compression.health import health_report

from .. import serializers as s


class HealthApi(APIView):
    """Public: the database, the file store, the job queue and the engine, each really exercised.

    Everyone sees which check passed; the platform-wide queue figures are for staff only.
    """

    permission_classes = [AllowAny]
    throttle_classes = []  # load balancers and container health checks poll it
    classic_errors = True

    @extend_schema(responses={200: s.HealthSerializer, 503: s.HealthSerializer}, operation_id="health")
    def get(self, request):
        healthy, checks = health_report()
        if not request.user.is_staff:
            checks["queue"] = {key: checks["queue"][key] for key in ("ok", "ms", "error") if key in checks["queue"]}
        body = {
            "success": healthy,
            "status": "ok" if healthy else "error",
            "version": settings.SPECTACULAR_SETTINGS["VERSION"],
            "engine_version": ENGINE_VERSION,
            "checks": checks,
        }
        response = Response(body, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)
        response["Cache-Control"] = "no-store"
        return response
