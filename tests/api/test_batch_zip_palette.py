"""Batch job creation, ZIP download of results, palette exports (JSON, CSS, GIMP)."""

import io
import zipfile

import pytest
from PIL import Image

from compression.models import CompressionJob

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_uploads(alice_api, small_photo, other_photo):
    return [alice_api.post("/api/uploads/", {"file": f}, format="multipart").json()["id"] for f in (small_photo(), other_photo())]


@pytest.fixture
def two_jobs(alice_api, two_uploads):
    response = alice_api.post("/api/jobs/batch/", {"upload_ids": two_uploads, "n_colors": 6}, format="json")
    assert response.status_code == 201
    return response.json()


def test_batch_creates_one_job_per_upload_with_the_same_options(two_jobs, two_uploads):
    assert [job["upload_id"] for job in two_jobs] == two_uploads
    assert all(job["status"] == "succeeded" and job["options"]["n_colors"] == 6 for job in two_jobs)


def test_batch_with_a_foreign_upload_is_404_and_creates_nothing(alice_api, bob_api, two_uploads, other_photo):
    bobs = bob_api.post("/api/uploads/", {"file": other_photo("b.png", (20, 20))}, format="multipart").json()["id"]
    response = alice_api.post("/api/jobs/batch/", {"upload_ids": [*two_uploads, bobs]}, format="json")
    assert response.status_code == 404
    assert not CompressionJob.objects.exists()


@pytest.mark.parametrize("data", [{}, {"upload_ids": []}, {"upload_ids": ["nope"]}, {"upload_ids": "x"}])
def test_batch_bad_input_is_400(alice_api, data):
    assert alice_api.post("/api/jobs/batch/", data, format="json").status_code == 400


def test_batch_crop_outside_one_image_is_400(alice_api, two_uploads):
    response = alice_api.post("/api/jobs/batch/", {"upload_ids": two_uploads, "crop": {"x": 0, "y": 0, "width": 60, "height": 40}}, format="json")
    assert response.status_code == 400 and "crop" in response.json()
    assert not CompressionJob.objects.exists()


def test_batch_is_limited(alice_api, two_uploads, settings):
    settings.API_MAX_BATCH = 1
    assert alice_api.post("/api/jobs/batch/", {"upload_ids": two_uploads}, format="json").status_code == 400


def _zip_names_and_images(response):
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return {name: Image.open(io.BytesIO(archive.read(name))) for name in archive.namelist()}


def test_zip_of_results_by_get_and_post(alice_api, two_jobs):
    ids = [job["id"] for job in two_jobs]
    response = alice_api.get(f"/api/jobs/zip/?ids={','.join(ids)}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment")
    images = _zip_names_and_images(response)
    assert len(images) == 2
    assert all(image.mode == "P" and len(image.getcolors()) <= 6 for image in images.values())

    posted = alice_api.post("/api/jobs/zip/", {"ids": ids}, format="json")
    assert posted.status_code == 200 and len(_zip_names_and_images(posted)) == 2
    repeated = alice_api.get(f"/api/jobs/zip/?ids={ids[0]}&ids={ids[1]}")
    assert len(_zip_names_and_images(repeated)) == 2


def test_zip_of_the_same_image_twice_has_distinct_names(alice_api, two_jobs):
    job = two_jobs[0]
    rerun = alice_api.post(f"/api/jobs/{job['id']}/rerun/", {}, format="json").json()
    names = _zip_names_and_images(alice_api.get(f"/api/jobs/zip/?ids={job['id']},{rerun['id']}"))
    assert len(names) == 2


def test_zip_with_one_foreign_id_is_404_for_the_whole_request(alice_api, bob_api, two_jobs, other_photo):
    upload = bob_api.post("/api/uploads/", {"file": other_photo("b.png", (20, 20))}, format="multipart").json()["id"]
    bobs_job = bob_api.post("/api/jobs/", {"upload_id": upload}, format="json").json()["id"]
    response = alice_api.get(f"/api/jobs/zip/?ids={two_jobs[0]['id']},{bobs_job}")
    assert response.status_code == 404
    assert bob_api.get(f"/api/jobs/zip/?ids={two_jobs[0]['id']}").status_code == 404


@pytest.mark.parametrize("query", ["", "?ids=", "?ids=nope"])
def test_zip_bad_ids_are_400(alice_api, query):
    assert alice_api.get(f"/api/jobs/zip/{query}").status_code == 400


def test_zip_of_an_unfinished_job_is_409(alice_api, alice_upload, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    job = alice_api.post("/api/jobs/", {"upload_id": alice_upload["id"]}, format="json").json()
    assert alice_api.get(f"/api/jobs/zip/?ids={job['id']}").status_code == 409


def test_palette_json(alice_api, alice_job):
    for url in (f"/api/jobs/{alice_job['id']}/palette.json", f"/api/jobs/{alice_job['id']}/palette/", f"/api/jobs/{alice_job['id']}/palette/?format=json"):
        response = alice_api.get(url)
        assert response.status_code == 200, url
        body = response.json()
        assert body["n_colors"] == len(alice_job["palette"])
        shares = [c["share"] for c in body["colors"]]
        assert shares == sorted(shares, reverse=True) and abs(sum(shares) - 1) < 1e-3
        first = body["colors"][0]
        assert first["color"] == "#{:02x}{:02x}{:02x}".format(*first["rgb"])


def test_palette_css(alice_api, alice_job):
    for url in (f"/api/jobs/{alice_job['id']}/palette.css", f"/api/jobs/{alice_job['id']}/palette/?format=css"):
        response = alice_api.get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/css")
        text = response.content.decode()
        assert text.count("--palette-") == len(alice_job["palette"]) and ":root {" in text
        assert all(entry["color"] in text for entry in alice_job["palette"])


def test_palette_gpl(alice_api, alice_job):
    for url in (f"/api/jobs/{alice_job['id']}/palette.gpl", f"/api/jobs/{alice_job['id']}/palette/?format=gpl"):
        response = alice_api.get(url)
        assert response.status_code == 200
        lines = response.content.decode().splitlines()
        assert lines[0] == "GIMP Palette"
        rows = [line for line in lines[4:] if line.strip()]
        assert len(rows) == len(alice_job["palette"])
        r, g, b = (int(v) for v in rows[0].split()[:3])
        assert 0 <= r <= 255 and 0 <= g <= 255 and 0 <= b <= 255


def test_palette_of_an_unfinished_job_is_409_json_even_for_css(alice_api, alice_upload, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    job = alice_api.post("/api/jobs/", {"upload_id": alice_upload["id"]}, format="json").json()
    response = alice_api.get(f"/api/jobs/{job['id']}/palette.css")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"
    assert "no palette" in response.json()["detail"]


def test_unknown_palette_format_is_404(alice_api, alice_job):
    assert alice_api.get(f"/api/jobs/{alice_job['id']}/palette.xml").status_code == 404


def test_zip_from_the_history_page_form_without_javascript(alice, two_jobs):
    """The dashboard's bulk form posts ids + csrfmiddlewaretoken (url-encoded) with the session."""
    from rest_framework.test import APIClient

    from tests.conftest import PASSWORD

    client = APIClient(enforce_csrf_checks=True)
    client.login(username="alice", password=PASSWORD)
    client.get("/api/jobs/", HTTP_ACCEPT="text/html")
    csrf = client.cookies["csrftoken"].value
    form = {"csrfmiddlewaretoken": csrf, "next": "/history/", "ids": [job["id"] for job in two_jobs]}
    response = client.post("/api/jobs/zip/", form, format="multipart")
    assert response.status_code == 200, response.content
    assert len(_zip_names_and_images(response)) == 2
    encoded = client.generic("POST", "/api/jobs/zip/", "&".join([f"csrfmiddlewaretoken={csrf}"] + [f"ids={job['id']}" for job in two_jobs]), content_type="application/x-www-form-urlencoded")
    assert encoded.status_code == 200
    assert client.post("/api/jobs/zip/", {"ids": [two_jobs[0]["id"]]}, format="multipart").status_code == 403  # no CSRF token
