from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication, TokenAuthentication

from accounts import login_guard

from accounts.tokens import token_authenticate


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` against the hashed, named tokens of accounts.models.ApiToken."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        token = token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)


def raise_if_locked(*, username, request) -> None:
    """429 while accounts.login_guard locks this username or client IP out."""
    remaining = login_guard.lockout_remaining(username=username, request=request)
    if remaining:
        raise exceptions.Throttled(wait=remaining, detail=login_guard.locked_message(remaining))


class RateLimitedBasicAuthentication(BasicAuthentication):
    """HTTP Basic, rate-limited against password guessing: 429 once login_guard locks the login.

    DRF authenticates before it throttles, so the check lives here; failures are counted by the
    `user_login_failed` signal that `authenticate()` sends.
    """

    def authenticate_credentials(self, userid, password, request=None):
        raise_if_locked(username=userid, request=request)
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            raise_if_locked(username=userid, request=request)  # this failure reached the limit
            raise


class RateLimitedBasicScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of RateLimitedBasicAuthentication: plain HTTP Basic."""

    target_class = "api.authentication.RateLimitedBasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}
