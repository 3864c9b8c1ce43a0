import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from compression import selectors, services
from compression.models import CompressionJob


pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_job(alice, alice_upload, run_on_commit):
    with run_on_commit():
        job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
    job.refresh_from_db()
    return job


@pytest.mark.parametrize(
    "call",
    [
        lambda user, job: selectors.job_get_for_user(user=user, job_id=job.id),
        lambda user, job: selectors.job_get_for_user(user=user, job_id=str(job.id)),
        lambda user, job: selectors.upload_get_for_user(user=user, upload_id=job.upload_id),
        lambda user, job: selectors.upload_get_for_user(user=user, upload_id=str(job.upload_id)),
    ],
    ids=["job-uuid", "job-str", "upload-uuid", "upload-str"],
)
def test_bob_gets_404_on_alices_objects(bob, alice_job, call):
    with pytest.raises(Http404):
        call(bob, alice_job)
    assert call(alice_job.owner, alice_job) is not None


def test_lists_are_scoped_to_the_user(alice, bob, alice_job):
    assert list(selectors.job_list_for_user(user=bob)) == []
    assert list(selectors.upload_list_for_user(user=bob)) == []
    assert list(selectors.job_list_for_user(user=alice)) == [alice_job]
    assert list(selectors.job_list_for_user(user=AnonymousUser())) == []


@pytest.mark.parametrize("bad", ["not-a-uuid", "", None, "1", 12])
def test_malformed_ids_are_404(alice, bad):
    with pytest.raises(Http404):
        selectors.job_get_for_user(user=alice, job_id=bad)
    with pytest.raises(Http404):
        selectors.upload_get_for_user(user=alice, upload_id=bad)


def test_unknown_id_is_404(alice):
    with pytest.raises(Http404):
        selectors.job_get_for_user(user=alice, job_id=uuid.uuid4())


def test_history_filters_and_order(alice, alice_upload, dummy_tasks):
    a = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
    b = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 8, "output_format": "gif"})
    c = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 8})
    CompressionJob.objects.filter(id=a.id).update(created_at=timezone.now() - timedelta(days=3))
    services.job_cancel(job=c)
    jobs = lambda **kw: list(selectors.job_list_for_user(user=alice, **kw))  # noqa: E731
    assert jobs() == [c, b, a]
    assert jobs(status="cancelled") == [c]
    assert jobs(status=["queued", "cancelled"]) == [c, b, a]
    assert jobs(n_colors=8) == [c, b]
    assert jobs(output_format="gif") == [b]
    assert jobs(created_after=timezone.now() - timedelta(days=1)) == [c, b]
    assert jobs(created_before=timezone.now() - timedelta(days=1)) == [a]
    assert jobs(upload_id=alice_upload.id) == [c, b, a]


def test_usage_counts_jobs_today_and_bytes(alice, bob, alice_job, settings):
    settings.QUOTA_JOBS_PER_DAY = 5
    usage = selectors.usage_for_user(user=alice)
    assert usage["jobs_today"] == 1 and usage["jobs_today_remaining"] == 4
    assert usage["storage_bytes"] == alice_job.upload.size_bytes + alice_job.result_bytes + alice_job.thumbnail_bytes
    assert usage["storage_quota_bytes"] == 0 and usage["storage_remaining_bytes"] is None
    assert usage["uploads"] == 1 and usage["jobs"] == 1
    assert selectors.usage_for_user(user=bob)["storage_bytes"] == 0
