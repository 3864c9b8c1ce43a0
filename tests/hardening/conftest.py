"""Fixtures of the hardening tests: token clients, alice's objects, storage and queue listings."""

import io

import numpy as np
import pytest
from django.core.cache import cache
from PIL import Image
from rest_framework.test import APIClient

ACTIVE = ("queued", "running")
PASSWORD = "correct-horse-battery-staple-42"  # tests/conftest.py


@pytest.fixture(autouse=True)
def _clear_throttle_cache():
    cache.clear()
    yield
    cache.clear()


def png_bytes(width: int = 48, height: int = 32, *, seed: int = 0) -> bytes:
    """A small photo-like PNG (distinct bytes per seed), quick to compress."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], axis=-1)
    rgb = np.clip(rgb + rng.normal(0, 8, rgb.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def token_client(user) -> APIClient:
    from accounts.tokens import token_create

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user, name='hardening').key}")
    return client


@pytest.fixture
def alice_api(alice) -> APIClient:
    return token_client(alice)


@pytest.fixture
def bob_api(bob) -> APIClient:
    return token_client(bob)


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


def media_files(settings) -> list[str]:
    """Every file under MEDIA_ROOT (the tests run on local storage), relative, sorted."""
    from pathlib import Path

    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def storage_files(prefix: str = "") -> list[str]:
    """Every file in default_storage under prefix (local or S3)."""
    from django.core.files.storage import default_storage

    def walk(path):
        try:
            dirs, files = default_storage.listdir(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in files:
            yield f"{path}/{name}" if path else name
        for name in dirs:
            yield from walk(f"{path}/{name}" if path else name)

    return sorted(walk(prefix.rstrip("/")))


def active_jobs() -> int:
    from compression.models import CompressionJob

    return CompressionJob.objects.filter(status__in=ACTIVE).count()


def error_text(response) -> str:
    """The human message of a JSON error answer (DRF, classic or dashboard shape); fails if none."""
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response["Content-Type"], response.content[:300])
    body = response.json()
    assert isinstance(body, dict), body

    def first(value):
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value:
            return first(value[0])
        if isinstance(value, dict):
            for key in ("error", "detail", "non_field_errors"):
                if key in value:
                    return first(value[key])
            for item in value.values():
                text = first(item)
                if text:
                    return text
        return ""

    text = first(body)
    assert text and len(text.strip()) >= 8, f"no clear message in {body}"
    return text


class Fetched:
    """A download as the browser gets it: Django's own answer, or the object store's after a redirect."""

    def __init__(self, status_code, headers, content, redirected):
        self.status_code, self.headers, self.content, self.redirected = status_code, headers, content, redirected

    def __getitem__(self, name):
        return self.headers[name]

    def get(self, name, default=None):
        return self.headers.get(name, default)


def fetch(client, url: str, **extra) -> Fetched:
    """GET url; follow a redirect to a presigned object-store URL (S3) with a loopback request."""
    response = client.get(url, **extra)
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    if location.startswith(("http://127.0.0.1", "http://localhost")):
        import requests

        stored = requests.get(location, timeout=30)
        return Fetched(stored.status_code, stored.headers, stored.content, True)
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return Fetched(response.status_code, response.headers, content, False)
