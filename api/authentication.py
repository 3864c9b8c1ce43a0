from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .tokens import token_authenticate


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` against the hashed, named tokens of api.models.ApiToken."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        token = token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)
