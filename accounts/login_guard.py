"""Login rate limiting against password guessing, for every way a password is checked.

Failed logins are counted per username and per client IP in Django's cache (the shared database
cache by default, so every web process sees the same counts), through the `user_login_failed`
signal that `django.contrib.auth.authenticate()` sends for the dashboard login, the admin login,
HTTP Basic in the API and POST /api/auth/token/. Once either count reaches LOGIN_MAX_FAILURES,
`RateLimitedModelBackend` refuses every attempt for that username or IP (even the right password)
until LOGIN_LOCKOUT_SECONDS after the first counted failure; the callers answer 429 with
`locked_message()`. A successful login clears the username's count. The IP's count is left to
expire: otherwise an attacker holding one valid account could reset it between guesses.
"""

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

KEY_PREFIX = "login-failures"


def client_ip(request) -> str:
    """REMOTE_ADDR; behind our TLS proxy, the last X-Forwarded-For hop (the one the proxy added)."""
    if request is None:
        return ""
    meta = getattr(request, "META", {})
    if settings.BEHIND_TLS_PROXY:
        hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return meta.get("REMOTE_ADDR", "")


def _keys(username: str | None, request) -> list[str]:
    keys = []
    if username:
        keys.append(f"{KEY_PREFIX}:user:{hashlib.sha256(str(username).encode()).hexdigest()}")
    ip = client_ip(request)
    if ip:
        keys.append(f"{KEY_PREFIX}:ip:{hashlib.sha256(ip.encode()).hexdigest()}")
    return keys


def lockout_remaining(*, username: str | None, request) -> int:
    """Seconds until this username and this client may try again; 0 when not locked."""
    now = time.time()
    remaining = 0.0
    for key in _keys(username, request):
        entry = cache.get(key)
        if entry and entry[0] >= settings.LOGIN_MAX_FAILURES and entry[1] > now:
            remaining = max(remaining, entry[1] - now)
    return math.ceil(remaining)


def locked_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many failed attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}."


def failure_record(*, username: str | None, request) -> None:
    """Count one failed login for the username and the client IP (a window from the first failure)."""
    now = time.time()
    for key in _keys(username, request):
        entry = cache.get(key)
        if entry and entry[1] > now:
            count, until = entry[0] + 1, entry[1]
        else:
            count, until = 1, now + settings.LOGIN_LOCKOUT_SECONDS
        # Not atomic across processes: concurrent failures may be counted once. A few extra
        # guesses per window is acceptable; the lock itself cannot be skipped.
        cache.set(key, (count, until), timeout=max(1, math.ceil(until - now)))


def failures_clear(*, username: str | None) -> None:
    if username:
        cache.delete_many(_keys(username, None))


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """`user_login_failed` receiver (connected in CompressionConfig.ready)."""
    username = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username")
    failure_record(username=username, request=request)


class RateLimitedModelBackend(ModelBackend):
    """ModelBackend that refuses (PermissionDenied: no other backend is tried) while locked out."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if lockout_remaining(username=username, request=request):
            raise PermissionDenied(locked_message(lockout_remaining(username=username, request=request)))
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            failures_clear(username=username)
        return user
