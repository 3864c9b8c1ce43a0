from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from compression import services
from compression.engine import InvalidOptions
from compression.errors import JobNotCancellable, JobNotFinished, NotFound, QuotaExceeded
from compression.models import CompressionJob, JobStatus
from tests.helpers import stored_names

from .helpers import make_png

pytestmark = pytest.mark.django_db


def test_job_runs_after_commit_and_records_result_and_stats(alice, alice_upload, run_on_commit):
    with run_on_commit() as callbacks:
        job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 8, "seed": 3})
        assert CompressionJob.objects.get(id=job.id).status == JobStatus.QUEUED  # not before the commit
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert (job.progress, job.attempts, job.stage) == (100, 1, "done")
    assert job.result.name == f"users/{alice.pk}/results/{job.id}.png"
    assert job.result_bytes == job.output_bytes > 0
    assert job.input_bytes == alice_upload.size_bytes
    assert job.ratio == pytest.approx(job.input_bytes / job.output_bytes)
    assert job.n_colors_used <= 8 and job.n_iter >= 1 and job.psnr > 10 and 0 < job.ssim <= 1
    assert job.processing_ms > 0 and job.engine_version
    assert len(job.stats["palette"]) == job.n_colors_used
    assert job.started_at <= job.finished_at
    with job.result.open("rb") as handle, Image.open(handle) as image:
        assert image.mode == "P" and image.size == (96, 64)
        assert len(image.getcolors()) <= 8


def test_compress_now_returns_a_finished_job_in_history(alice, alice_upload):
    job = services.job_compress_now(owner=alice, upload=alice_upload, options={"n_colors": 4, "output_format": "webp"})
    assert job.status == JobStatus.SUCCEEDED
    assert job.result.name.endswith(".webp") and job.result_format == "webp"
    assert CompressionJob.objects.filter(owner=alice).count() == 1


def test_options_are_stored_and_reproduce_the_engine_options(alice, alice_upload, dummy_tasks):
    job = services.job_create(
        owner=alice, upload=alice_upload,
        options={"n_colors": 32, "color_space": "oklab", "dither": 0.5, "resize_mode": "fit", "width": 48,
                 "height": 48, "background": "FFFFFF", "crop_width": 80, "crop_height": 60, "seed": 9},
    )
    options = job.to_compress_options()
    assert (options.n_colors, options.color_space, options.dither, options.seed) == (32, "oklab", 0.5, 9)
    assert options.resize_mode == "fit" and options.background == (255, 255, 255)
    assert (options.crop_box.x, options.crop_box.width) == (0, 80)
    assert job.background == "#ffffff"


@pytest.mark.parametrize(
    "options, words",
    [
        ({"n_colors": 1}, "n_colors"),
        ({"n_colors": 999}, "n_colors"),
        ({"colours": 4}, "Unknown option"),
        ({"crop_x": 5}, "crop"),
        ({"crop_x": 90, "crop_y": 0, "crop_width": 50, "crop_height": 10}, "crop"),
        ({"background": "blue-ish"}, "background"),
        ({"width": -5, "resize_mode": "fit"}, "width"),
    ],
)
def test_invalid_options_are_refused_before_a_job_exists(alice, alice_upload, options, words):
    with pytest.raises(InvalidOptions) as exc:
        services.job_create(owner=alice, upload=alice_upload, options=options)
    assert words.lower() in f"{exc.value.field} {exc.value}".lower()
    assert not CompressionJob.objects.exists()


def test_job_on_another_users_upload_is_a_404(bob, alice_upload):
    with pytest.raises(NotFound):
        services.job_create(owner=bob, upload=alice_upload, options={})


def test_jobs_per_day_quota(alice, alice_upload, settings, dummy_tasks):
    settings.QUOTA_JOBS_PER_DAY = 2
    services.job_create(owner=alice, upload=alice_upload)
    services.job_create(owner=alice, upload=alice_upload)
    with pytest.raises(QuotaExceeded) as exc:
        services.job_create(owner=alice, upload=alice_upload)
    assert exc.value.kind == "jobs_per_day" and "2" in str(exc.value)
    # Yesterday's jobs do not count.
    CompressionJob.objects.update(created_at=timezone.now() - timedelta(days=1, hours=1))
    services.job_create(owner=alice, upload=alice_upload)


def test_storage_quota_blocks_new_jobs_when_full(alice, alice_upload, settings, dummy_tasks):
    settings.QUOTA_STORAGE_BYTES = alice_upload.size_bytes  # exactly full: no room for a result
    with pytest.raises(QuotaExceeded) as exc:
        services.job_create(owner=alice, upload=alice_upload)
    assert exc.value.kind == "storage" and "full" in str(exc.value)
    settings.QUOTA_STORAGE_BYTES = alice_upload.size_bytes + 10_000
    services.job_create(owner=alice, upload=alice_upload)


def test_cancel_a_queued_job_at_once_and_the_task_then_does_nothing(alice, alice_upload, dummy_tasks):
    job = services.job_create(owner=alice, upload=alice_upload)
    job = services.job_cancel(job=job)
    assert job.status == JobStatus.CANCELLED and job.finished_at
    services.job_run(job_id=job.id)  # the task still arrives later
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.attempts == 0 and not job.result
    with pytest.raises(JobNotCancellable):
        services.job_cancel(job=job)


def test_cancel_request_seen_by_a_running_job_stops_it_without_a_file(alice, alice_upload, dummy_tasks):
    job = services.job_create(owner=alice, upload=alice_upload)
    # The cancel request lands right after a worker claimed the job: the next progress step sees it.
    CompressionJob.objects.filter(id=job.id).update(cancel_requested=True)
    job = services.job_run(job_id=job.id)
    assert job.status == JobStatus.CANCELLED and job.attempts == 1
    assert not job.result and stored_names() == [alice_upload.file.name]


def test_running_job_cancel_sets_the_flag(alice, alice_upload, dummy_tasks):
    job = services.job_create(owner=alice, upload=alice_upload)
    CompressionJob.objects.filter(id=job.id).update(status=JobStatus.RUNNING, attempts=1)
    job = services.job_cancel(job=job)
    assert job.status == JobStatus.RUNNING and job.cancel_requested


def test_rerun_creates_a_new_job_with_changes(alice, alice_upload, run_on_commit):
    with run_on_commit():
        first = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4, "seed": 5})
    first.refresh_from_db()
    with run_on_commit():
        second = services.job_rerun(job=first, changes={"n_colors": 6})
    second.refresh_from_db()
    assert second.id != first.id and second.rerun_of_id == first.id
    assert (second.n_colors, second.seed, second.status) == (6, 5, JobStatus.SUCCEEDED)


def test_rerun_of_an_unfinished_job_is_refused(alice, alice_upload, dummy_tasks):
    job = services.job_create(owner=alice, upload=alice_upload)
    with pytest.raises(JobNotFinished):
        services.job_rerun(job=job)


def test_job_delete_removes_the_result_file(alice, alice_upload, run_on_commit):
    with run_on_commit():
        job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
    job.refresh_from_db()
    assert job.result.name in stored_names()
    services.job_delete(job=job)
    assert stored_names() == [alice_upload.file.name]
    assert not CompressionJob.objects.exists()


def test_engine_error_fails_the_job_with_its_message(alice, alice_upload, dummy_tasks):
    job = services.job_create(owner=alice, upload=alice_upload)
    # The stored original got corrupted after upload (e.g. restored from a bad backup).
    storage = alice_upload.file.storage
    storage.delete(alice_upload.file.name)
    storage.save(alice_upload.file.name, __import__("io").BytesIO(b"not an image at all"))
    job = services.job_run(job_id=job.id)
    assert job.status == JobStatus.FAILED
    assert "not an image" in job.error_message
    assert not job.result


def test_missing_original_fails_with_a_storage_message(alice, alice_upload, dummy_tasks):
    job = services.job_create(owner=alice, upload=alice_upload)
    alice_upload.file.storage.delete(alice_upload.file.name)
    job = services.job_run(job_id=job.id)
    assert job.status == JobStatus.FAILED
    assert job.error_message == services.STORAGE_READ_ERROR_MESSAGE


def test_unexpected_engine_bug_fails_the_job_and_is_logged(alice, alice_upload, dummy_tasks, monkeypatch, caplog):
    import compression.engine

    def broken(*args, **kwargs):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(compression.engine, "compress", broken)
    job = services.job_create(owner=alice, upload=alice_upload)
    job = services.job_run(job_id=job.id)
    assert job.status == JobStatus.FAILED
    assert job.error_message == services.INTERNAL_ERROR_MESSAGE
    assert "ZeroDivisionError" in caplog.text


def test_job_runs_once_a_second_claim_does_nothing(alice, alice_upload, dummy_tasks):
    job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
    services.job_run(job_id=job.id)
    finished_at = CompressionJob.objects.get(id=job.id).finished_at
    again = services.job_run(job_id=job.id)
    assert again.attempts == 1 and again.finished_at == finished_at


def test_run_of_a_deleted_job_returns_none(db):
    import uuid

    assert services.job_run(job_id=uuid.uuid4()) is None


class TestStaleRecovery:
    def make_stale(self, job, *, attempts=1, **extra):
        old = timezone.now() - timedelta(minutes=10)
        CompressionJob.objects.filter(id=job.id).update(
            status=JobStatus.RUNNING, attempts=attempts, started_at=old, heartbeat_at=old, **extra
        )

    def test_stale_job_is_requeued_and_then_succeeds(self, alice, alice_upload, dummy_tasks, settings, run_on_commit):
        job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
        self.make_stale(job)
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
        with run_on_commit():
            assert services.jobs_recover_stale() == 1
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED and job.attempts == 2

    def test_fresh_heartbeat_is_left_alone(self, alice, alice_upload, dummy_tasks):
        job = services.job_create(owner=alice, upload=alice_upload)
        now = timezone.now()
        CompressionJob.objects.filter(id=job.id).update(status=JobStatus.RUNNING, attempts=1, heartbeat_at=now)
        assert services.jobs_recover_stale() == 0

    def test_gives_up_after_the_attempt_limit(self, alice, alice_upload, dummy_tasks, settings):
        settings.JOB_MAX_ATTEMPTS = 2
        job = services.job_create(owner=alice, upload=alice_upload)
        self.make_stale(job, attempts=2)
        assert services.jobs_recover_stale() == 1
        job.refresh_from_db()
        assert job.status == JobStatus.FAILED and "stopped" in job.error_message and job.finished_at

    def test_stale_job_with_a_cancel_request_ends_cancelled(self, alice, alice_upload, dummy_tasks):
        job = services.job_create(owner=alice, upload=alice_upload)
        self.make_stale(job, cancel_requested=True)
        assert services.jobs_recover_stale() == 1
        job.refresh_from_db()
        assert job.status == JobStatus.CANCELLED

    def test_leftover_result_of_the_dead_attempt_is_removed(self, alice, alice_upload, dummy_tasks, settings):
        settings.JOB_MAX_ATTEMPTS = 1
        job = services.job_create(owner=alice, upload=alice_upload)
        leftover = f"users/{alice.pk}/results/{job.id}.png"
        alice_upload.file.storage.save(leftover, __import__("io").BytesIO(make_png(8, 8)))
        self.make_stale(job)
        services.jobs_recover_stale()
        assert leftover not in stored_names()


@pytest.fixture
def during_compress(monkeypatch):
    """Run `action(job_id)` right after the real engine returns, before the result is stored."""
    import compression.engine

    real = compression.engine.compress

    def install(action):
        def wrapped(source, options, *, progress=None):
            result = real(source, options, progress=progress)
            action()
            return result

        monkeypatch.setattr(compression.engine, "compress", wrapped)

    return install


def test_job_deleted_while_running_leaves_no_file(alice, alice_upload, dummy_tasks, during_compress):
    job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
    during_compress(lambda: services.job_delete(job=CompressionJob.objects.get(id=job.id)))
    assert services.job_run(job_id=job.id) is None
    assert stored_names() == [alice_upload.file.name]


def test_cancel_after_the_last_step_discards_the_stored_result(alice, alice_upload, dummy_tasks, during_compress):
    job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
    during_compress(lambda: services.job_cancel(job=CompressionJob.objects.get(id=job.id)))
    job = services.job_run(job_id=job.id)
    assert job.status == JobStatus.CANCELLED and not job.result
    assert stored_names() == [alice_upload.file.name]


def test_a_job_taken_over_by_recovery_does_not_complete_twice(alice, alice_upload, dummy_tasks, during_compress):
    """A worker presumed dead (re-queued and claimed again) must not also record its result."""
    job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
    during_compress(lambda: CompressionJob.objects.filter(id=job.id).update(attempts=2))  # someone else's attempt now
    job = services.job_run(job_id=job.id)
    assert job.status == JobStatus.RUNNING and job.attempts == 2 and not job.result
    assert stored_names() == [alice_upload.file.name]
