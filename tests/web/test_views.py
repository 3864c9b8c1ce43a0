"""View tests for every dashboard page: access rules, ownership, forms and actions."""

import io
import re
import zipfile

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image

from compression.models import CompressionJob, JobStatus

from tests.helpers import png_bytes, png_file

pytestmark = pytest.mark.django_db

JOB_GET_URLS = ["job_detail", "job_download", "job_thumbnail", "job_size_curve"]
JOB_POST_URLS = ["job_cancel", "job_rerun", "job_delete"]
LOGIN_ONLY_GET = ["dashboard", "history", "tokens", "password_change", "jobs_status"]


def job_urls(job):
    urls = [("get", reverse(name, args=[job.id])) for name in JOB_GET_URLS]
    urls += [("get", reverse("job_image", args=[job.id, kind])) for kind in ("original", "result")]
    urls += [("post", reverse(name, args=[job.id])) for name in JOB_POST_URLS]
    return urls


# ----------------------------------------------------------------------------- access


def test_landing_is_public_and_explains_the_product(client):
    response = client.get(reverse("landing"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "K-Means" in body and reverse("signup") in body
    assert 'role="img"' in body  # the before/after example


@pytest.mark.parametrize("name", LOGIN_ONLY_GET)
def test_pages_redirect_anonymous_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_job_urls_redirect_anonymous_to_login(client, alice_job):
    for method, url in job_urls(alice_job):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_bob_gets_404_on_every_alice_job_url(bob_client, alice_job):
    for method, url in job_urls(alice_job):
        assert getattr(bob_client, method)(url).status_code == 404, url
    assert CompressionJob.objects.filter(id=alice_job.id, status=JobStatus.SUCCEEDED).exists()


def test_bob_sees_nothing_of_alice(bob_client, alice_job):
    for name in ("dashboard", "history"):
        assert "alice-holiday" not in bob_client.get(reverse(name)).content.decode()
    status = bob_client.get(reverse("jobs_status"), {"id": str(alice_job.id)}).json()
    assert status == {"jobs": []}
    response = bob_client.post(reverse("history_bulk"), {"ids": [str(alice_job.id)], "action": "delete"})
    assert response.status_code == 302  # "select at least one job": nothing of alice's is reachable
    assert CompressionJob.objects.filter(id=alice_job.id).exists()


# ----------------------------------------------------------------------------- accounts


def test_signup_creates_user_and_logs_in(client, django_user_model):
    response = client.post(
        reverse("signup"),
        {"username": "carol", "email": "carol@example.com", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert django_user_model.objects.filter(username="carol", email="carol@example.com").exists()
    assert client.get(reverse("dashboard")).status_code == 200


@pytest.mark.parametrize(
    "data, field",
    [
        ({"username": "dave", "email": "d@example.com", "password1": "123", "password2": "123"}, "password1"),
        ({"username": "dave", "email": "d@example.com", "password1": "a-long-pass-phrase-9", "password2": "other-pass-phrase-9"}, "password2"),
        ({"username": "alice", "email": "d@example.com", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"}, "username"),
        ({"username": "dave", "email": "not-an-email", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"}, "email"),
    ],
)
def test_signup_explains_errors(client, alice, data, field):
    response = client.post(reverse("signup"), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert 'aria-invalid="true"' in response.content.decode()


def test_login_and_logout(client, alice):
    from tests.conftest import PASSWORD

    page = client.get(reverse("login"))
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.content.decode()
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("landing")
    assert client.get(reverse("dashboard")).status_code == 302


def test_password_change(alice_client, alice):
    from tests.conftest import PASSWORD

    assert alice_client.get(reverse("password_change")).status_code == 200
    response = alice_client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "another-long-phrase-7", "new_password2": "another-long-phrase-7"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    alice.refresh_from_db()
    assert alice.check_password("another-long-phrase-7")


# ----------------------------------------------------------------------------- dashboard and upload


def test_dashboard_offers_every_option(alice_client, alice_job):
    body = alice_client.get(reverse("dashboard")).content.decode()
    for name in ("n_colors", "color_space", "dither", "output_format", "resize_mode", "width", "height",
                 "crop_x", "target_size_kb", "target_quality", "dimension_preset", "preset"):
        assert f'name="{name}"' in body, name
    assert 'value="maximum_compression"' in body and 'value="maximum_quality"' in body
    assert f'data-max-bytes="{settings.MAX_UPLOAD_BYTES}"' in body
    assert "alice-holiday.png" in body  # the job list


def test_upload_creates_a_job_with_the_options(alice_client, alice, run_jobs):
    with run_jobs():
        response = alice_client.post(
            reverse("upload"), {"file": png_file("cat.png"), "n_colors": "8", "color_space": "oklab", "dither": "50",
                                "output_format": "png", "target": "none"},
            headers={"accept": "application/json"},
        )
    assert response.status_code == 201, response.content
    data = response.json()["job"]
    job = CompressionJob.objects.get(id=data["id"], owner=alice)
    assert (job.n_colors, job.color_space, job.dither) == (8, "oklab", 0.5)
    assert job.status == JobStatus.SUCCEEDED
    assert "cat.png" in data["html"] and 'data-job-id="%s"' % job.id in data["html"]


def test_upload_with_resize_and_crop(alice_client, run_jobs):
    with run_jobs():
        response = alice_client.post(
        reverse("upload"),
            {"file": png_file(), "n_colors": "4", "resize_mode": "fit", "width": "20", "height": "20",
             "crop_x": "4", "crop_y": "2", "crop_width": "30", "crop_height": "20"},
        )
    assert response.status_code == 201, response.content
    job = CompressionJob.objects.get(id=response.json()["job"]["id"])
    assert (job.crop_x, job.crop_y, job.crop_width, job.crop_height) == (4, 2, 30, 20)
    assert job.status == JobStatus.SUCCEEDED
    assert max(job.result_width, job.result_height) <= 20


@pytest.mark.parametrize(
    "data, message",
    [
        ({"n_colors": "1"}, "K (the number of colours) must be a whole number from 2 to 256"),
        ({"n_colors": "8", "resize_mode": "fill", "width": "100"}, "needs both a width and a height"),
        ({"n_colors": "8", "width": "100", "height": "100"}, "choose how to resize"),
        ({"n_colors": "8", "target": "size"}, "target size"),
        ({"n_colors": "8", "target": "quality", "quality_metric": "ssim", "target_quality": "3"}, "SSIM"),
        ({"n_colors": "8", "crop_x": "3"}, "crop box needs"),
    ],
)
def test_upload_explains_invalid_option_combinations(alice_client, data, message):
    response = alice_client.post(reverse("upload"), {"file": png_file(), **data})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not CompressionJob.objects.exists()


def test_upload_refuses_crop_outside_the_image_and_keeps_nothing(alice_client):
    from compression.models import Upload

    response = alice_client.post(
        reverse("upload"), {"file": png_file(), "n_colors": "8", "crop_x": "40", "crop_y": "0", "crop_width": "30", "crop_height": "10"}
    )
    assert response.status_code == 400
    assert response.json()["error"]
    assert not Upload.objects.exists()


def test_upload_refuses_non_images(alice_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = alice_client.post(
        reverse("upload"), {"file": SimpleUploadedFile("notes.png", b"hello, not an image" * 10), "n_colors": "8"}
    )
    assert response.status_code in (400, 415)
    assert response.json()["error"]


def test_upload_refuses_too_large_files(alice_client, settings):
    settings.MAX_UPLOAD_BYTES = 200
    response = alice_client.post(reverse("upload"), {"file": png_file(), "n_colors": "8"})
    assert response.status_code == 413
    assert response.json()["error"]


def test_upload_over_the_daily_quota_is_refused_with_a_message(alice_client, alice, make_job, settings):
    settings.QUOTA_JOBS_PER_DAY = 1
    make_job(alice)
    response = alice_client.post(reverse("upload"), {"file": png_file(seed=3), "n_colors": "8"})
    assert response.status_code == 429
    assert "tomorrow" in response.json()["error"]
    history = alice_client.get(reverse("history")).content.decode()
    assert "1 of 1" in history and "0 jobs today" in history


def test_upload_without_file(alice_client):
    response = alice_client.post(reverse("upload"), {"n_colors": "8"})
    assert response.status_code == 400 and "Choose an image" in response.json()["error"]


def test_jobs_status_rerenders_rows(alice_client, alice_job):
    data = alice_client.get(reverse("jobs_status"), {"id": [str(alice_job.id), "not-a-uuid"]}).json()
    assert [job["id"] for job in data["jobs"]] == [str(alice_job.id)]
    assert data["jobs"][0]["status"] == "succeeded" and "Download" in data["jobs"][0]["html"]


# ----------------------------------------------------------------------------- one job


def test_job_detail_shows_result_figures_palette_and_charts(alice_client, alice_job):
    response = alice_client.get(reverse("job_detail", args=[alice_job.id]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="compare"' in body and 'role="slider"' in body
    assert reverse("job_image", args=[alice_job.id, "result"]) in body
    for label in ("Original", "Compressed", "Ratio", "PSNR", "SSIM", "K used", "Iterations", "Time"):
        assert f"<dt>{label}</dt>" in body, label
    assert body.count('class="swatch"') == alice_job.n_colors_used
    assert 'id="conv-title"' in body  # the convergence card (its chart: test_job_page.py)
    assert "/palette.gpl" in body and reverse("job_download", args=[alice_job.id]) in body
    assert "Not worth it" not in body


def test_comparison_lines_the_original_up_with_a_cropped_result(alice_client, alice, make_job):
    whole = make_job(alice, seed=1)
    body = alice_client.get(reverse("job_detail", args=[whole.id])).content.decode()
    assert 'data-before="0.0000 0.0000 100.0000 100.0000"' in body
    cropped = make_job(alice, seed=2, crop_x=4, crop_y=2, crop_width=30, crop_height=20)
    body = alice_client.get(reverse("job_detail", args=[cropped.id])).content.decode()
    # 48x32 original, crop 30x20 at (4, 2): the original is drawn 160 % wide, shifted left 13.3 %.
    assert 'data-before="-13.3333 -10.0000 160.0000 160.0000"' in body


def test_job_detail_warns_when_not_worth_it(alice_client, alice_job):
    CompressionJob.objects.filter(id=alice_job.id).update(output_bytes=alice_job.input_bytes + 1)
    body = alice_client.get(reverse("job_detail", args=[alice_job.id])).content.decode()
    assert "Not worth it" in body


def test_job_detail_of_a_queued_job_polls_and_offers_cancel(alice_client, alice, settings):
    from compression import services

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    upload = services.upload_create(owner=alice, file=png_bytes(seed=9), original_name="wait.png")
    job = services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
    body = alice_client.get(reverse("job_detail", args=[job.id])).content.decode()
    assert 'id="live-job"' in body and reverse("job_cancel", args=[job.id]) in body
    assert 'id="compare"' not in body


def test_failed_job_shows_its_message(alice_client, alice_job):
    CompressionJob.objects.filter(id=alice_job.id).update(status=JobStatus.FAILED, error_message="The file store was down.")
    assert "The file store was down." in alice_client.get(reverse("job_detail", args=[alice_job.id])).content.decode()
    assert "The file store was down." in alice_client.get(reverse("dashboard")).content.decode()


def test_not_found_page_matches_the_site(bob_client, alice_job, settings):
    settings.DEBUG = False
    response = bob_client.get(reverse("job_detail", args=[alice_job.id]))
    assert response.status_code == 404
    assert "Page not found" in response.content.decode() and "alice" not in response.content.decode()


def test_job_images_and_download(alice_client, alice_job):
    result = alice_client.get(reverse("job_image", args=[alice_job.id, "result"]))
    assert result.status_code == 200 and result["Content-Type"] == "image/png"
    assert "attachment" not in result.get("Content-Disposition", "")
    image = Image.open(io.BytesIO(b"".join(result.streaming_content)))
    assert image.mode == "P"
    original = alice_client.get(reverse("job_image", args=[alice_job.id, "original"]))
    assert original.status_code == 200
    download = alice_client.get(reverse("job_download", args=[alice_job.id]))
    if download.status_code == 302:  # object storage: a presigned URL asking for the same headers
        from urllib.parse import unquote

        location = unquote(download["Location"])
        assert "attachment" in location and "alice-holiday-k4.png" in location
    else:
        assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
        assert "alice-holiday-k4.png" in download["Content-Disposition"]
    assert alice_client.get(reverse("job_image", args=[alice_job.id, "other"])).status_code == 404


def test_job_thumbnail_is_a_small_inline_webp(alice_client, alice_job):
    response = alice_client.get(reverse("job_thumbnail", args=[alice_job.id]))
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert "attachment" not in response.get("Content-Disposition", "")
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert image.format == "WEBP" and max(image.size) <= 256


def test_job_without_a_thumbnail_answers_404_there(alice_client, alice_job):
    CompressionJob.objects.filter(id=alice_job.id).update(thumbnail="")
    assert alice_client.get(reverse("job_thumbnail", args=[alice_job.id])).status_code == 404


def test_job_size_curve_gives_size_and_error_per_k_with_the_real_point(alice_client, alice_job):
    data = alice_client.get(reverse("job_size_curve", args=[alice_job.id])).json()
    ks = [p["n_colors"] for p in data["points"]]
    assert ks == [2, 4, 8, 16, 32, 64, 128, 256]
    # 48x32 is below the preview size: every K was encoded whole, so the sizes are exact and
    # the K=4 point is this K=4 job's own file, byte for byte.
    assert data["exact"] is True and (data["width"], data["height"]) == (48, 32)
    at_k4 = data["points"][1]
    assert at_k4["estimated_bytes"] == at_k4["preview_bytes"] == alice_job.output_bytes
    assert data["actual"] == {
        "k": alice_job.n_colors_used, "k_requested": 4, "bytes": alice_job.output_bytes,
        "inertia": alice_job.stats["inertia"], "width": 48, "height": 32,
    }
    assert at_k4["inertia"] == pytest.approx(alice_job.stats["inertia"], rel=1e-3)
    errors = [p["inertia"] for p in data["points"]]
    assert errors[0] > errors[3] > errors[-1]
    assert data["input_bytes"] == alice_job.upload.size_bytes


def test_job_size_curve_is_cached_and_shared_by_reruns_with_another_k(alice_client, alice, alice_job, make_job, monkeypatch):
    """For jobs without a stored curve (older ones, the classic synchronous endpoints)."""
    from compression import services
    from compression.models import CompressionJob
    from dashboard import views

    CompressionJob.objects.filter(id=alice_job.id).update(size_curve=None)
    first = alice_client.get(reverse("job_size_curve", args=[alice_job.id])).json()
    calls = []
    monkeypatch.setattr(views, "size_curve_compute", lambda job: calls.append(job) or {"points": []})
    again = alice_client.get(reverse("job_size_curve", args=[alice_job.id])).json()
    assert again["points"] == first["points"] and calls == []
    other_k = services.job_rerun(job=alice_job, changes={"n_colors": 8})
    assert alice_client.get(reverse("job_size_curve", args=[other_k.id])).json()["points"] == first["points"]
    other_format = services.job_rerun(job=alice_job, changes={"output_format": "webp"})
    alice_client.get(reverse("job_size_curve", args=[other_format.id]))
    assert len(calls) == 1  # a different output format is a different curve


def test_the_worker_stores_the_size_curve_with_the_job(alice_client, alice_job, monkeypatch):
    from compression.size_curves import SIZE_CURVE_KS
    from dashboard import views

    alice_job.refresh_from_db()
    assert [point["n_colors"] for point in alice_job.size_curve["points"]] == list(SIZE_CURVE_KS)

    def not_again(job):
        raise AssertionError("the page computed a curve the job already has")

    monkeypatch.setattr(views, "size_curve_compute", not_again)
    data = alice_client.get(reverse("job_size_curve", args=[alice_job.id])).json()
    assert data["points"] == alice_job.size_curve["points"]


def test_job_detail_draws_the_size_curve_from_its_json(alice_client, alice_job):
    body = alice_client.get(reverse("job_detail", args=[alice_job.id])).content.decode()
    assert f'data-url="{reverse("job_size_curve", args=[alice_job.id])}"' in body
    assert 'id="size-curve-note"' in body and "Error vs K" not in body


def test_cancel_a_queued_job(alice_client, alice, settings):
    from compression import services

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    upload = services.upload_create(owner=alice, file=png_bytes(seed=5), original_name="q.png")
    job = services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
    body = alice_client.get(reverse("dashboard")).content.decode()
    assert reverse("job_cancel", args=[job.id]) in body and "<progress" in body
    response = alice_client.post(reverse("job_cancel", args=[job.id]), headers={"accept": "application/json"})
    assert response.status_code == 200 and response.json()["job"]["status"] == "cancelled"
    again = alice_client.post(reverse("job_cancel", args=[job.id]), headers={"accept": "application/json"})
    assert again.status_code == 409 and "already finished" in again.json()["error"]


def test_rerun_changes_only_the_submitted_options(alice_client, alice, make_job, run_jobs):
    job = make_job(alice, width=24, n_colors=4)
    with run_jobs():
        response = alice_client.post(
            reverse("job_rerun", args=[job.id]),
            {"n_colors": "6", "color_space": "rgb", "dither": "0", "output_format": "gif"},
            headers={"accept": "application/json"},
        )
    assert response.status_code == 201, response.content
    new = CompressionJob.objects.get(id=response.json()["job"]["id"])
    assert new.rerun_of_id == job.id
    assert (new.n_colors, new.output_format, new.width) == (6, "gif", 24)
    assert new.status == JobStatus.SUCCEEDED


def test_rerun_form_without_js_redirects_to_the_new_job(alice_client, alice_job):
    response = alice_client.post(reverse("job_rerun", args=[alice_job.id]), {"n_colors": "300"})
    assert response.status_code == 400  # the job page again, the error beside the field (test_job_page.py)
    assert CompressionJob.objects.count() == 1
    response = alice_client.post(reverse("job_rerun", args=[alice_job.id]), {"n_colors": "5"})
    new = CompressionJob.objects.exclude(id=alice_job.id).get()
    assert response["Location"] == reverse("job_detail", args=[new.id])


def test_delete_a_job(alice_client, alice_job):
    response = alice_client.post(reverse("job_delete", args=[alice_job.id]))
    assert response.status_code == 302
    assert not CompressionJob.objects.filter(id=alice_job.id).exists()


# ----------------------------------------------------------------------------- history


def test_history_filters_and_paginates(alice_client, alice, make_job):
    jobs = [make_job(alice, seed=i, name=f"img{i}.png", output_format="gif" if i % 2 else "png") for i in range(23)]
    CompressionJob.objects.filter(id=jobs[0].id).update(status=JobStatus.FAILED)
    first = alice_client.get(reverse("history"))
    assert first.status_code == 200
    assert len(first.context["page"].object_list) == 20 and first.context["page"].paginator.count == 23
    assert "img22.png" in first.content.decode()  # newest first
    second = alice_client.get(reverse("history"), {"page": 2})
    assert "img0.png" in second.content.decode()
    gifs = alice_client.get(reverse("history"), {"output_format": "gif"})
    assert gifs.context["page"].paginator.count == 11
    failed = alice_client.get(reverse("history"), {"status": "failed"})
    assert [j.id for j in failed.context["page"].object_list] == [jobs[0].id]
    future = alice_client.get(reverse("history"), {"date_from": "2999-01-01"})
    assert future.context["page"].paginator.count == 0
    usage = first.context["usage"]
    assert usage["jobs_today"] == 23 and usage["storage_bytes"] > 0


def test_history_and_dashboard_rows_show_thumbnails_not_full_results(alice_client, alice, make_job):
    jobs = [make_job(alice, seed=i, name=f"img{i}.png") for i in range(3)]
    for name in ("history", "dashboard"):
        body = alice_client.get(reverse(name)).content.decode()
        for job in jobs:
            assert f'src="{reverse("job_thumbnail", args=[job.id])}"' in body, name
        assert "/image/result/" not in body, name
        images = [i for i in re.findall(r"<img [^>]*>", body) if "/jobs/" in i]
        assert len(images) == 3 and all('width="' in i and 'height="' in i and 'alt="Result of img' in i for i in images)


def test_jobs_from_before_thumbnails_fall_back_to_the_result(alice_client, alice, make_job):
    job = make_job(alice, name="old.png")
    CompressionJob.objects.filter(id=job.id).update(thumbnail="")
    for name in ("history", "dashboard"):
        body = alice_client.get(reverse(name)).content.decode()
        assert f'src="{reverse("job_image", args=[job.id, "result"])}"' in body
        assert reverse("job_thumbnail", args=[job.id]) not in body


def test_history_zip_through_the_api_and_bulk_delete(alice_client, alice, make_job):
    a, b = make_job(alice, seed=1, name="a.png"), make_job(alice, seed=2, name="b.png")
    body = alice_client.get(reverse("history")).content.decode()
    assert f'formaction="{reverse("api:job-zip")}"' in body and 'name="ids"' in body
    # What the form posts without JS (the JS asks for the same ZIP with GET ?ids=a,b).
    from urllib.parse import urlencode

    form_body = urlencode({"ids": [str(a.id), str(b.id)], "next": "/history/"}, doseq=True)
    response = alice_client.post(reverse("api:job-zip"), form_body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert len(archive.namelist()) == 2
    assert all(Image.open(io.BytesIO(archive.read(n))).mode == "P" for n in archive.namelist())
    response = alice_client.post(reverse("history_bulk"), {"ids": [str(a.id)], "action": "delete"})
    assert response.status_code == 302
    assert list(CompressionJob.objects.values_list("id", flat=True)) == [b.id]


def test_palette_exports_are_linked(alice_client, alice_job):
    body = alice_client.get(reverse("job_detail", args=[alice_job.id])).content.decode()
    for fmt in ("json", "css", "gpl"):
        url = reverse("api:job-palette-format", args=[alice_job.id, fmt])
        assert url in body
        assert alice_client.get(url).status_code == 200, fmt


# ----------------------------------------------------------------------------- tokens


def test_tokens_create_show_once_and_revoke(alice_client, alice, bob_client):
    from accounts.models import ApiToken

    response = alice_client.post(reverse("tokens"), {"name": "laptop script"})
    assert response.status_code == 200
    key = response.context["new_key"]
    assert key and key in response.content.decode() and "data-copy-target" in response.content.decode()
    token = ApiToken.objects.get(user=alice)
    assert token.name == "laptop script" and key not in token.key_hash
    listing = alice_client.get(reverse("tokens")).content.decode()
    assert "laptop script" in listing and key not in listing  # shown once only
    assert bob_client.post(reverse("token_revoke", args=[token.id])).status_code == 404
    assert alice_client.post(reverse("token_revoke", args=[token.id])).status_code == 302
    assert not ApiToken.objects.exists()


def test_tokens_page_explains_the_token_limit(settings, alice_client, alice):
    from accounts.models import ApiToken

    settings.API_MAX_TOKENS_PER_USER = 1
    assert alice_client.post(reverse("tokens"), {"name": "first"}).context["new_key"]
    refused = alice_client.post(reverse("tokens"), {"name": "second"})
    assert refused.status_code == 200 and refused.context["new_key"] is None
    assert "limit of 1 API tokens per account" in refused.content.decode()
    assert list(ApiToken.objects.filter(user=alice).values_list("name", flat=True)) == ["first"]


# ----------------------------------------------------------------------------- CSP and weight


def _pages(client, job):
    names = ["dashboard", "history", "tokens", "password_change"]
    return [reverse(n) for n in names] + [reverse("job_detail", args=[job.id])]


def test_pages_need_no_unsafe_inline(alice_client, alice_job, client):
    """No inline scripts, event handlers or style attributes: a strict CSP can forbid them."""
    pages = [(alice_client, url) for url in _pages(alice_client, alice_job)]
    pages += [(client, reverse(n)) for n in ("landing", "login", "signup")]
    for who, url in pages:
        body = who.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), url
        assert not re.search(r"\son[a-z]+\s*=", body), url
        assert not re.search(r"\sstyle\s*=", body), url
        assert "<style" not in body, url


def test_pages_stay_under_300_kb_of_our_js_and_css(alice_client, alice_job):
    from django.contrib.staticfiles import finders

    for url in _pages(alice_client, alice_job):
        body = alice_client.get(url).content.decode()
        assets = re.findall(r'(?:src|href)="/static/([^"]+\.(?:js|css))"', body)
        assert assets, url
        total = sum(len(open(finders.find(a), "rb").read()) for a in assets)
        assert total < 300 * 1024, (url, total)


def test_the_job_page_gives_the_format_advice_of_the_verdict(alice_client, alice_job):
    alice_job.refresh_from_db()
    verdict = alice_job.stats["verdict"]
    body = alice_client.get(reverse("job_detail", args=[alice_job.id])).content.decode()
    assert 'id="verdict"' in body and verdict["message"].split(":")[0] in body


def test_the_dashboard_sends_auto_and_init_to_the_job(alice_client):
    response = alice_client.post(reverse("upload"), {"file": png_file(), "n_colors": "8", "auto": "on", "init": "random"})
    assert response.status_code == 201, response.content
    job = CompressionJob.objects.get()
    assert job.auto is True and job.init == "random"
    assert job.to_compress_options().n_colors == "auto"
