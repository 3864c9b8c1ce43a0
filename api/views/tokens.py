"""Log-in for scripts (a token from a password), named API tokens, and usage against the quotas."""

from django.contrib.auth import authenticate
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from compression import selectors

from ..parsers import LimitedJSONParser
from .. import serializers as s
from ..authentication import raise_if_locked
from ..throttling import AuthThrottle
from .common import ERRORS


class TokenObtainApi(GenericAPIView):
    """Exchange a username and password for a new named API token (shown once)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]
    parser_classes = [LimitedJSONParser, FormParser]
    serializer_class = s.TokenObtainRequestSerializer

    @extend_schema(
        request=s.TokenObtainRequestSerializer,
        responses={200: s.TokenObtainResponseSerializer, 400: ERRORS[400], 429: ERRORS[429]},
        auth=[],
        operation_id="auth_token_obtain",
    )
    def post(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        raise_if_locked(username=username, request=request)
        user = authenticate(request, username=username, password=data.validated_data["password"])
        if user is None or not user.is_active:
            raise_if_locked(username=username, request=request)  # this failure reached the limit
            raise serializers.ValidationError({"non_field_errors": ["Unable to log in with the provided credentials."]})
        new = tokens.token_create(user=user, name=data.validated_data["name"])
        return Response({"token": new.key, "id": new.token.id, "name": new.token.name}, status=status.HTTP_200_OK)


class TokenListApi(GenericAPIView):
    """Your API tokens (never the keys), and creating a named one."""

    serializer_class = s.ApiTokenSerializer
    parser_classes = [LimitedJSONParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return tokens.ApiToken.objects.none()
        return tokens.token_list_for_user(user=self.request.user)

    @extend_schema(responses={200: s.ApiTokenSerializer(many=True), 401: ERRORS[401]}, operation_id="auth_tokens_list")
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.ApiTokenSerializer(page, many=True).data)

    @extend_schema(
        request=s.ApiTokenSerializer, responses={201: s.ApiTokenCreatedSerializer, 400: ERRORS[400], 401: ERRORS[401]},
        operation_id="auth_tokens_create",
    )
    def post(self, request):
        data = s.ApiTokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = tokens.token_create(user=request.user, name=data.validated_data["name"])
        out = s.ApiTokenCreatedSerializer(new.token).data
        out["key"] = new.key
        url = request.build_absolute_uri(reverse("api:token-detail", args=[new.token.id]))
        return Response(out, status=status.HTTP_201_CREATED, headers={"Location": url})


class TokenDetailApi(APIView):
    @extend_schema(responses={200: s.ApiTokenSerializer, 401: ERRORS[401], 404: ERRORS[404]}, operation_id="auth_tokens_retrieve")
    def get(self, request, token_id):
        return Response(s.ApiTokenSerializer(tokens.token_get_for_user(user=request.user, token_id=token_id)).data)

    @extend_schema(responses={204: None, 401: ERRORS[401], 404: ERRORS[404]}, operation_id="auth_tokens_revoke")
    def delete(self, request, token_id):
        tokens.token_revoke(token=tokens.token_get_for_user(user=request.user, token_id=token_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UsageApi(APIView):
    @extend_schema(responses={200: s.UsageSerializer, 401: ERRORS[401]})
    def get(self, request):
        """Jobs today and stored bytes against your quotas."""
        return Response(s.UsageSerializer(selectors.usage_for_user(user=request.user)).data)
