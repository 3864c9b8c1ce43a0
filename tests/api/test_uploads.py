"""/api/uploads/: upload, list, retrieve, download, delete, and every refusal (400/413/415)."""

import hashlib
import io
import json

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from compression.models import Upload
from tests.helpers import fetch

pytestmark = pytest.mark.django_db


def _file(data: bytes, name: str):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def test_upload_returns_201_with_dimensions_format_bytes_and_links(alice_api, small_photo, small_photo_bytes):
    response = alice_api.post("/api/uploads/", {"file": small_photo()}, format="multipart")
    assert response.status_code == 201
    body = response.json()
    assert (body["width"], body["height"], body["format"]) == (96, 64, "png")
    assert body["bytes"] == len(small_photo_bytes)
    assert body["sha256"] == hashlib.sha256(small_photo_bytes).hexdigest()
    assert body["original_name"] == "kodim23-small.png"
    assert response["Location"] == body["links"]["self"]
    assert body["links"]["download"].endswith(f"/api/uploads/{body['id']}/download/")


def test_same_bytes_twice_return_the_same_upload_with_200(alice_api, small_photo):
    first = alice_api.post("/api/uploads/", {"file": small_photo()}, format="multipart")
    second = alice_api.post("/api/uploads/", {"file": small_photo("again.png")}, format="multipart")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_list_is_paginated_newest_first(alice_api, small_photo, other_photo):
    ids = [alice_api.post("/api/uploads/", {"file": f}, format="multipart").json()["id"] for f in (small_photo(), other_photo())]
    page = alice_api.get("/api/uploads/?page_size=1").json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
    assert page["results"][0]["id"] == ids[1]
    assert alice_api.get("/api/uploads/?page=9").status_code == 404


def test_retrieve_and_download_the_original(alice_api, alice_upload, small_photo_bytes):
    body = alice_api.get(f"/api/uploads/{alice_upload['id']}/").json()
    assert body == alice_upload
    download = fetch(alice_api, alice_upload["links"]["download"])
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("attachment")
    assert download.redirected or download["X-Content-Type-Options"] == "nosniff"
    assert download.content == small_photo_bytes


def test_delete_removes_row_and_file(alice_api, alice_upload):
    name = Upload.objects.get(id=alice_upload["id"]).file.name
    assert default_storage.exists(name)
    assert alice_api.delete(f"/api/uploads/{alice_upload['id']}/").status_code == 204
    assert alice_api.get(f"/api/uploads/{alice_upload['id']}/").status_code == 404
    assert not default_storage.exists(name)


def test_missing_file_is_400(alice_api):
    response = alice_api.post("/api/uploads/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_empty_file_is_400(alice_api):
    assert alice_api.post("/api/uploads/", {"file": _file(b"", "empty.png")}, format="multipart").status_code == 400


def test_json_body_instead_of_multipart_is_415(alice_api):
    assert alice_api.post("/api/uploads/", {"file": "x"}, format="json").status_code == 415


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad/text_named.png", 415),  # undecodable: InvalidImage
        ("bad/document_ISO_12233-reschart.pdf", 415),
        ("bad/vector_noto_emoji_u1f600.svg", 415),
        ("bad/pillow_truncated_image.png", 415),
        ("bad/truncated_half_kodim01.png", 415),
        ("bad/bomb_65536x65536.png", 413),
        ("bad/bomb_20000x14000.jpg", 413),
    ],
)
def test_bad_files_are_refused_with_a_clear_4xx_and_nothing_stored(alice_api, corpus_image, name, expected):
    path = corpus_image(name)
    response = alice_api.post("/api/uploads/", {"file": _file(path.read_bytes(), path.name)}, format="multipart")
    assert response.status_code == expected, response.content
    assert response.json()["detail"]
    assert not Upload.objects.exists()


def test_upload_over_max_upload_bytes_is_413(alice_api, small_photo, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    response = alice_api.post("/api/uploads/", {"file": small_photo()}, format="multipart")
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_multipart_body_far_over_the_limit_is_413_before_it_is_read(alice_api, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    big = _file(b"\x89PNG" + b"\0" * (2 * 1024 * 1024), "big.png")
    response = alice_api.post("/api/uploads/", {"file": big}, format="multipart")
    assert response.status_code == 413
    assert "limited" in response.json()["detail"]


def test_oversized_json_body_is_413_not_500(alice_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = alice_api.generic("POST", "/api/jobs/", json.dumps({"n_colors": 8, "pad": "x" * 5000}), content_type="application/json")
    assert response.status_code == 413
    assert response.json()["detail"]


def test_too_many_form_fields_is_400(alice_api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = alice_api.post("/api/jobs/", {f"f{i}": "1" for i in range(10)}, format="multipart")
    assert response.status_code == 400


def test_path_separators_in_the_file_name_are_not_kept(alice_api, small_photo):
    body = alice_api.post("/api/uploads/", {"file": small_photo("../../etc/passwd.png")}, format="multipart").json()
    assert "/" not in body["original_name"] and ".." not in Upload.objects.get(id=body["id"]).file.name


def test_uploads_can_be_ordered(alice_api, small_photo, other_photo):
    alice_api.post("/api/uploads/", {"file": small_photo()}, format="multipart")
    alice_api.post("/api/uploads/", {"file": other_photo()}, format="multipart")
    sizes = [u["bytes"] for u in alice_api.get("/api/uploads/?ordering=size_bytes").json()["results"]]
    assert sizes == sorted(sizes)


def test_rgba_upload_keeps_format(alice_api):
    image = Image.new("RGBA", (10, 10), (255, 0, 0, 128))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    body = alice_api.post("/api/uploads/", {"file": _file(buffer.getvalue(), "a.png")}, format="multipart").json()
    assert body["format"] == "png"
