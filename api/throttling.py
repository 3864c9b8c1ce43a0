"""Per-user throttles whose rates are read at request time (so settings overrides apply)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _LiveRatesMixin:
    # DRF copies DEFAULT_THROTTLE_RATES into a class attribute at import time; read it live instead.
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UserThrottle(_LiveRatesMixin, UserRateThrottle):
    """Every request of a signed-in user (by user id); anonymous requests by client IP."""

    scope = "user"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None  # AnonThrottle counts those
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonThrottle(_LiveRatesMixin, AnonRateThrottle):
    scope = "anon"


class CompressThrottle(_LiveRatesMixin, SimpleRateThrottle):
    """Requests that start a compression (job create, re-run, batch, classic compress), per user."""

    scope = "compress"

    def get_cache_key(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        if request.user and request.user.is_authenticated:
            ident = request.user.pk
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PreviewThrottle(_LiveRatesMixin, UserRateThrottle):
    """Previews, per user: a K slider sends many per second, so they have their own scope."""

    scope = "preview"


class AuthThrottle(_LiveRatesMixin, SimpleRateThrottle):
    """Password checks (POST /api/auth/token/), per client IP, against password guessing."""

    scope = "auth"

    def get_cache_key(self, request, view):
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
