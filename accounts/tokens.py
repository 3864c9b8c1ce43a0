"""Services and selectors for API tokens (the model is accounts.models.ApiToken)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from compression.services.quotas import lock_user

from .models import ApiToken

KEY_PREFIX = "kmc_"
# last_used_at is written at most this often per token, so reads don't each cost a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    key: str  # the only time the key exists in clear


@transaction.atomic
def token_create(*, user, name: str) -> NewToken:
    """A new named token for `user`; ValidationError (code "too_many_tokens") at the limit."""
    lock_user(user)  # two requests cannot both take the last place
    limit = settings.API_MAX_TOKENS_PER_USER
    if ApiToken.objects.filter(user=user).count() >= limit:
        raise ValidationError(
            f"You have reached the limit of {limit} API tokens per account. "
            "Revoke one you no longer use, then create the new one.",
            code="too_many_tokens",
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, key_hash=hash_key(key), prefix=key[: len(KEY_PREFIX) + 4])
    token.full_clean()
    token.save()
    return NewToken(token=token, key=key)


def token_revoke(*, token: ApiToken) -> None:
    token.delete()


def token_list_for_user(*, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def token_get_for_user(*, user, token_id) -> ApiToken:
    return get_object_or_404(token_list_for_user(user=user), id=token_id)


def token_authenticate(*, key: str) -> ApiToken | None:
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
