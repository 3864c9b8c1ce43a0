"""Named API tokens (the table keeps its first name, api_apitoken) and the login guard's counters.

DRF's authtoken allows one token per user and stores the key in clear; a user here has several
named tokens, and only the SHA-256 of each key is stored (the key is shown once, at creation).
"""

import uuid

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)  # hex SHA-256 of the key
    prefix = models.CharField(max_length=12)  # first characters of the key, to recognise it in a list
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_apitoken"
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_created")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SecurityCounter(models.Model):
    """Events counted in a time window, in the database so no cache eviction can reset them:
    failed logins per username and per client IP, sign-ups per client IP (accounts/login_guard.py).
    `key` holds hashes, never a username or an address in clear."""

    key = models.CharField(max_length=100, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_ends = models.FloatField(db_index=True)  # Unix time: the window started at the first event

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
