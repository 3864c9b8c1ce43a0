"""Authentication: tokens (obtain, list, create, revoke), Basic, session with CSRF, 401 for anonymous."""

import base64
import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PROTECTED = [
    ("get", "/api/uploads/"),
    ("post", "/api/uploads/"),
    ("get", "/api/jobs/"),
    ("post", "/api/jobs/"),
    ("post", "/api/jobs/batch/"),
    ("get", "/api/jobs/zip/?ids=" + str(uuid.uuid4())),
    ("get", "/api/auth/tokens/"),
    ("get", "/api/usage/"),
    ("post", "/api/upload"),
    ("post", "/api/compress"),
    ("post", "/api/compress-advanced"),
    ("post", "/api/compress-direct"),
    ("get", "/api/presets"),
    ("get", "/api/resize-modes/"),
    ("get", "/api/dimension-presets"),
]


@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_anonymous_gets_401_with_www_authenticate(anon_api, method, url):
    response = getattr(anon_api, method)(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_classic_401_keeps_the_classic_shape(anon_api):
    body = anon_api.post("/api/compress").json()
    assert body["success"] is False
    assert "credentials" in body["error"].lower()


def test_public_endpoints_need_no_authentication(anon_api):
    assert anon_api.get("/api/health").status_code == 200
    assert anon_api.get("/api/schema/").status_code == 200
    assert anon_api.get("/api/docs/").status_code == 200


def test_obtain_token_with_username_and_password_then_use_it(alice, anon_api):
    response = anon_api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    key = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/uploads/").status_code == 200


def test_only_a_hash_of_the_key_is_stored(alice, anon_api):
    key = anon_api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").json()["token"]
    token = ApiToken.objects.get(user=alice)
    assert key not in (token.key_hash, token.prefix)
    assert len(token.key_hash) == 64 and key.startswith(token.prefix)


def test_obtain_token_with_a_wrong_password_is_400(alice, anon_api):
    response = anon_api.post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "credentials" in str(response.json())
    assert not ApiToken.objects.exists()


def test_obtain_token_missing_fields_is_400(anon_api):
    response = anon_api.post("/api/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"username", "password"}


def test_password_guessing_is_throttled(alice, anon_api, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "3/minute"}}
    codes = [anon_api.post("/api/auth/token/", {"username": "alice", "password": f"guess{i}"}, format="json").status_code for i in range(4)]
    assert codes == [400, 400, 400, 429]


def test_invalid_and_malformed_tokens_are_401(anon_api):
    for header in ("Token nope", "Token", "Token a b", "Token \u00e9t\u00e9"):
        anon_api.credentials(HTTP_AUTHORIZATION=header)
        assert anon_api.get("/api/jobs/").status_code == 401, header


def test_list_create_and_revoke_tokens(alice_api):
    created = alice_api.post("/api/auth/tokens/", {"name": "laptop"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "laptop" and body["key"].startswith(body["prefix"])
    assert created["Location"].endswith(f"/api/auth/tokens/{body['id']}/")

    listed = alice_api.get("/api/auth/tokens/").json()
    assert listed["count"] == 2
    assert {t["name"] for t in listed["results"]} == {"laptop", "tests"}
    assert all("key" not in t for t in listed["results"])

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {body['key']}")
    assert other.get("/api/jobs/").status_code == 200
    assert alice_api.delete(f"/api/auth/tokens/{body['id']}/").status_code == 204
    assert other.get("/api/jobs/").status_code == 401
    assert alice_api.get("/api/auth/tokens/").json()["count"] == 1


def test_token_use_is_recorded(alice_api, alice):
    alice_api.get("/api/jobs/")
    assert ApiToken.objects.get(user=alice).last_used_at is not None


def test_token_name_is_required(alice_api):
    assert alice_api.post("/api/auth/tokens/", {}, format="json").status_code == 400


def test_bob_cannot_see_or_revoke_alices_token(alice, alice_api, bob_api):
    token_id = alice_api.get("/api/auth/tokens/").json()["results"][0]["id"]
    assert bob_api.get(f"/api/auth/tokens/{token_id}/").status_code == 404
    assert bob_api.delete(f"/api/auth/tokens/{token_id}/").status_code == 404
    assert ApiToken.objects.filter(id=token_id).exists()


def test_basic_authentication_works(alice, anon_api):
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    anon_api.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert anon_api.get("/api/jobs/").status_code == 200
    anon_api.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"alice:wrong").decode())
    assert anon_api.get("/api/jobs/").status_code == 401


def test_session_auth_enforces_csrf_on_writes(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="alice", password=PASSWORD)
    assert client.get("/api/jobs/").status_code == 200
    response = client.post("/api/auth/tokens/", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_session_auth_with_csrf_token_can_write(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="alice", password=PASSWORD)
    client.get("/api/jobs/", HTTP_ACCEPT="text/html")  # the browsable API sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = client.post("/api/auth/tokens/", {"name": "x"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201


def test_tokens_stop_at_the_per_user_limit_with_a_clear_400(settings, alice, alice_api, anon_api):
    settings.API_MAX_TOKENS_PER_USER = 2  # alice_api's token is the first
    assert alice_api.post("/api/auth/tokens/", {"name": "second"}, format="json").status_code == 201
    refused = alice_api.post("/api/auth/tokens/", {"name": "third"}, format="json")
    assert refused.status_code == 400
    assert "limit of 2 API tokens" in str(refused.json()) and "Revoke one" in str(refused.json())
    # Logging in for a token counts against the same limit.
    login = anon_api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert login.status_code == 400 and "limit of 2 API tokens" in str(login.json())
    assert ApiToken.objects.filter(user=alice).count() == 2
    second = ApiToken.objects.get(user=alice, name="second")
    assert alice_api.delete(f"/api/auth/tokens/{second.id}/").status_code == 204
    assert alice_api.post("/api/auth/tokens/", {"name": "third"}, format="json").status_code == 201
