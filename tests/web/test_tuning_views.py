"""The dashboard's side of the tuning screen: what its JS reads from the pages and the status view."""

import html
import json
import re

import pytest
from django.urls import reverse

from tests.helpers import png_bytes

pytestmark = pytest.mark.django_db


def attribute(body: str, element_id: str, name: str) -> str:
    tag = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', body).group(0)
    return html.unescape(re.search(rf'\b{name}="([^"]*)"', tag).group(1))


def test_dashboard_wires_the_tuning_screen_to_the_api(alice_client):
    body = alice_client.get(reverse("dashboard")).content.decode()
    assert attribute(body, "upload-form", "data-upload-url") == reverse("api:upload-list")
    assert attribute(body, "upload-form", "data-batch-url") == reverse("api:job-batch")
    assert attribute(body, "upload-form", "data-zip-url") == reverse("api:job-zip")
    for view in ("image", "heatmap", "clusters"):
        assert f'name="preview_view" value="{view}"' in body, view
    assert 'id="tuning-compare"' in body and 'id="heatmap-legend"' in body and 'id="batch"' in body


def test_jobs_status_gives_the_batch_summary_its_bytes(alice_client, alice, alice_job, settings):
    from compression import services

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    upload = services.upload_create(owner=alice, file=png_bytes(seed=5), original_name="waiting.png")
    queued = services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
    data = alice_client.get(reverse("jobs_status"), {"id": [str(alice_job.id), str(queued.id)]}).json()
    by_id = {job["id"]: job for job in data["jobs"]}
    done, waiting = by_id[str(alice_job.id)], by_id[str(queued.id)]
    assert done["name"] == "alice-holiday.png" and done["status_display"] == "Succeeded"
    assert done["input_bytes"] == alice_job.input_bytes and done["output_bytes"] == alice_job.output_bytes > 0
    assert waiting["output_bytes"] is None and waiting["input_bytes"] == upload.size_bytes
    assert done["url"] == reverse("job_detail", args=[alice_job.id])


def test_job_page_asks_for_its_views_with_the_jobs_options(alice_client, alice, make_job):
    job = make_job(alice, n_colors=8, dither=0.5, color_space="oklab", resize_mode="fill", width=32, height=20,
                   crop_x=2, crop_y=3, crop_width=40, crop_height=26)
    body = alice_client.get(reverse("job_detail", args=[job.id])).content.decode()
    assert attribute(body, "result-views", "data-preview-url") == f"/api/uploads/{job.upload_id}/preview/"
    options = json.loads(attribute(body, "result-views", "data-options"))
    assert options == {
        "n_colors": job.n_colors_used, "color_space": "oklab", "dither": 0.5, "output_format": "png",
        "resize_mode": "fill", "width": 32, "height": 20, "scale_percent": None,
        "crop": {"x": 2, "y": 3, "width": 40, "height": 26}, "allow_upscale": False, "background": None,
    }


def test_job_page_views_keep_the_jobs_scale(alice_client, alice, make_job):
    """A job scaled to 50 %: the views preview the scaled output, not the full-size image."""
    job = make_job(alice, n_colors=8, scale_percent=50)
    body = alice_client.get(reverse("job_detail", args=[job.id])).content.decode()
    options = json.loads(attribute(body, "result-views", "data-options"))
    assert options["scale_percent"] == 50
    answer = alice_client.post(f"/api/uploads/{job.upload_id}/preview/", options, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert (answer.json()["output_width"], answer.json()["output_height"]) == (job.result_width, job.result_height)
    assert job.result_width < job.upload.width


def test_job_page_previews_a_target_job_at_the_k_its_search_chose(alice_client, alice, make_job):
    job = make_job(alice, n_colors=64, target_psnr=20)
    assert job.n_colors_used < 64
    body = alice_client.get(reverse("job_detail", args=[job.id])).content.decode()
    assert json.loads(attribute(body, "result-views", "data-options"))["n_colors"] == job.n_colors_used
    assert "the K its target search chose" in body


def test_job_page_of_a_queued_job_has_no_views(alice_client, alice, settings):
    from compression import services

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    upload = services.upload_create(owner=alice, file=png_bytes(seed=9), original_name="wait.png")
    job = services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
    assert 'id="result-views"' not in alice_client.get(reverse("job_detail", args=[job.id])).content.decode()
