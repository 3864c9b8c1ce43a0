"""API fixtures: small images (fast tests), token-authenticated clients, a clean throttle cache."""

import io

import pytest
from django.core.cache import cache
from PIL import Image
from rest_framework.test import APIClient

from accounts.tokens import token_create


@pytest.fixture(autouse=True)
def _clear_throttle_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def small_photo_bytes(corpus_dir) -> bytes:
    """kodim23 downscaled to 96x64: a real photo that compresses in milliseconds."""
    with Image.open(corpus_dir / "photos" / "kodim23.png") as image:
        small = image.convert("RGB").resize((96, 64), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def small_photo(small_photo_bytes):
    """A fresh file object for each upload."""

    def make(name: str = "kodim23-small.png"):
        handle = io.BytesIO(small_photo_bytes)
        handle.name = name
        return handle

    return make


@pytest.fixture
def other_photo():
    """A second, different small image (so dedupe does not return the first upload)."""

    def make(name: str = "gradient.png", size=(40, 30)):
        image = Image.new("RGB", size)
        image.putdata([(x * 6 % 256, y * 8 % 256, (x + y) * 3 % 256) for y in range(size[1]) for x in range(size[0])])
        handle = io.BytesIO()
        image.save(handle, format="PNG")
        handle.seek(0)
        handle.name = name
        return handle

    return make


@pytest.fixture
def alice_token(alice) -> str:
    return token_create(user=alice, name="tests").key


@pytest.fixture
def bob_token(bob) -> str:
    return token_create(user=bob, name="tests").key


@pytest.fixture
def alice_api(alice_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {alice_token}")
    return client


@pytest.fixture
def bob_api(bob_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {bob_token}")
    return client


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def alice_upload(alice_api, small_photo):
    response = alice_api.post("/api/uploads/", {"file": small_photo()}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def alice_job(alice_api, alice_upload):
    response = alice_api.post("/api/jobs/", {"upload_id": alice_upload["id"], "n_colors": 8}, format="json")
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "succeeded", job
    return job


class Fetched:
    """A downloaded file, whether Django streamed it or redirected to the object store."""

    def __init__(self, status_code: int, headers, content: bytes, redirected: bool):
        self.status_code, self.headers, self.content, self.redirected = status_code, headers, content, redirected

    def __getitem__(self, name):
        return self.headers[name]


def fetch(client, url: str, **extra) -> Fetched:
    """GET a download URL through the API client; follow a redirect to a presigned URL (S3)."""
    import requests

    response = client.get(url, **extra)
    if response.status_code in (301, 302) and response["Location"].startswith(("http://", "https://")):
        stored = requests.get(response["Location"], timeout=30)
        return Fetched(stored.status_code, stored.headers, stored.content, True)
    if response.status_code != 200:
        return Fetched(response.status_code, response.headers, response.content, False)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return Fetched(response.status_code, response.headers, content, False)


def stored_names(prefix: str = "") -> list[str]:
    """Every file name in the default storage under prefix (local or S3)."""
    from django.core.files.storage import default_storage

    def walk(path):
        try:
            dirs, files = default_storage.listdir(path)
        except FileNotFoundError:
            return
        for name in files:
            yield f"{path}/{name}" if path else name
        for name in dirs:
            yield from walk(f"{path}/{name}" if path else name)

    return list(walk(prefix.rstrip("/")))
