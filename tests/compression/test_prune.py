from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from compression import services
from compression.models import CompressionJob, JobStatus, Upload
from tests.helpers import stored_names

from .helpers import make_png

pytestmark = pytest.mark.django_db


def age(obj, days):
    type(obj).objects.filter(pk=obj.pk).update(created_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def history(alice, run_on_commit, settings):
    settings.RETENTION_DAYS = 30
    old_upload = services.upload_create(owner=alice, file=make_png(seed=31))
    new_upload = services.upload_create(owner=alice, file=make_png(seed=32))
    with run_on_commit():
        old_job = services.job_create(owner=alice, upload=old_upload, options={"n_colors": 4})
        new_job = services.job_create(owner=alice, upload=new_upload, options={"n_colors": 4})
    age(old_upload, 40)
    age(old_job, 40)
    return old_upload, new_upload, old_job, new_job


def test_dry_run_deletes_nothing(history, capsys):
    before = stored_names()
    call_command("prune", "--dry-run")
    assert "Would delete 1 job(s) and 1 upload(s)" in capsys.readouterr().out
    assert stored_names() == before and CompressionJob.objects.count() == 2


def test_prune_removes_old_jobs_uploads_and_files(history, capsys):
    old_upload, new_upload, old_job, new_job = history
    new_job.refresh_from_db()
    call_command("prune")
    assert "Deleted 1 job(s) and 1 upload(s)" in capsys.readouterr().out
    assert list(CompressionJob.objects.all()) == [new_job]
    assert list(Upload.objects.all()) == [new_upload]
    assert stored_names() == sorted([new_upload.file.name, new_job.result.name, new_job.thumbnail.name])
    assert f"/thumbnails/{old_job.id}" not in " ".join(stored_names())


def test_days_option_overrides_retention(history):
    call_command("prune", "--days", "0")
    assert not CompressionJob.objects.exists() and stored_names() == []


def test_old_upload_with_a_recent_or_running_job_is_kept(alice, alice_upload, dummy_tasks):
    age(alice_upload, 40)
    job = services.job_create(owner=alice, upload=alice_upload)
    CompressionJob.objects.filter(id=job.id).update(status=JobStatus.RUNNING, created_at=timezone.now() - timedelta(days=40))
    call_command("prune")
    assert Upload.objects.filter(id=alice_upload.id).exists() and CompressionJob.objects.filter(id=job.id).exists()


def test_orphan_sweep_removes_unreferenced_old_files(alice, alice_upload, capsys):
    storage = alice_upload.file.storage
    orphan = storage.save(f"users/{alice.pk}/results/lost.png", __import__("io").BytesIO(b"x"))
    call_command("prune", "--orphans", "--dry-run")
    assert "Would delete 0 orphan" in capsys.readouterr().out  # younger than an hour
    assert services.storage_orphans_delete(min_age_seconds=0) == [orphan]
    assert stored_names() == [alice_upload.file.name]
