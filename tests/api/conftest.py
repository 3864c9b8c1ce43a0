"""API fixtures: small real photos (fast tests) and alice's upload and job made through the API."""

import io

import pytest
from PIL import Image


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
