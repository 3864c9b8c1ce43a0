"""Login rate limiting against password guessing, for every way a password is checked.

Failed logins are counted per username and per client IP in the database (`SecurityCounter`
rows: unlike a cache, nothing another user does can evict them), through the `user_login_failed`
signal that `django.contrib.auth.authenticate()` sends for the dashboard login, the admin login,
HTTP Basic in the API and POST /api/auth/token/, and by the password-change form's check of the
old password (accounts/forms.py). Once either count reaches LOGIN_MAX_FAILURES,
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
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F

from .models import SecurityCounter

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


def count_in_window(key: str, *, window_seconds: float) -> int:
    """Count one event for `key` in a window starting at the first event; the count so far."""
    now = time.time()
    with transaction.atomic():
        counter, created = SecurityCounter.objects.select_for_update().get_or_create(
            key=key, defaults={"count": 1, "window_ends": now + window_seconds}
        )
        if not created:
            if counter.window_ends > now:
                SecurityCounter.objects.filter(pk=counter.pk).update(count=F("count") + 1)
            else:
                SecurityCounter.objects.filter(pk=counter.pk).update(count=1, window_ends=now + window_seconds)
            counter.refresh_from_db()
    # Expired counters of other keys are removed here, so their table stays as small as the attempts.
    SecurityCounter.objects.filter(window_ends__lt=now - window_seconds).delete()
    return counter.count


def seconds_over_limit(keys, *, limit: int) -> float:
    """Seconds until every counter of `keys` is below `limit` again (0: none has reached it)."""
    now = time.time()
    windows = SecurityCounter.objects.filter(key__in=list(keys), count__gte=limit, window_ends__gt=now)
    return max((ends - now for ends in windows.values_list("window_ends", flat=True)), default=0.0)


def lockout_remaining(*, username: str | None, request) -> int:
    """Seconds until this username and this client may try again; 0 when not locked."""
    return math.ceil(seconds_over_limit(_keys(username, request), limit=settings.LOGIN_MAX_FAILURES))


def retry_in(seconds: float) -> str:
    """"try again in N minutes", for a wait of `seconds`."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"try again in {minutes} minute{'s' if minutes != 1 else ''}"


def locked_message(seconds: int) -> str:
    return f"Too many failed attempts; {retry_in(seconds)}."


def failure_record(*, username: str | None, request) -> None:
    """Count one failed login for the username and the client IP (a window from the first failure)."""
    for key in _keys(username, request):
        count_in_window(key, window_seconds=settings.LOGIN_LOCKOUT_SECONDS)


def signup_key(request) -> str:
    return f"signups:ip:{hashlib.sha256(client_ip(request).encode()).hexdigest()}"


def signup_wait(request) -> int:
    """Seconds until this client may create another account; 0 when it may now."""
    return math.ceil(seconds_over_limit([signup_key(request)], limit=settings.SIGNUP_MAX_PER_IP))


def signup_record(request) -> None:
    count_in_window(signup_key(request), window_seconds=settings.SIGNUP_WINDOW_SECONDS)


def failures_clear(*, username: str | None) -> None:
    if username:
        SecurityCounter.objects.filter(key__in=_keys(username, None)).delete()


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """`user_login_failed` receiver (connected in AccountsConfig.ready)."""
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
