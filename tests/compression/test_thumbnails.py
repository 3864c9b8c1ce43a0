"""Job thumbnails: made from the result when a job succeeds, stored per user, deleted with the job."""

import io

import numpy as np
import pytest
from django.db.models.fields.files import FieldFile
from PIL import Image

from accounts import services as account_services
from compression import services
from compression.models import CompressionJob, JobStatus
from tests.helpers import mean_abs_diff

from tests.helpers import stored_names

from .helpers import make_png

pytestmark = pytest.mark.django_db


def open_image(field_file) -> Image.Image:
    with field_file.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


def test_succeeded_job_has_a_small_webp_thumbnail_of_the_result(alice):
    upload = services.upload_create(owner=alice, file=make_png(900, 600, seed=5))
    job = services.job_compress_now(owner=alice, upload=upload, options={"n_colors": 8})
    assert job.status == JobStatus.SUCCEEDED
    assert job.thumbnail.name == f"users/{alice.pk}/thumbnails/{job.id}.webp"
    assert job.thumbnail.name in stored_names()
    thumbnail = open_image(job.thumbnail)
    assert thumbnail.format == "WEBP" and thumbnail.size == (256, 171)
    assert job.thumbnail.size < 20_000 < job.result_bytes
    assert job.thumbnail_bytes == job.thumbnail.size  # counted towards the storage quota
    # It shows the quantized result (8 colours), shrunk: not the original.
    result = open_image(job.result).convert("RGB").resize(thumbnail.size, Image.Resampling.LANCZOS)
    assert mean_abs_diff(np.asarray(thumbnail.convert("RGB")), np.asarray(result)) < 6


def test_small_results_are_not_enlarged_and_alpha_is_kept(alice):
    rgba = Image.open(io.BytesIO(make_png(96, 64, seed=6))).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    buffer = io.BytesIO()
    rgba.save(buffer, "PNG")
    upload = services.upload_create(owner=alice, file=buffer.getvalue())
    job = services.job_compress_now(owner=alice, upload=upload, options={"n_colors": 8})
    thumbnail = open_image(job.thumbnail)
    assert thumbnail.size == (96, 64) and thumbnail.mode == "RGBA"
    assert thumbnail.getextrema()[3][0] < 50  # the transparent top is still transparent


@pytest.mark.parametrize("fmt", ["webp", "gif"])
def test_every_output_format_gets_a_thumbnail(alice, alice_upload, fmt):
    job = services.job_compress_now(owner=alice, upload=alice_upload, options={"n_colors": 4, "output_format": fmt})
    assert job.result_format == fmt and open_image(job.thumbnail).format == "WEBP"


def test_job_delete_removes_result_and_thumbnail(alice, alice_upload):
    job = services.job_compress_now(owner=alice, upload=alice_upload, options={"n_colors": 4})
    assert sorted([alice_upload.file.name, job.result.name, job.thumbnail.name]) == stored_names()
    services.job_delete(job=job)
    assert stored_names() == [alice_upload.file.name]


def test_upload_delete_removes_its_jobs_thumbnails(alice, alice_upload):
    for k in (4, 8):
        services.job_compress_now(owner=alice, upload=alice_upload, options={"n_colors": k})
    assert len([n for n in stored_names() if "/thumbnails/" in n]) == 2
    services.upload_delete(upload=alice_upload)
    assert stored_names() == []


def test_user_delete_and_bulk_delete_remove_thumbnails(alice, bob, alice_upload):
    job = services.job_compress_now(owner=alice, upload=alice_upload, options={"n_colors": 4})
    bob_upload = services.upload_create(owner=bob, file=make_png(seed=9))
    services.job_compress_now(owner=bob, upload=bob_upload, options={"n_colors": 4})
    services.jobs_delete(jobs=CompressionJob.objects.filter(id=job.id))
    assert [n for n in stored_names(f"users/{alice.pk}")] == [alice_upload.file.name]
    account_services.user_delete(user=bob)
    assert stored_names() == [alice_upload.file.name]


def test_orphan_sweep_keeps_referenced_thumbnails_and_removes_lost_ones(alice, alice_upload):
    job = services.job_compress_now(owner=alice, upload=alice_upload, options={"n_colors": 4})
    lost = alice_upload.file.storage.save(f"users/{alice.pk}/thumbnails/lost.webp", io.BytesIO(b"x"))
    assert services.storage_orphans_delete(min_age_seconds=0) == [lost]
    assert stored_names() == sorted([alice_upload.file.name, job.result.name, job.thumbnail.name])


def test_failed_thumbnail_write_fails_the_job_and_removes_the_result(alice, alice_upload, monkeypatch):
    """The store fails between the result and the thumbnail: no half-stored job is left."""
    real_save = FieldFile.save

    def save(self, name, content, save=True):
        if self.field.name == "thumbnail":
            raise OSError("connection reset by the object store")
        return real_save(self, name, content, save=save)

    monkeypatch.setattr(FieldFile, "save", save)
    job = services.job_compress_now(owner=alice, upload=alice_upload, options={"n_colors": 4})
    assert job.status == JobStatus.FAILED and "file store" in job.error_message
    assert not job.result and not job.thumbnail
    assert stored_names() == [alice_upload.file.name]


def test_leftover_thumbnail_of_a_dead_attempt_is_removed(alice, alice_upload, dummy_tasks, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.JOB_MAX_ATTEMPTS = 1
    job = services.job_create(owner=alice, upload=alice_upload)
    leftover = f"users/{alice.pk}/thumbnails/{job.id}.webp"
    alice_upload.file.storage.save(leftover, io.BytesIO(b"RIFF"))
    stale = timezone.now() - timedelta(hours=1)
    CompressionJob.objects.filter(id=job.id).update(status=JobStatus.RUNNING, attempts=1, started_at=stale, heartbeat_at=stale)
    assert services.jobs_recover_stale() == 1
    assert leftover not in stored_names()


def test_thumbnails_count_towards_the_storage_quota(alice, alice_upload, settings):
    from compression import selectors
    from compression.errors import QuotaExceeded

    job = services.job_compress_now(owner=alice, upload=alice_upload, options={"n_colors": 4})
    assert job.thumbnail_bytes and job.thumbnail_bytes == job.thumbnail.size
    used = alice_upload.size_bytes + job.result_bytes + job.thumbnail_bytes
    assert selectors.usage_for_user(user=alice)["storage_bytes"] == used
    # Full once the thumbnail counts (it would have room without it): no new job.
    settings.QUOTA_STORAGE_BYTES = used
    with pytest.raises(QuotaExceeded):
        services.job_create(owner=alice, upload=alice_upload)
