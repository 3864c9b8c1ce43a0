"""/api/jobs/: create (upload id or file, every option), list/filter/order, retrieve, wait, cancel,
re-run, delete, download, and the 400s for bad options."""

import io
import threading
import time

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from compression import services
from compression.models import CompressionJob, Upload
from tests.helpers import fetch, stored_names

pytestmark = pytest.mark.django_db(transaction=True)

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}


def _create(client, **data):
    return client.post("/api/jobs/", data, format="json")


def test_create_from_upload_id_returns_201_location_and_the_finished_job(alice_api, alice_upload):
    response = _create(alice_api, upload_id=alice_upload["id"], n_colors=8)
    assert response.status_code == 201
    job = response.json()
    assert response["Location"] == job["links"]["self"]
    assert job["status"] == "succeeded" and job["progress"] == 100
    assert job["options"]["n_colors"] == 8
    assert job["result"]["format"] == "png" and job["result"]["width"] == 96
    assert job["stats"]["n_colors_used"] <= 8 and job["stats"]["ratio"] > 0
    assert len(job["palette"]) == job["stats"]["n_colors_used"]
    assert job["history"] and job["history"][0] >= job["history"][-1]
    assert job["engine_version"]


def test_create_from_a_file_in_the_same_request(alice_api, small_photo):
    response = alice_api.post("/api/jobs/", {"file": small_photo(), "n_colors": "4", "crop": '{"x": 0, "y": 0, "width": 50, "height": 40}'}, format="multipart")
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "succeeded"
    assert job["options"]["crop"] == {"x": 0, "y": 0, "width": 50, "height": 40}
    assert (job["result"]["width"], job["result"]["height"]) == (50, 40)
    assert Upload.objects.get(id=job["upload_id"]).original_name == "kodim23-small.png"


def test_every_engine_option_is_accepted_and_recorded(alice_api, alice_upload):
    options = {
        "n_colors": 12, "color_space": "oklab", "dither": 0.5, "max_iter": 30, "seed": 7,
        "resize_mode": "fit", "width": 48, "height": 48, "crop": {"x": 4, "y": 4, "width": 80, "height": 50},
        "allow_upscale": False, "background": "#FFFFFF", "target_size_bytes": None, "output_format": "png",
        "png_optimize_level": 2,
    }
    job = _create(alice_api, upload_id=alice_upload["id"], **options).json()
    assert job["status"] == "succeeded", job["error_message"]
    recorded = job["options"]
    for key, value in options.items():
        expected = value.lower() if key == "background" else value
        assert recorded[key] == expected, key
    assert (job["result"]["width"], job["result"]["height"]) == (48, 48)


@pytest.mark.parametrize("extra", [
    {"scale_percent": 50},
    {"target_size_kb": 2},
    {"target_psnr": 20},
    {"target_ssim": 0.5},
    {"output_format": "webp"},
    {"output_format": "gif"},
    {"width": 30},
])
def test_single_options_produce_a_result(alice_api, alice_upload, extra):
    job = _create(alice_api, upload_id=alice_upload["id"], n_colors=16, **extra).json()
    assert job["status"] == "succeeded", job["error_message"]
    if "target_size_kb" in extra:
        assert job["options"]["target_size_bytes"] == 2048
    if "scale_percent" in extra:
        assert job["result"]["width"] == 48
    if "output_format" in extra:
        assert job["result"]["format"] == extra["output_format"]


@pytest.mark.parametrize(("data", "field"), [
    ({"n_colors": 1}, "n_colors"),
    ({"n_colors": 257}, "n_colors"),
    ({"n_colors": "abc"}, "n_colors"),
    ({"n_colors": 8.5}, "n_colors"),
    ({"width": -5}, "width"),
    ({"width": 100_000}, "width"),
    ({"height": 0}, "height"),
    ({"dither": 2}, "dither"),
    ({"color_space": "cmyk"}, "color_space"),
    ({"output_format": "bmp"}, "output_format"),
    ({"resize_mode": "zoom"}, "resize_mode"),
    ({"resize_mode": "fill", "width": 10}, "resize_mode"),
    ({"crop": {"x": 0, "y": 0, "width": 500, "height": 10}}, "crop"),
    ({"crop": {"x": -1, "y": 0, "width": 5, "height": 5}}, "crop"),
    ({"crop": "not json"}, "crop"),
    ({"crop": [1, 2, 3, 4]}, "crop"),
    ({"target_size_kb": 5, "target_size_bytes": 5000}, "target_size_kb"),
    ({"target_psnr": 30, "target_ssim": 0.9}, "target_ssim"),
    ({"background": "red"}, "background"),
    ({"seed": -1}, "seed"),
    ({"max_iter": 0}, "max_iter"),
    ({"png_optimize_level": 9}, "png_optimize_level"),
    ({"width": 20000, "height": 20000, "allow_upscale": True}, "width"),
])
def test_bad_options_are_400_with_field_errors_and_no_job(alice_api, alice_upload, data, field):
    response = _create(alice_api, upload_id=alice_upload["id"], **data)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not CompressionJob.objects.exists()


def test_upload_id_or_file_is_required(alice_api):
    response = _create(alice_api, n_colors=8)
    assert response.status_code == 400 and "upload_id" in response.json()


def test_unknown_upload_id_is_404(alice_api):
    assert _create(alice_api, upload_id="00000000-0000-0000-0000-000000000000").status_code == 404


def test_bad_file_in_job_create_is_refused_and_not_stored(alice_api, corpus_image):
    path = corpus_image("bad/vector_noto_emoji_u1f600.svg")
    handle = io.BytesIO(path.read_bytes())
    handle.name = path.name
    assert alice_api.post("/api/jobs/", {"file": handle}, format="multipart").status_code == 415
    assert not Upload.objects.exists()


def test_file_with_a_crop_outside_it_leaves_no_upload_behind(alice_api, small_photo, settings):
    response = alice_api.post("/api/jobs/", {"file": small_photo(), "crop": '{"x": 90, "y": 0, "width": 20, "height": 10}'}, format="multipart")
    assert response.status_code == 400 and "crop" in response.json()
    assert not Upload.objects.exists()
    assert stored_names("users") == []


def test_list_history_filters_and_ordering(alice_api, alice_upload):
    for k, fmt in ((4, "png"), (8, "webp"), (16, "png")):
        assert _create(alice_api, upload_id=alice_upload["id"], n_colors=k, output_format=fmt).status_code == 201
    history = alice_api.get("/api/jobs/").json()
    assert history["count"] == 3
    assert [j["options"]["n_colors"] for j in history["results"]] == [16, 8, 4]  # newest first
    assert alice_api.get("/api/jobs/?output_format=webp").json()["count"] == 1
    assert alice_api.get("/api/jobs/?n_colors=4").json()["count"] == 1
    assert alice_api.get("/api/jobs/?n_colors_min=8").json()["count"] == 2
    assert alice_api.get("/api/jobs/?status=succeeded").json()["count"] == 3
    assert alice_api.get("/api/jobs/?status=failed&status=queued").json()["count"] == 0
    assert alice_api.get(f"/api/jobs/?upload={alice_upload['id']}").json()["count"] == 3
    assert alice_api.get("/api/jobs/?created_after=2000-01-01T00:00:00Z").json()["count"] == 3
    assert alice_api.get("/api/jobs/?created_before=2000-01-01").json()["count"] == 0
    assert alice_api.get("/api/jobs/?created_date_after=2000-01-01").json()["count"] == 3
    ordered = alice_api.get("/api/jobs/?ordering=n_colors").json()["results"]
    assert [j["options"]["n_colors"] for j in ordered] == [4, 8, 16]
    page = alice_api.get("/api/jobs/?page_size=2&page=2").json()
    assert len(page["results"]) == 1 and page["previous"]


@pytest.mark.parametrize("query", ["status=exploded", "created_after=yesterday", "n_colors=abc", "output_format=tiff", "upload=nope"])
def test_bad_filters_are_400(alice_api, query):
    assert alice_api.get(f"/api/jobs/?{query}").status_code == 400


def test_date_filters_with_extreme_offsets_are_answered_not_crashed(alice_api, alice_upload):
    """Offsets PostgreSQL refuses (beyond ±15:59) are compared in UTC; overflowing ones are a 400."""
    assert _create(alice_api, upload_id=alice_upload["id"]).status_code == 201
    far_offset = alice_api.get("/api/jobs/", {"created_after": "1693-10-09T15:26:48+23:19"})
    assert far_offset.status_code == 200 and far_offset.json()["count"] == 1
    assert alice_api.get("/api/jobs/", {"created_before": "0001-01-01T00:00:00+05:00"}).status_code == 400


def test_page_size_is_bounded(alice_api, settings):
    settings.API_MAX_PAGE_SIZE = 2
    for n in range(3):
        image = Image.new("RGB", (8, 8), (n * 40, 10, 10))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        buffer.seek(0)
        buffer.name = f"{n}.png"
        alice_api.post("/api/jobs/", {"file": buffer}, format="multipart")
    assert len(alice_api.get("/api/jobs/?page_size=1000").json()["results"]) == 2


def test_retrieve_a_job(alice_api, alice_job):
    body = alice_api.get(f"/api/jobs/{alice_job['id']}/").json()
    assert body["id"] == alice_job["id"] and body["status"] == "succeeded"
    assert body["timings_ms"]["total"] > 0


def test_download_the_result(alice_api, alice_job):
    response = fetch(alice_api, alice_job["links"]["download"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith('attachment; filename="kodim23-small-k8-')
    image = Image.open(io.BytesIO(response.content))
    assert image.mode == "P" and len(image.getcolors()) <= 8


def test_download_of_an_unfinished_job_is_409(alice_api, alice_upload, settings):
    settings.TASKS = DUMMY_TASKS
    job = _create(alice_api, upload_id=alice_upload["id"]).json()
    assert job["status"] == "queued" and job["links"]["download"] is None
    assert alice_api.get(f"/api/jobs/{job['id']}/download/").status_code == 409
    assert job["thumbnail_url"] is None and job["links"]["thumbnail"] is None
    assert alice_api.get(f"/api/jobs/{job['id']}/thumbnail/").status_code == 409


def test_thumbnail_url_serves_a_small_webp_of_the_result(alice_api, alice_job):
    url = alice_job["thumbnail_url"]
    assert url == alice_job["links"]["thumbnail"] and url.endswith(f"/api/jobs/{alice_job['id']}/thumbnail/")
    listed = alice_api.get("/api/jobs/").json()["results"][0]
    assert listed["thumbnail_url"] == url
    response = fetch(alice_api, url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert response["Content-Disposition"].startswith("inline")
    image = Image.open(io.BytesIO(response.content))
    result = alice_job["result"]
    assert image.format == "WEBP" and image.size == (result["width"], result["height"])  # small: never enlarged


def test_job_from_before_thumbnails_has_no_thumbnail_url(alice_api, alice_job):
    CompressionJob.objects.filter(id=alice_job["id"]).update(thumbnail="")
    body = alice_api.get(f"/api/jobs/{alice_job['id']}/").json()
    assert body["thumbnail_url"] is None and body["links"]["download"]
    assert alice_api.get(f"/api/jobs/{alice_job['id']}/thumbnail/").status_code == 409


def test_wait_returns_as_soon_as_the_job_finishes(alice_api, alice_upload, settings):
    settings.TASKS = DUMMY_TASKS
    job = _create(alice_api, upload_id=alice_upload["id"]).json()
    timer = threading.Timer(0.5, services.job_run, kwargs={"job_id": job["id"]})
    timer.start()
    started = time.monotonic()
    body = alice_api.get(f"/api/jobs/{job['id']}/?wait=20").json()
    timer.join()
    assert body["status"] == "succeeded"
    assert time.monotonic() - started < 10


def test_wait_gives_up_after_n_seconds(alice_api, alice_upload, settings):
    settings.TASKS = DUMMY_TASKS
    started = time.monotonic()
    response = alice_api.post("/api/jobs/?wait=1", {"upload_id": alice_upload["id"]}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "queued"
    assert 0.9 < time.monotonic() - started < 5


@pytest.mark.parametrize("wait", ["61", "-1", "soon"])
def test_bad_wait_is_400(alice_api, alice_upload, wait):
    assert alice_api.post(f"/api/jobs/?wait={wait}", {"upload_id": alice_upload["id"]}, format="json").status_code == 400
    assert not CompressionJob.objects.exists()


def test_cancel_a_queued_job_then_409(alice_api, alice_upload, settings):
    settings.TASKS = DUMMY_TASKS
    job = _create(alice_api, upload_id=alice_upload["id"]).json()
    response = alice_api.post(f"/api/jobs/{job['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = alice_api.post(f"/api/jobs/{job['id']}/cancel/")
    assert again.status_code == 409 and "finished" in again.json()["detail"]


def test_rerun_with_changes(alice_api, alice_job):
    response = alice_api.post(f"/api/jobs/{alice_job['id']}/rerun/", {"n_colors": 4, "output_format": "webp"}, format="json")
    assert response.status_code == 201
    job = response.json()
    assert job["rerun_of"] == alice_job["id"] and job["id"] != alice_job["id"]
    assert job["options"]["n_colors"] == 4 and job["result"]["format"] == "webp"
    assert job["options"]["seed"] == alice_job["options"]["seed"]


def test_rerun_same_options_reproduces_the_palette(alice_api, alice_job):
    job = alice_api.post(f"/api/jobs/{alice_job['id']}/rerun/", {}, format="json").json()
    assert job["palette"] == alice_job["palette"]


def test_rerun_of_an_unfinished_job_is_409(alice_api, alice_upload, settings):
    settings.TASKS = DUMMY_TASKS
    job = _create(alice_api, upload_id=alice_upload["id"]).json()
    assert alice_api.post(f"/api/jobs/{job['id']}/rerun/", {}, format="json").status_code == 409


def test_rerun_with_bad_changes_is_400(alice_api, alice_job):
    response = alice_api.post(f"/api/jobs/{alice_job['id']}/rerun/", {"n_colors": 300}, format="json")
    assert response.status_code == 400 and "n_colors" in response.json()


def test_delete_a_job_removes_its_result_and_thumbnail(alice_api, alice_job):
    job = CompressionJob.objects.get(id=alice_job["id"])
    names = [job.result.name, job.thumbnail.name]
    assert all(default_storage.exists(name) for name in names)
    assert alice_api.delete(f"/api/jobs/{alice_job['id']}/").status_code == 204
    assert alice_api.get(f"/api/jobs/{alice_job['id']}/").status_code == 404
    assert not any(default_storage.exists(name) for name in names)


def test_usage(alice_api, alice_job):
    usage = alice_api.get("/api/usage/").json()
    assert usage["jobs_today"] == 1 and usage["uploads"] == 1 and usage["storage_bytes"] > 0
