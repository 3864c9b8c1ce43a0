"""The same services on S3 (moto server started by the test session), listing the bucket after deletes."""

import re

import pytest

from accounts import services as account_services
from compression import services
from compression.models import JobStatus
from tests.helpers import stored_names

from .helpers import make_png

pytestmark = pytest.mark.django_db


def bucket_keys(server) -> list[str]:
    """Keys under this test's prefix, listed with boto3 directly (not through Django)."""
    from django.conf import settings

    prefix = settings.STORAGES["default"]["OPTIONS"]["location"] + "/"
    response = server.client().list_objects_v2(Bucket=server.bucket, Prefix=prefix)
    return sorted(item["Key"].removeprefix(prefix) for item in response.get("Contents", []))


@pytest.fixture
def empty_bucket(s3_storage):
    assert bucket_keys(s3_storage) == []
    return s3_storage


def test_upload_job_and_deletes_leave_no_object_behind(alice, bob, empty_bucket, run_on_commit):
    upload = services.upload_create(owner=alice, file=make_png(seed=11), original_name="a.png")
    assert re.fullmatch(rf"users/{alice.pk}/uploads/{upload.id}\.png", upload.file.name)
    with run_on_commit():
        job = services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.thumbnail.name == f"users/{alice.pk}/thumbnails/{job.id}.webp"
    assert bucket_keys(empty_bucket) == sorted([upload.file.name, job.result.name, job.thumbnail.name])
    assert stored_names() == bucket_keys(empty_bucket)

    services.job_delete(job=job)
    assert bucket_keys(empty_bucket) == [upload.file.name]
    with run_on_commit():
        services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
    services.upload_delete(upload=upload)
    assert bucket_keys(empty_bucket) == []

    bobs = services.upload_create(owner=bob, file=make_png(seed=12))
    services.upload_create(owner=alice, file=make_png(seed=13))
    account_services.user_delete(user=alice)
    assert bucket_keys(empty_bucket) == [bobs.file.name]
