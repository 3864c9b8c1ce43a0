"""One check of the output geometry (the engine's check_geometry) for every resize mode, upscale,
padding and re-run merge: a request whose output, or an image along the way, would pass
MAX_IMAGE_PIXELS is a 400 on the field that asked for it, before any job exists."""

import itertools

import pytest

from compression import services
from compression.models import CompressionJob, JobStatus
from tests.helpers import png_bytes

pytestmark = pytest.mark.django_db

MODES = ["fit", "fill", "stretch", "crop"]
CASES = list(itertools.product(MODES, [False, True], [None, "#102030"]))


@pytest.fixture
def small_limit(settings):
    settings.MAX_IMAGE_PIXELS = 200_000
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}


@pytest.fixture
def upload(alice):
    return services.upload_create(owner=alice, file=png_bytes(100, 100), original_name="square.png")


def _grows(mode, upscale, background) -> bool:
    """Whether asking 2000x2000 of a 100x100 image really makes a 4 MP output: "crop" only cuts,
    and without upscaling only fit's padding enlarges (the others keep the 100x100)."""
    return mode != "crop" and (upscale or (mode == "fit" and background is not None))


@pytest.mark.parametrize("mode, upscale, background", CASES)
def test_job_creation_refuses_an_output_past_the_limit(alice_api, upload, small_limit, mode, upscale, background):
    options = {"resize_mode": mode, "width": 2000, "height": 2000, "allow_upscale": upscale, "background": background}
    response = alice_api.post("/api/jobs/", {"upload_id": str(upload.id), **options}, format="json")
    if _grows(mode, upscale, background):
        assert response.status_code == 400 and "width" in response.json(), response.content
        assert "limit is 200,000" in response.json()["width"][0]
        assert not CompressionJob.objects.exists()
    else:  # no upscaling and no padding: the output is at most the 100x100 input
        assert response.status_code == 201, response.content


@pytest.mark.parametrize("mode, upscale, background", CASES)
def test_a_rerun_merge_is_checked_as_a_whole(alice, alice_api, upload, small_limit, mode, upscale, background):
    """Each change alone is fine on the original job; merged with its options, the geometry is not."""
    job = services.job_create(owner=alice, upload=upload, options={
        "resize_mode": mode, "width": 200, "height": 200, "allow_upscale": upscale, "background": background,
    })
    CompressionJob.objects.filter(id=job.id).update(status=JobStatus.SUCCEEDED)
    response = alice_api.post(f"/api/jobs/{job.id}/rerun/", {"width": 2000, "height": 2000}, format="json")
    if _grows(mode, upscale, background):
        assert response.status_code == 400 and "width" in response.json(), response.content
        assert CompressionJob.objects.count() == 1
    else:
        assert response.status_code == 201, response.content


def test_the_lanczos_intermediate_counts(alice_api, alice, small_limit):
    """fill with upscale on a thin strip scales the short side first: 20 x 4000 to 2000 x 2000 passes
    through a 2000 x 400,000 image, refused though the output alone would also be too large."""
    strip = services.upload_create(owner=alice, file=png_bytes(20, 4000), original_name="strip.png")
    options = {"resize_mode": "fill", "width": 400, "height": 400, "allow_upscale": True}
    response = alice_api.post("/api/jobs/", {"upload_id": str(strip.id), **options}, format="json")
    assert response.status_code == 400 and "along the way" in response.json()["width"][0]
