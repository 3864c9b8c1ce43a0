"""Per-user throttling (rates from settings) and the platform's quotas as 429/403."""

import pytest

from compression.models import CompressionJob

pytestmark = pytest.mark.django_db(transaction=True)


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_user_rate_is_per_user_and_answers_429_with_retry_after(alice_api, bob_api, settings):
    _rates(settings, user="3/minute")
    assert [alice_api.get("/api/jobs/").status_code for _ in range(3)] == [200, 200, 200]
    throttled = alice_api.get("/api/jobs/")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "throttled" in throttled.json()["detail"].lower()
    assert bob_api.get("/api/jobs/").status_code == 200  # bob has his own budget


def test_classic_throttle_keeps_the_classic_shape(alice_api, settings):
    _rates(settings, user="1/minute")
    alice_api.get("/api/presets")
    response = alice_api.get("/api/presets")
    assert response.status_code == 429
    assert response.json()["success"] is False


def test_compress_rate_limits_job_creation_only(alice_api, alice_upload, settings):
    _rates(settings, compress="2/minute")
    codes = [alice_api.post("/api/jobs/", {"upload_id": alice_upload["id"], "n_colors": k}, format="json").status_code for k in (2, 3, 4)]
    assert codes == [201, 201, 429]
    assert alice_api.get("/api/jobs/").status_code == 200  # reading is not a compression


def test_anonymous_rate_on_public_endpoints(anon_api, settings):
    # Protected endpoints answer 401 before any throttle; the public schema and docs are throttled.
    _rates(settings, anon="2/minute")
    codes = [anon_api.get("/api/docs/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_health_is_not_throttled(anon_api, settings):
    _rates(settings, anon="1/minute")
    assert {anon_api.get("/api/health").status_code for _ in range(3)} == {200}


def test_daily_jobs_quota_is_429_with_a_clear_message(alice_api, alice_upload, settings):
    settings.QUOTA_JOBS_PER_DAY = 1
    assert alice_api.post("/api/jobs/", {"upload_id": alice_upload["id"]}, format="json").status_code == 201
    response = alice_api.post("/api/jobs/", {"upload_id": alice_upload["id"]}, format="json")
    assert response.status_code == 429
    assert "today" in response.json()["detail"]
    classic = alice_api.post("/api/compress", {"image_id": alice_upload["id"]}, format="json")
    assert classic.status_code == 429 and "today" in classic.json()["error"]
    assert CompressionJob.objects.count() == 1


def test_storage_quota_is_403_with_a_clear_message(alice_api, small_photo, settings):
    settings.QUOTA_STORAGE_BYTES = 100
    response = alice_api.post("/api/uploads/", {"file": small_photo()}, format="multipart")
    assert response.status_code == 403
    assert "storage" in response.json()["detail"].lower()
    classic = alice_api.post("/api/compress-direct", {"image": small_photo()}, format="multipart")
    assert classic.status_code == 403 and classic.json()["success"] is False


def test_usage_shows_the_quotas(alice_api, alice_job, settings):
    settings.QUOTA_JOBS_PER_DAY = 5
    usage = alice_api.get("/api/usage/").json()
    assert usage["jobs_per_day_quota"] == 5 and usage["jobs_today_remaining"] == 4
