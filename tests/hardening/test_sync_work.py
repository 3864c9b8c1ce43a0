"""Per-user bounds on synchronous work: one account cannot hold the web threads with ?wait,
compress-direct or size curves; it gets a 429 with Retry-After, and other users are unaffected."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from compression import services
from compression.models import SyncWorkSlot
from tests.helpers import named, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_slot(settings):
    settings.SYNC_WORK_PER_USER = 1
    settings.SYNC_WORK_RETRY_SECONDS = 7
    return settings


@pytest.fixture
def alice_upload(alice):
    return services.upload_create(owner=alice, file=png_bytes(seed=3), original_name="a.png")


def test_a_wait_beyond_the_users_slots_is_a_429_with_retry_after(alice, alice_api, alice_upload, one_slot):
    with services.sync_work_slot(alice, kind="another request"):
        busy = alice_api.post("/api/jobs/?wait=1", {"upload_id": str(alice_upload.id)}, format="json")
        assert busy.status_code == 429 and busy["Retry-After"] == "7"
        assert "long requests running" in busy.json()["detail"]
        # Not waiting takes no slot.
        assert alice_api.post("/api/jobs/", {"upload_id": str(alice_upload.id)}, format="json").status_code == 201
    assert alice_api.post("/api/jobs/?wait=1", {"upload_id": str(alice_upload.id)}, format="json").status_code == 201
    assert not SyncWorkSlot.objects.exists()  # every slot was given back


def test_compress_direct_and_classic_compress_take_a_slot(alice, alice_api, alice_upload, one_slot):
    with services.sync_work_slot(alice, kind="another request"):
        direct = alice_api.post("/api/compress-direct", {"image": named(png_bytes(seed=4), "b.png"), "n_colors": 4}, format="multipart")
        classic = alice_api.post("/api/compress", {"image_id": str(alice_upload.id), "n_colors": 4}, format="json")
    assert direct.status_code == classic.status_code == 429
    assert direct["Retry-After"] == "7" and direct.json()["success"] is False
    assert alice_api.post("/api/compress", {"image_id": str(alice_upload.id), "n_colors": 4}, format="json").status_code == 200


def test_the_size_curve_takes_a_slot(alice, alice_client, alice_upload, one_slot):
    job = services.job_compress_now(owner=alice, upload=alice_upload, options={"n_colors": 4})
    with services.sync_work_slot(alice, kind="another request"):
        busy = alice_client.get(reverse("job_size_curve", args=[job.id]))
        assert busy.status_code == 429 and busy["Retry-After"] == "7"
    assert alice_client.get(reverse("job_size_curve", args=[job.id])).status_code == 200


def test_other_users_are_not_bounded_by_alices_work(alice, bob, bob_api, one_slot):
    upload = services.upload_create(owner=bob, file=png_bytes(seed=9), original_name="b.png")
    with services.sync_work_slot(alice, kind="another request"):
        assert bob_api.post("/api/jobs/?wait=1", {"upload_id": str(upload.id)}, format="json").status_code == 201


def test_a_slot_left_by_a_dead_process_expires(alice, alice_api, alice_upload, one_slot):
    SyncWorkSlot.objects.create(owner=alice, kind="died", expires_at=timezone.now() - timedelta(seconds=1))
    assert alice_api.post("/api/jobs/?wait=1", {"upload_id": str(alice_upload.id)}, format="json").status_code == 201
