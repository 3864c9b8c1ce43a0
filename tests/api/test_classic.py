"""The classic endpoints of the original Flask compressor: same paths, fields and error shape."""

import io
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from PIL import Image

from compression.engine.presets import COMPRESSION_PRESETS, DIMENSION_PRESETS, RESIZE_MODES
from compression.models import CompressionJob, Upload
from tests.helpers import fetch, stored_names
from tests.conftest import CORPUS

pytestmark = pytest.mark.django_db(transaction=True)

STATS = {"original_file_size", "compressed_file_size", "file_compression_ratio", "theoretical_compression_ratio",
         "original_colors", "reduced_colors", "iterations", "processing_time_ms"}
ADVANCED_STATS = STATS | {"original_dimensions", "final_dimensions", "operations", "colors_used", "target_size_met", "achieved_size_kb"}


@pytest.fixture
def image_id(alice_api, small_photo):
    response = alice_api.post("/api/upload", {"image": small_photo()}, format="multipart")
    assert response.status_code == 200
    return response.json()["image_id"]


def _assert_classic_error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False and isinstance(body["error"], str) and body["error"]
    return body


@pytest.mark.parametrize("slash", ["", "/"])
def test_upload(alice_api, small_photo, small_photo_bytes, slash):
    response = alice_api.post(f"/api/upload{slash}", {"image": small_photo()}, format="multipart")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["dimensions"] == {"width": 96, "height": 64}
    assert body["format"] == "png" and body["file_size"] == len(small_photo_bytes)
    assert fetch(alice_api, body["preview_url"]).status_code == 200


def test_upload_without_image_is_a_classic_400(alice_api):
    body = _assert_classic_error(alice_api.post("/api/upload", {}, format="multipart"), 400)
    assert "image" in body["error"] and "image" in body["errors"]


def test_upload_not_an_image_is_a_classic_415(alice_api, corpus_image):
    path = corpus_image("bad/document_ISO_12233-reschart.pdf")
    handle = io.BytesIO(path.read_bytes())
    handle.name = "x.pdf"
    _assert_classic_error(alice_api.post("/api/upload", {"image": handle}, format="multipart"), 415)


@pytest.mark.parametrize("slash", ["", "/"])
def test_compress(alice_api, image_id, slash):
    response = alice_api.post(f"/api/compress{slash}", {"image_id": image_id, "n_colors": 8, "max_iters": 20}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert set(body["stats"]) == STATS
    assert body["stats"]["reduced_colors"] <= 8 and body["stats"]["iterations"] <= 20
    assert body["stats"]["file_compression_ratio"] == pytest.approx(body["stats"]["original_file_size"] / body["stats"]["compressed_file_size"], rel=1e-3)
    download = fetch(alice_api, body["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("attachment")
    preview = fetch(alice_api, body["preview_url"])
    assert preview["Content-Disposition"].startswith("inline")
    # The synchronous compression is a job in the history, like any other.
    job = CompressionJob.objects.get(id=body["compressed_id"])
    assert job.status == "succeeded" and job.max_iter == 20
    assert alice_api.get("/api/jobs/").json()["count"] == 1


def test_compress_accepts_form_encoding(alice_api, image_id):
    response = alice_api.post("/api/compress", {"image_id": image_id, "n_colors": "4"})
    assert response.status_code == 200 and response.json()["stats"]["reduced_colors"] <= 4


@pytest.mark.parametrize(("data", "status"), [
    ({"n_colors": 1}, 400),
    ({"n_colors": 300}, 400),
    ({"n_colors": "many"}, 400),
    ({"max_iters": 0}, 400),
    ({"image_id": "not-a-uuid"}, 400),
    ({"image_id": "00000000-0000-0000-0000-000000000000"}, 404),
])
def test_compress_errors_keep_the_classic_shape(alice_api, image_id, data, status):
    _assert_classic_error(alice_api.post("/api/compress", {"image_id": image_id, **data}, format="json"), status)


@pytest.mark.parametrize("slash", ["", "/"])
def test_compress_advanced(alice_api, image_id, slash):
    data = {"image_id": image_id, "n_colors": 8, "target_width": 40, "target_height": 40, "resize_mode": "fill",
            "crop_data": {"x": 10, "y": 5, "width": 70, "height": 50}}
    response = alice_api.post(f"/api/compress-advanced{slash}", data, format="json")
    assert response.status_code == 200, response.content
    stats = response.json()["stats"]
    assert set(stats) == ADVANCED_STATS
    assert stats["original_dimensions"] == {"width": 96, "height": 64}
    assert stats["final_dimensions"] == {"width": 40, "height": 40}
    assert stats["operations"] and stats["colors_used"] <= 8
    assert stats["achieved_size_kb"] == pytest.approx(stats["compressed_file_size"] / 1024, abs=0.01)


def test_compress_advanced_with_target_size(alice_api, image_id):
    response = alice_api.post("/api/compress-advanced", {"image_id": image_id, "n_colors": 64, "target_size_kb": 3}, format="json")
    assert response.status_code == 200
    stats = response.json()["stats"]
    assert stats["target_size_met"] is True and stats["achieved_size_kb"] <= 3


@pytest.mark.parametrize(("data", "field"), [
    ({"crop_data": {"x": 50, "y": 0, "width": 60, "height": 10}}, "crop"),
    ({"crop_data": {"x": 0, "y": 0, "width": 0, "height": 10}}, "crop_data"),
    ({"target_width": -1}, "target_width"),
    ({"target_width": 10**9}, "target_width"),
    ({"resize_mode": "fit", "target_width": 10}, "resize_mode"),
    ({"resize_mode": "squash"}, "resize_mode"),
    ({"target_size_kb": -4}, "target_size_kb"),
])
def test_compress_advanced_errors(alice_api, image_id, data, field):
    body = _assert_classic_error(alice_api.post("/api/compress-advanced", {"image_id": image_id, **data}, format="json"), 400)
    assert field in body["errors"]


@pytest.mark.parametrize("slash", ["", "/"])
def test_compress_direct_json(alice_api, small_photo, slash):
    response = alice_api.post(f"/api/compress-direct{slash}", {"image": small_photo(), "n_colors": "16"}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert body["compression_ratio"] == pytest.approx(body["stats"]["original_file_size"] / body["stats"]["compressed_file_size"], rel=1e-3)
    assert 0 < body["processing_time"] < 30
    assert body["download_url"].startswith("http://testserver/api/download/")
    assert set(body["stats"]) == ADVANCED_STATS


def test_compress_direct_advanced_options_in_multipart(alice_api, small_photo):
    data = {"image": small_photo(), "n_colors": "8", "target_width": "32", "target_height": "32", "resize_mode": "stretch",
            "crop_data": '{"x": 0, "y": 0, "width": 64, "height": 64}'}
    body = alice_api.post("/api/compress-direct", data, format="multipart").json()
    assert body["stats"]["final_dimensions"] == {"width": 32, "height": 32}


@pytest.mark.parametrize("how", ["accept", "query"])
def test_compress_direct_can_answer_the_file_itself(alice_api, small_photo, how):
    kwargs = {"HTTP_ACCEPT": "image/png"} if how == "accept" else {}
    url = "/api/compress-direct" + ("?format=file" if how == "query" else "")
    response = alice_api.post(url, {"image": small_photo(), "n_colors": "16"}, format="multipart", **kwargs)
    if response.status_code == 302:  # object storage: the file is behind a presigned URL
        stored = requests.get(response["Location"], timeout=30)
        status, content_type, content = stored.status_code, stored.headers["Content-Type"], stored.content
    else:
        status, content_type, content = response.status_code, response["Content-Type"], b"".join(response.streaming_content)
    assert status == 200
    assert content_type == "image/png"
    image = Image.open(io.BytesIO(content))
    assert image.mode == "P" and len(image.getcolors()) <= 16


def test_compress_direct_file_mode_errors_are_json(alice_api):
    response = alice_api.post("/api/compress-direct?format=file", {"n_colors": "16"}, format="multipart")
    body = _assert_classic_error(response, 400)
    assert "image" in body["errors"]


@pytest.mark.parametrize(("name", "status"), [
    ("bad/pillow_broken.png", 415),
    ("bad/bomb_65536x65536.png", 413),
    ("bad/vector_noto_emoji_u1f600.svg", 415),
    ("bad/html_named.jpg", 415),
])
def test_compress_direct_bad_files_are_4xx_and_leave_nothing(alice_api, corpus_image, name, status):
    path = corpus_image(name)
    handle = io.BytesIO(path.read_bytes())
    handle.name = path.name
    _assert_classic_error(alice_api.post("/api/compress-direct", {"image": handle}, format="multipart"), status)
    assert not Upload.objects.exists() and not CompressionJob.objects.exists()


def test_compress_direct_bad_option_leaves_no_upload(alice_api, small_photo):
    data = {"image": small_photo(), "crop_data": '{"x": 90, "y": 0, "width": 20, "height": 20}'}
    _assert_classic_error(alice_api.post("/api/compress-direct", data, format="multipart"), 400)
    assert not Upload.objects.exists()


def test_compress_direct_too_large_is_413(alice_api, small_photo, settings):
    settings.MAX_UPLOAD_BYTES = 2000
    _assert_classic_error(alice_api.post("/api/compress-direct", {"image": small_photo()}, format="multipart"), 413)


@pytest.mark.parametrize(("path", "key", "source"), [
    ("/api/presets", "presets", COMPRESSION_PRESETS),
    ("/api/resize-modes", "resize_modes", RESIZE_MODES),
    ("/api/dimension-presets", "dimension_presets", DIMENSION_PRESETS),
])
@pytest.mark.parametrize("slash", ["", "/"])
def test_lists_come_from_the_engine(alice_api, path, key, source, slash):
    body = alice_api.get(path + slash).json()
    assert body["success"] is True
    assert [item["key"] for item in body[key]] == [item.key for item in source]


@pytest.mark.parametrize("slash", ["", "/"])
def test_download(alice_api, image_id, slash):
    compressed = alice_api.post("/api/compress", {"image_id": image_id, "n_colors": 8}, format="json").json()["compressed_id"]
    response = fetch(alice_api, f"/api/download/{compressed}{slash}", HTTP_ACCEPT="image/png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment")


def test_download_unknown_is_a_classic_404(alice_api):
    _assert_classic_error(alice_api.get("/api/download/00000000-0000-0000-0000-000000000000"), 404)


@pytest.mark.parametrize("slash", ["", "/"])
def test_health_checks_database_storage_queue_and_engine(anon_api, slash, settings):
    response = anon_api.get(f"/api/health{slash}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["success"] is True and body["version"]
    assert set(body["checks"]) == {"database", "storage", "queue", "engine"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "queued" not in body["checks"]["queue"]  # platform-wide figures are for staff
    assert stored_names("health") == []  # the probe cleaned up


def test_health_reports_queued_jobs_and_their_age_to_staff_only(anon_api, alice, alice_api, alice_upload, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    alice_api.post("/api/jobs/", {"upload_id": alice_upload["id"]}, format="json")
    assert set(anon_api.get("/api/health").json()["checks"]["queue"]) == {"ok", "ms"}
    assert "queued" not in alice_api.get("/api/health").json()["checks"]["queue"]
    alice.is_staff = True
    alice.save()
    queue = alice_api.get("/api/health").json()["checks"]["queue"]
    assert queue["queued"] == 1 and queue["oldest_queued_age_seconds"] >= 0


def test_health_is_503_when_storage_fails(anon_api, settings, tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the media directory should be")
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocked)}}}
    response = anon_api.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["checks"]["storage"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


BAD_FILES = sorted(p.name for p in (CORPUS / "bad").iterdir()) if (CORPUS / "bad").is_dir() else []


@pytest.mark.parametrize("name", BAD_FILES)
def test_every_bad_corpus_file_is_a_quick_4xx_through_compress_direct(alice_api, corpus_image, name):
    path = corpus_image(f"bad/{name}")
    handle = io.BytesIO(path.read_bytes())
    handle.name = path.name
    started = time.monotonic()
    response = alice_api.post("/api/compress-direct", {"image": handle, "n_colors": "16"}, format="multipart")
    assert response.status_code in (400, 413, 415), response.content
    assert time.monotonic() - started < 2
    assert response.json()["error"]
    assert not Upload.objects.exists() and not CompressionJob.objects.exists()


def test_health_fails_when_the_queue_is_stuck_past_the_configured_age(anon_api, alice_api, alice_upload, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    alice_api.post("/api/jobs/", {"upload_id": alice_upload["id"]}, format="json")
    CompressionJob.objects.update(created_at=timezone.now() - timedelta(minutes=30))
    assert anon_api.get("/api/health").status_code == 200  # off by default
    settings.API_HEALTH_MAX_QUEUE_AGE = 600
    response = anon_api.get("/api/health")
    assert response.status_code == 503
    assert "worker" in response.json()["checks"]["queue"]["error"]
