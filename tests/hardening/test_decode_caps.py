"""Every decode of user bytes runs under the decode caps (compression/decoding.py): uploads on every
path, the job in the worker and the size curve. Costly structures are a 422 with a clear message
and leave nothing stored; a duplicate upload is found by its hash before anything is decoded.
"""

import pytest
from django.urls import reverse

from bench.hostile import gif_many_frames, jpeg_many_scans, tiff_many_pages
from compression import services
from compression.models import CompressionJob, JobStatus
from tests.helpers import active_jobs, error_text, named, png_bytes, stored_names

pytestmark = pytest.mark.django_db

# Small versions of the attack files: each one is past a default structural limit.
COSTLY = {
    "scans.jpg": lambda: jpeg_many_scans(scans=300, size=64),
    "pages.tif": lambda: tiff_many_pages(pages=1_500),
    "frames.gif": lambda: gif_many_frames(frames=12_000),
}
UPLOAD_PATHS = [
    ("/api/uploads/", "file", {}),
    ("/api/upload", "image", {}),
    ("/api/compress-direct", "image", {"n_colors": 4}),
    ("/api/jobs/", "file", {"n_colors": 4}),
]


@pytest.mark.parametrize("name", sorted(COSTLY))
def test_costly_files_are_a_422_on_every_upload_path(alice_api, alice_client, name):
    data = COSTLY[name]()
    for path, field, extra in UPLOAD_PATHS:
        response = alice_api.post(path, {field: named(data, name), **extra}, format="multipart")
        assert response.status_code == 422, (path, response.content[:300])
        assert len(error_text(response)) > 20
    response = alice_client.post(reverse("upload"), {"file": named(data, name), "n_colors": "8"})
    assert response.status_code == 422 and error_text(response)
    assert stored_names() == [] and active_jobs() == 0 and not CompressionJob.objects.exists()


def test_a_duplicate_upload_is_found_by_its_hash_before_any_decode(alice, monkeypatch):
    data = png_bytes(seed=5)
    first = services.upload_create(owner=alice, file=data)

    def no_decode(*args, **kwargs):
        raise AssertionError("the duplicate was decoded")

    monkeypatch.setattr("compression.engine.probe_capped", no_decode)
    again, created = services.upload_get_or_create(owner=alice, file=data)
    assert (again.id, created) == (first.id, False)


def test_the_job_decodes_under_the_caps_of_the_settings(alice, settings):
    upload = services.upload_create(owner=alice, file=png_bytes(48, 32), original_name="small.png")
    job = services.job_create(owner=alice, upload=upload, options={"n_colors": 4})  # queued
    settings.DECODE_MEMORY_MB = 1  # lowered after the upload: only the worker's decode sees it
    job = services.job_run(job_id=job.id)
    assert job.status == JobStatus.FAILED and not job.result
    assert "memory" in job.error_message, job.error_message


def test_the_size_curve_decodes_under_the_caps_of_the_settings(alice, alice_client, settings):
    upload = services.upload_create(owner=alice, file=png_bytes(48, 32), original_name="small.png")
    job = services.job_compress_now(owner=alice, upload=upload, options={"n_colors": 4})
    settings.DECODE_MEMORY_MB = 1
    response = alice_client.get(reverse("job_size_curve", args=[job.id]))
    assert response.status_code == 422 and "could not be computed" in response.json()["error"]
